"""An Airflow DAG loading a SQL table in four key ranges of ``id``, one Airflow task per partition.

The table is ``orders`` of a SQLite file this example writes (1,000 rows, once); it is loaded into DuckDB
incrementally on ``id``, so a second run loads only new orders. Both files and the pipeline's working dir are
in ``DATALOAD_PIPELINES_DIR`` (default ``examples/.dataload_pipelines``). Run it once without a scheduler (a
throwaway metadata DB in /tmp, this folder as the dags folder)::

    export AIRFLOW_HOME=/tmp/airflow-example AIRFLOW__CORE__DAGS_FOLDER=examples/orchestrators
    airflow db migrate && python examples/orchestrators/airflow_partitions_dag.py
"""

from __future__ import annotations

import datetime
import os
import sqlite3
from pathlib import Path

import dataload
from dataload.integrations.airflow import dataload_tasks
from destinations import duckdb
from sources.sql_database import sql_table

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

EXAMPLES = Path(__file__).resolve().parent.parent
FOLDER = Path(os.environ.get("DATALOAD_PIPELINES_DIR") or EXAMPLES / ".dataload_pipelines")
SHOP_DB = FOLDER / "shop_orders.sqlite"


def write_shop_db() -> None:
    """The source table: 1,000 orders (written only when the file is missing)."""
    if SHOP_DB.exists():
        return
    FOLDER.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(SHOP_DB) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, amount REAL)")
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                               [(n, f"customer {n % 7}", round(n * 0.75, 2)) for n in range(1, 1001)])
    connection.close()


@dataload.source
def shop_orders() -> dataload.Resource:
    """The orders table split into four key ranges of ``id`` (from its min and max), incremental on ``id``."""
    return sql_table(f"sqlite:///{SHOP_DB}", table="orders", partition_on="id", partitions=4,
                     incremental=dataload.incremental("id"))


def orders_pipeline() -> dataload.Pipeline:
    """The pipeline, made where each task runs."""
    return dataload.pipeline("airflow_partitions", destination=duckdb(str(FOLDER / "airflow_partitions.duckdb")),
                             dataset_name="shop", pipelines_dir=FOLDER)


write_shop_db()

with DAG("dataload_shop_partitions", schedule="0 6 * * *", catchup=False, max_active_runs=1,
         start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)) as dag:
    # load_plan >> load_partition (one mapped task per partition) >> load_finish
    dataload_tasks(shop_orders, pipeline=orders_pipeline, per_partition=True, retries=2,
                   retry_delay=datetime.timedelta(seconds=10))

if __name__ == "__main__":
    run = dag.test()
    steps = ["load_plan", "load_partition", "load_finish"]
    for task in sorted(run.get_task_instances(), key=lambda ti: (steps.index(ti.task_id), ti.map_index)):
        result = task.xcom_pull(task_ids=task.task_id, map_indexes=task.map_index)
        name = task.task_id if task.map_index < 0 else f"{task.task_id}[{task.map_index}]"
        shown = len(result) if task.task_id == "load_plan" else result["rows"]
        print(name, task.state, shown)
