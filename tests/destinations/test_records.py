"""The system tables (``_dl_loads``, ``_dl_version``, ``_dl_pipeline_state``), written by one layer on every
SQL destination: the same rows everywhere, and a table of that name that is not ours named in a terminal error."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.exceptions import TerminalLoadError
from destinations import duckdb, postgres, sqlalchemy
from destinations.sql import quote


class Backend:
    """A SQL destination and a way to run DDL in the dataset it loads into, with its own driver."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind, self.tmp_path = kind, tmp_path
        self.dataset = f"ds_{uuid.uuid4().hex[:8]}"
        self.admin = postgres_connection() if kind == "postgres" else None

    def destination(self) -> Any:
        if self.kind == "duckdb":
            return duckdb(str(self.tmp_path / "db.duckdb"))
        if self.kind == "postgres":
            return postgres(POSTGRES_URL)
        return sqlalchemy(f"sqlite:///{self.tmp_path / 'main.db'}")

    def execute(self, *statements: str) -> None:
        """Run DDL in the dataset, outside dataload."""
        if self.admin is not None:
            self.admin.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.dataset)}")
            for statement in statements:
                self.admin.execute(statement.format(ds=quote(self.dataset) + "."))
            return
        if self.kind == "duckdb":
            import duckdb as driver

            connection = driver.connect(str(self.tmp_path / "db.duckdb"))
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.dataset)}")
            for statement in statements:
                connection.execute(statement.format(ds=quote(self.dataset) + "."))
            connection.close()
            return
        with sqlite3.connect(self.tmp_path / f"{self.dataset}.db") as connection:  # the dataset's attached file
            for statement in statements:
                connection.execute(statement.format(ds=""))
        connection.close()

    def drop(self) -> None:
        if self.admin is not None:
            self.admin.execute(f"DROP SCHEMA IF EXISTS {quote(self.dataset)} CASCADE")
            self.admin.close()


@pytest.fixture(params=["duckdb", "postgres", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    backend = Backend(request.param, tmp_path)
    yield backend
    backend.drop()


@pytest.fixture
def pipeline_on(make_pipeline: Callable[..., dataload.Pipeline], backend: Backend) -> Callable[..., dataload.Pipeline]:
    def make(name: str = "records") -> dataload.Pipeline:
        return make_pipeline(name, destination=backend.destination(), dataset_name=backend.dataset)

    return make


def retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("dataload") and "retrying" in r.getMessage()]


def test_every_destination_writes_the_same_system_rows(pipeline_on):
    @dataload.resource(table_name="t")
    def rows(row: dict[str, Any]) -> Iterator[dict[str, Any]]:
        dataload.state()["cursor"] = row["id"]  # the state travels with the package
        yield row

    pipe = pipeline_on()
    first = pipe.run(rows({"id": 1}))
    second = pipe.run(rows({"id": 2, "extra": "x"}))
    dataset = pipe.dataset()

    loads = sorted(dataset.table("_dl_loads").rows(), key=lambda r: r["load_id"])
    assert [(r["load_id"], r["schema_name"], r["status"]) for r in loads] == \
        [(first.load_ids[0], pipe.default_schema.name, 0), (second.load_ids[0], pipe.default_schema.name, 0)]
    assert loads[-1]["schema_version_hash"] == pipe.default_schema.version_hash

    versions = dataset.table("_dl_version").rows()
    newest = max(versions, key=lambda r: r["version"])
    assert newest["version_hash"] == pipe.default_schema.version_hash
    assert json.loads(newest["schema"])["tables"] == pipe.default_schema.to_dict()["tables"]
    assert len({r["version_hash"] for r in versions}) == len(versions) >= 2  # one row per schema version

    states = dataset.table("_dl_pipeline_state").rows()
    newest_state = max(states, key=lambda r: r["version"])
    assert newest_state["pipeline_name"] == pipe.pipeline_name and newest_state["_dl_load_id"] == second.load_ids[0]
    assert json.loads(newest_state["state"]) == pipe.state


@pytest.mark.parametrize("table", ["_dl_version", "_dl_loads", "_dl_pipeline_state"])
def test_a_foreign_table_named_like_a_system_table_is_terminal_and_named(backend, pipeline_on, table, caplog):
    backend.execute(f"CREATE TABLE {{ds}}{table} (something int)")  # not ours: none of our columns
    pipe = pipeline_on()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="dataload"), pytest.raises(TerminalLoadError) as caught:
        pipe.run([{"id": 1}], table_name="t")
    assert time.monotonic() - started < 5 and not retries(caplog)
    assert f"{backend.dataset}.{table}" in str(caught.value)
