#!/usr/bin/env bash
# The whole test suite on a fresh machine with only Python 3.11+ and Java 17:
#   bash tests/run.sh          # Airflow 3.3 and Airflow 2.11, one virtualenv each
#   bash tests/run.sh 3        # only Airflow 3.3     (bash tests/run.sh 2: only 2.11)
#   bash tests/run.sh 3 -k hook   # extra arguments go to pytest
# Virtualenvs live in .venv-af3, .venv-af2 and .venv-flink (the Flink CLI) beside this repository's
# files and are reused while pyproject.toml is unchanged.
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

ensure_flink
status=0
case "$which_airflow" in
  all) run_suite "$root/.venv-af3" "apache-airflow==3.3.*" "$@" || status=$?
       run_suite "$root/.venv-af2" "apache-airflow==2.11.*" "$@" || status=$? ;;
  3)   run_suite "$root/.venv-af3" "apache-airflow==3.3.*" "$@" || status=$? ;;
  2)   run_suite "$root/.venv-af2" "apache-airflow==2.11.*" "$@" || status=$? ;;
  *)   echo "usage: bash tests/run.sh [all|3|2] [pytest args...]" >&2; exit 2 ;;
esac
exit $status
