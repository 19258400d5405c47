"""Reading loaded data back through ``pipe.dataset()``: Arrow, rows, pandas, SQL, row counts, on each destination."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.exceptions import MissingDependencyError
from destinations import duckdb, filesystem, postgres, sqlalchemy
from destinations.sql import quote

ORDERS = [
    {"id": i, "customer": f"cüstomer {i % 7}", "total": i * 1.25,
     "placed_at": datetime(2024, 3, 1, 10, i % 60, tzinfo=timezone.utc), "items": [f"sku-{i}", f"sku-{i + 1}"]}
    for i in range(1, 251)
]
CUSTOMERS = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bo"}]


@pytest.fixture(params=["duckdb", "postgres", "filesystem", "sqlalchemy-sqlite"])
def loaded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dataload.Pipeline]:
    """A pipeline that loaded ORDERS (with a child table) and CUSTOMERS into a dataset of its own."""
    dataset = f"ds_{uuid.uuid4().hex[:8]}"
    destination: Any
    admin = None
    if request.param == "duckdb":
        destination = duckdb(str(tmp_path / "read.duckdb"))
    elif request.param == "filesystem":
        destination = filesystem(str(tmp_path / "bucket"))
    elif request.param == "sqlalchemy-sqlite":
        destination = sqlalchemy(f"sqlite:///{tmp_path / 'read.db'}")
    else:
        admin = postgres_connection()
        destination = postgres(POSTGRES_URL)
    pipe = dataload.pipeline(f"read_{request.param.replace('-', '_')}", destination=destination,
                             dataset_name=dataset, pipelines_dir=tmp_path / "pipelines")
    pipe.run(ORDERS, table_name="orders")
    pipe.run(CUSTOMERS, table_name="customers")
    try:
        yield pipe
    finally:
        if admin is not None:
            admin.execute(f"DROP SCHEMA IF EXISTS {quote(dataset)} CASCADE")
            admin.close()


def _as_loaded(row: dict[str, Any]) -> dict[str, Any]:
    """The columns of a source order as the root table holds them."""
    return {k: row[k] for k in ("id", "customer", "total")}


def _placed_at(value: Any) -> datetime:
    """A timestamp read back (SQLite returns naive UTC) as an aware datetime."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def test_rows_and_arrow_hold_the_source_values(loaded: dataload.Pipeline) -> None:
    orders = loaded.dataset().table("orders")
    rows = sorted(orders.rows(), key=lambda r: r["id"])
    assert [_as_loaded(r) for r in rows] == [_as_loaded(o) for o in ORDERS]
    assert [_placed_at(r["placed_at"]) for r in rows] == [o["placed_at"] for o in ORDERS]
    table = orders.arrow()
    assert sorted(table.column("id").to_pylist()) == [o["id"] for o in ORDERS]


def test_df_is_a_pandas_frame_of_the_table(loaded: dataload.Pipeline) -> None:
    frame = loaded.dataset().table("orders").df().sort_values("id")
    assert list(frame["id"]) == [o["id"] for o in ORDERS]
    assert list(frame["customer"]) == [o["customer"] for o in ORDERS]
    assert list(frame["total"]) == [o["total"] for o in ORDERS]


def test_item_and_attribute_access_name_the_same_table(loaded: dataload.Pipeline) -> None:
    dataset = loaded.dataset()
    by_item = sorted(dataset["customers"].rows(), key=lambda r: r["id"])
    by_attribute = sorted(dataset.customers.rows(), key=lambda r: r["id"])
    assert [{"id": r["id"], "name": r["name"]} for r in by_item] == CUSTOMERS
    assert by_attribute == by_item
    assert "orders" in dir(dataset)


def test_attribute_access_to_an_unknown_table_names_the_known_ones(loaded: dataload.Pipeline) -> None:
    with pytest.raises(AttributeError, match="no table 'ordres'.*orders"):
        loaded.dataset().ordres  # noqa: B018


def test_row_counts_count_every_table_of_the_schema(loaded: dataload.Pipeline) -> None:
    assert loaded.dataset().row_counts() == {"orders": len(ORDERS), "orders__items": 2 * len(ORDERS),
                                             "customers": len(CUSTOMERS)}


def test_query_runs_sql_with_the_dataset_as_default_schema(loaded: dataload.Pipeline) -> None:
    result = loaded.dataset().query("SELECT id, customer FROM orders WHERE id <= ? ORDER BY id", [3])
    assert result.to_pylist() == [{"id": o["id"], "customer": o["customer"]} for o in ORDERS[:3]]


def test_df_without_pandas_says_how_to_install_it(make_pipeline: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = make_pipeline()
    pipe.run(CUSTOMERS, table_name="customers")
    monkeypatch.setitem(sys.modules, "pandas", None)  # what `import pandas` meets where it is not installed
    with pytest.raises(MissingDependencyError, match=r'pip install "dataload\[pandas\]"'):
        pipe.dataset().customers.df()
