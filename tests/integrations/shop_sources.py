"""The sources the orchestrator tests run in their tools' processes (imported by DAG files, flows and scripts).

Everything they write goes to the folder ``$ORCHESTRATOR_TEST_DIR`` (the test's tmp_path): the
DuckDB file ``warehouse.duckdb``, the pipelines, and one ``<resource>.attempts`` file per resource
counting how often its data was read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import dataload
from destinations import duckdb

TEST_DIR_ENV = "ORCHESTRATOR_TEST_DIR"


def test_dir() -> Path:
    """The test's folder, as the test process set it."""
    return Path(os.environ[TEST_DIR_ENV])


def attempt(resource: str) -> int:
    """Count one more read of ``resource``; returns how many came before."""
    path = test_dir() / f"{resource}.attempts"
    before = int(path.read_text()) if path.exists() else 0
    path.write_text(str(before + 1))
    return before


@dataload.source
def shop(flaky_orders: bool = False) -> Any:
    """Customers (merged on id) and orders; with ``flaky_orders`` the first read of orders fails with a
    connection error, which passes by itself (a retry loads them)."""
    customers = dataload.resource([{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}], name="customers",
                                  primary_key="id", write_disposition="merge")

    @dataload.resource(name="orders")
    def orders() -> Iterator[list[dict[str, int]]]:
        if attempt("orders") == 0 and flaky_orders:
            raise ConnectionError("the orders API is down")
        yield [{"id": 10, "customer_id": 1}, {"id": 11, "customer_id": 2}]

    return customers, orders


@dataload.source
def strict() -> Any:
    """One resource whose new table its frozen contract refuses: a failure no retry can mend."""
    @dataload.resource(name="frozen", schema_contract="freeze")
    def frozen() -> Iterator[dict[str, int]]:
        attempt("frozen")
        yield {"id": 1}

    return frozen


def pipeline(name: str) -> dataload.Pipeline:
    """A pipeline loading the dataset ``name`` of the test's DuckDB file."""
    return dataload.pipeline(name, destination=duckdb(str(test_dir() / "warehouse.duckdb")), dataset_name=name,
                             pipelines_dir=test_dir() / "pipes")


ORDERS_DB = "orders.sqlite"
"""The SQLite file (in the test's folder) :func:`partitioned_orders` reads; the test writes it."""
FAILING_ORDER = 15
"""The order in the middle partition (ids 10 to 19) that ``partitioned_orders(failing=...)`` fails on."""


@dataload.source
def partitioned_orders(failing: str | None = None) -> Any:
    """The table ``orders`` of :data:`ORDERS_DB` in three key ranges of ``id``, loaded incrementally on ``id``.

    ``failing="once"``: reading order :data:`FAILING_ORDER` raises a connection error the first time;
    ``failing="while_broken"``: it raises as long as the file ``broken`` is in the test's folder.
    """
    from sources.sql_database import sql_table

    orders = sql_table(f"sqlite:///{test_dir() / ORDERS_DB}", table="orders", partition_on="id", partitions=3,
                       incremental=dataload.incremental("id"))
    return orders.add_map(partial(_fail_on_order, failing)) if failing else orders


def _fail_on_order(failing: str, row: dict[str, Any]) -> dict[str, Any]:
    if row["id"] == FAILING_ORDER:
        before = attempt("failing_order")
        if failing == "once" and before == 0:
            raise ConnectionError(f"order {FAILING_ORDER}: the database connection dropped")
        if failing == "while_broken" and (test_dir() / "broken").exists():
            raise ValueError(f"order {FAILING_ORDER} is broken")
    return row
