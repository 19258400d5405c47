"""What the orchestrator tests share: where each tool is installed, and reading rows back from DuckDB.

Airflow and Dagster install into the test venv; Prefect and Metaflow need an older
``python-dateutil`` than the test venv has, so ``.ci/run`` gives them their own venv
(``.venv-orchestrators``, or the interpreter ``DATALOAD_ORCHESTRATORS_PYTHON`` names) and the
tests run them there in subprocesses. A tool that is missing skips its tests, or fails them when
``CI`` is set.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver

from conftest import skip_or_fail_in_ci
from tests.integrations.shop_sources import TEST_DIR_ENV

ROOT = Path(__file__).resolve().parents[2]
ORCHESTRATORS_VENV = ROOT / ".venv-orchestrators"


def python_with(module: str, *, extra: str) -> str:
    """The Python that can import ``module``: this one, else the orchestrators' venv; a skip (a failure in CI)
    when neither can."""
    if importlib.util.find_spec(module) is not None:
        return sys.executable
    other = os.environ.get("DATALOAD_ORCHESTRATORS_PYTHON") or str(ORCHESTRATORS_VENV / "bin" / "python")
    if Path(other).is_file() and subprocess.run([other, "-c", f"import {module}"], capture_output=True).returncode == 0:
        return other
    skip_or_fail_in_ci(f"{module} is installed neither here nor in {other}",
                       remedy=f'.ci/run installs it (pip install "dataload[{extra}]")')


def tool_environment(test_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a tool's subprocess: this checkout first on the path, no stray dataload config, and
    ``test_dir`` as the folder of :mod:`tests.integrations.shop_sources`."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SOURCES__", "DESTINATION__", "DATALOAD_PROJECT_DIR"))}
    where = {TEST_DIR_ENV: str(test_dir)} if test_dir else {}
    return {**env, "PYTHONPATH": str(ROOT), **where, **extra}


def rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read from the DuckDB file with DuckDB's own driver."""
    with duckdb_driver.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


_AIRFLOW_RUNNER = """
import json, runpy, sys
from airflow.utils.db import initdb
initdb()
for path in sys.argv[1:]:
    run = runpy.run_path(path)["dag"].test()
    tasks = {ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]":
             {"state": str(ti.state), "tries": ti.try_number, "start": str(ti.start_date),
              "result": ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index)}
             for ti in run.get_task_instances()}
    print("DAG-RUN " + json.dumps({"dag_id": run.dag_id, "state": str(run.state), "tasks": tasks}, default=str))
"""


def run_airflow_dags(dag_files: list[Path], test_dir: Path) -> dict[str, dict[str, Any]]:
    """Run each DAG file once with Airflow's ``dag.test()`` (a fresh SQLite metadata DB in ``test_dir/airflow``,
    the files' folder as the dags folder); per DAG id: its run's ``state``, per task ``state``, ``tries``,
    ``start`` and ``result`` (the XCom ``return_value``; a mapped task's instances are ``task_id[map_index]``),
    and ``output``, what the runner printed (the tasks' logs)."""
    python = python_with("airflow", extra="airflow")
    env = tool_environment(test_dir, AIRFLOW_HOME=str(test_dir / "airflow"),
                           AIRFLOW__CORE__DAGS_FOLDER=str(dag_files[0].parent),
                           AIRFLOW__CORE__LOAD_EXAMPLES="False")
    result = subprocess.run([python, "-c", _AIRFLOW_RUNNER, *map(str, dag_files)], capture_output=True, text=True,
                            env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = [json.loads(line.removeprefix("DAG-RUN ")) for line in result.stdout.splitlines()
            if line.startswith("DAG-RUN ")]
    return {run["dag_id"]: {**run, "output": result.stdout + result.stderr} for run in runs}
