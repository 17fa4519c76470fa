"""The real control plane's launcher: what it starts, that RBAC is on, and that nothing it started outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.realstack

REPO = Path(__file__).resolve().parent.parent.parent


def test_real_api_server_reports_its_version_and_serves_the_flink_crds(real_control_plane: Any) -> None:
    version = real_control_plane.version()
    status, resources = real_control_plane.request("GET", "/apis/flink.apache.org/v1beta1")

    assert (version["gitVersion"], version["major"], version["minor"]) == ("v1.36.3", "1", "36")
    assert status == 200
    assert {r["name"] for r in resources["resources"]} >= {
        "flinkdeployments", "flinkdeployments/status", "flinksessionjobs", "flinkstatesnapshots",
    }  # fmt: skip


def test_requests_are_authenticated_and_authorized_by_rbac(real_control_plane: Any) -> None:
    from realstack.backends import ensure_namespace, service_account_token

    ensure_namespace(real_control_plane, "no-rights")
    real_control_plane.request("POST", "/api/v1/namespaces/no-rights/serviceaccounts", {"metadata": {"name": "nobody"}})
    token = service_account_token(real_control_plane, "no-rights", "nobody")

    unknown = real_control_plane.request("GET", "/api/v1/namespaces/no-rights/pods", token="not-a-token")[0]
    status, answer = real_control_plane.request("GET", "/api/v1/namespaces/no-rights/pods", token=token)

    assert unknown == 401
    assert status == 403
    assert 'User "system:serviceaccount:no-rights:nobody" cannot list resource "pods"' in answer["message"]


def _children(pid: int) -> list[int]:
    """Every live descendant of ``pid``, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        frontier += kids
    return found


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_the_command_leaves_no_process_behind(tmp_path: Path, stop: signal.Signals) -> None:
    kubeconfig = tmp_path / "real.kubeconfig"
    command = subprocess.Popen(
        [sys.executable, "-m", "tests.realstack.control_plane", "--kubeconfig", str(kubeconfig)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert command.stdout is not None
    banner = command.stdout.readline()  # printed once the API server is ready
    started = _children(command.pid)

    command.send_signal(stop)
    command.wait(timeout=60)
    deadline = time.monotonic() + 15
    while _alive(started) and time.monotonic() < deadline:
        time.sleep(0.2)

    assert "Kubernetes v1.36.3 at https://127.0.0.1:" in banner and kubeconfig.exists()
    assert len(started) >= 3  # etcd, kube-apiserver, kube-controller-manager
    assert _alive(started) == []
