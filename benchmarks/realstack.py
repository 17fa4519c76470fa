"""
What the real control plane costs: building etcd, kube-apiserver and kube-controller-manager from the Go module
proxy (cold: empty module and build caches; warm: the build cache kept, a new binary folder), and starting it.

    .venv-af3/bin/python -m benchmarks.realstack --out build/benchmarks          # cold + warm build, 3 starts
    .venv-af3/bin/python -m benchmarks.realstack --out build/benchmarks --no-cold  # warm build and starts only

Writes ``realstack.json``; :mod:`benchmarks.report` puts it in RESULTS.md. The cold build downloads every module
again (about 1 GB) and takes about 10 minutes on 2 cores; the caches it fills are temporary and removed after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "tests" / "realstack" / "build.sh"


def build(env_overrides: dict[str, str]) -> dict[str, Any]:
    """Run build.sh with the given caches; its per-step figures, the wall time and the binary folder."""
    env = {**os.environ, **env_overrides}
    started = time.monotonic()
    out = subprocess.run(["bash", str(BUILD)], env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    wall = time.monotonic() - started
    bin_dir = Path(out.strip().splitlines()[-1])
    steps = {}
    for line in (bin_dir / "build-figures.txt").read_text().splitlines():
        name, *pairs = line.split()
        steps[name] = {key: float(value) for key, value in (pair.split("=") for pair in pairs)}
    return {"wall_s": round(wall, 1), "steps": steps, "bin_dir": str(bin_dir)}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def starts(bin_dir: Path, count: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tests"))
    from realstack.control_plane import ControlPlane

    seconds, memory = [], {}
    for _ in range(count):
        with ControlPlane(bin_dir=bin_dir) as plane:
            seconds.append(plane.start_seconds)
            time.sleep(5)  # the controllers' informers have synced
            memory = {name: round(rss_mb(pid), 1) for name, pid in plane.pids().items()}
    return {"start_s": [round(s, 2) for s in seconds], "start_s_median": round(statistics.median(seconds), 2),
            "rss_mb_after_start": memory}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for realstack.json")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold build (about 10 minutes)")
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"cpu_count": os.cpu_count()}
    scratch = Path(tempfile.mkdtemp(prefix="realstack-bench-"))
    try:
        if args.no_cold:
            gocache: dict[str, str] = {}
        else:
            gocache = {"GOCACHE": str(scratch / "gocache"), "GOMODCACHE": str(scratch / "gomod")}
            result["cold"] = build({**gocache, "FLINK_REALSTACK_CACHE": str(scratch / "cold")})
            print("cold build:", json.dumps(result["cold"]), flush=True)
        result["warm"] = build({**gocache, "FLINK_REALSTACK_CACHE": str(scratch / "warm")})
        print("warm build:", json.dumps(result["warm"]), flush=True)
        result.update(starts(Path(result["warm"]["bin_dir"]), args.starts))
        print("starts:", result["start_s"], "rss:", result["rss_mb_after_start"], flush=True)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)  # the module cache is read-only
        shutil.rmtree(scratch, ignore_errors=True)
    (out / "realstack.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
