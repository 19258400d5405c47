"""An Airflow DAG loading the shop source, one task per resource (customers with its orders, then products).

Run it once without a scheduler (a throwaway metadata DB in /tmp, this folder as the dags folder)::

    export AIRFLOW_HOME=/tmp/airflow-example AIRFLOW__CORE__DAGS_FOLDER=examples/orchestrators
    airflow db migrate && python examples/orchestrators/airflow_shop_dag.py
"""

from __future__ import annotations

import datetime

from shop import shop, shop_pipeline

from dataload.integrations.airflow import dataload_tasks

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

with DAG("dataload_shop", schedule="0 6 * * *", start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
         catchup=False, max_active_runs=1) as dag:  # one run at a time: a pipeline runs in one process at a time
    dataload_tasks(shop, pipeline=shop_pipeline, retries=2, retry_delay=datetime.timedelta(minutes=5))

if __name__ == "__main__":
    run = dag.test()
    for task in run.get_task_instances():
        print(task.task_id, task.state, task.xcom_pull(task_ids=task.task_id)["rows"])
