"""dataload_tasks in a DAG of one's own, run by real Airflow (``dag.test()``): one task per resource, chained,
LoadInfo.asdict() as each task's XCom, retries where a retry can help and nowhere else."""

from __future__ import annotations

from pathlib import Path

from tests.integrations.tools import rows, run_airflow_dags

DAG_FILE = """
import datetime

from dataload.integrations.airflow import dataload_tasks
from tests.integrations.shop_sources import pipeline, shop, strict

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

with DAG("dataload_shop", schedule=None, start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
         catchup=False, max_active_runs=1) as dag:
    retry = {"retries": 2, "retry_delay": datetime.timedelta(0)}
    dataload_tasks(lambda: shop(flaky_orders=True), pipeline=lambda: pipeline("shop"), **retry)
    dataload_tasks(strict, pipeline=lambda: pipeline("strict"), task_id_prefix="strict_", **retry)
"""


def test_tasks_per_resource_load_and_only_errors_a_retry_can_mend_are_retried(tmp_path: Path) -> None:
    dag_file = tmp_path / "dags" / "shop_dag.py"
    dag_file.parent.mkdir()
    dag_file.write_text(DAG_FILE)

    tasks = run_airflow_dags([dag_file], tmp_path)["dataload_shop"]["tasks"]

    assert {task: (tasks[task]["state"], tasks[task]["tries"]) for task in tasks} == {
        "load_customers": ("success", 1),
        "load_orders": ("success", 2),     # the connection error was retried
        "strict_frozen": ("failed", 1),    # the contract violation was not, though retries=2
    }
    assert (tmp_path / "frozen.attempts").read_text() == "1"
    assert tasks["load_customers"]["start"] < tasks["load_orders"]["start"]
    customers, orders = tasks["load_customers"]["result"], tasks["load_orders"]["result"]
    assert (customers["pipeline_name"], customers["rows"], orders["rows"]) == ("shop", {"customers": 2}, {"orders": 2})
    warehouse = tmp_path / "warehouse.duckdb"
    assert rows(warehouse, "SELECT id, name FROM shop.customers ORDER BY id") == [(1, "ann"), (2, "bob")]
    assert rows(warehouse, "SELECT id, customer_id FROM shop.orders ORDER BY id") == [(10, 1), (11, 2)]
    assert rows(warehouse, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'strict' "
                           "AND table_name = 'frozen'") == [(0,)]
