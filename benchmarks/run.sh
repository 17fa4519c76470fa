#!/usr/bin/env bash
# Every benchmark, then benchmarks/RESULTS.md, in one command:
#   bash benchmarks/run.sh            # triggerer scale (N = 100, 1,000, 5,000) and overheads (about 15 minutes on
#                                     # 2 cores), then the soak (200 lifecycles) and the bad-input corpus
#   bash benchmarks/run.sh --quick    # small N, short windows, 20-lifecycle soak: about 12 minutes
#   bash benchmarks/run.sh --out DIR  # where the JSON files and logs go (default build/benchmarks)
# The virtualenvs are the test suite's (.venv-af3, .venv-flink): tests/run.sh builds or reuses them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

quick=()
out="$root/build/benchmarks"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick); shift ;;
    --out) out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    *) echo "usage: bash benchmarks/run.sh [--quick] [--out DIR]" >&2; exit 2 ;;
  esac
done
command="bash benchmarks/run.sh${quick:+ --quick}"
started=$SECONDS

echo "=== virtualenvs (bash tests/run.sh 3 --collect-only) ==="
mkdir -p "$out"
if ! bash tests/run.sh 3 --collect-only -q > "$out/setup.log" 2>&1; then
  tail -30 "$out/setup.log" >&2
  echo "setting up the virtualenvs failed; see $out/setup.log" >&2
  exit 1
fi
python="$root/.venv-af3/bin/python"
FLINK_HOME="$("$root/.venv-flink/bin/python" -c 'import os, pyflink; print(os.path.dirname(pyflink.__file__))')"
export FLINK_HOME
# A private Airflow home: nothing is read from or written to the user's ~/airflow.
export AIRFLOW_HOME="$out/airflow_home" AIRFLOW__CORE__LOAD_EXAMPLES=False
mkdir -p "$AIRFLOW_HOME"
# Figures of an earlier run must not be reported as this run's.
rm -rf "$out/logs"
rm -f "$out"/{scale,overheads,soak,bad_input,realstack}.json

status=0
echo "=== triggerer scale ==="
"$python" -m benchmarks.triggerer_scale --out "$out" "${quick[@]}" || status=$?
echo "=== overheads ==="
"$python" -m benchmarks.overheads --out "$out" "${quick[@]}" || status=$?
# The soak and the bad-input corpus are tests that write soak.json / bad_input.json into FLINK_BENCH_REPORT_DIR.
lifecycles=200
[ ${#quick[@]} -gt 0 ] && lifecycles=20
for suite in soak bad_input; do
  echo "=== tests/$suite ==="
  if [ -d "tests/$suite" ]; then
    FLINK_SOAK_SEED=random FLINK_SOAK_LIFECYCLES=$lifecycles FLINK_BENCH_REPORT_DIR="$out" \
      "$python" -m pytest "tests/$suite" -q \
      || status=$?
  else
    echo "tests/$suite does not exist: skipped"
  fi
done
echo "=== real control plane (build cold and warm, start) ==="
if command -v go >/dev/null; then
  "$python" -m benchmarks.realstack --out "$out" ${quick:+--no-cold} || status=$?
else
  echo "no Go on PATH: skipped"
fi
echo "=== report ==="
"$python" -m benchmarks.report --out "$out" --results "$root/benchmarks/RESULTS.md" --command "$command" \
  --elapsed $((SECONDS - started))
exit $status
