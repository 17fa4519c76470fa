"""Session-wide test settings shared by every test package.

Airflow reads AIRFLOW_HOME when it is first imported, so it is pointed at a throwaway folder here,
before any test module imports Airflow: the suite never touches a developer's real Airflow setup.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="afp-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
