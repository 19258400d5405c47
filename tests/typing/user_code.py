"""User code written against the public API; ``tests/test_typing.py`` runs ``mypy --strict`` on it.

Every decorator form must give a precise type (no "untyped decorator" error), and calling a source
keeps the decorated function's parameters. Importing this module only decorates; ``run_all``
builds pipelines and is never called by the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dataload
from dataload.schema.model import Table
from destinations import duckdb, filesystem, postgres, sqlalchemy

if TYPE_CHECKING:
    from typing_extensions import assert_type


@dataload.resource
def users() -> Iterator[dict[str, Any]]:
    yield {"id": 1, "name": "Ann"}


@dataload.resource(primary_key="id", write_disposition="merge", columns={"amount": {"data_type": "decimal"}})
def orders(
    updated: dataload.Incremental = dataload.incremental("updated_at", initial_value="2024-01-01"),
) -> Iterator[list[dict[str, Any]]]:
    dataload.resource_state()["pages"] = 1
    yield [{"id": 1, "updated_at": updated.start_value, "amount": "1.50"}]


@dataload.transformer
def user_details(user: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield {"user_id": user["id"]}


@dataload.transformer(data_from=users, table_name="emails", parallelized=True)
def emails(user: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield dataload.with_table_name({"user_id": user["id"]}, "emails").item


numbers = dataload.resource([{"n": 1}, {"n": 2}], name="numbers", table_name=lambda item: f"t{item['n']}")


@dataload.source
def shop(api_key: str = dataload.secrets.value, per_page: int = dataload.config.value) -> list[dataload.Resource]:
    return [users, orders, numbers]


@dataload.source(name="crm", max_table_nesting=1, schema_contract={"data_type": "freeze"})
def crm(region: str, *, limit: int = 10) -> dataload.Resource:
    return users.add_limit(limit).with_name(f"users_{region}")


@dataload.destination
def printer(items: list[dict[str, Any]], table: Table) -> None:
    print(table.name, len(items))


@dataload.destination(batch_size=500, loader_file_format="parquet", name="arrow_sink")
def arrow_sink(items: Any, table: Table) -> None:
    print(table.name, items)


if TYPE_CHECKING:
    assert_type(users, dataload.Resource)
    assert_type(orders, dataload.Resource)
    assert_type(user_details, dataload.Resource)
    assert_type(emails, dataload.Resource)
    assert_type(numbers, dataload.Resource)
    assert_type(shop(), dataload.Source)
    assert_type(crm("eu", limit=5), dataload.Source)
    assert_type(printer.name, str)
    for factory in (duckdb(":memory:"), postgres("postgresql://u@h/db"), filesystem("/lake"),
                    sqlalchemy("sqlite:///x.db")):
        assert_type(factory.name, str)


def run_all(pipelines_dir: Path) -> int:
    """Load everything once; returns the number of rows loaded."""
    pipe = dataload.pipeline("typed", destination="duckdb", dataset_name="shop_data", pipelines_dir=pipelines_dir,
                             retry_policy=dataload.RetryPolicy(attempts=2),
                             buffer_limits=dataload.BufferLimits(segment_rows=1000))
    info: dataload.LoadInfo = pipe.run(shop(api_key="k", per_page=10).with_resources("users", "orders"))
    info = pipe.run(users().add_map(lambda row: {**row, "seen": True}).add_filter(lambda row: row["id"] > 0))
    info = pipe.run([{"id": 1}], table_name="plain", write_disposition="replace")
    dataset: dataload.Dataset = pipe.dataset()
    rows: list[dict[str, Any]] = dataset.table("plain").rows()
    state: dict[str, Any] = pipe.state
    sink = dataload.pipeline("sink", destination=printer, pipelines_dir=pipelines_dir)
    sink.run(crm("eu"))
    dataload.pipeline("arrow", destination=arrow_sink, pipelines_dir=pipelines_dir).run(numbers)
    again: dataload.Pipeline = dataload.attach("typed", pipelines_dir=pipelines_dir)
    return sum(info.rows.values()) + len(rows) + len(state) + len(again.pipeline_name)
