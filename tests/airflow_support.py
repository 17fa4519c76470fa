"""Running real DAGs in tests, the same way on Airflow 3.3 and 2.11."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pendulum

_DB_READY = False


def ensure_airflow_db() -> None:
    """Create the metadata database of this test session's AIRFLOW_HOME once (``airflow db migrate``)."""
    global _DB_READY
    if _DB_READY:
        return
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    result = subprocess.run([airflow, "db", "migrate"], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout}\n{result.stderr}")
    _DB_READY = True


def airflow_3() -> bool:
    import airflow

    return airflow.__version__.startswith("3")


def new_dag(dag_id: str | None = None, **kwargs: Any) -> Any:
    """A DAG object with a unique id, for ``with new_dag() as dag:`` in a test."""
    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2
        from airflow import DAG  # type: ignore[no-redef]
    return DAG(
        dag_id or f"test_{uuid.uuid4().hex[:12]}",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        schedule=None,
        catchup=False,
        **kwargs,
    )


def run_dag(dag: Any, run_conf: dict[str, Any] | None = None) -> dict[str, str]:
    """
    Run ``dag`` once with ``dag.test()`` (deferred tasks run their trigger inline) and return task states.

    On Airflow 3 a DAG must be serialized in the metadata database before ``dag.test()``, so it is synced
    there first, as the DAG processor would.
    """
    ensure_airflow_db()
    if airflow_3():
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

        DagBundlesManager().sync_bundles_to_db()
        bag = DagBag(dag_folder=os.devnull)
        bag.bag_dag(dag)
        sync_bag_to_db(bag, bundle_name="dags-folder", bundle_version=None)
    try:
        dag.test(run_conf=run_conf)
    except BaseException as error:
        # Airflow 2's execution_timeout raises AirflowTaskTimeout, a BaseException that dag.test() lets
        # through after recording the failure; the task states below tell the outcome either way.
        if type(error).__name__ != "AirflowTaskTimeout":
            raise
    return {ti.task_id: str(ti.state) for ti in _latest_task_instances(dag.dag_id)}


def _latest_task_instances(dag_id: str) -> Iterable[Any]:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        latest = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        if latest is None:
            return []
        return list(
            session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id, TaskInstance.run_id == latest.run_id)
        )


def xcom_of(dag: Any, task_id: str, key: str = "return_value") -> Any:
    """The XCom ``key`` pushed by ``task_id`` in the latest run of ``dag``."""
    from airflow.utils.session import create_session

    try:
        from airflow.models.xcom import XComModel as XCom  # Airflow 3: the table model
    except ImportError:
        from airflow.models.xcom import XCom  # type: ignore[no-redef]

    with create_session() as session:
        row = (
            session.query(XCom)
            .filter(XCom.dag_id == dag.dag_id, XCom.task_id == task_id, XCom.key == key)
            .order_by(XCom.timestamp.desc())
            .first()
        )
        if row is None:
            return None
        value = row.value
    return _deserialize_xcom(value)


def _deserialize_xcom(value: Any) -> Any:
    import json

    if isinstance(value, (bytes, str)):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


Factory = Callable[[], Any]


def start_dag_in_subprocess(dag_file: Any, env: dict[str, str] | None = None) -> Any:
    """
    Run the DAG defined in ``dag_file`` with :func:`run_dag` in a separate process: a worker a test can kill.

    The process leads its own process group, so ``os.killpg(process.pid, ...)`` reaches everything it started.
    """
    import subprocess
    import textwrap
    from pathlib import Path

    tests_dir = str(Path(__file__).resolve().parent)
    env = dict(env if env is not None else os.environ)
    env["PYTHONPATH"] = os.pathsep.join([tests_dir, env.get("PYTHONPATH", "")])
    script = textwrap.dedent(f"""
        import runpy
        from airflow_support import run_dag
        run_dag(runpy.run_path({str(dag_file)!r})["dag"])
    """)
    return subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
