"""Bad and unusual input, loaded into DuckDB and read back: every case of docs/normalization.md.

Each test runs a real pipeline on a private DuckDB file under ``tmp_path`` and asserts what a user
finds in the database afterwards (tables, column types, values), not merely that nothing raised.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import math
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver
import numpy as np
import pyarrow as pa
import pytest

import dataload
from dataload.schema.naming import disambiguated_name
from destinations import duckdb

DATASET = "ds"
UTC = datetime.timezone.utc


# --- helpers ------------------------------------------------------------------------------------

@pytest.fixture
def new_pipeline(tmp_path: Path) -> Callable[..., dataload.Pipeline]:
    """A fresh pipeline with a unique name, its working dir and DuckDB file inside ``tmp_path``."""

    def make() -> dataload.Pipeline:
        name = f"bad_{uuid.uuid4().hex[:10]}"
        return dataload.pipeline(name, destination=duckdb(str(tmp_path / f"{name}.duckdb")),
                                 dataset_name=DATASET, pipelines_dir=tmp_path / "pipelines")

    return make


def query(pipe: dataload.Pipeline, sql: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
    with pipe.sql_client() as client:
        return client.execute(sql, parameters).arrow().to_pylist()


def _inspect(pipe: dataload.Pipeline, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
    """Ask DuckDB's catalog directly (works whether or not the dataset exists yet)."""
    connection = duckdb_driver.connect(str(pipe.destination.credentials))
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def tables_in_db(pipe: dataload.Pipeline) -> set[str]:
    rows = _inspect(pipe, "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [DATASET])
    return {name for (name,) in rows}


def columns_in_db(pipe: dataload.Pipeline, table: str) -> dict[str, str]:
    """Column name -> DuckDB type, as DuckDB reports it."""
    rows = _inspect(pipe, "SELECT column_name, data_type FROM information_schema.columns "
                          "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position", [DATASET, table])
    return dict(rows)


def read(pipe: dataload.Pipeline, table: str, order_by: str | None = None) -> list[dict[str, Any]]:
    rows = pipe.dataset().table(table).rows()
    if order_by is not None:
        rows.sort(key=lambda r: (r[order_by] is None, r[order_by]))
    return rows


def data(row: dict[str, Any]) -> dict[str, Any]:
    """A row without dataload's own ``_dl_`` columns."""
    return {k: v for k, v in row.items() if not k.startswith("_dl_")}


def count(pipe: dataload.Pipeline, table: str) -> int:
    return int(query(pipe, f'SELECT count(*) AS n FROM "{DATASET}"."{table}"')[0]["n"])


def nested_dicts(depth: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def nested_lists(depth: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


class Opaque:
    """An object with no table form."""

    def __repr__(self) -> str:
        return "<Opaque>"


# --- any other object: an error naming the table and column, nothing loaded ---------------------

@pytest.mark.parametrize(
    "records, table, column",
    [
        ([{"id": 1, "obj": Opaque()}], "items", "obj"),
        ([{"id": 1, "meta": {"obj": Opaque()}}], "items", "meta__obj"),
        ([{"id": 1, "things": [Opaque()]}], "items__things", "value"),
        ([{"id": 1, "obj": "fine"}, {"id": 2, "obj": Opaque()}], "items", "obj"),  # one bad row in a page
        ([{"id": 1, "obj": object}], "items", "obj"),  # a class is not a value either
    ],
)
def test_non_serializable_object_is_an_error_naming_table_and_column(new_pipeline, records, table, column):
    pipe = new_pipeline()
    with pytest.raises(dataload.DataloadError) as raised:
        pipe.run(records, table_name="items")
    message = str(raised.value)
    assert repr(table) in message or f'"{table}"' in message or f" {table}" in message, message
    assert column in message, message
    # nothing of the failing run was loaded
    assert "items" not in tables_in_db(pipe)
    assert table not in tables_in_db(pipe)


def test_non_serializable_object_leaves_earlier_loads_untouched(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "obj": "text"}], table_name="items")
    with pytest.raises(dataload.DataloadError, match="obj"):
        pipe.run([{"id": 2, "obj": "still fine"}, {"id": 3, "obj": Opaque()}], table_name="items")
    assert count(pipe, "items") == 1
    assert [data(r) for r in read(pipe, "items")] == [{"id": 1, "obj": "text"}]


def test_sql_client_answers_after_a_failed_first_run(new_pipeline):
    pipe = new_pipeline()
    with pytest.raises(dataload.DataloadError):
        pipe.run([{"id": 1, "obj": Opaque()}], table_name="items")
    assert query(pipe, "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ?",
                 [DATASET]) == [{"n": 0}]


# --- sets, frozensets and tuples are lists -----------------------------------------------------

def test_sets_and_tuples_become_child_tables(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "s": {"b", "a", "c"}, "t": ("x", "y", "z"), "f": frozenset([7])}], table_name="items")
    root = read(pipe, "items")
    assert [data(r) for r in root] == [{"id": 1}]
    root_id = root[0]["_dl_id"]
    s = read(pipe, "items__s")
    assert sorted(r["value"] for r in s) == ["a", "b", "c"]
    assert sorted(r["_dl_list_idx"] for r in s) == [0, 1, 2]
    t = read(pipe, "items__t", order_by="_dl_list_idx")
    assert [(r["value"], r["_dl_list_idx"]) for r in t] == [("x", 0), ("y", 1), ("z", 2)]
    assert [r["value"] for r in read(pipe, "items__f")] == [7]
    for table in ("items__s", "items__t", "items__f"):
        assert {r["_dl_parent_id"] for r in read(pipe, table)} == {root_id}
        assert columns_in_db(pipe, table)["value"] in ("VARCHAR", "BIGINT")


def test_tuple_of_dicts_becomes_child_rows_with_columns(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "orders": ({"sku": "A", "qty": 1}, {"sku": "B", "qty": 2})}], table_name="items")
    rows = read(pipe, "items__orders", order_by="_dl_list_idx")
    assert [data(r) for r in rows] == [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]


# --- NaN and infinity ---------------------------------------------------------------------------

def test_nan_and_infinity_are_kept(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "f": float("nan")}, {"id": 2, "f": float("inf")}, {"id": 3, "f": float("-inf")},
              {"id": 4, "f": 1.5}], table_name="items")
    assert columns_in_db(pipe, "items")["f"] == "DOUBLE"
    values = {r["id"]: r["f"] for r in read(pipe, "items")}
    assert math.isnan(values[1])
    assert values[2] == math.inf
    assert values[3] == -math.inf
    assert values[4] == 1.5
    # and DuckDB itself sees them as such
    assert query(pipe, "SELECT count(*) AS n FROM items WHERE isnan(f)")[0]["n"] == 1
    assert query(pipe, "SELECT count(*) AS n FROM items WHERE isinf(f)")[0]["n"] == 2


def test_nan_and_infinity_from_arrow_are_kept(new_pipeline):
    pipe = new_pipeline()
    pipe.run(pa.table({"id": [1, 2, 3], "f": [float("nan"), float("inf"), float("-inf")]}), table_name="items")
    values = {r["id"]: r["f"] for r in read(pipe, "items")}
    assert math.isnan(values[1]) and values[2] == math.inf and values[3] == -math.inf


# --- ints beyond 64 bits --------------------------------------------------------------------------

def test_int_beyond_64_bits_is_a_decimal(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "n": 2**70}, {"id": 2, "n": -(2**63) - 1}, {"id": 3, "n": 2**63},
              {"id": 4, "n": 5}], table_name="items")
    assert columns_in_db(pipe, "items")["n"] == "DECIMAL(38,9)"
    values = {r["id"]: r["n"] for r in read(pipe, "items")}
    assert values == {1: decimal.Decimal(2**70), 2: decimal.Decimal(-(2**63) - 1),
                      3: decimal.Decimal(2**63), 4: decimal.Decimal(5)}


def test_int_of_29_digits_is_a_decimal_and_of_30_digits_is_text(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "d29": 10**29 - 1, "d30": 10**29, "big": -(10**40)}], table_name="items")
    types = columns_in_db(pipe, "items")
    assert types["d29"] == "DECIMAL(38,9)"
    assert types["d30"] == "VARCHAR"
    assert types["big"] == "VARCHAR"
    row = read(pipe, "items")[0]
    assert row["d29"] == decimal.Decimal(10**29 - 1)
    assert row["d30"] == "100000000000000000000000000000"
    assert row["big"] == str(-(10**40))
    assert int(row["d30"]) == 10**29


def test_int_64_bit_edges_stay_bigint(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "n": 2**63 - 1}, {"id": 2, "n": -(2**63)}], table_name="items")
    assert columns_in_db(pipe, "items")["n"] == "BIGINT"
    assert {r["id"]: r["n"] for r in read(pipe, "items")} == {1: 2**63 - 1, 2: -(2**63)}


def test_ints_and_floats_make_a_double(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "x": 1}, {"id": 2, "x": 1.5}], table_name="items")
    assert columns_in_db(pipe, "items")["x"] == "DOUBLE"
    assert {r["id"]: r["x"] for r in read(pipe, "items")} == {1: 1.0, 2: 1.5}


def test_decimal_wider_than_existing_column_is_not_lost(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "d": decimal.Decimal("1.5")}], table_name="items")
    pipe.run([{"id": 2, "d": decimal.Decimal("1.123456789123")}], table_name="items")
    row = [r for r in read(pipe, "items") if r["id"] == 2][0]
    stored = [v for k, v in row.items() if (k == "d" or k.startswith("d__v_")) and v is not None]
    assert len(stored) == 1
    assert decimal.Decimal(str(stored[0])) == decimal.Decimal("1.123456789123")


# --- empty dicts and lists --------------------------------------------------------------------------

def test_empty_dict_gives_no_column_but_the_row_is_loaded(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "meta": {}, "name": "x"}], table_name="items")
    assert not [c for c in columns_in_db(pipe, "items") if c.startswith("meta")]
    assert [data(r) for r in read(pipe, "items")] == [{"id": 1, "name": "x"}]


def test_empty_dict_next_to_a_filled_one(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "meta": {}}, {"id": 2, "meta": {"k": "v"}}], table_name="items")
    assert [c for c in columns_in_db(pipe, "items") if c.startswith("meta")] == ["meta__k"]
    assert {r["id"]: r["meta__k"] for r in read(pipe, "items")} == {1: None, 2: "v"}


def test_empty_list_gives_no_child_rows(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "tags": []}], table_name="items")
    assert [data(r) for r in read(pipe, "items")] == [{"id": 1}]
    assert "items__tags" not in tables_in_db(pipe) or count(pipe, "items__tags") == 0


def test_empty_list_next_to_a_filled_one(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "tags": []}, {"id": 2, "tags": ["a", "b"]}], table_name="items")
    ids = {r["id"]: r["_dl_id"] for r in read(pipe, "items")}
    children = read(pipe, "items__tags", order_by="_dl_list_idx")
    assert [r["value"] for r in children] == ["a", "b"]
    assert {r["_dl_parent_id"] for r in children} == {ids[2]}


# --- None everywhere ----------------------------------------------------------------------------

def test_column_with_only_none_is_created_when_a_value_arrives(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "n": None, "meta": {"m": None}}, {"id": 2, "n": None, "meta": {"m": None}}],
             table_name="items")
    columns = columns_in_db(pipe, "items")
    assert "n" not in columns and "meta__m" not in columns
    assert sorted(r["id"] for r in read(pipe, "items")) == [1, 2]

    pipe.run([{"id": 3, "n": "x", "meta": {"m": 2.5}}], table_name="items")
    columns = columns_in_db(pipe, "items")
    assert columns["n"] == "VARCHAR"
    assert columns["meta__m"] == "DOUBLE"
    assert {r["id"]: (r["n"], r["meta__m"]) for r in read(pipe, "items")} == {
        1: (None, None), 2: (None, None), 3: ("x", 2.5)}


def test_column_with_only_none_on_the_row_by_row_path(new_pipeline):
    pipe = new_pipeline()
    # the mixed list forces the row-by-row path (Arrow cannot convert the page in one go)
    pipe.run([{"id": 1, "n": None, "mixed": [1, "x"]}], table_name="items")
    assert "n" not in columns_in_db(pipe, "items")
    pipe.run([{"id": 2, "n": 7}], table_name="items")
    assert columns_in_db(pipe, "items")["n"] == "BIGINT"
    assert {r["id"]: r["n"] for r in read(pipe, "items")} == {1: None, 2: 7}


# --- keys colliding after normalization -----------------------------------------------------------

ROW_PATH = {"mixed": [1, "x"]}  # added to a record, makes Arrow give up: the row-by-row path runs


SPACED = disambiguated_name(("A b",))  # the column of "A b" once "a_b" has the plain name


@pytest.mark.parametrize("path", ["columnar", "row-by-row"])
def test_colliding_keys_in_one_record_get_a_column_each(new_pipeline, path):
    pipe = new_pipeline()
    record: dict[str, Any] = {"id": 1, "A b": 1, "a_b": 2}
    if path == "row-by-row":
        record.update(ROW_PATH)
    pipe.run([record], table_name="items")
    assert sorted(c for c in columns_in_db(pipe, "items") if c.startswith("a_b")) == ["a_b", SPACED]
    assert [(r["a_b"], r[SPACED]) for r in read(pipe, "items")] == [(2, 1)]


@pytest.mark.parametrize("path", [
    "columnar",
    "row-by-row",
])
@pytest.mark.parametrize("record, expected", [({"A b": None, "a_b": 2}, {"a_b": 2}),
                                              ({"A b": 2, "a_b": None}, {SPACED: 2})])
def test_colliding_keys_one_of_them_none_keep_their_own_columns(new_pipeline, path, record, expected):
    pipe = new_pipeline()
    record = {"id": 1, **record, **(ROW_PATH if path == "row-by-row" else {})}
    pipe.run([record], table_name="items")
    assert {k: v for k, v in read(pipe, "items")[0].items() if k.startswith("a_b")} == expected


@pytest.mark.parametrize("path", ["columnar", "row-by-row"])
def test_colliding_keys_in_different_records_fill_a_column_each(new_pipeline, path):
    pipe = new_pipeline()
    extra = ROW_PATH if path == "row-by-row" else {}
    pipe.run([{"id": 1, "A b": 1, **extra}, {"id": 2, "a_b": 2, **extra}], table_name="items")
    assert sorted(c for c in columns_in_db(pipe, "items") if "a_b" in c) == ["a_b", SPACED]
    assert {r["id"]: (r["a_b"], r[SPACED]) for r in read(pipe, "items")} == {1: (None, 1), 2: (2, None)}


def test_colliding_keys_in_different_runs_the_first_keeps_the_plain_name(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "A b": "first"}], table_name="items")
    pipe.run([{"id": 2, "a_b": "second"}], table_name="items")
    plain = disambiguated_name(("a_b",))
    assert {r["id"]: (r["a_b"], r[plain]) for r in read(pipe, "items")} == {1: ("first", None), 2: (None, "second")}


def test_colliding_keys_with_different_types_make_no_variant(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "A b": 1}, {"id": 2, "a_b": "x"}], table_name="items")
    types = columns_in_db(pipe, "items")
    assert types["a_b"] == "VARCHAR" and types[SPACED] == "BIGINT" and "a_b__v_text" not in types
    assert {r["id"]: (r["a_b"], r[SPACED]) for r in read(pipe, "items")} == {1: (None, 1), 2: ("x", None)}


# --- empty and punctuation-only keys ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["columnar", "row-by-row", "arrow"])
def test_empty_and_punctuation_keys(new_pipeline, path):
    pipe = new_pipeline()
    if path == "arrow":
        pipe.run(pa.table({"id": [1], "": ["empty"], "!!!": ["bang"]}), table_name="items")
    else:
        pipe.run([{"id": 1, "": "empty", "!!!": "bang", **(ROW_PATH if path == "row-by-row" else {})}],
                 table_name="items")
    types = columns_in_db(pipe, "items")
    assert types["_empty"] == "VARCHAR" and types["_"] == "VARCHAR"
    row = read(pipe, "items")[0]
    assert (row["id"], row["_empty"], row["!!!".replace("!!!", "_")]) == (1, "empty", "bang")


# --- deeply nested data -------------------------------------------------------------------------------

def test_dicts_nested_200_deep_land_as_json_at_level_32(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "deep": nested_dicts(199, "bottom")}], table_name="items")  # 200 levels of dicts
    json_column = "__".join(["deep"] + ["a"] * 31)  # 32 levels flattened into the column name
    types = columns_in_db(pipe, "items")
    assert types[json_column] == "JSON"
    assert not [c for c in types if c.startswith(json_column + "__")]
    row = read(pipe, "items")[0]
    assert row["id"] == 1
    assert json.loads(row[json_column]) == nested_dicts(168, "bottom")


def test_dicts_nested_40_deep_land_as_json_at_level_32(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "deep": nested_dicts(39, "bottom")}], table_name="items")  # 40 levels of dicts
    json_column = "__".join(["deep"] + ["a"] * 31)
    assert columns_in_db(pipe, "items")[json_column] == "JSON"
    row = read(pipe, "items")[0]
    assert json.loads(row[json_column]) == nested_dicts(8, "bottom")


def _assert_lists_end_in_json(pipe: dataload.Pipeline, total_depth: int) -> None:
    tables = {t for t in tables_in_db(pipe) if t.startswith("items__deep")}
    with_json = [t for t in tables if columns_in_db(pipe, t).get("value") == "JSON"]
    assert len(with_json) == 1, sorted(tables)
    json_table = with_json[0]
    level = json_table.count("__")  # items__deep is child level 1
    # "stored as a json column at level 32": the child table holding it is at level 31 (its column
    # "value" is level 32) or, counted the other way, 32
    assert level in (31, 32), json_table
    assert max(t.count("__") for t in tables) == level
    rows = read(pipe, json_table)
    assert len(rows) == 1
    assert json.loads(rows[0]["value"]) == nested_lists(total_depth - level, "bottom")


def test_lists_nested_200_deep_land_as_json_at_level_32(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "deep": nested_lists(200, "bottom")}], table_name="items")
    assert [data(r) for r in read(pipe, "items")] == [{"id": 1}]
    _assert_lists_end_in_json(pipe, 200)


def test_lists_nested_40_deep_land_as_json_at_level_32(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "deep": nested_lists(40, "bottom")}], table_name="items")
    _assert_lists_end_in_json(pipe, 40)


def test_list_under_a_very_long_key_loads(new_pipeline):
    pipe = new_pipeline()
    key = "k" * 300
    pipe.run([{"id": 1, key: [1, 2]}], table_name="items")
    children = [t for t in tables_in_db(pipe) if t.startswith("items__")]
    assert len(children) == 1
    assert sorted(r["value"] for r in read(pipe, children[0])) == [1, 2]


# --- variant columns ----------------------------------------------------------------------------------

def test_text_arriving_in_a_bigint_column_goes_to_a_variant(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "price": 1}], table_name="items")
    pipe.run([{"id": 2, "price": "n/a"}], table_name="items")
    types = columns_in_db(pipe, "items")
    assert types["price"] == "BIGINT"
    assert types["price__v_text"] == "VARCHAR"
    rows = {r["id"]: (r["price"], r["price__v_text"]) for r in read(pipe, "items")}
    assert rows == {1: (1, None), 2: (None, "n/a")}


def test_variant_in_one_run(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "price": 1}, {"id": 2, "price": "n/a"}], table_name="items")
    assert columns_in_db(pipe, "items")["price"] == "BIGINT"
    rows = {r["id"]: (r["price"], r["price__v_text"]) for r in read(pipe, "items")}
    assert rows == {1: (1, None), 2: (None, "n/a")}


def test_variant_from_arrow_input(new_pipeline):
    pipe = new_pipeline()
    pipe.run(pa.table({"id": [1], "price": [1]}), table_name="items")
    pipe.run(pa.table({"id": [2], "price": ["n/a"]}), table_name="items")
    rows = {r["id"]: (r["price"], r["price__v_text"]) for r in read(pipe, "items")}
    assert rows == {1: (1, None), 2: (None, "n/a")}


def test_iso_string_into_a_timestamp_column_is_converted(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "at": datetime.datetime(2024, 3, 1, 10, tzinfo=UTC)}], table_name="items")
    pipe.run([{"id": 2, "at": "2024-03-02T12:00:00+02:00"}, {"id": 3, "at": "2024-03-03 08:30:00"}],
             table_name="items")
    types = columns_in_db(pipe, "items")
    assert types["at"] == "TIMESTAMP WITH TIME ZONE"
    assert not [c for c in types if c.startswith("at__v_")]
    values = {r["id"]: r["at"] for r in read(pipe, "items")}
    assert values == {1: datetime.datetime(2024, 3, 1, 10, tzinfo=UTC),
                      2: datetime.datetime(2024, 3, 2, 10, tzinfo=UTC),
                      3: datetime.datetime(2024, 3, 3, 8, 30, tzinfo=UTC)}


def test_iso_date_string_into_a_date_column_is_converted(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "day": "2024-03-01"}], table_name="items")
    pipe.run([{"id": 2, "day": "2024-03-02"}], table_name="items")
    types = columns_in_db(pipe, "items")
    assert types["day"] == "DATE"
    assert not [c for c in types if c.startswith("day__v_")]
    assert {r["id"]: r["day"] for r in read(pipe, "items")} == {
        1: datetime.date(2024, 3, 1), 2: datetime.date(2024, 3, 2)}


def test_non_iso_string_into_a_timestamp_column_goes_to_a_variant(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "at": "2024-03-01T10:00:00Z"}], table_name="items")
    pipe.run([{"id": 2, "at": "yesterday"}], table_name="items")
    rows = {r["id"]: (r["at"], r["at__v_text"]) for r in read(pipe, "items")}
    assert rows == {1: (datetime.datetime(2024, 3, 1, 10, tzinfo=UTC), None), 2: (None, "yesterday")}


# --- a resource that raises -----------------------------------------------------------------------------

def test_resource_raising_midway_loads_nothing_of_that_run(new_pipeline):
    original = ValueError("upstream broke")

    @dataload.resource(name="flaky", table_name="items")
    def flaky():
        yield [{"id": 10}]
        yield [{"id": 11}]
        raise original

    pipe = new_pipeline()
    pipe.run([{"id": 1}, {"id": 2}], table_name="items")

    with pytest.raises(dataload.ResourceError) as raised:
        pipe.run(flaky())
    error = raised.value
    assert "flaky" in str(error)
    assert error.resource == "flaky"
    assert error.__cause__ is original
    assert isinstance(error, dataload.DataloadError)

    assert sorted(r["id"] for r in read(pipe, "items")) == [1, 2]
    # a later, successful run does not bring in the half-extracted rows either
    pipe.run([{"id": 3}], table_name="items")
    assert sorted(r["id"] for r in read(pipe, "items")) == [1, 2, 3]


def test_resource_raising_before_any_item_creates_nothing(new_pipeline):
    @dataload.resource(name="broken")
    def broken():
        raise KeyError("missing")
        yield  # pragma: no cover

    pipe = new_pipeline()
    with pytest.raises(dataload.ResourceError) as raised:
        pipe.run(broken())
    assert "broken" in str(raised.value)
    assert isinstance(raised.value.__cause__, KeyError)
    assert "broken" not in tables_in_db(pipe)


# --- uuid, enum, dataclass, numpy ------------------------------------------------------------------

class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Point:
    x: int
    label: str
    tags: list[str] = dataclasses.field(default_factory=list)


def test_uuid_enum_dataclass_and_numpy_values(new_pipeline):
    pipe = new_pipeline()
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    pipe.run([{"id": 1, "u": ident, "color": Color.RED, "level": Level.HIGH,
               "point": Point(3, "p", ["a", "b"]),
               "np_int": np.int64(5), "np_float": np.float64(2.5), "np_bool": np.bool_(True)}],
             table_name="items")
    types = columns_in_db(pipe, "items")
    assert types["u"] == "VARCHAR"
    assert types["color"] == "VARCHAR"
    assert types["level"] == "BIGINT"
    assert types["point__x"] == "BIGINT" and types["point__label"] == "VARCHAR"
    assert types["np_int"] == "BIGINT" and types["np_float"] == "DOUBLE" and types["np_bool"] == "BOOLEAN"
    row = read(pipe, "items")[0]
    assert data(row) == {"id": 1, "u": str(ident), "color": "red", "level": 2, "point__x": 3,
                         "point__label": "p", "np_int": 5, "np_float": 2.5, "np_bool": True}
    tags = read(pipe, "items__point__tags", order_by="_dl_list_idx")
    assert [t["value"] for t in tags] == ["a", "b"]
    assert {t["_dl_parent_id"] for t in tags} == {row["_dl_id"]}


def test_uuid_and_enum_as_a_whole_column(new_pipeline):
    pipe = new_pipeline()
    ids = [uuid.uuid4() for _ in range(3)]
    pipe.run([{"n": i, "u": u, "c": c} for i, (u, c) in enumerate(zip(ids, [Color.RED, Color.BLUE, Color.RED]))],
             table_name="items")
    rows = read(pipe, "items", order_by="n")
    assert [r["u"] for r in rows] == [str(u) for u in ids]
    assert [r["c"] for r in rows] == ["red", "blue", "red"]


# --- datetimes --------------------------------------------------------------------------------------------

def test_naive_datetime_is_read_back_as_utc(new_pipeline):
    pipe = new_pipeline()
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    pipe.run([{"id": 1, "at": datetime.datetime(2024, 1, 1, 12, 30)},
              {"id": 2, "at": datetime.datetime(2024, 1, 1, 12, 30, tzinfo=plus_two)}], table_name="items")
    assert columns_in_db(pipe, "items")["at"] == "TIMESTAMP WITH TIME ZONE"
    values = {r["id"]: r["at"] for r in read(pipe, "items")}
    assert values[1].tzinfo is not None and values[1].utcoffset() == datetime.timedelta(0)
    assert values[1] == datetime.datetime(2024, 1, 1, 12, 30, tzinfo=UTC)
    assert values[2] == datetime.datetime(2024, 1, 1, 10, 30, tzinfo=UTC)
    epoch = query(pipe, 'SELECT epoch("at") AS e FROM items WHERE id = 1')[0]["e"]
    assert epoch == datetime.datetime(2024, 1, 1, 12, 30, tzinfo=UTC).timestamp()


def test_dates_times_and_bytes(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"id": 1, "d": datetime.date(2024, 1, 2), "t": datetime.time(1, 2, 3), "b": b"\x00\xff",
               "ba": bytearray(b"ab"), "mv": memoryview(b"cd")}], table_name="items")
    types = columns_in_db(pipe, "items")
    assert (types["d"], types["t"], types["b"], types["ba"], types["mv"]) == ("DATE", "TIME", "BLOB", "BLOB", "BLOB")
    assert data(read(pipe, "items")[0]) == {"id": 1, "d": datetime.date(2024, 1, 2), "t": datetime.time(1, 2, 3),
                                            "b": b"\x00\xff", "ba": b"ab", "mv": b"cd"}


# --- unicode ----------------------------------------------------------------------------------------------

def test_unicode_keys_and_values(new_pipeline):
    pipe = new_pipeline()
    pipe.run([{"Ünïcode": "日本語 ✓ 😀", "名前": "Ωmega", "Ωmega": "ß", "emoji 😀": "ok", "タグ": ["一", "二"]}],
             table_name="Ïtems")
    tables = tables_in_db(pipe)
    assert "ïtems" in tables and "ïtems__タグ" in tables
    row = read(pipe, "ïtems")[0]
    assert data(row) == {"ünïcode": "日本語 ✓ 😀", "名前": "Ωmega", "ωmega": "ß", "emoji_": "ok"}
    assert [r["value"] for r in read(pipe, "ïtems__タグ", order_by="_dl_list_idx")] == ["一", "二"]


# --- other items ------------------------------------------------------------------------------------------

def test_scalar_items_are_stored_under_value(new_pipeline):
    pipe = new_pipeline()
    pipe.run([1, 2, 3], table_name="items")
    assert sorted(r["value"] for r in read(pipe, "items")) == [1, 2, 3]


# --- pandas and Arrow input --------------------------------------------------------------------------------

def test_pandas_frame_with_struct_and_list_columns(new_pipeline):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({
        "id": [1, 2],
        "name": ["Ann", None],
        "address": [{"city": "Oslo", "zip": "0150"}, {"city": "Bergen", "zip": None}],
        "tags": [["a", "b"], []],
        "at": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:00"]),  # naive: taken as UTC
        "score": [1.5, 2.0],
    })
    pipe = new_pipeline()
    pipe.run(frame, table_name="items")
    types = columns_in_db(pipe, "items")
    assert types["id"] == "BIGINT" and types["name"] == "VARCHAR" and types["score"] == "DOUBLE"
    assert types["address__city"] == "VARCHAR" and types["at"] == "TIMESTAMP WITH TIME ZONE"
    rows = read(pipe, "items", order_by="id")
    assert [data(r) for r in rows] == [
        {"id": 1, "name": "Ann", "address__city": "Oslo", "address__zip": "0150",
         "at": datetime.datetime(2024, 1, 1, 10, tzinfo=UTC), "score": 1.5},
        {"id": 2, "name": None, "address__city": "Bergen", "address__zip": None,
         "at": datetime.datetime(2024, 1, 2, 11, tzinfo=UTC), "score": 2.0},
    ]
    tags = read(pipe, "items__tags", order_by="_dl_list_idx")
    assert [t["value"] for t in tags] == ["a", "b"]
    assert {t["_dl_parent_id"] for t in tags} == {rows[0]["_dl_id"]}


def test_pandas_categorical_column_is_text(new_pipeline):
    pd = pytest.importorskip("pandas")
    pipe = new_pipeline()
    pipe.run(pd.DataFrame({"id": [1, 2], "kind": pd.Categorical(["u", "v"])}), table_name="items")
    assert columns_in_db(pipe, "items")["kind"] == "VARCHAR"
    assert {r["id"]: r["kind"] for r in read(pipe, "items")} == {1: "u", 2: "v"}


def test_arrow_table_with_struct_and_list_columns(new_pipeline):
    table = pa.table({
        "id": pa.array([1, 2], pa.int32()),
        "s": pa.array([{"x": 1, "y": "a"}, {"x": 2, "y": None}]),
        "l": pa.array([[1, 2], []], pa.list_(pa.int64())),
        "orders": pa.array([[{"sku": "A", "qty": 1}], None]),
        "at": pa.array([datetime.datetime(2024, 1, 1, 12), None], pa.timestamp("ms")),
    })
    pipe = new_pipeline()
    pipe.run(table, table_name="items")
    types = columns_in_db(pipe, "items")
    assert types["id"] == "INTEGER" and types["s__x"] == "BIGINT" and types["s__y"] == "VARCHAR"  # int32 kept
    assert types["at"] == "TIMESTAMP WITH TIME ZONE"
    rows = read(pipe, "items", order_by="id")
    assert [data(r) for r in rows] == [
        {"id": 1, "s__x": 1, "s__y": "a", "at": datetime.datetime(2024, 1, 1, 12, tzinfo=UTC)},
        {"id": 2, "s__x": 2, "s__y": None, "at": None},
    ]
    values = read(pipe, "items__l", order_by="_dl_list_idx")
    assert [(v["value"], v["_dl_list_idx"]) for v in values] == [(1, 0), (2, 1)]
    assert {v["_dl_parent_id"] for v in values} == {rows[0]["_dl_id"]}
    orders = read(pipe, "items__orders")
    assert [data(o) for o in orders] == [{"sku": "A", "qty": 1}]
    assert orders[0]["_dl_parent_id"] == rows[0]["_dl_id"]


def test_arrow_record_batch(new_pipeline):
    batch = pa.RecordBatch.from_pylist([{"id": 1, "tags": ["t"]}, {"id": 2, "tags": ["u", "v"]}])
    pipe = new_pipeline()
    pipe.run(batch, table_name="items")
    rows = read(pipe, "items", order_by="id")
    assert [r["id"] for r in rows] == [1, 2]
    tags = read(pipe, "items__tags")
    by_parent = {r["_dl_id"]: r["id"] for r in rows}
    assert sorted((by_parent[t["_dl_parent_id"]], t["value"]) for t in tags) == [(1, "t"), (2, "u"), (2, "v")]


# --- a value that breaks the code converting it: the package is failed, never stuck ------------

class ZoneWithoutOffset(datetime.tzinfo):
    """A time zone whose offset raises (a third-party tz object gone wrong)."""

    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        raise ValueError("this zone has no offset")

    def tzname(self, dt: datetime.datetime | None) -> str:
        return "nowhere"

    def dst(self, dt: datetime.datetime | None) -> None:
        return None


def stage(pipe: dataload.Pipeline, name: str) -> list[str]:
    folder = pipe.working_dir / "packages" / name
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize(
    "records, column, shown",
    [
        ([{"id": 1, "s": "fine"}, {"id": 2, "s": "bad \ud800 text"}], "s", repr("bad \ud800 text")),
        ([{"id": 1, "at": datetime.datetime(2024, 1, 1, tzinfo=ZoneWithoutOffset())}], "at",
         "the value datetime.datetime(2024, 1, 1, 0, 0, tzi… (ValueError: this zone has no offset)"),
    ],
    ids=["lone_surrogate", "tzinfo_raising"],
)
def test_a_value_that_breaks_normalize_fails_the_package_which_can_be_dropped(new_pipeline, records, column, shown):
    pipe = new_pipeline()
    pipe.run([{"id": 0, "s": "before"}], table_name="items")
    with pytest.raises(dataload.DataloadError) as raised:
        pipe.run(records, table_name="items")
    message = str(raised.value)
    assert "'items'" in message and repr(column) in message and shown in message, message
    failed = pipe.failed_packages()
    assert len(failed) == 1 and pipe.pending_packages() == [] and stage(pipe, "extracted") == []

    with pytest.raises(dataload.DataloadError, match=repr(column)):  # the cause is in the data: fails again
        pipe.retry_failed()
    assert pipe.failed_packages() == failed and pipe.pending_packages() == []

    assert pipe.drop_failed() == failed
    pipe.run([{"id": 3, "s": "after"}], table_name="items")
    assert [(r["id"], r["s"]) for r in read(pipe, "items", order_by="id")] == [(0, "before"), (3, "after")]
    assert pipe.failed_packages() == [] and pipe.pending_packages() == []


def test_an_unknown_data_type_in_an_imported_schema_file_is_refused_and_the_package_waits_for_the_fix(tmp_path):
    """The file is at fault, not the data: the package stays pending and loads once the file is fixed."""
    import yaml

    import_dir = tmp_path / "import"
    import_dir.mkdir()
    name = f"bad_{uuid.uuid4().hex[:10]}"
    db = tmp_path / f"{name}.duckdb"
    pipe = dataload.pipeline(name, destination=duckdb(str(db)), dataset_name=DATASET,
                             pipelines_dir=tmp_path / "pipelines", import_schema_path=import_dir)
    pipe.run([{"id": 1, "n": 1}], table_name="t")
    schema = pipe.default_schema.to_dict()
    table = next(t for t in schema["tables"] if t["name"] == "t")
    table["columns"].append({"name": "code", "data_type": "fancy"})
    schema_file = import_dir / f"{name}.schema.yaml"
    schema_file.write_text(yaml.safe_dump(schema))

    with pytest.raises(dataload.DataloadError) as raised:
        pipe.run([{"id": 2, "n": 2, "code": "A-1"}], table_name="t")
    message = str(raised.value)
    assert str(schema_file) in message and "data_type" in message and "fancy" in message, message
    assert pipe.failed_packages() == [] and len(pipe.pending_packages()) == 1
    assert "fancy" not in pipe.default_schema.to_json()  # nothing of the refused file was kept

    table["columns"][-1]["data_type"] = "text"
    schema_file.write_text(yaml.safe_dump(schema))
    pipe.run()
    assert pipe.pending_packages() == []
    assert [(r["id"], r["n"], r["code"]) for r in read(pipe, "t", order_by="id")] == [(1, 1, None), (2, 2, "A-1")]


@pytest.mark.parametrize("error", [MemoryError, KeyboardInterrupt, OSError])
def test_an_error_not_about_the_content_keeps_the_package_pending_and_the_next_run_loads_it(new_pipeline, error,
                                                                                              monkeypatch):
    import dataload.normalize.step as normalize_step

    original, raised = normalize_step.fit_rows, []

    def fit_rows_failing_once(*args: Any, **kwargs: Any) -> Any:
        if not raised:
            raised.append(error)
            raise error("not about the data")
        return original(*args, **kwargs)

    monkeypatch.setattr(normalize_step, "fit_rows", fit_rows_failing_once)
    pipe = new_pipeline()
    with pytest.raises(error):
        pipe.run([{"id": 1, "s": "kept"}], table_name="items")
    assert pipe.failed_packages() == [] and len(pipe.pending_packages()) == 1
    info = pipe.run()
    assert len(info.resumed) == 1 and pipe.pending_packages() == []
    assert [data(r) for r in read(pipe, "items")] == [{"id": 1, "s": "kept"}]
