"""
Assemble ``benchmarks/RESULTS.md`` from the JSON files the benchmarks wrote into one output folder.

Reads ``scale.json`` (:mod:`benchmarks.triggerer_scale`), ``overheads.json`` (:mod:`benchmarks.overheads`) and,
when present, ``soak.json`` and ``bad_input.json`` (written by ``tests/soak`` with ``FLINK_BENCH_REPORT_DIR``);
puts every figure against its target (met / missed, and what limits a miss) above the detailed tables. ::

    python -m benchmarks.report --out build/benchmarks --results benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The issue's targets, for N = 1,000 waits.
TARGET_SIZE = 1000
TARGETS = {
    "requests_per_job_minute": 0.2,
    "latency_p99": 2.0,
    "cpu_seconds_per_minute": 6.0,
    "peak_rss_mb": 200.0,
    "import_ms": 50.0,
    "execute_seconds": 0.5,
    "bad_input_cases": 40,
}
CASE_TITLES = {
    "deployment-trigger": "FlinkDeployment waits",
    "native-trigger": "native waits",
    "deployment-baseline": "FlinkDeployment polling baseline (one GET per job per poll)",
    "native-baseline": "native polling baseline (one REST overview per job per poll)",
}
BASELINE_OF = {"deployment-trigger": "deployment-baseline", "native-trigger": "native-baseline"}


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table, columns padded so that it also reads well as plain text."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: float | None, digits: int = 2, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}"


def verdict(value: float | None, limit: float, *, at_least: bool = False) -> str:
    if value is None:
        return "not measured"
    return "met" if (value >= limit if at_least else value <= limit) else "**missed**"


def load_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


# ----------------------------------------------------------------------------------------------------
# Machine
# ----------------------------------------------------------------------------------------------------


def machine(flink_version: str | None) -> list[list[str]]:
    import importlib.metadata

    memory = "-"
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    try:
        airflow = importlib.metadata.version("apache-airflow")
    except importlib.metadata.PackageNotFoundError:
        airflow = "-"
    cpu = "-"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return [
        ["CPU cores (nproc)", str(len(os.sched_getaffinity(0)))],
        ["CPU", cpu],
        ["RAM", memory],
        ["OS", platform.platform()],
        ["Python", platform.python_version()],
        ["Airflow", airflow],
        ["Flink CLI", flink_version or "-"],
        ["Date (UTC)", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")],
        ["Commit", commit()],
    ]


def commit() -> str:
    """The commit measured, and whether the working tree had changes (read-only git commands)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "-"
    if head.returncode != 0:
        return "-"
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


# ----------------------------------------------------------------------------------------------------
# Triggerer scale
# ----------------------------------------------------------------------------------------------------


def total_requests_per_second(run: dict[str, Any]) -> float:
    return run["loop_requests"] / run["window_seconds"] if run["window_seconds"] else 0.0


def limits(run: dict[str, Any], figure: str) -> str:
    """Why a figure of a run missed its target, from what the run recorded."""
    poll = run["poll_interval"]
    if figure == "requests_per_job_minute":
        if run["kind"] == "native":
            return (
                f"Flink REST has no watch: each look is a Deployment GET plus `/jobs/overview` through the service "
                f"proxy every {poll:g} s (≥ {2 * 60 / poll:.0f} requests per job per minute)"
            )
        verbs = ", ".join(f"{count} {verb}" for verb, count in run["requests_by_verb"].items())
        if set(run["requests_by_verb"]) <= {"WATCH", "LIST"}:
            return f"{verbs} in {run['window_seconds']:.0f} s: one shared watch, a fixed cost over {run['size']} waits"
        return f"the waits polled: {verbs} in {run['window_seconds']:.0f} s"
    if figure == "latency_p99":
        p99 = run["latency_p99"] or 0.0
        busy = (
            f"{total_requests_per_second(run):.0f} loop requests/s; loop {fmt(run['cpu_seconds_per_minute'], 1)} + "
            f"emulator {fmt(run['emulator_cpu_seconds_per_minute'], 1)} CPU s/min on a machine with load average "
            f"{', '.join(str(v) for v in run['load_average'])}"
        )
        if p99 > 1.5 * poll:
            return f"looks take longer than the poll interval ({busy})"
        return f"polling: a change waits up to one poll interval ({poll:g} s) to be seen"
    if figure == "cpu_seconds_per_minute":
        cpu = run["loop_cpu_seconds"]
        if run["loop_requests"] > run["changes"]:
            per_request = cpu / run["loop_requests"] * 1000 if run["loop_requests"] else 0.0
            return f"{per_request:.2f} ms of loop CPU per request × {total_requests_per_second(run):.0f} requests/s"
        writes = run["driver_writes"] or run["changes"]
        per_change = cpu / writes * 1000 if writes else 0.0
        return f"{per_change:.2f} ms of loop CPU per status change seen ({writes} in the window)"
    if figure == "peak_rss_mb":
        added = run["peak_rss_mb"] - run["rss_before_waits_mb"]
        return (
            f"`import airflow` alone holds {run['rss_airflow_mb']:.0f} MB and the provider with the Kubernetes "
            f"clients {run['rss_before_waits_mb'] - run['rss_airflow_mb']:.0f} MB more before any wait; the "
            f"{run['size']} waits add {added:.0f} MB ({added * 1024 / run['size']:.0f} KB each)"
        )
    return ""


def pick_runs(scale: dict[str, Any]) -> tuple[int, dict[str, dict[str, Any]]]:
    """The runs the targets are checked on: N = 1,000, else the largest N that ran."""
    sizes = sorted({run["size"] for run in scale["runs"]})
    size = TARGET_SIZE if TARGET_SIZE in sizes else sizes[-1]
    return size, {run["case"]: run for run in scale["runs"] if run["size"] == size}


def scale_summary(scale: dict[str, Any]) -> list[list[str]]:
    size, runs = pick_runs(scale)
    scope = f"N={size:,}"
    figures: list[tuple[str, str, str, Callable[[float | None], str]]] = [
        ("requests_per_job_minute", "API requests per job per minute", "≤ 0.2", lambda v: fmt(v, 3)),
        ("latency_p99", "latency change → event, p99", "≤ 2 s", lambda v: fmt(v, 3, " s")),
        ("cpu_seconds_per_minute", "loop CPU seconds per minute", "≤ 6 (10% of a core)", lambda v: fmt(v, 2)),
        ("peak_rss_mb", "loop peak RSS", "≤ 200 MB", lambda v: fmt(v, 0, " MB")),
    ]
    rows = []
    for case in ("deployment-trigger", "native-trigger"):
        run = runs.get(case)
        if run is None:
            continue
        baseline = runs.get(BASELINE_OF[case])
        for key, title, target, show in figures:
            value = run.get(key)
            result = verdict(value, TARGETS[key])
            rows.append(
                [
                    f"{CASE_TITLES[case]}, {scope}: {title}",
                    target,
                    show(value),
                    show(baseline.get(key)) if baseline else "-",
                    result,
                    limits(run, key) if result != "met" and value is not None else "",
                ]
            )
        if run["missing_events"] or run["early_events"] or run["wrong_status_events"]:
            rows.append(
                [
                    f"{CASE_TITLES[case]}, {scope}: events",
                    "one right event per change",
                    f"{run['latencies_measured']}/{run['changes']}",
                    "",
                    "**missed**",
                    "; ".join(run["notes"]),
                ]
            )
    return rows


def scale_details(scale: dict[str, Any]) -> str:
    settings = scale["settings"]
    headers = [
        "case",
        "N",
        "req/job/min",
        "requests in window",
        "loop CPU s/min",
        "peak RSS MB",
        "RSS before waits MB",
        "p50 s",
        "p99 s",
        "max s",
        "events",
        "emulator CPU s/min",
        "driver CPU s/min",
        "load avg",
        "start-up req/wait",
        "warm-up s",
    ]
    rows = [
        [
            run["case"],
            f"{run['size']:,}",
            fmt(run["requests_per_job_minute"], 3),
            ", ".join(f"{verb} {count}" for verb, count in run["requests_by_verb"].items()) or "0",
            fmt(run["cpu_seconds_per_minute"]),
            fmt(run["peak_rss_mb"], 0),
            fmt(run["rss_before_waits_mb"], 0),
            fmt(run["latency_p50"], 3),
            fmt(run["latency_p99"], 3),
            fmt(run["latency_max"], 3),
            f"{run['events']}/{run['size']}",
            fmt(run["emulator_cpu_seconds_per_minute"], 1),
            fmt(run["driver_cpu_seconds_per_minute"], 1),
            " ".join(str(v) for v in run["load_average"]) or "-",
            fmt(run["startup_requests_per_wait"], 2),
            fmt(run["warmup_seconds"], 0),
        ]
        for run in scale["runs"]
    ]
    notes = [f"- {run['case']} N={run['size']:,}: {note}" for run in scale["runs"] for note in run["notes"]]
    text = (
        f"Window {settings['window_seconds']:.0f} s per configuration, poll interval {settings['poll_interval']:g} s "
        f"(triggers and baseline), {settings['fail_fraction']:.0%} of jobs end FAILED, the rest FINISHED, seed "
        f"{settings['seed']}; {settings['wall_seconds'] / 60:.1f} min in all.\n\n" + markdown_table(headers, rows)
    )
    return text + ("\n\n" + "\n".join(notes) if notes else "")


# ----------------------------------------------------------------------------------------------------
# Overheads
# ----------------------------------------------------------------------------------------------------


def ms(execute: dict[str, Any], part: str) -> str:
    """A part of the cold execute() in ms: ``client_import``, ``crd_schema_parse``, ``rest`` or ``raw``."""
    value = execute.get("raw_cold_median" if part == "raw" else f"cold_{part}_median")
    return fmt(value * 1000 if value is not None else None, 0, " ms")


def overhead_rows(overheads: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    """(summary rows against targets, detail rows)."""
    summary, details = [], []
    imports = overheads.get("import")
    if imports:
        added = imports["added_ms"]
        top = ", ".join(f"{m['module']} {m['self_ms']:.0f} ms" for m in imports["top_added_modules"][:4])
        result = verdict(added, TARGETS["import_ms"])
        summary.append(
            [
                "provider import, added to `import airflow`",
                "≤ 50 ms",
                fmt(added, 1, " ms"),
                fmt(imports["airflow_ms"], 0, " ms (`import airflow`)"),
                result,
                f"largest modules it adds: {top}" if result != "met" else "",
            ]
        )
        details += [
            ["`import airflow` alone", fmt(imports["airflow_ms"], 0, " ms"), f"median of {imports['runs']}"],
            ["provider modules after `import airflow`", fmt(added, 1, " ms"), f"median of {imports['runs']}"],
            [
                "provider modules after `from airflow.sdk import DAG, BaseOperator`",
                fmt(imports["added_beyond_dag_file_ms"], 0, " ms"),
                "what a DAG file adds by using the provider",
            ],
            [
                "self time of the modules added (`-X importtime`)",
                fmt(imports["added_self_ms_importtime"], 0, " ms"),
                f"{len(imports['modules_added'])} modules",
            ],
            [
                "Kubernetes clients imported by the provider's modules",
                "yes" if imports["kubernetes_client_imported"] else "no",
                "they load when a task runs, not at DAG parsing",
            ],
        ]
    execute = overheads.get("execute_to_cr")
    if execute:
        for label, key, raw in (
            ("warm", "operator_warm_median", "raw_warm_median"),
            ("cold: first task of a process", "operator_cold_median", "raw_cold_median"),
        ):
            value = execute[key]
            result = verdict(value, TARGETS["execute_seconds"])
            why = ""
            if result != "met" and key == "operator_cold_median":
                why = f"once per process: the hook module and Kubernetes clients load in {ms(execute, 'client_import')}"
                if execute.get("cold_crd_schema_parse_median") is not None:
                    why += f", the shipped CRD schemas (for validation) parse in {ms(execute, 'crd_schema_parse')}"
                why += f"; the raw client's own cold call takes {ms(execute, 'raw')}"
            summary.append(
                [
                    f"execute() until the FlinkDeployment exists, {label}",
                    "≤ 0.5 s",
                    fmt(value, 3, " s"),
                    fmt(execute[raw], 3, " s (raw create call)"),
                    result,
                    why,
                ]
            )
        details += [
            [
                "execute() to CR, cold",
                fmt(execute["operator_cold_median"], 3, " s"),
                f"median of {execute['cold_runs']} fresh processes",
            ],
            [
                "  of which loading the hook module and Kubernetes clients",
                fmt(execute["cold_client_import_median"], 3, " s"),
                "timed apart in other fresh processes",
            ],
            [
                "  of which parsing the shipped CRD schemas",
                fmt(execute.get("cold_crd_schema_parse_median"), 3, " s"),
                "timed apart in other fresh processes",
            ],
            [
                "  the rest of that first execute()",
                fmt(execute.get("cold_rest_median"), 3, " s"),
                "timed apart in other fresh processes",
            ],
            [
                "execute() to CR, warm",
                fmt(execute["operator_warm_median"], 3, " s"),
                f"median of {execute['warm_runs']}",
            ],
            [
                "raw create_namespaced_custom_object, cold (import + client + call)",
                fmt(execute["raw_cold_median"], 3, " s"),
                "baseline",
            ],
            ["raw create_namespaced_custom_object, warm", fmt(execute["raw_warm_median"], 3, " s"), "baseline"],
            ["every CR created", "yes" if execute["all_created"] else "**no**", ""],
        ]
    cli = overheads.get("cli")
    if cli and cli.get("skipped"):
        details.append(["local CLI submission", "skipped", cli["skipped"]])
    elif cli:
        summary.append(
            [
                "local `flink run --target kubernetes-application`, wall time",
                "(none)",
                fmt(cli["submit_median"], 1, " s"),
                fmt(cli["version_median"], 1, " s (`flink --version`)"),
                "reference",
                "",
            ]
        )
        details += [
            [
                "`flink run --target kubernetes-application` (LocalFlinkSubmitter)",
                fmt(cli["submit_median"], 2, " s"),
                f"median of {cli['runs']}; {cli['clusters_created']}/{cli['runs']} JobManager Deployments created",
            ],
            ["`flink --version` (JVM start-up)", fmt(cli["version_median"], 2, " s"), f"median of {cli['runs']}"],
        ]
    return summary, details


# ----------------------------------------------------------------------------------------------------
# Soak and bad input (written by tests/soak)
# ----------------------------------------------------------------------------------------------------


def soak_rows(soak: dict[str, Any]) -> list[list[str]]:
    lifecycles = soak.get("lifecycles") or 0
    correct = soak.get("correct") or 0
    share = correct / lifecycles * 100 if lifecycles else None
    planned, fired = soak.get("faults") or {}, soak.get("faults_fired") or {}
    faults = ", ".join(
        f"{name} {count}" + (f" ({fired[name]} fired)" if name in fired else "")
        for name, count in sorted(planned.items())
    )
    where = f"soak ({lifecycles} lifecycles, seed {soak.get('seed')})"
    result = "met" if lifecycles and correct == lifecycles else "**missed**"
    rows = [
        [
            f"{where}: correct outcomes",
            "100%",
            f"{fmt(share, 1, '%')} ({correct}/{lifecycles})",
            "",
            result,
            f"under faults: {faults}; replay: FLINK_SOAK_SEED={soak.get('seed')} FLINK_SOAK_LIFECYCLES={lifecycles} "
            "pytest tests/soak"
            if result != "met"
            else "",
        ]
    ]
    for key, title in (
        ("orphans", "orphaned objects"),
        ("duplicates", "duplicate submissions"),
        ("secret_leaks", "secrets in logs"),
    ):
        value = soak.get(key)
        rows.append([f"{where}: {title}", "0", str(value), "", verdict(value, 0), ""])
    return rows


def bad_input_rows(bad: dict[str, Any]) -> list[list[str]]:
    cases, clear, created = bad.get("cases"), bad.get("clear_errors"), bad.get("objects_created")
    return [
        ["bad input: cases", "≥ 40", str(cases), "", verdict(cases, TARGETS["bad_input_cases"], at_least=True), ""],
        [
            "bad input: clear errors",
            "every case",
            f"{clear}/{cases}",
            "",
            "met" if cases and clear == cases else "**missed**",
            "",
        ],
        ["bad input: objects created", "0", str(created), "", verdict(created, 0), ""],
    ]


# ----------------------------------------------------------------------------------------------------


def render(out: Path, command: str, elapsed: float | None = None) -> str:
    scale = load_json(out / "scale.json")
    overheads = load_json(out / "overheads.json") or {}
    soak = load_json(out / "soak.json")
    bad = load_json(out / "bad_input.json")
    quick = bool(scale and scale["settings"].get("quick"))
    summary: list[list[str]] = []
    scope = ""
    if scale:
        summary += scale_summary(scale)
        size = pick_runs(scale)[0]
        scope = (
            f"Triggerer rows: N={size:,} concurrent waits in one loop"
            + ("." if size == TARGET_SIZE else " (the targets are for N=1,000: indicative only).")
            + " Baseline: the same waits polled with one GET per job per poll interval, as the official provider's"
            " sensor does each poke (for native waits: one Flink REST overview per poll)."
        )
    overhead_summary, overhead_details = overhead_rows(overheads)
    summary += overhead_summary
    summary += soak_rows(soak) if soak else []
    summary += bad_input_rows(bad) if bad else []
    parts = [
        "# Benchmark results",
        f"Produced by `{command}`"
        + (f" in {elapsed / 60:.0f} minutes" if elapsed else "")
        + " on the machine below; regenerate with the same command. How each figure is measured: "
        "[README.md](README.md).",
    ]
    if quick:
        parts.append(
            "**Quick run** (`--quick`): small N and a short window. The figures show the shape, not the targets' "
            "conditions; run `bash benchmarks/run.sh` for the real ones."
        )
    parts += ["## Machine", markdown_table(["", ""], machine((overheads.get("cli") or {}).get("flink_version")))]
    parts += [
        "## Summary against the targets",
        scope,
        markdown_table(["figure", "target", "measured", "baseline", "verdict", "what limits a miss"], summary),
    ]
    if scale:
        parts += ["## Triggerer scale", scale_details(scale)]
    else:
        parts += ["## Triggerer scale", "Not run (no scale.json)."]
    if overhead_details:
        load = overheads.get("load_average") or {}
        loads = " / ".join(" ".join(str(v) for v in load[key]) for key in ("start", "end") if key in load)
        parts += ["## Overheads", markdown_table(["figure", "value", "how"], overhead_details)]
        parts += [f"Load average (1, 5, 15 min) at the start / end of these measurements: {loads}."] if loads else []
    if overheads.get("import"):
        top = [[m["module"], fmt(m["self_ms"], 1, " ms")] for m in overheads["import"]["top_added_modules"]]
        parts += [
            "Modules the provider import adds, by self time (`python -X importtime`, median):",
            markdown_table(["module", "self time"], top),
        ]
    parts += ["## Soak and bad input"]
    if soak:
        detail = [[key, json.dumps(value)] for key, value in soak.items()]
        parts += [markdown_table(["soak.json", "value"], detail)]
    else:
        parts += ["No soak.json in the output folder: the soak did not run or wrote nothing."]
    if bad:
        parts += [markdown_table(["bad_input.json", "value"], [[k, json.dumps(v)] for k, v in bad.items()])]
    else:
        parts += ["No bad_input.json in the output folder."]
    parts += ["## Real control plane"]
    realstack = load_json(out / "realstack.json")
    parts += (
        [markdown_table(["figure", "value"], realstack_rows(realstack))]
        if realstack
        else ["No realstack.json in the output folder (`python -m benchmarks.realstack --out DIR`)."]
    )
    return "\n\n".join(parts) + "\n"


def realstack_rows(result: dict[str, Any]) -> list[list[str]]:
    """Build and start figures of etcd, kube-apiserver and kube-controller-manager (:mod:`benchmarks.realstack`)."""
    rows = []
    for kind in ("cold", "warm"):
        build = result.get(kind)
        if not build:
            continue
        steps = build["steps"]
        peak = max(step["peak_rss_mb"] for step in steps.values())
        parts = ", ".join(f"{name} {step['wall_s']:.0f} s" for name, step in steps.items())
        rows.append(
            [f"{kind} build, wall (peak RSS of one step)", f"{build['wall_s']:.0f} s ({peak:,.0f} MB): {parts}"]
        )
    if "start_s_median" in result:
        runs = ", ".join(f"{s:.1f}" for s in result["start_s"])
        rows.append(
            ["start to ready with the Flink CRDs established, median", f"{result['start_s_median']:.1f} s ({runs})"]
        )
        memory = ", ".join(f"{name} {mb:.0f} MB" for name, mb in result["rss_mb_after_start"].items())
        rows.append(["RSS after start", memory])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "benchmarks"), help="folder the benchmarks wrote to")
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "RESULTS.md"), help="the file to write")
    parser.add_argument("--command", default="bash benchmarks/run.sh", help="the command to name in the report")
    parser.add_argument("--elapsed", type=float, help="seconds the whole command took")
    args = parser.parse_args(argv)
    text = render(Path(args.out), args.command, args.elapsed)
    Path(args.results).write_text(text)
    print(f"written: {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
