#!/usr/bin/env bash
# The local playground: no Docker, no cluster. Needs only Python 3.11+ (and Java 17 for native Flink jobs).
#   bash dags/playground.sh            # run the demo once and exit
#   bash dags/playground.sh --serve    # run it, then keep the emulator and simulator up until Ctrl-C
# It creates .venv-playground (Airflow 3.3 + this provider), starts the in-repo Kubernetes API emulator and
# Flink operator simulator, and drives a job end to end. See README.md, "The two commands".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
venv="$root/.venv-playground"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
  echo "Creating $venv (Airflow 3.3 and the provider; about a minute the first time)..."
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "apache-airflow==3.3.*" -e . 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
  echo "$want" > "$venv/.stamp"
fi
exec "$venv/bin/python" -m airflow_provider_flink.testing.playground --workdir "$root/.playground" "$@"
