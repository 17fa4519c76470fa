#!/usr/bin/env bash
# The local playground: no Docker, no cluster. Needs only Python 3.11+ and a Java 17 JDK (java and javac: the
# native-mode example runs a real local Flink, and its stand-in job jar is compiled on first use).
#   bash dags/playground.sh                          # run flink_streaming_savepoint, then serve the UI until Ctrl-C
#   bash dags/playground.sh --once                   # run it and exit (status 0 when the run succeeded)
#   bash dags/playground.sh --dag flink_native_jar   # another example of dags/ (an unknown id lists them)
#   bash dags/playground.sh --dags-folder my_dags    # your own DAG files (--dag picks one if there are several)
#   bash dags/playground.sh --help                   # every option: --keep, --port, --timeout, --native, ...
# Every invocation starts a fresh metadata database (--keep keeps it) and triggers one new run.
# The first call creates .venv-playground (Airflow 3.3, this provider and the Flink 2.3 CLI; about 800 MB), then
# starts the in-repo Kubernetes API emulator and Flink operator simulator and Airflow on 127.0.0.1.
# See README.md, "The two commands".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# No cd: relative paths in the options (--dags-folder, --workdir) are the caller's.
python="${PYTHON:-python3}"
venv="$root/.venv-playground"
# pip's own exit status counts; only the noise of this machine's pip configuration is filtered from stderr.
quiet_pip() { "$@" --quiet --disable-pip-version-check 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
want="$(sha256sum < "$root/pyproject.toml" | cut -c1-16) flink-2.3"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
  echo "Creating $venv (Airflow 3.3, the provider and the Flink CLI; a minute or two, once)..."
  rm -rf "$venv"
  "$python" -m venv "$venv"
  quiet_pip "$venv/bin/pip" install "apache-airflow==3.3.*" -e "$root"
  # The Flink 2.3 CLI and jars for the native-mode examples, without PyFlink's Python dependencies.
  quiet_pip "$venv/bin/pip" install --no-deps "apache-flink==2.3.*" "apache-flink-libraries==2.3.*"
  echo "$want" > "$venv/.stamp"
fi
exec "$venv/bin/python" -m airflow_provider_flink.testing.playground --workdir "$root/.playground" "$@"
