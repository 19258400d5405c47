"""Every source key keeps a column of its own: real-shaped GitHub payloads, colliding keys, system-like keys.

Each test loads the case and reads it back with the destination's own driver (duckdb / psycopg),
comparing every value with what the source held.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver
import pyarrow as pa
import pytest

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.extract.limits import BufferLimits
from destinations import duckdb, postgres
from destinations.sql import quote

GITHUB = Path(__file__).parent.parent / "data" / "github"
REACTIONS = {"+1": "plus_1", "-1": "minus_1", "laugh": "laugh", "hooray": "hooray", "confused": "confused",
             "heart": "heart", "rocket": "rocket", "eyes": "eyes", "total_count": "total_count", "url": "url"}
ROW_PATH = {"mixed": [1, "x"]}  # added to a record, makes Arrow give up: the row-by-row path runs


def github(name: str) -> list[dict[str, Any]]:
    return json.loads((GITHUB / f"{name}.json").read_text())  # type: ignore[no-any-return]


class Target:
    """A destination plus a reader that uses the destination's own driver."""

    def __init__(self, kind: str, destination: Any, dataset: str, tmp_path: Path) -> None:
        self.kind, self.destination, self.dataset, self.tmp_path = kind, destination, dataset, tmp_path

    def pipeline(self, name: str | None = None) -> dataload.Pipeline:
        return dataload.pipeline(name or f"keys_{uuid.uuid4().hex[:8]}", destination=self.destination,
                                 dataset_name=self.dataset, pipelines_dir=self.tmp_path / "pipelines")

    def rows(self, table: str) -> list[dict[str, Any]]:
        sql = f"SELECT * FROM {quote(self.dataset)}.{quote(table)}"
        if self.kind == "duckdb":
            connection = duckdb_driver.connect(str(self.tmp_path / "keys.duckdb"))
            try:
                cursor = connection.execute(sql)
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row)) for row in cursor.fetchall()]
            finally:
                connection.close()
        with postgres_connection() as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            names = [d.name for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def columns(self, table: str) -> list[str]:
        return [c for c in self.rows_columns(table) if not c.startswith("_dl_")]

    def rows_columns(self, table: str) -> list[str]:
        sql = (f"SELECT column_name FROM information_schema.columns WHERE table_schema = '{self.dataset}' "
               f"AND table_name = '{table}' ORDER BY ordinal_position")
        if self.kind == "duckdb":
            connection = duckdb_driver.connect(str(self.tmp_path / "keys.duckdb"))
            try:
                return [name for (name,) in connection.execute(sql).fetchall()]
            finally:
                connection.close()
        with postgres_connection() as connection:
            return [name for (name,) in connection.execute(sql).fetchall()]


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    dataset = f"keys_{uuid.uuid4().hex[:8]}"
    if request.param == "duckdb":
        yield Target("duckdb", duckdb(str(tmp_path / "keys.duckdb")), dataset, tmp_path)
        return
    admin = postgres_connection()
    try:
        yield Target("postgres", postgres(POSTGRES_URL), dataset, tmp_path)
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {quote(dataset)} CASCADE")
        admin.close()


def reaction_columns(prefix: str) -> dict[str, str]:
    """Source key -> column for a ``reactions`` object nested under ``prefix``."""
    return {key: f"{prefix}__{column}" for key, column in REACTIONS.items()}


def by_id(rows: list[dict[str, Any]], key: str = "id") -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


# --- item 1: a page of real GitHub issues and events ---------------------------------------------

def assert_issues_loaded(target: Target, issues: list[dict[str, Any]]) -> None:
    loaded = by_id(target.rows("issues"))
    assert sorted(loaded) == sorted(i["id"] for i in issues)  # merged on id: no duplicates
    for issue in issues:
        row = loaded[issue["id"]]
        for key, column in reaction_columns("reactions").items():
            assert row[column] == issue["reactions"][key], (issue["id"], key, column)
        for key in ("login", "id", "type", "site_admin"):
            assert row[f"user__{key}"] == issue["user"][key]
        for key in ("number", "title", "state", "locked", "comments", "body", "author_association"):
            assert row[key] == issue[key]
    labels = target.rows("issues__labels")
    by_parent = {row["_dl_id"]: row["id"] for row in loaded.values()}
    found = sorted((by_parent[r["_dl_parent_id"]], r["_dl_list_idx"], r["id"], r["name"], r["color"], r["default"])
                   for r in labels)
    expected = sorted((i["id"], n, label["id"], label["name"], label["color"], label["default"])
                      for i in issues for n, label in enumerate(i["labels"]))
    assert found == expected


@pytest.mark.parametrize("path", ["columnar", "row-by-row"])
def test_github_issues_load_twice_with_merge_and_every_reaction_count_matches(target: Target, path: str) -> None:
    pipe = target.pipeline()
    issues = github("issues")
    extra = ROW_PATH if path == "row-by-row" else {}
    pipe.run([{**i, **extra} for i in issues], table_name="issues", write_disposition="merge", primary_key="id")
    assert_issues_loaded(target, issues)
    changed = copy.deepcopy(issues)
    changed[0]["reactions"]["+1"] += 5
    changed[0]["reactions"]["-1"] += 1
    changed[2]["reactions"]["-1"] = 0
    pipe.run([{**i, **extra} for i in changed], table_name="issues", write_disposition="merge", primary_key="id")
    assert_issues_loaded(target, changed)
    columns = target.columns("issues")
    assert len(columns) == len(set(columns))
    assert not [c for c in columns if c.endswith("___1")]  # no shared column for "+1" and "-1"


def test_github_events_keep_every_nested_reaction_count(target: Target) -> None:
    pipe = target.pipeline()
    events = github("events")
    for _ in range(2):
        pipe.run(events, table_name="events", write_disposition="merge", primary_key="id")
    loaded = by_id(target.rows("events"))
    assert sorted(loaded) == sorted(e["id"] for e in events)
    for event in events:
        row = loaded[event["id"]]
        assert (row["type"], row["actor__login"], row["repo__name"]) == (
            event["type"], event["actor"]["login"], event["repo"]["name"])
        for part in ("issue", "comment"):
            source = event["payload"].get(part)
            for key, column in reaction_columns(f"payload__{part}__reactions").items():
                assert row[column] == (source["reactions"][key] if source else None), (event["id"], column)
    labels = target.rows("events__payload__issue__labels")
    by_parent = {row["_dl_id"]: row["id"] for row in loaded.values()}
    assert sorted((by_parent[r["_dl_parent_id"]], r["name"]) for r in labels) == sorted(
        (e["id"], label["name"]) for e in events for label in e["payload"].get("issue", {}).get("labels", []))


def test_the_schema_records_the_source_key_of_each_column(target: Target) -> None:
    pipe = target.pipeline()
    pipe.run(github("issues"), table_name="issues", write_disposition="merge", primary_key="id")
    columns = pipe.default_schema.tables["issues"].columns
    assert columns["reactions__plus_1"].source_key == ("reactions", "+1")
    assert columns["reactions__minus_1"].source_key == ("reactions", "-1")
    assert columns["user__login"].source_key == ("user", "login")
    reopened = dataload.attach(pipe.pipeline_name, destination=target.destination,
                               pipelines_dir=target.tmp_path / "pipelines")
    assert reopened.default_schema.tables["issues"].columns["reactions__plus_1"].source_key == ("reactions", "+1")


# --- keys that still collide after normalization ---------------------------------------------------

@pytest.mark.parametrize("path", ["columnar", "row-by-row"])
def test_keys_colliding_in_one_record_get_columns_of_their_own(target: Target, path: str) -> None:
    pipe = target.pipeline()
    extra = ROW_PATH if path == "row-by-row" else {}
    pipe.run([{"id": 1, "A b": 1, "a_b": 2, **extra}, {"id": 2, "A b": 3, **extra}, {"id": 3, "a_b": 4, **extra}],
             table_name="items")
    schema = pipe.default_schema.tables["items"].columns
    names = {schema[c].source_key: c for c in target.columns("items") if c in schema and schema[c].source_key}
    assert names[("a_b",)] == "a_b" and names[("A b",)].startswith("a_b_")  # the key in normal form keeps it
    loaded = by_id(target.rows("items"))
    assert {i: (r[names[("A b",)]], r[names[("a_b",)]]) for i, r in loaded.items()} == {
        1: (1, 2), 2: (3, None), 3: (None, 4)}


def test_both_paths_give_the_same_names(make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    found = []
    for extra in ({}, ROW_PATH):
        pipe = make_pipeline()
        pipe.run([{"id": 1, "A b": 1, "a_b": 2, "_dl_id": 3, "r": {"+1": 1, "-1": 2}, **extra}], table_name="items")
        found.append({c.name: c.source_key for c in pipe.default_schema.tables["items"].columns.values()
                      if c.source_key and c.name != "mixed"})
    assert found[0] == found[1]


def test_a_later_run_reuses_the_recorded_column_when_a_new_colliding_key_appears(target: Target) -> None:
    pipe = target.pipeline()
    pipe.run([{"id": 1, "a_b": "plain"}], table_name="items")
    pipe.run([{"id": 2, "A b": "spaced", "a_b": "plain again"}, {"id": 3, "A-B": "dashed"}], table_name="items")
    pipe.run([{"id": 4, "A-B": "dashed again", "A b": "spaced again"}], table_name="items")
    schema = pipe.default_schema.tables["items"].columns
    names = {c.source_key: c.name for c in schema.values() if c.source_key}
    assert names[("a_b",)] == "a_b"
    assert len({names[("a_b",)], names[("A b",)], names[("A-B",)]}) == 3
    loaded = by_id(target.rows("items"))
    values = {i: tuple(loaded[i][names[(k,)]] for k in ("a_b", "A b", "A-B")) for i in loaded}
    assert values == {1: ("plain", None, None), 2: ("plain again", "spaced", None), 3: (None, None, "dashed"),
                      4: (None, "spaced again", "dashed again")}


@pytest.mark.parametrize("kind", ["arrow", "pandas"])
def test_arrow_columns_colliding_after_normalization_stay_apart(target: Target, kind: str) -> None:
    pipe = target.pipeline()
    table = pa.table({"id": [1, 2], "A b": [10, None], "a_b": ["x", "y"]})
    pipe.run(table if kind == "arrow" else table.to_pandas(), table_name="frame")
    names = {c.source_key: c.name for c in pipe.default_schema.tables["frame"].columns.values() if c.source_key}
    assert names[("A b",)] != names[("a_b",)]
    loaded = by_id(target.rows("frame"))
    assert {i: (r[names[("A b",)]], r[names[("a_b",)]]) for i, r in loaded.items()} == {1: (10, "x"), 2: (None, "y")}


def test_two_workers_that_name_a_colliding_key_differently_fall_back_to_one_order(
        make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    pipe = make_pipeline(buffer_limits=BufferLimits(segment_rows=50))
    rows = [{"id": i, "A b": i} for i in range(50)] + [{"id": i, "a_b": -i} for i in range(50, 100)]
    pipe.extract(iter([rows[:50], rows[50:]]), table_name="split")
    pipe.normalize(workers=2)
    assert [s.processes for s in pipe.last_trace.steps if s.step == "normalize"] == [1]  # normalized in order
    pipe.load()
    names = {c.source_key: c.name for c in pipe.default_schema.tables["split"].columns.values() if c.source_key}
    assert names[("A b",)] == "a_b" and names[("a_b",)] != "a_b"
    loaded = by_id(pipe.dataset().table("split").rows())
    assert [loaded[i][names[("A b",)]] for i in range(50)] == list(range(50))
    assert [loaded[i][names[("a_b",)]] for i in range(50, 100)] == [-i for i in range(50, 100)]


# --- item 11: user keys named like system columns ------------------------------------------------

SYSTEM_LIKE = {"_dl_id": "my id", "_dl_load_id": "my load", "_DL_ID": "shouting", "_dl_list_idx": 41,
               "_dl_parent_id": 42, "_dl_root_id": 43}


@pytest.mark.parametrize("path", ["columnar", "row-by-row"])
def test_user_keys_named_like_system_columns_are_kept(target: Target, path: str) -> None:
    pipe = target.pipeline()
    extra = ROW_PATH if path == "row-by-row" else {}
    record = {"id": 1, **SYSTEM_LIKE, "children": [{"_dl_parent_id": "child's own", "n": 1}], **extra}
    pipe.run([record], table_name="items", write_disposition="merge", primary_key="id")
    pipe.run([record], table_name="items", write_disposition="merge", primary_key="id")
    columns = pipe.default_schema.tables["items"].columns
    names = {c.source_key: c.name for c in columns.values() if c.source_key}
    rows = target.rows("items")
    assert len(rows) == 1
    for key, value in SYSTEM_LIKE.items():
        assert not names[(key,)].startswith("_dl_"), names[(key,)]
        assert rows[0][names[(key,)]] == value, key
    assert names[("_dl_id",)] == "user_dl_id" and names[("_dl_parent_id",)] == "user_dl_parent_id"
    assert isinstance(rows[0]["_dl_id"], int)  # dataload's own columns keep their meaning
    child = target.rows("items__children")
    assert [(r["user_dl_parent_id"], r["n"], r["_dl_parent_id"]) for r in child] == [
        ("child's own", 1, rows[0]["_dl_id"])]


# --- a user key named like a variant column --------------------------------------------------------

@pytest.mark.parametrize("order", ["same batch", "user key first", "variant first"])
def test_a_user_key_named_like_a_variant_column_keeps_its_own_column(target: Target, order: str) -> None:
    pipe = target.pipeline()
    user = {"id": 1, "price": 10, "price__v_text": "user's"}
    odd = {"id": 2, "price": "n/a"}
    batches = {"same batch": [[user, odd]], "user key first": [[user], [odd]], "variant first": [[odd], [user]]}
    pipe.run([{"id": 3, "price": 5}], table_name="items")  # price is a bigint column
    for batch in batches[order]:
        pipe.run(batch, table_name="items")
    columns = pipe.default_schema.tables["items"].columns.values()
    user_column = next(c.name for c in columns if c.source_key == ("price__v_text",))
    variant = next(c.name for c in columns if c.variant_of == "price")
    assert user_column != variant
    loaded = by_id(target.rows("items"))
    assert {i: (r["price"], r[user_column], r[variant]) for i, r in loaded.items()} == {
        1: (10, "user's", None), 2: (None, None, "n/a"), 3: (5, None, None)}


# --- lists whose keys collide: a child table each ---------------------------------------------------

def child_tables(pipe: dataload.Pipeline, parent: str) -> dict[tuple[str, ...], str]:
    """Source key (in the parent's rows) -> child table name."""
    return {t.source_key: t.name for t in pipe.default_schema.tables.values()
            if t.parent == parent and t.source_key is not None}


@pytest.mark.parametrize("path", ["columnar", "row-by-row"])
def test_lists_whose_keys_collide_get_a_child_table_each(target: Target, path: str) -> None:
    pipe = target.pipeline()
    extra = ROW_PATH if path == "row-by-row" else {}
    pipe.run([{"id": 1, "A b": [1, 2], "a_b": [3], **extra}], table_name="items")
    pipe.run([{"id": 2, "a_b": [4], "A b": [5], **extra}], table_name="items")
    tables = child_tables(pipe, "items")
    assert tables[("a_b",)] == "items__a_b" and tables[("A b",)].startswith("items__a_b_")
    ids = {r["_dl_id"]: r["id"] for r in target.rows("items")}
    for key, expected in ((("A b",), [(1, 0, 1), (1, 1, 2), (2, 0, 5)]), (("a_b",), [(1, 0, 3), (2, 0, 4)])):
        rows = target.rows(tables[key])
        assert sorted((ids[r["_dl_parent_id"]], r["_dl_list_idx"], r["value"]) for r in rows) == expected
        assert len({r["_dl_id"] for r in rows}) == len(rows)


def test_both_paths_name_colliding_child_tables_alike(make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    found = []
    for extra in ({}, ROW_PATH):
        pipe = make_pipeline()
        pipe.run([{"id": 1, "L": [{"A b": [1], "a_b": [2]}], "l": [{"x": 1}], **extra}], table_name="items")
        found.append({t.name: (t.parent, t.source_key) for t in pipe.default_schema.tables.values()
                      if t.parent is not None and t.name != "items__mixed"})
    assert found[0] == found[1]
    assert len(found[0]) == 4


def test_two_workers_agree_on_the_names_of_keys_without_collisions(
        make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    pipe = make_pipeline(buffer_limits=BufferLimits(segment_rows=50))
    issues = [dict(issue, id=n) for n in range(100) for issue in github("issues")[n % 3:n % 3 + 1]]
    pipe.extract(iter([issues[:50], issues[50:]]), table_name="issues", write_disposition="merge", primary_key="id")
    pipe.normalize(workers=2)
    assert [s.processes for s in pipe.last_trace.steps if s.step == "normalize"] == [2]  # no needless fallback
    pipe.load()
    loaded = by_id(pipe.dataset().table("issues").rows())
    for issue in issues:
        for key, column in reaction_columns("reactions").items():
            assert loaded[issue["id"]][column] == issue["reactions"][key]
