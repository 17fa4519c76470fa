#!/usr/bin/env bash
# The whole test suite on a fresh machine with only Python 3.11+ and Java 17:
#   bash tests/run.sh          # Airflow 3.3 and Airflow 2.11, one virtualenv each
#   bash tests/run.sh 3        # only Airflow 3.3     (bash tests/run.sh 2: only 2.11)
#   bash tests/run.sh 3 -k hook   # extra arguments go to pytest
# Virtualenvs live in .venv-af3, .venv-af2 and .venv-flink (the Flink CLI) beside this repository's
# files and are reused while pyproject.toml is unchanged.
# The real tier (tests marked realstack: a real etcd, kube-apiserver and kube-controller-manager) needs Go:
# their binaries are built from the Go module proxy into ~/.cache/airflow-provider-flink (about 10 min
# the first time, then reused while the pins in tests/realstack/go/ are unchanged). It runs on Airflow 3.3
# only (what it proves is not Airflow-version specific); without Go it is skipped, unless
# FLINK_REALSTACK=require (CI) makes that a failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
which_airflow="${1:-all}"
[ $# -gt 0 ] && shift
python="${PYTHON:-python3}"
# pip's own exit status counts; only the noise of this machine's pip configuration is filtered from stderr.
quiet_pip() { "$@" --quiet --disable-pip-version-check 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

stamp() { cat pyproject.toml "$0" | sha256sum | cut -c1-16; }

# The Flink CLI (bin/flink and its jars) for the native-mode tests, without PyFlink's heavy
# Python dependencies: the apache-flink wheel carries the scripts, apache-flink-libraries the jars.
ensure_flink() {
  local venv="$root/.venv-flink"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "flink-2.3" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    quiet_pip "$venv/bin/pip" install --no-deps "apache-flink==2.3.*" "apache-flink-libraries==2.3.*"
    echo "flink-2.3" > "$venv/.stamp"
  fi
  FLINK_HOME="$("$venv/bin/python" -c 'import os, pyflink; print(os.path.dirname(pyflink.__file__))')"
  export FLINK_HOME
}

ensure_venv() {  # $1: venv dir, $2: Airflow requirement
  local venv="$1" airflow_req="$2" want
  want="$(stamp) $airflow_req"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    quiet_pip "$venv/bin/pip" install --upgrade pip
    quiet_pip "$venv/bin/pip" install "$airflow_req" -e ".[test]"
    echo "$want" > "$venv/.stamp"
  fi
}

run_suite() {  # $1: venv dir, $2: Airflow requirement, rest: pytest args
  local venv="$1" airflow_req="$2"
  shift 2
  ensure_venv "$venv" "$airflow_req"
  echo "=== pytest with $("$venv/bin/python" -c 'import airflow; print("Airflow", airflow.__version__)') ==="
  "$venv/bin/python" -m pytest "$@"
}

# The real control plane's binaries, built before pytest starts (a cold build outlasts any test timeout).
ensure_realstack() {
  if [ -n "${FLINK_REALSTACK_BIN:-}" ]; then
    return
  fi
  if command -v go >/dev/null; then
    FLINK_REALSTACK_BIN="$(bash "$root/tests/realstack/build.sh")"
    export FLINK_REALSTACK_BIN
  elif [ "${FLINK_REALSTACK:-}" = "require" ]; then
    echo "tests/run.sh: FLINK_REALSTACK=require but Go is not on PATH" >&2
    exit 1
  else
    echo "tests/run.sh: no Go on PATH: the real control plane tier (realstack) is skipped" >&2
  fi
}

ensure_flink
ensure_realstack
status=0
case "$which_airflow" in
  all) run_suite "$root/.venv-af3" "apache-airflow==3.3.*" "$@" || status=$?
       run_suite "$root/.venv-af2" "apache-airflow==2.11.*" -m "not realstack" "$@" || status=$? ;;
  3)   run_suite "$root/.venv-af3" "apache-airflow==3.3.*" "$@" || status=$? ;;
  2)   run_suite "$root/.venv-af2" "apache-airflow==2.11.*" -m "not realstack" "$@" || status=$? ;;
  *)   echo "usage: bash tests/run.sh [all|3|2] [pytest args...]" >&2; exit 2 ;;
esac
exit $status
