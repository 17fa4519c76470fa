"""
Run any Flink job from the Airflow UI: press "Trigger DAG", fill in the form, and the job runs.

Every field of the form is a DAG ``Param`` with a type, a default, a title and a description, so the form
validates what you type (parallelism is an integer of at least 1, the mode and the Flink version are
choices, the arguments a list). The run renders them into ``FlinkDeploymentOperator``'s templated arguments
(``{{ params.... }}``). ``render_template_as_native_obj=True`` keeps their types: the parallelism stays an
integer and the arguments a list, instead of the strings Jinja would make of them.

Each run gets its own FlinkDeployment, named after the run, so two runs never collide. A batch job is waited
for until it FINISHED and then deleted; a streaming job until it RUNNING, and it keeps running.

The same through the API or the CLI: ``airflow dags trigger flink_job_from_ui --conf '{"parallelism": 4}'``.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pendulum

from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator

try:  # Airflow 3
    from airflow.sdk import DAG, Param
except ImportError:  # Airflow 2.11
    from airflow import DAG
    from airflow.models.param import Param


def run_scoped_name(run_id: str, prefix: str) -> str:
    """``prefix`` plus a digest of the run id: a valid Flink cluster id, the same on retries, unique per run."""
    return f"{prefix}-{hashlib.sha256(run_id.encode()).hexdigest()[:10]}"


with DAG(
    # Retrying is safe: the operators re-attach to the job a failed try left running instead of starting another.
    default_args={"retries": 1, "retry_delay": timedelta(seconds=5)},
    dag_id="flink_job_from_ui",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["flink", "example"],
    doc_md=__doc__,
    user_defined_filters={"run_scoped_name": run_scoped_name},
    # Rendered values keep their Python type (int, list, dict): the operator checks parallelism is an int.
    render_template_as_native_obj=True,
    params={
        "name_prefix": Param(
            "ui-job",
            type="string",
            pattern="^[a-z]([-a-z0-9]{0,22}[a-z0-9])?$",
            title="Name prefix",
            description="Start of the FlinkDeployment's name; a digest of the run id is appended.",
        ),
        "image": Param(
            "flink:2.0",
            type="string",
            minLength=1,
            title="Image",
            description="Container image with Flink and your job, e.g. flink:2.0 or registry/my-job:1.4.",
        ),
        "flink_version": Param(
            "v2_0",
            type="string",
            enum=["v2_0", "v1_20", "v1_19"],
            title="Flink version",
            description="The Flink version inside the image (the Flink Kubernetes Operator needs to know it).",
        ),
        "program": Param(
            "local:///opt/flink/examples/streaming/WordCount.jar",
            type="string",
            minLength=1,
            title="Jar URI or Python file",
            description="A jar URI (local:///opt/flink/usrlib/job.jar, inside the image) or a PyFlink file "
            "ending in .py (e.g. /opt/flink/usrlib/job.py).",
        ),
        "entry_class": Param(
            "org.apache.flink.streaming.examples.wordcount.WordCount",
            type=["null", "string"],
            title="Entry class",
            description="Main class of the jar (ignored for a Python file); empty when the jar's manifest names it.",
        ),
        "args": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Arguments",
            description="Program arguments, one per line, e.g. --output then /tmp/out.",
        ),
        "parallelism": Param(1, type="integer", minimum=1, title="Parallelism", description="Parallel tasks."),
        "mode": Param(
            "batch",
            type="string",
            enum=["batch", "streaming"],
            title="Mode",
            description="batch: wait until the job FINISHED, then delete it. streaming: wait until it RUNNING "
            "and leave it running.",
        ),
        "annotations": Param(
            {},
            type="object",
            title="Annotations",
            description='Extra annotations of the FlinkDeployment, e.g. {"team": "data"}.',
        ),
    },
):
    FlinkDeploymentOperator(
        task_id="run_job",
        name="{{ run_id | run_scoped_name(params.name_prefix) }}",
        image="{{ params.image }}",
        flink_version="{{ params.flink_version }}",
        # One form field for both kinds of program: a .py file runs through PyFlink, anything else is a jar.
        jar_uri="{{ None if params.program.endswith('.py') else params.program }}",
        python_file="{{ params.program if params.program.endswith('.py') else None }}",
        entry_class="{{ None if params.program.endswith('.py') else (params.entry_class or None) }}",
        args="{{ params.args }}",
        parallelism="{{ params.parallelism }}",
        # The runtime mode also picks what to wait for: BATCH => until FINISHED (then delete), else RUNNING.
        flink_configuration={"execution.runtime-mode": "{{ params.mode | upper }}"},
        annotations="{{ params.annotations }}",
        deferrable=True,
        poll_interval=5,
    )
