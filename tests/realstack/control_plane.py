"""
A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager.

The binaries are the unmodified upstream ones, built from the Go module proxy by
``tests/realstack/build.sh`` (cached outside the repository). This module starts them on free
127.0.0.1 ports with generated certificates, service-account signing keys and a static admin
token, waits until the API server is ready, installs the Flink CRDs the provider ships and writes an
admin kubeconfig. Every process it starts dies with it: they are stopped on exit, on Ctrl-C, when
the test run is interrupted, and (through ``PR_SET_PDEATHSIG``) even when this process is killed.

By hand::

    python -m tests.realstack.control_plane --kubeconfig /tmp/real.kubeconfig   # until Ctrl-C

In tests::

    with ControlPlane() as cp:
        api = kubernetes.config.new_client_from_config_dict(cp.kubeconfig_dict())

Network safety: everything binds to 127.0.0.1. The service CIDR exists only so the API server can
allocate ClusterIPs; nothing sends traffic to one (there is no kube-proxy), and the endpoint
reconciler is off so the ``kubernetes`` Service never names an address off loopback.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import ctypes
import datetime
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CRD_DIR = REPO / "airflow_provider_flink" / "crds"
KUBE_VERSION = "v1.36.3"
SERVICE_CIDR = "10.0.0.0/24"  # allocation only: never sent traffic to
ADMIN_USER = "realstack-admin"
CONTROLLERS = (
    "deployment-controller,replicaset-controller,garbage-collector-controller,endpoints-controller,"
    "endpointslice-controller,serviceaccount-controller,namespace-controller,root-ca-certificate-publisher-controller"
)


def build_binaries() -> Path:
    """The folder of the built binaries (``build.sh`` builds them first when the pins changed)."""
    override = os.environ.get("FLINK_REALSTACK_BIN")
    if override:
        return Path(override)
    out = subprocess.run(["bash", str(HERE / "build.sh")], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return Path(out.splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="realstack-spawner")


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends it SIGKILL when the parent dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Pki:
    """The cluster CA, the API server's serving certificate and the service-account key pair."""

    def __init__(self, folder: Path) -> None:
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
        later = now + datetime.timedelta(days=7)

        def pem_key(key: Any) -> bytes:
            return key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "realstack-ca")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(later)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        serving_key = ec.generate_private_key(ec.SECP256R1())
        names = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"]
        serving_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name)
            .public_key(serving_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(later)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        self.ca_crt = folder / "ca.crt"
        self.ca_key = folder / "ca.key"
        self.serving_crt = folder / "apiserver.crt"
        self.serving_key = folder / "apiserver.key"
        self.sa_key = folder / "sa.key"
        self.sa_pub = folder / "sa.pub"
        self.ca_crt.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self.ca_key.write_bytes(pem_key(ca_key))
        self.serving_crt.write_bytes(serving_cert.public_bytes(serialization.Encoding.PEM))
        self.serving_key.write_bytes(pem_key(serving_key))
        self.sa_key.write_bytes(pem_key(sa_key))
        self.sa_pub.write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        for key in (self.ca_key, self.serving_key, self.sa_key):
            key.chmod(0o600)


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager on loopback, with the Flink CRDs installed.

    :param workdir: folder for certificates, data and logs (a temporary one, removed on stop, if None).
    :param bin_dir: folder holding the three binaries (built by ``build.sh`` if None).
    :param install_crds: install the CRDs under ``airflow_provider_flink/crds``.
    """

    def __init__(
        self, workdir: str | os.PathLike[str] | None = None, bin_dir: Path | None = None, *, install_crds: bool = True
    ) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="realstack-"))
        self._bin_dir = bin_dir
        self._install_crds = install_crds
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self.etcd_url = ""
        self.url = ""
        self.admin_token = secrets.token_hex(16)
        self.start_seconds = 0.0

    # -- life cycle ------------------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        started = time.monotonic()
        bin_dir = self._bin_dir or build_binaries()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pki = _Pki(self.workdir)
        try:
            self._start_etcd(bin_dir)
            self._start_apiserver(bin_dir)
            self._wait_ready()
            self._start_controller_manager(bin_dir)
            if self._install_crds:
                self._apply_crds()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        """Stops every process (SIGTERM, then SIGKILL after 10 s), newest first, and removes a temporary workdir."""
        for name in reversed(list(self._processes)):
            proc = self._processes.pop(name)
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def pids(self) -> dict[str, int]:
        """The process id of each running component, by name."""
        return {name: proc.pid for name, proc in self._processes.items()}

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        # PR_SET_PDEATHSIG fires when the parent *thread* ends: spawn from one thread that lives as long as
        # this process, not from whichever thread asked (a to_thread worker would take its children with it).
        proc = _SPAWNER.submit(
            subprocess.Popen,
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        ).result()
        log.close()
        self._processes[name] = proc
        return proc

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def check_alive(self) -> None:
        """Raise, with the end of its log, if a component has exited."""
        for name, proc in self._processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")

    # -- components ------------------------------------------------------------------------------

    def _start_etcd(self, bin_dir: Path) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        self._spawn(
            "etcd",
            [
                str(bin_dir / "etcd"),
                "--name=realstack",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=realstack=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )

    def _start_apiserver(self, bin_dir: Path) -> None:
        port = free_port()
        self.url = f"https://127.0.0.1:{port}"
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(f'{self.admin_token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
        tokens.chmod(0o600)
        self.audit_log = self.workdir / "audit.log"
        policy = self.workdir / "audit-policy.json"
        # Every request of a ServiceAccount (the identities under test) at Metadata level; nothing else.
        policy.write_text(
            json.dumps(
                {
                    "apiVersion": "audit.k8s.io/v1",
                    "kind": "Policy",
                    "omitStages": ["RequestReceived", "ResponseStarted"],
                    "rules": [{"level": "Metadata", "userGroups": ["system:serviceaccounts"]}, {"level": "None"}],
                }
            )
        )
        self._apiserver_argv = [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--tls-cert-file={self.pki.serving_crt}",
            f"--tls-private-key-file={self.pki.serving_key}",
            f"--client-ca-file={self.pki.ca_crt}",
            f"--token-auth-file={tokens}",
            f"--service-account-issuer={self.url}",
            f"--service-account-key-file={self.pki.sa_pub}",
            f"--service-account-signing-key-file={self.pki.sa_key}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--endpoint-reconciler-type=none",
            "--kubelet-preferred-address-types=InternalIP",
            "--profiling=false",
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-mode=blocking",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            "--v=1",
        ]
        self._spawn("kube-apiserver", self._apiserver_argv)

    def restart_apiserver(self) -> None:
        """Kill kube-apiserver and start it again on the same port (its watch cache starts afresh)."""
        proc = self._processes.pop("kube-apiserver")
        proc.kill()  # a graceful stop waits for open watches to drain; a crash drops the cache just as well
        proc.wait(timeout=30)
        self._spawn("kube-apiserver", self._apiserver_argv)
        self._wait_ready()

    def _start_controller_manager(self, bin_dir: Path) -> None:
        kubeconfig = self.write_kubeconfig(self.workdir / "controller-manager.kubeconfig")
        self._spawn(
            "kube-controller-manager",
            [
                str(bin_dir / "kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                f"--root-ca-file={self.pki.ca_crt}",
                f"--service-account-private-key-file={self.pki.sa_key}",
                "--use-service-account-credentials=false",
                f"--controllers={CONTROLLERS}",
                "--kube-api-qps=200",
                "--kube-api-burst=400",
                "--concurrent-gc-syncs=5",
                "--v=1",
            ],
        )

    # -- API access ------------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki.ca_crt))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        content_type: str = "application/json",
        timeout: float = 30,
    ) -> tuple[int, Any]:
        """One API request as the admin (or ``token``); returns (status, decoded JSON or text).

        A connection reset is tried again (twice): a just restarted API server drops a few.
        """
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or self.admin_token}")
        if data is not None:
            req.add_header("Content-Type", content_type)
        for attempt in range(3):
            try:
                with urllib.request.urlopen(req, context=self._ssl_context(), timeout=timeout) as resp:
                    status, raw = resp.status, resp.read()
                break
            except urllib.error.HTTPError as err:
                status, raw = err.code, err.read()
                break
            except (ConnectionResetError, urllib.error.URLError) as err:
                reset = isinstance(err, ConnectionResetError) or isinstance(err.reason, ConnectionResetError)
                if not reset or attempt == 2:
                    raise
                time.sleep(0.5)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def _wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                status, last = self.request("GET", "/readyz", timeout=5)
                if status == 200:
                    return
            except (OSError, urllib.error.URLError) as err:
                last = err
            time.sleep(0.2)
        raise TimeoutError(f"kube-apiserver not ready after {timeout}s: {last}\n{self.log_tail('kube-apiserver')}")

    def _apply_crds(self, timeout: float = 60) -> None:
        names = []
        for path in sorted(CRD_DIR.glob("*.json")):
            crd = json.loads(path.read_text())
            names.append(crd["metadata"]["name"])
            status, answer = self.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            if status not in (201, 409):
                raise RuntimeError(f"installing CRD {path.name}: {status} {answer}")
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                _, crd = self.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
                conditions = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}
                if conditions.get("Established") == "True":
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"CRD {name} not established after {timeout}s: {conditions}")
                time.sleep(0.1)
        # Discovery of the new group can lag behind Established: wait until the group version is served.
        while self.request("GET", "/apis/flink.apache.org/v1beta1")[0] != 200:
            if time.monotonic() > deadline:
                raise TimeoutError("flink.apache.org/v1beta1 not served")
            time.sleep(0.1)

    def kubeconfig_dict(
        self, namespace: str = "default", token: str | None = None, user: str = ADMIN_USER
    ) -> dict[str, Any]:
        """A kubeconfig for the admin (or for ``token``), with the CA inline."""
        ca = base64.b64encode(self.pki.ca_crt.read_bytes()).decode()
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "realstack", "cluster": {"server": self.url, "certificate-authority-data": ca}}],
            "users": [{"name": user, "user": {"token": token or self.admin_token}}],
            "contexts": [
                {"name": "realstack", "context": {"cluster": "realstack", "user": user, "namespace": namespace}}
            ],
            "current-context": "realstack",
        }

    def write_kubeconfig(
        self, path: str | os.PathLike[str], namespace: str = "default", token: str | None = None
    ) -> str:
        target = Path(path)
        target.write_text(json.dumps(self.kubeconfig_dict(namespace, token), indent=2))
        target.chmod(0o600)
        return str(target)

    def audit_events(self, user: str | None = None) -> list[dict[str, Any]]:
        """The audit log's events (requests of ServiceAccounts, logged when they complete), of one user if given."""
        if not self.audit_log.exists():
            return []
        events = [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.strip()]
        return [e for e in events if user is None or e.get("user", {}).get("username") == user]

    def version(self) -> dict[str, Any]:
        return self.request("GET", "/version")[1]

    def expire_history(self) -> int:
        """Make every resourceVersion before now too old, as after an etcd compaction and an API server restart.

        Compacting etcd alone is not enough on a real server: its watch cache keeps serving a window of recent
        events. A restart drops that window, so a watch from an older resourceVersion gets 410 Gone.
        """
        revision = self.compact_etcd()
        self.restart_apiserver()
        return revision

    def compact_etcd(self) -> int:
        """Compacts etcd at its current revision (physically), as the API server's periodic compaction does.

        Uses etcd's JSON gateway; returns the revision compacted at.
        """

        def call(path: str, body: dict[str, Any]) -> dict[str, Any]:
            req = urllib.request.Request(
                self.etcd_url + path,
                data=json.dumps(body).encode(),
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())

        key = base64.b64encode(b"\0").decode()
        revision = int(call("/v3/kv/range", {"key": key, "range_end": key, "limit": 1})["header"]["revision"])
        call("/v3/kv/compaction", {"revision": revision, "physical": True})
        return revision


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1] if __doc__ else None)
    parser.add_argument("--kubeconfig", required=True, help="where to write the admin kubeconfig")
    parser.add_argument("--workdir", help="keep certificates, etcd data and logs here (default: temporary)")
    args = parser.parse_args(argv)

    plane = ControlPlane(args.workdir)
    stop_now = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stop_now
        stop_now = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with plane:
        plane.write_kubeconfig(args.kubeconfig)
        print(
            f"Kubernetes {plane.version().get('gitVersion')} at {plane.url} (ready in {plane.start_seconds:.1f} s); "
            f"kubeconfig {args.kubeconfig}; logs in {plane.workdir}; Ctrl-C stops it.",
            flush=True,
        )
        while not stop_now:
            try:
                plane.check_alive()
            except RuntimeError as exited:
                print(exited, file=sys.stderr)
                return 1
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
