"""
An in-memory Kubernetes API server for the provider's tests (no cluster needed).

::

    from airflow_provider_flink.testing.kube_emulator import KubeEmulator, Fault

    with KubeEmulator() as emu:  # 127.0.0.1, free port, the Flink CRDs installed
        api = kubernetes.config.new_client_from_config_dict(emu.kubeconfig_dict())
        emu.add_fault(Fault(verb="GET", path_regex=r"/flinkdeployments/", status=503, count=3))

Where things are:

* ``emulator.py``: :class:`KubeEmulator`, the handle tests use (thread, kubeconfig, faults, proxies,
  pod logs, direct store reads).
* ``server.py``: HTTP routing (``parse_path`` resolves a URL like the API server's RequestInfo),
  fault injection, watch streaming, services/proxy, pods/log and the ``/_emulator/`` admin API.
* ``store.py``: the API semantics: metadata, resourceVersion and conflicts, generation, status
  subresource, finalizers, garbage collection of dependents, event history and watchers.
* ``patching.py``, ``selectors.py``: patch formats; label and field selectors.
* ``airflow_provider_flink.utils.crd_schema``: the CRD schema validation and pruning.

Where it knowingly differs from a real API server: no authentication or RBAC; no admission
webhooks, defaulting or validation of built-in kinds beyond names and labels (a Deployment without
a selector is accepted); server-side apply is a merge patch that creates missing objects; pods are
deleted at once (no kubelet grace period); the scale subresource is not served; the garbage
collector runs right after the change instead of a moment later.

Held against a real kube-apiserver 1.36 by one contract suite (tests/contract, run on both). Deliberate
differences it found, kept for speed: bookmarks come every ``bookmark_interval`` (a real server sends the
first about a minute into a watch); :meth:`KubeEmulator.compact` expires every older resourceVersion at
once (a real server's watch cache keeps serving a window of recent events after an etcd compaction,
and answers 410 only for versions older than that window, e.g. after it restarts).
"""

from __future__ import annotations

from airflow_provider_flink.testing.kube_emulator.emulator import KubeEmulator
from airflow_provider_flink.testing.kube_emulator.faults import Fault, RequestRecord

__all__ = ["Fault", "KubeEmulator", "RequestRecord"]
