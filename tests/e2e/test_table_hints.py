"""Table hints taken at their word: changed keys, two resources on one table, empty replaces,
key-less merges, ``None`` items and callable table names, read back from DuckDB and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.exceptions import DataContractViolation, InvalidConfig
from destinations import duckdb, postgres
from destinations.sql import quote

MakePipeline = Callable[..., dataload.Pipeline]


@pytest.fixture(params=["duckdb", "postgres"])
def make(request: pytest.FixtureRequest, make_pipeline: MakePipeline, tmp_path: Path) -> Iterator[MakePipeline]:
    """Pipelines on DuckDB or PostgreSQL, loading into a dataset of their own (dropped afterwards)."""
    dataset = f"ds_{uuid.uuid4().hex[:8]}"
    if request.param == "duckdb":
        destination: Any = duckdb(str(tmp_path / "hints.duckdb"))
        yield lambda name=None: make_pipeline(name, destination=destination, dataset_name=dataset)
        return
    admin = postgres_connection()
    try:
        yield lambda name=None: make_pipeline(name, destination=postgres(POSTGRES_URL), dataset_name=dataset)
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {quote(dataset)} CASCADE")
        admin.close()


def rows(pipe: dataload.Pipeline, table: str, key: str = "id") -> list[dict[str, Any]]:
    """The table's rows without dataload's own columns, sorted by ``key``."""
    found = [{k: v for k, v in r.items() if not k.startswith("_dl_")} for r in pipe.dataset().table(table).rows()]
    return sorted(found, key=lambda r: r[key])


def keys_of(pipe: dataload.Pipeline, table: str, hint: str = "primary_key") -> list[str]:
    return pipe.default_schema.tables[table].key_columns(hint)


# -- 7: a changed primary key is the key -----------------------------------------------------------
def test_a_changed_primary_key_replaces_the_old_one(make: MakePipeline) -> None:
    pipe = make()
    pipe.run([{"id": 1, "code": "a", "v": 1}, {"id": 2, "code": "b", "v": 2}], table_name="items",
             write_disposition="merge", primary_key="id")
    info = pipe.run([{"id": 3, "code": "a", "v": 3}], table_name="items", write_disposition="merge",
                    primary_key="code")
    assert keys_of(pipe, "items") == ["code"]
    assert "changed primary key of items from ['id'] to ['code']" in info.schema_changes
    assert rows(pipe, "items") == [{"id": 2, "code": "b", "v": 2}, {"id": 3, "code": "a", "v": 3}]


def test_an_upsert_on_a_changed_primary_key_no_longer_enforces_the_old_one(make: MakePipeline) -> None:
    upsert = {"disposition": "merge", "strategy": "upsert"}
    pipe = make()
    pipe.run([{"id": 1, "code": "a", "v": 1}], table_name="items", write_disposition=upsert, primary_key="id")
    pipe.run([{"id": 1, "code": "b", "v": 2}], table_name="items", write_disposition=upsert, primary_key="code")
    pipe.run([{"id": 3, "code": "a", "v": 3}], table_name="items", write_disposition=upsert, primary_key="code")
    assert rows(pipe, "items", "code") == [{"id": 3, "code": "a", "v": 3}, {"id": 1, "code": "b", "v": 2}]


def test_a_composite_key_declared_again_in_another_order_is_no_change(make: MakePipeline) -> None:
    pipe = make()
    pipe.run([{"a": 1, "b": 1, "v": 1}], table_name="pairs", write_disposition="merge", primary_key=["b", "a"])
    info = pipe.run([{"a": 1, "b": 1, "v": 2}], table_name="pairs", write_disposition="merge",
                    primary_key=["a", "b"], schema_contract="freeze")
    assert info.schema_changes == [] and keys_of(pipe, "pairs") == ["b", "a"]
    assert rows(pipe, "pairs", "a") == [{"a": 1, "b": 1, "v": 2}]


def test_a_key_declared_by_columns_replaces_the_old_one(make: MakePipeline) -> None:
    pipe = make()
    pipe.run([{"id": 1, "code": "a"}], table_name="items", write_disposition="merge", primary_key="id")
    pipe.run([{"id": 2, "code": "a"}], table_name="items", write_disposition="merge",
             columns={"code": {"primary_key": True}})
    assert keys_of(pipe, "items") == ["code"]
    assert rows(pipe, "items") == [{"id": 2, "code": "a"}]


def test_a_changed_primary_key_is_refused_under_a_frozen_contract(make: MakePipeline) -> None:
    pipe = make()
    pipe.run([{"id": 1, "code": "a"}], table_name="items", write_disposition="merge", primary_key="id")
    with pytest.raises(DataContractViolation, match=r"table 'items'.*primary key.*\['id'\].*\['code'\]"):
        pipe.run([{"id": 2, "code": "a"}], table_name="items", write_disposition="merge", primary_key="code",
                 schema_contract="freeze")
    assert keys_of(pipe, "items") == ["id"]
    assert rows(pipe, "items") == [{"id": 1, "code": "a"}]


# -- 8: two resources, one table ------------------------------------------------------------------
def test_two_resources_with_different_dispositions_on_one_table_are_refused(make: MakePipeline) -> None:
    appended = dataload.resource([{"id": 1}], name="user-events")
    replaced = dataload.resource([{"id": 2}], name="user_events", write_disposition="replace")
    pipe = make()
    with pytest.raises(InvalidConfig, match="'user-events'.*'user_events'.*table 'user_events'"):
        pipe.run([appended, replaced])
    assert pipe.pending_packages() == [] and "user_events" not in pipe.default_schema.tables


def test_items_routed_to_a_table_with_other_keys_are_refused(make: MakePipeline) -> None:
    @dataload.resource(write_disposition="merge", primary_key="id")
    def users() -> Iterator[Any]:
        yield {"id": 1}

    @dataload.resource(write_disposition="merge", primary_key="code")
    def accounts() -> Iterator[Any]:
        yield dataload.with_table_name({"id": 1, "code": "x"}, "users")

    with pytest.raises(InvalidConfig, match="'users'.*'accounts'.*table 'users'"):
        make().run([users(), accounts()])


def test_two_resources_with_the_same_hints_share_a_table(make: MakePipeline) -> None:
    pipe = make()
    pipe.run([dataload.resource([{"id": 1}], name="a", table_name="t"),
              dataload.resource([{"id": 2}], name="b", table_name="t")])
    assert rows(pipe, "t") == [{"id": 1}, {"id": 2}]


# -- 9: replace with nothing empties the table ----------------------------------------------------
def test_replace_with_no_rows_empties_the_table_and_its_children(make: MakePipeline) -> None:
    pipe = make()
    pipe.run([{"id": 1, "tags": ["a"]}], table_name="snap", write_disposition="replace")

    @dataload.resource(name="snap", write_disposition="replace")
    def nothing() -> Iterator[Any]:
        yield from []

    info = pipe.run(nothing())
    assert rows(pipe, "snap") == [] and rows(pipe, "snap__tags", "value") == []
    assert len(info.load_ids) == 1


def test_replace_with_no_rows_empties_a_table_appended_before(make: MakePipeline) -> None:
    pipe = make()
    pipe.run([{"id": 1}, {"id": 2}], table_name="log")
    pipe.run([], table_name="log", write_disposition="replace")
    assert rows(pipe, "log") == []
    assert pipe.default_schema.tables["log"].write_disposition == "replace"
    pipe.run([{"id": 3}], table_name="log", write_disposition="replace")
    assert rows(pipe, "log") == [{"id": 3}]


def test_replace_with_no_rows_of_a_new_table_creates_nothing(make: MakePipeline) -> None:
    pipe = make()
    info = pipe.run([], table_name="never", write_disposition="replace")
    assert "never" not in [t.name for t in pipe.default_schema.data_tables()] and info.schema_changes == []


def test_replace_that_raises_keeps_the_old_rows(make: MakePipeline) -> None:
    pipe = make()
    pipe.run([{"id": 1}], table_name="snap", write_disposition="replace")

    @dataload.resource(name="snap", write_disposition="replace")
    def broken() -> Iterator[Any]:
        raise RuntimeError("api down")
        yield

    with pytest.raises(dataload.ResourceError, match="api down"):
        pipe.run(broken())
    assert rows(pipe, "snap") == [{"id": 1}]


# -- 10: merge needs a key ------------------------------------------------------------------------
def test_merge_without_a_key_is_refused_at_decoration() -> None:
    with pytest.raises(InvalidConfig, match="resource 'users'.*merge.*primary_key.*merge_key"):
        @dataload.resource(write_disposition="merge")
        def users() -> Iterator[Any]:
            yield {"id": 1}


def test_merge_with_a_key_in_the_columns_hints_is_accepted(make: MakePipeline) -> None:
    @dataload.resource(write_disposition="merge", columns={"id": {"primary_key": True}})
    def users() -> Iterator[Any]:
        yield [{"id": 1, "v": "a"}, {"id": 1, "v": "b"}]

    pipe = make()
    pipe.run(users())
    pipe.run(users())
    assert rows(pipe, "users") == [{"id": 1, "v": "b"}]


def test_merge_without_a_key_is_refused_at_extraction(make: MakePipeline) -> None:
    pipe = make()
    with pytest.raises(InvalidConfig, match="resource 'log'.*merge.*primary_key.*merge_key"):
        pipe.run([{"id": 1}], table_name="log", write_disposition="merge")
    plain = dataload.resource([{"id": 1}], name="plain")
    with pytest.raises(InvalidConfig, match="resource 'plain'"):
        pipe.run(plain.apply_hints(write_disposition="merge"))
    assert pipe.pending_packages() == [] and pipe.default_schema.tables == {}


# -- 12: None items are skipped and counted -------------------------------------------------------
def test_none_in_a_page_is_skipped_like_a_yielded_none(make: MakePipeline) -> None:
    @dataload.resource(name="things")
    def things() -> Iterator[Any]:
        yield [{"id": 1}, None, {"id": 2}]
        yield None
        yield [None]
        yield dataload.with_table_name([None, {"id": 3}], "things")

    pipe = make()
    pipe.run(things())
    assert rows(pipe, "things") == [{"id": 1}, {"id": 2}, {"id": 3}]
    (extract,) = [step for step in pipe.last_trace.steps if step.step == "extract"]
    assert extract.rows == {"things": 3}
    assert extract.skipped == {"things": 4}
    assert "skipped None items: things: 4" in str(extract)


def test_iterating_a_resource_skips_none() -> None:
    @dataload.resource(name="things")
    def things() -> Iterator[Any]:
        yield [{"id": 1}, None]
        yield None

    assert list(things()) == [{"id": 1}]


def test_a_transformer_gets_no_none_parent(make: MakePipeline) -> None:
    @dataload.resource(name="parents")
    def parents() -> Iterator[Any]:
        yield [{"id": 1}, None, {"id": 2}]

    @dataload.transformer(data_from=parents, name="kids")
    def kids(parent: dict[str, Any]) -> Iterator[Any]:
        yield {"id": parent["id"] * 10}

    pipe = make()
    pipe.run([parents(), kids])
    assert rows(pipe, "kids") == [{"id": 10}, {"id": 20}]


# -- 13: callable table names on Arrow and pandas pages -------------------------------------------
def test_a_callable_table_name_routes_arrow_pages_by_their_content(make: MakePipeline) -> None:
    pages = [pa.table({"kind": ["a", "a"], "id": [1, 2]}), pa.table({"kind": ["b"], "id": [3]}),
             pd.DataFrame({"kind": ["a"], "id": [4]})]

    @dataload.resource(name="mixed", table_name=lambda page: f"kind_{page['kind'][0]}")
    def mixed() -> Iterator[Any]:
        yield from pages

    pipe = make()
    pipe.run(mixed())
    assert rows(pipe, "kind_a") == [{"kind": "a", "id": 1}, {"kind": "a", "id": 2}, {"kind": "a", "id": 4}]
    assert rows(pipe, "kind_b") == [{"kind": "b", "id": 3}]
    assert not [t for t in pipe.default_schema.tables if "lambda" in t or "function" in t]


def test_a_callable_table_name_that_gives_no_name_for_an_arrow_page_is_refused(make: MakePipeline) -> None:
    pipe = make()
    with pytest.raises(dataload.ResourceError, match="resource 'data'.*table_name.*Arrow.*ChunkedArray"):
        pipe.run(pa.table({"kind": ["a"]}), table_name=lambda item: item["kind"])  # a column, not a name
    assert pipe.default_schema.tables == {}


def test_run_accepts_a_callable_table_name(make: MakePipeline) -> None:
    pipe = make()
    pipe.run([{"kind": "x", "id": 1}, {"kind": "y", "id": 2}], table_name=lambda item: f"by_{item['kind']}")
    assert rows(pipe, "by_x") == [{"kind": "x", "id": 1}]
    assert rows(pipe, "by_y") == [{"kind": "y", "id": 2}]
