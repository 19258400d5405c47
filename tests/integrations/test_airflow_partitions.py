"""``dataload_tasks(..., per_partition=True)`` run by real Airflow (``dag.test()``): a plan task, one mapped task per
partition of a partitioned ``sql_table`` (a SQLite file, three key ranges of ``id``) and a finish task loading into
DuckDB. Every row lands once with the source's values and the state a plain ``pipe.run`` leaves; a partition Airflow
retries, and one that fails for good (nothing loaded, state unchanged) and loads once its cause is fixed."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

import dataload
from dataload.integrations.airflow import dataload_tasks
from tests.integrations.shop_sources import FAILING_ORDER, ORDERS_DB, TEST_DIR_ENV, partitioned_orders, pipeline
from tests.integrations.tools import ROOT, python_with, rows, run_airflow_dags, tool_environment

EXAMPLE = ROOT / "examples" / "orchestrators" / "airflow_partitions_dag.py"

ORDERS = [(n, n * 1.25, f"order {n}") for n in range(1, 31)]

DAG_FILE = """
import datetime

from dataload.integrations.airflow import dataload_tasks
from tests.integrations.shop_sources import partitioned_orders, pipeline

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

with DAG({name!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
         catchup=False, max_active_runs=1) as dag:
    dataload_tasks(lambda: partitioned_orders({failing!r}), pipeline=lambda: pipeline({name!r}), per_partition=True,
                   staging_url={staging_url!r}, retries=1, retry_delay=datetime.timedelta(0))
"""

TASKS = {"load_plan", "load_partition[0]", "load_partition[1]", "load_partition[2]", "load_finish"}


@pytest.fixture
def test_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's folder with the SQLite table ``orders``; this process reads the pipelines there too."""
    with sqlite3.connect(tmp_path / ORDERS_DB) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, note TEXT)")
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?)", ORDERS)
    connection.close()
    monkeypatch.setenv(TEST_DIR_ENV, str(tmp_path))
    return tmp_path


def dag_file(folder: Path, name: str, *, failing: str | None = None, staging_url: str | None = None) -> Path:
    """A DAG file ``<name>.py`` in ``folder/dags`` loading the partitioned orders through the pipeline ``name``."""
    path = folder / "dags" / f"{name}.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(DAG_FILE.format(name=name, failing=failing, staging_url=staging_url))
    return path


def loaded(folder: Path, dataset: str) -> list[tuple[Any, ...]]:
    return rows(folder / "warehouse.duckdb", f"SELECT id, amount, note FROM {dataset}.orders ORDER BY id")


def resources_state(name: str) -> dict[str, Any]:
    """What the pipeline ``name`` committed for the resources of ``partitioned_orders``."""
    return dict(pipeline(name).state.get("sources", {}).get("partitioned_orders", {}).get("resources", {}))


def test_one_task_per_partition_loads_every_row_once_with_the_state_a_plain_run_leaves(test_dir: Path) -> None:
    files = [dag_file(test_dir, "parts"), dag_file(test_dir, "flaky", failing="once",
                                                   staging_url=(test_dir / "staged").as_uri())]

    runs = run_airflow_dags(files, test_dir)

    parts = runs["parts"]["tasks"]
    assert {task: (parts[task]["state"], parts[task]["tries"]) for task in parts} == {
        task: ("success", 1) for task in TASKS}
    assert parts["load_plan"]["result"] == [{"index": 0}, {"index": 1}, {"index": 2}]
    assert sum(parts[f"load_partition[{i}]"]["result"]["rows"]["orders"] for i in range(3)) == len(ORDERS)
    finished = parts["load_finish"]["result"]
    assert (finished["rows"], len(finished["load_ids"]), finished["failed"]) == ({"orders": len(ORDERS)}, 3, [])
    assert loaded(test_dir, "parts") == ORDERS
    assert not (pipeline("parts").working_dir / "partition_plan.json").exists()
    pipeline("plain").run(partitioned_orders())  # the same source in one process, no partitions
    assert resources_state("parts") == resources_state("plain")
    assert resources_state("parts")["orders"]["incremental"]["id"]["last_value"] == len(ORDERS)

    flaky = runs["flaky"]["tasks"]
    assert {task: (flaky[task]["state"], flaky[task]["tries"]) for task in flaky} == {
        **{task: ("success", 1) for task in TASKS}, "load_partition[1]": ("success", 2)}  # retried by Airflow
    assert (test_dir / "failing_order.attempts").read_text() == "2"
    assert loaded(test_dir, "flaky") == ORDERS
    assert resources_state("flaky") == resources_state("plain")
    assert (test_dir / "staged").is_dir()  # the partition tasks staged their packages there
    assert [path for path in (test_dir / "staged").rglob("*") if path.is_file()] == []  # and the finish deleted them


def test_a_partition_failing_for_good_fails_the_finish_naming_it_and_the_fixed_rerun_loads_every_row_once(
        test_dir: Path) -> None:
    file = dag_file(test_dir, "broken", failing="while_broken")
    (test_dir / "broken").touch()

    run = run_airflow_dags([file], test_dir)["broken"]

    tasks = run["tasks"]
    assert run["state"] == "failed"
    assert {task: tasks[task]["state"] for task in tasks} == {
        "load_plan": "success", "load_partition[0]": "success", "load_partition[1]": "failed",
        "load_partition[2]": "success", "load_finish": "failed"}
    assert tasks["load_partition[1]"]["tries"] == 2  # its retry failed too
    assert tasks["load_finish"]["tries"] == 1  # not retried: it would meet the same outcomes
    assert f"ValueError: order {FAILING_ORDER} is broken" in run["output"]
    assert "PartitionError: partition orders[1] key_range=" in run["output"]  # the finish names the partition
    assert rows(test_dir / "warehouse.duckdb", "SELECT count(*) FROM information_schema.tables "
                                               "WHERE table_schema = 'broken' AND table_name = 'orders'") == [(0,)]
    assert resources_state("broken") == {}
    assert (pipeline("broken").working_dir / "partition_plan.json").exists()  # the re-run makes the same partitions

    (test_dir / "broken").unlink()
    rerun = run_airflow_dags([file], test_dir)["broken"]

    assert {task: rerun["tasks"][task]["state"] for task in rerun["tasks"]} == {task: "success" for task in TASKS}
    assert loaded(test_dir, "broken") == ORDERS
    pipeline("plain").run(partitioned_orders())
    assert resources_state("broken") == resources_state("plain")


def test_the_example_dag_runs_as_documented_and_loads_the_table_once(tmp_path: Path) -> None:
    python = python_with("airflow", extra="airflow")
    env = tool_environment(AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__DAGS_FOLDER=str(EXAMPLE.parent),
                           AIRFLOW__CORE__LOAD_EXAMPLES="False", DATALOAD_PIPELINES_DIR=str(tmp_path))
    subprocess.run([python, "-c", "from airflow.utils.db import initdb; initdb()"], env=env, capture_output=True,
                   check=True, timeout=600)

    result = subprocess.run([python, str(EXAMPLE)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert [line for line in result.stdout.splitlines() if line.startswith("load_")] == [  # as docs/orchestrators.md
        "load_plan success 4", "load_partition[0] success {'orders': 249}", "load_partition[1] success {'orders': 250}",
        "load_partition[2] success {'orders': 250}", "load_partition[3] success {'orders': 251}",
        "load_finish success {'orders': 1000}"]
    with sqlite3.connect(tmp_path / "shop_orders.sqlite") as connection:
        source = connection.execute("SELECT id, customer, amount FROM orders ORDER BY id").fetchall()
    connection.close()
    assert rows(tmp_path / "airflow_partitions.duckdb", "SELECT id, customer, amount FROM shop.orders ORDER BY id") \
        == source


def test_staging_is_refused_for_tasks_per_resource_which_stage_nothing() -> None:
    with pytest.raises(dataload.InvalidConfig, match="staging_url and staging_options are for per_partition=True"):
        dataload_tasks(partitioned_orders, pipeline=lambda: pipeline("unused"), staging_url="memory://staged")
