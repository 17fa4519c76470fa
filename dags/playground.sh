#!/usr/bin/env bash
# The local playground: no Docker, no cluster. Needs only Python 3.11+ and a Java 17 JDK (java and javac: the
# native-mode example runs a real local Flink, and its stand-in job jar is compiled on first use).
#   bash dags/playground.sh            # run the demo once and exit
#   bash dags/playground.sh --serve    # run it, then keep the emulator and simulator up until Ctrl-C
# It creates .venv-playground (Airflow 3.3 + this provider), starts the in-repo Kubernetes API emulator and
# Flink operator simulator, and drives a job end to end. See README.md, "The two commands".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
venv="$root/.venv-playground"
# pip's own exit status counts; only the noise of this machine's pip configuration is filtered from stderr.
quiet_pip() { "$@" --quiet --disable-pip-version-check 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
want="$(cat pyproject.toml | sha256sum | cut -c1-16) flink-2.3"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
  echo "Creating $venv (Airflow 3.3 and the provider; about a minute the first time)..."
  rm -rf "$venv"
  "$python" -m venv "$venv"
  quiet_pip "$venv/bin/pip" install "apache-airflow==3.3.*" -e .
  # The Flink 2.3 CLI and jars for the native-mode examples, without PyFlink's Python dependencies.
  quiet_pip "$venv/bin/pip" install --no-deps "apache-flink==2.3.*" "apache-flink-libraries==2.3.*"
  echo "$want" > "$venv/.stamp"
fi
exec "$venv/bin/python" -m airflow_provider_flink.testing.playground --workdir "$root/.playground" "$@"
