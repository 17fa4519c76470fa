"""
Overheads a DAG author pays: importing the provider, ``execute()`` until the custom resource exists, and a
local ``flink run --target kubernetes-application``.

* **Import cost**: fresh interpreters import ``airflow`` alone, then ``airflow`` plus the provider's operator,
  sensor and trigger modules; the median difference of the in-process wall time is the provider's cost
  (``python -X importtime`` runs name the modules it adds).
* **execute() to CR**: ``FlinkDeploymentOperator(wait_for="none").execute()`` against the API emulator (in a
  process of its own), timed from the call until it returns (the CR exists once its POST returned, just before
  ``execute()`` returns). *Cold*: the first ``execute()`` of a fresh process whose DAG file was parsed (the
  operator module imported, the operator built), so it includes loading the Kubernetes client, as a task does;
  *warm*: later calls in the same process. Baseline: one raw ``CustomObjectsApi.create_namespaced_custom_object``,
  cold (import and client included) and warm.
* **Local CLI submission**: :class:`~airflow_provider_flink.native.submit.LocalFlinkSubmitter` runs the real
  Flink CLI (``FLINK_HOME``) against the emulator, with the operator's default environment; baseline: the same
  submitter running ``flink --version`` (JVM start-up). ::

    python -m benchmarks.overheads --out build/benchmarks [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from benchmarks.report import markdown_table, overhead_rows
from benchmarks.triggerer_scale import NAMESPACE, ROOT, EmulatorProcess

PROVIDER_MODULES = (
    "airflow_provider_flink.operators.flink_deployment",
    "airflow_provider_flink.sensors.flink",
    "airflow_provider_flink.triggers.flink",
    "airflow_provider_flink.operators.flink_native",
)
#: What every Airflow 3 DAG file imports anyway: the provider's cost beyond it is also reported.
DAG_FILE_IMPORTS = "from airflow.sdk import DAG, BaseOperator"
_IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s?( *)(\S+)")


def python_env(workdir: Path) -> dict[str, str]:
    """The environment of the measured interpreters: a private AIRFLOW_HOME, nothing written to the user's."""
    home = workdir / "airflow_home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


# ----------------------------------------------------------------------------------------------------
# Import cost
# ----------------------------------------------------------------------------------------------------


def timed_import(
    setup: str, statement: str, env: dict[str, str], importtime: bool = False
) -> tuple[float, dict[str, int]]:
    """
    In a fresh interpreter, run ``setup``, then time ``statement``; return that time and, with ``importtime``,
    each module's self time in µs from ``python -X importtime`` (setup included).
    """
    code = f"{setup}\nimport time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    argv = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code]
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=ROOT)
    if completed.returncode != 0:
        raise RuntimeError(f"{statement!r} failed to import:\n{completed.stderr[-2000:]}")
    modules = {}
    for line in completed.stderr.splitlines():
        match = _IMPORTTIME_LINE.match(line)
        if match:
            modules[match.group(4)] = int(match.group(1))
    return float(completed.stdout.strip().splitlines()[-1]), modules


def import_cost(runs: int, env: dict[str, str]) -> dict[str, Any]:
    """
    The provider's import time on top of ``import airflow``, timed inside fresh interpreters.

    Timing the provider's imports after ``import airflow`` in the same process keeps the (large, noisy) cost of
    Airflow itself out of the difference; another run starts from a DAG file's usual ``airflow.sdk`` imports.
    """
    provider = "\n".join(f"import {module}" for module in PROVIDER_MODULES)
    variants = {
        "airflow": ("pass", "import airflow"),
        "provider_after_airflow": ("import airflow", provider),
        "provider_after_dag_file": (f"import airflow\n{DAG_FILE_IMPORTS}", provider),
    }
    for setup, statement in variants.values():  # compile the .pyc files once, outside the measurement
        timed_import(setup, statement, env)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):  # interleaved, so that a busy moment of the machine hits every variant alike
        for name, (setup, statement) in variants.items():
            times[name].append(timed_import(setup, statement, env)[0])
    profiles = min(runs, 3)  # only to name the modules: fewer runs do
    airflow_alone = [timed_import("pass", "import airflow", env, importtime=True)[1] for _ in range(profiles)]
    with_provider = [timed_import("import airflow", provider, env, importtime=True)[1] for _ in range(profiles)]
    baseline = set().union(*airflow_alone)
    added: dict[str, list[int]] = {}
    for profile in with_provider:
        for module, self_us in profile.items():
            if module not in baseline:
                added.setdefault(module, []).append(self_us)
    top = sorted(((statistics.median(values), module) for module, values in added.items()), reverse=True)[:12]
    medians = {name: median(values) for name, values in times.items()}
    return {
        "runs": runs,
        "seconds": times,
        "median_seconds": medians,
        "airflow_ms": (medians["airflow"] or 0) * 1000,
        "added_ms": (medians["provider_after_airflow"] or 0) * 1000,
        "added_beyond_dag_file_ms": (medians["provider_after_dag_file"] or 0) * 1000,
        "modules_added": sorted(added),
        "added_self_ms_importtime": sum(statistics.median(v) for v in added.values()) / 1000,
        "top_added_modules": [{"module": module, "self_ms": us / 1000} for us, module in top],
        "kubernetes_client_imported": any(m.split(".")[0] in ("kubernetes", "kubernetes_asyncio") for m in added),
    }


# ----------------------------------------------------------------------------------------------------
# execute() until the custom resource exists
# ----------------------------------------------------------------------------------------------------

_OPERATOR_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator

    class TaskInstance:  # what execute() reads from the context's ti
        dag_id, task_id, run_id, map_index, try_number = "bench", "submit", "manual__bench", -1, 1

        def xcom_push(self, key, value):
            pass

    prefix, count = sys.argv[1], int(sys.argv[2])
    operators = [
        FlinkDeploymentOperator(
            task_id=f"submit_{i}", kubernetes_conn_id="bench_k8s", name=f"{prefix}-{i}", image="flink:2.0",
            flink_version="v2_0", jar_uri="local:///opt/flink/usrlib/wordcount.jar",
            entry_class="org.example.WordCount", parallelism=2,
            flink_configuration={"execution.runtime-mode": "BATCH"}, wait_for="none",
        )
        for i in range(count)
    ]
    parts = {}
    if sys.argv[3:] == ["split"]:
        # Time apart what a cold execute() does once per process: load the hook module with the Kubernetes
        # clients, and parse the shipped CRD schemas the body is validated against.
        started = time.perf_counter()
        import airflow_provider_flink.hooks.kubernetes
        parts["clients"] = time.perf_counter() - started
        try:
            from airflow_provider_flink.utils.crd_schema import shipped_crds
        except ImportError:
            pass
        else:
            started = time.perf_counter()
            shipped_crds()
            parts["crd_schemas"] = time.perf_counter() - started
    seconds = []
    for operator in operators:
        started = time.perf_counter()
        operator.execute({"ti": TaskInstance()})
        seconds.append(time.perf_counter() - started)
    print(json.dumps({"parts": parts, "seconds": seconds}))
    """
)

_RAW_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    started = time.perf_counter()
    from kubernetes import client, config

    api = client.CustomObjectsApi(config.new_client_from_config(sys.argv[3]))
    prefix, count, body = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[4])
    seconds = []
    for i in range(count):
        body["metadata"]["name"] = f"{prefix}-{i}"
        api.create_namespaced_custom_object("flink.apache.org", "v1beta1", body["metadata"]["namespace"],
                                            "flinkdeployments", body)
        seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
    print(json.dumps({"parts": {}, "seconds": seconds}))
    """
)


def run_script(script: str, args: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run a timing script in a fresh interpreter; return its ``{"parts": {...}, "seconds": [...]}``."""
    with open(log, "a") as stderr:
        completed = subprocess.run(
            [sys.executable, "-c", script, *args], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT
        )
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark script failed (exit {completed.returncode}); see {log}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def execute_to_cr(cold_runs: int, warm_runs: int, workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    from benchmarks.triggerer_scale import deployment_body

    log = workdir / "execute.log"
    with EmulatorProcess(workdir) as emulator:
        extra = {"kube_config_path": str(emulator.kubeconfig), "namespace": NAMESPACE}
        env = {**env, "AIRFLOW_CONN_BENCH_K8S": json.dumps({"conn_type": "kubernetes", "extra": extra})}
        cold = [run_script(_OPERATOR_SCRIPT, [f"cold{i}", "1"], env, log)["seconds"][0] for i in range(cold_runs)]
        warm = run_script(_OPERATOR_SCRIPT, ["warm", str(warm_runs + 1)], env, log)["seconds"][1:]
        split = [run_script(_OPERATOR_SCRIPT, [f"split{i}", "1", "split"], env, log) for i in range(cold_runs)]
        raw = [str(emulator.kubeconfig), json.dumps(deployment_body("raw"))]
        raw_cold = [
            run_script(_RAW_SCRIPT, [f"rawcold{i}", "1", *raw], env, log)["seconds"][0] for i in range(cold_runs)
        ]
        raw_warm = run_script(_RAW_SCRIPT, ["rawwarm", str(warm_runs + 1), *raw], env, log)["seconds"][1:]
        created = {d["metadata"]["name"] for d in emulator_objects(emulator)}
    expected = {f"{prefix}{i}-0" for i in range(cold_runs) for prefix in ("cold", "split")}
    expected |= {f"warm-{i}" for i in range(warm_runs + 1)}
    return {
        "cold_runs": cold_runs,
        "warm_runs": warm_runs,
        "operator_cold_seconds": cold,
        "operator_warm_seconds": warm,
        "raw_cold_seconds": raw_cold,
        "raw_warm_seconds": raw_warm,
        "operator_cold_median": median(cold),
        "cold_client_import_median": median([run["parts"]["clients"] for run in split]),
        "cold_crd_schema_parse_median": median(
            [run["parts"]["crd_schemas"] for run in split if "crd_schemas" in run["parts"]]
        ),
        "cold_rest_median": median([run["seconds"][0] for run in split]),
        "operator_warm_median": median(warm),
        "raw_cold_median": median(raw_cold),
        "raw_warm_median": median(raw_warm),
        "all_created": expected <= created,
    }


def emulator_objects(emulator: EmulatorProcess) -> list[dict[str, Any]]:
    import urllib.request

    url = f"{emulator.url}/apis/flink.apache.org/v1beta1/namespaces/{NAMESPACE}/flinkdeployments"
    with urllib.request.urlopen(url) as response:
        return json.loads(response.read())["items"]


# ----------------------------------------------------------------------------------------------------
# Local CLI submission
# ----------------------------------------------------------------------------------------------------


def cli_submission(runs: int, workdir: Path) -> dict[str, Any]:
    from airflow_provider_flink.native.command import NativeJobSpec, build_flink_run_argv, detect_flink_version
    from airflow_provider_flink.native.submit import LocalFlinkSubmitter, SecretMasker, find_flink_binary

    try:
        binary = find_flink_binary()
    except Exception as error:
        return {"skipped": f"no Flink CLI: {error}"}
    version = detect_flink_version(binary)
    versions: list[float] = []
    submissions: list[float] = []
    created = 0
    with EmulatorProcess(workdir) as emulator:
        for i in range(runs):
            for what in ("version", "submit"):
                folder = Path(tempfile.mkdtemp(prefix=f"cli-{what}-{i}-", dir=workdir))
                submitter = LocalFlinkSubmitter(work_dir=folder, timeout=300, log=lambda line: None)
                if what == "version":
                    argv = [binary, "--version"]
                else:
                    spec = NativeJobSpec(
                        cluster_id=f"cli-bench-{i}",
                        image="flink:2.3.0-java17",
                        namespace=NAMESPACE,
                        kubeconfig_path=str(emulator.kubeconfig),
                        jar="local:///opt/flink/usrlib/wordcount.jar",
                        entry_class="org.example.WordCount",
                        program_args=("--input", "s3://bucket/in"),
                    )
                    argv = build_flink_run_argv(spec, flink_version=version, flink_binary=binary)
                started = time.perf_counter()
                submitter.run(argv, SecretMasker(argv))
                (versions if what == "version" else submissions).append(time.perf_counter() - started)
        import urllib.request

        with urllib.request.urlopen(f"{emulator.url}/apis/apps/v1/namespaces/{NAMESPACE}/deployments") as response:
            names = {item["metadata"]["name"] for item in json.loads(response.read())["items"]}
        created = sum(1 for i in range(runs) if f"cli-bench-{i}" in names)
    return {
        "runs": runs,
        "flink_version": version,
        "version_seconds": versions,
        "submit_seconds": submissions,
        "version_median": median(versions),
        "submit_median": median(submissions),
        "clusters_created": created,
    }


# ----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overheads", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "benchmarks"), help="output folder (overheads.json)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--import-runs", type=int, help="fresh interpreters per import variant (default 5)")
    parser.add_argument("--cold-runs", type=int, help="fresh processes for the cold execute() (default 5)")
    parser.add_argument("--warm-runs", type=int, default=10, help="warm execute() calls")
    parser.add_argument("--cli-runs", type=int, help="Flink CLI submissions and `flink --version` runs (default 3)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: import, execute, cli")
    args = parser.parse_args(argv)
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"load_average": {"start": [round(v, 2) for v in os.getloadavg()]}}
    with tempfile.TemporaryDirectory(prefix="overheads-", dir=out) as folder:
        workdir = Path(folder)
        env = python_env(workdir)
        if "import" not in skip:
            print("--- import cost", flush=True)
            results["import"] = import_cost(args.import_runs or (3 if args.quick else 5), env)
        if "execute" not in skip:
            print("--- execute() to CR", flush=True)
            cold_runs = args.cold_runs or (3 if args.quick else 5)
            results["execute_to_cr"] = execute_to_cr(cold_runs, args.warm_runs, workdir, env)
        if "cli" not in skip:
            print("--- local CLI submission", flush=True)
            os.environ.update({"AIRFLOW_HOME": env["AIRFLOW_HOME"]})
            results["cli"] = cli_submission(args.cli_runs or (1 if args.quick else 3), workdir)
    # Other work on the machine slows fresh interpreters down: recorded, to read the figures by.
    results["load_average"]["end"] = [round(v, 2) for v in os.getloadavg()]
    (out / "overheads.json").write_text(json.dumps(results, indent=1))
    print(markdown_table(["figure", "value", "how"], overhead_rows(results)[1]))
    imports = results.get("import")
    if imports:
        print("\nmodules the provider import adds (median self time):")
        for entry in imports["top_added_modules"]:
            print(f"  {entry['self_ms']:7.1f} ms  {entry['module']}")
    print(f"\nwritten: {out / 'overheads.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
