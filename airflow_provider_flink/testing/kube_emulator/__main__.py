"""
Serve the Kubernetes API emulator until SIGTERM or SIGINT.

::

    python -m airflow_provider_flink.testing.kube_emulator --port 0 --kubeconfig /tmp/kubeconfig

prints the URL it serves on (one line), then writes nothing more to stdout.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from airflow_provider_flink.testing.kube_emulator.emulator import KubeEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_flink.testing.kube_emulator")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free port)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig pointing at the emulator to this path")
    parser.add_argument("--namespace", default="default", help="namespace of the kubeconfig context")
    parser.add_argument("--event-history", type=int, default=1000, help="watch events kept per kind")
    parser.add_argument("--bookmark-interval", type=float, default=3.0, help="seconds between watch bookmarks")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emulator = KubeEmulator(
        args.host, args.port, event_history=args.event_history, bookmark_interval=args.bookmark_interval
    ).start()
    try:
        if args.kubeconfig:
            emulator.write_kubeconfig(args.kubeconfig, namespace=args.namespace)
        print(emulator.url, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
