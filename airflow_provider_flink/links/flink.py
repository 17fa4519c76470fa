"""The "Flink Web UI" link shown on a task in Airflow's UI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey

#: XCom key under which operators store the rendered Flink Web UI URL.
FLINK_UI_URL_XCOM_KEY = "flink_ui_url"


def render_flink_ui_url(template: str | None, **fields: Any) -> str | None:
    """
    Fill a Flink Web UI URL template such as ``https://flink.example.com/{namespace}/{name}/``.

    :param template: The template, or ``None`` (no link).
    :param fields: Values for its placeholders (``name``, ``namespace``, ``cluster_id``...).
    :return: The URL, or ``None`` when there is no template or it names an unknown placeholder.
    """
    if not template:
        return None
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return None


class FlinkWebUILink(BaseOperatorLink):
    """Link from a task to its Flink job's Web UI, when the operator knows a URL for it."""

    name = "Flink Web UI"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        url = XCom.get_value(ti_key=ti_key, key=FLINK_UI_URL_XCOM_KEY)
        return url if isinstance(url, str) else ""
