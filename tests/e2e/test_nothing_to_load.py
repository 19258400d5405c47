"""A run with nothing to load says so and records no load; a run that only moves state still commits it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver
import pytest

import dataload
from conftest import POSTGRES_URL, postgres_connection
from destinations import duckdb, postgres
from destinations.sql import qualified, quote


class Target:
    """A destination plus an independent connection that counts ``_dl_loads`` rows."""

    def __init__(self, destination: Any, count_loads: Any) -> None:
        self.destination, self.count_loads = destination, count_loads


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Target, str]]:
    dataset = f"ds_{uuid.uuid4().hex[:8]}"
    loads = f"SELECT count(*) FROM {qualified(dataset, '_dl_loads')}"
    if request.param == "duckdb":
        path = str(tmp_path / "empty.duckdb")

        def count_duckdb() -> int:
            with duckdb_driver.connect(path, read_only=True) as connection:
                return int(connection.execute(loads).fetchone()[0])

        yield Target(duckdb(path), count_duckdb), dataset
        return
    admin = postgres_connection()
    try:
        yield Target(postgres(POSTGRES_URL), lambda: int(admin.execute(loads).fetchone()[0])), dataset
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {quote(dataset)} CASCADE")
        admin.close()


@pytest.fixture
def pipe(target: tuple[Target, str], tmp_path: Path) -> dataload.Pipeline:
    """A pipeline that has loaded one row into ``people`` already."""
    destination, dataset = target
    pipeline = dataload.pipeline(f"empty_{uuid.uuid4().hex[:6]}", destination=destination.destination,
                                 dataset_name=dataset, pipelines_dir=tmp_path / "pipelines")
    pipeline.run([{"id": 1, "name": "Ann"}], table_name="people")
    return pipeline


@dataload.resource(name="people")
def no_people() -> Iterator[dict[str, Any]]:
    yield from []


def _assert_nothing_loaded(pipe: dataload.Pipeline, target: Target, info: Any) -> None:
    assert info.load_ids == [] and "nothing to load" in str(info) and "loaded 1 package" not in str(info)
    assert target.count_loads() == 1, "no _dl_loads row for an empty run"
    assert pipe.pending_packages() == [] and pipe.failed_packages() == []
    assert [(r["id"], r["name"]) for r in pipe.dataset().people.rows()] == [(1, "Ann")]


def test_a_resource_that_yields_nothing_loads_nothing(pipe: dataload.Pipeline, target: tuple[Target, str]) -> None:
    _assert_nothing_loaded(pipe, target[0], pipe.run(no_people()))


def test_an_empty_list_loads_nothing(pipe: dataload.Pipeline, target: tuple[Target, str]) -> None:
    _assert_nothing_loaded(pipe, target[0], pipe.run([], table_name="people"))


def test_a_run_with_nothing_pending_loads_nothing(pipe: dataload.Pipeline, target: tuple[Target, str]) -> None:
    _assert_nothing_loaded(pipe, target[0], pipe.run())


def test_extract_of_nothing_makes_no_package(pipe: dataload.Pipeline, target: tuple[Target, str]) -> None:
    assert pipe.extract(no_people()) is None
    assert pipe.pending_packages() == []


def test_an_incremental_resource_with_nothing_new_loads_nothing(pipe: dataload.Pipeline,
                                                               target: tuple[Target, str]) -> None:
    @dataload.resource(name="people", primary_key="id", write_disposition="merge")
    def people(cursor: Any = dataload.incremental("id", initial_value=0)) -> Iterator[list[dict[str, Any]]]:
        yield [r for r in [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bo"}] if r["id"] > cursor.start_value]

    assert pipe.run(people()).rows == {"people": 2}
    state = pipe.state
    info = pipe.run(people())
    assert info.load_ids == [] and "nothing to load" in str(info)
    assert target[0].count_loads() == 2 and pipe.state == state


def test_a_state_change_without_rows_is_committed(pipe: dataload.Pipeline, target: tuple[Target, str]) -> None:
    @dataload.resource(name="people")
    def only_state() -> Iterator[dict[str, Any]]:
        dataload.resource_state()["checked_until"] = "2024-05-01"
        yield from []

    info = pipe.run(only_state())
    assert len(info.load_ids) == 1 and "nothing to load" not in str(info)
    assert target[0].count_loads() == 2
    pipe.drop()  # the local working dir only: what follows comes from the destination
    restored = dataload.pipeline(pipe.pipeline_name, destination=target[0].destination, dataset_name=target[1],
                                 pipelines_dir=pipe.working_dir.parent)
    assert restored.sync_destination()
    assert restored.state["sources"][pipe.pipeline_name]["resources"]["people"]["checked_until"] == "2024-05-01"
