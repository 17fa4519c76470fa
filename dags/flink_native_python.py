"""
A PyFlink batch job in its own Flink application cluster (native Kubernetes mode), submitted from a pod.

``submitter="pod"``: ``flink run --target kubernetes-application`` runs in a short-lived pod of the job's
image, so the Airflow worker needs neither Java nor a Flink distribution. The pod runs as the ``airflow``
service account (it creates the JobManager Deployment, its Services and ConfigMap); the JobManager runs as
``flink``. The task waits in the triggerer until the job FINISHED, then deletes the cluster.

The entry script is PyFlink's own WordCount example in the image, run on its built-in text. **The image
needs Python and PyFlink**, which the plain ``flink`` images lack: build one as Flink's documentation shows
(``FROM flink:2.0``, install ``python3`` and ``pip install apache-flink==2.0.*``) and pass it as the
``image`` parameter when triggering. The local playground does not offer this DAG (``--dag flink_native_python``
says why): its simulated JobManager cannot run Python jobs.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

from airflow_provider_flink.operators.flink_native import FlinkNativeSubmitOperator

try:  # Airflow 3
    from airflow.sdk import DAG, Param
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.models.param import Param  # type: ignore[no-redef]

with DAG(
    # Retrying is safe: the operators re-attach to the job a failed try left running instead of starting another.
    default_args={"retries": 1, "retry_delay": timedelta(seconds=5)},
    dag_id="flink_native_python",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["flink", "example", "native"],
    doc_md=__doc__,
    params={
        "image": Param(
            "flink:2.0",
            type="string",
            title="Flink image with PyFlink",
            description="Image of the JobManager and TaskManagers; it must have Python and PyFlink installed.",
        ),
    },
):
    FlinkNativeSubmitOperator(
        task_id="python_wordcount",
        image="{{ params.image }}",
        # Flink 2.0 is the version of the CLI inside the image; the submitter pod tells it from the tag.
        flink_version="2.0",
        python_file="/opt/flink/examples/python/datastream/word_count.py",
        parallelism=1,
        flink_conf={"execution.runtime-mode": "BATCH"},  # wait until the job FINISHED
        service_account="flink",
        submitter="pod",
        submitter_service_account="airflow",
        deferrable=True,
        poll_interval=5,
    )
