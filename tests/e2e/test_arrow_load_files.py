"""Arrow load files: DuckDB reads untouched columns from the extracted file; the values are the same."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa

import dataload
from dataload.extract.limits import BufferLimits
from dataload.package.storage import read_json
from destinations import filesystem


def normalized_files(pipe: dataload.Pipeline) -> list[dict]:
    folder = pipe.working_dir / "packages" / "normalized"
    (package,) = list(folder.iterdir())
    return read_json(package / "package.json")["files"]  # type: ignore[no-any-return]


def rows_by_id(pipe: dataload.Pipeline, table: str) -> dict[int, dict]:
    return {r["id"]: r for r in pipe.dataset().table(table).rows()}


def test_untouched_arrow_columns_are_not_rewritten_and_load_exactly(make_pipeline):
    data = pa.table({"id": pa.array([1, 2, 3], pa.uint32()), "Amount": [1.5, None, 3.25], "label": ["a", "b", None],
                     "at": pa.array([0, 1_000_000, None], pa.timestamp("us", tz="UTC"))})
    pipe = make_pipeline()
    pipe.extract(data, table_name="items")
    pipe.normalize()
    (entry,) = normalized_files(pipe)
    assert entry["format"] == "arrow"
    # renamed but unchanged columns come from the extracted file; the widened id (uint32 to int64) and the
    # row ids are written
    assert entry["base_columns"] == {"amount": "Amount", "label": "label", "at": "at"}
    assert entry["columns"] == ["id", "amount", "label", "at", "_dl_load_id", "_dl_id"]
    info = pipe.load()

    rows = rows_by_id(pipe, "items")
    assert {i: (r["amount"], r["label"], r["at"]) for i, r in rows.items()} == {
        1: (1.5, "a", datetime(1970, 1, 1, tzinfo=timezone.utc)),
        2: (None, "b", datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)),
        3: (3.25, None, None)}
    assert {r["_dl_load_id"] for r in rows.values()} == set(info.load_ids)
    assert len({r["_dl_id"] for r in rows.values()}) == 3 and None not in {r["_dl_id"] for r in rows.values()}
    assert pipe.default_schema.tables["items"].columns["id"].data_type == "bigint"


def test_changed_values_come_from_the_written_file(make_pipeline):
    pipe = make_pipeline()
    pipe.run(pa.table({"id": [1], "n": [10], "note": ["first"]}), table_name="t")
    # text where the column is bigint: a variant column, the original column null for these rows
    pipe.extract(pa.table({"id": [2, 3], "n": ["x", "y"], "note": ["second", "third"]}), table_name="t")
    pipe.normalize()
    (entry,) = normalized_files(pipe)
    assert entry["format"] == "arrow" and entry["base_columns"] == {"id": "id", "note": "note"}
    pipe.load()
    rows = rows_by_id(pipe, "t")
    assert {i: (r["n"], r["n__v_text"], r["note"]) for i, r in rows.items()} == {
        1: (10, None, "first"), 2: (None, "x", "second"), 3: (None, "y", "third")}


def test_flat_dicts_reuse_converted_columns_and_parse_timestamps(make_pipeline):
    pipe = make_pipeline()
    records = [{"id": i, "name": f"n{i}", "seen": f"2024-01-0{i}T10:00:00Z"} for i in range(1, 4)]
    pipe.extract(records, table_name="people")
    pipe.normalize()
    (entry,) = normalized_files(pipe)
    assert entry["format"] == "arrow" and "seen" not in entry["base_columns"] and "name" in entry["base_columns"]
    pipe.load()
    rows = rows_by_id(pipe, "people")
    assert {i: (r["name"], r["seen"]) for i, r in rows.items()} == {
        i: (f"n{i}", datetime(2024, 1, i, 10, tzinfo=timezone.utc)) for i in range(1, 4)}


def test_chunks_with_different_columns_load_into_one_table(make_pipeline):
    pipe = make_pipeline(buffer_limits=BufferLimits(segment_rows=2))

    @dataload.resource(name="events")
    def events():
        yield pa.table({"id": [1, 2], "kind": ["a", "b"]})
        yield pa.table({"id": [3, 4], "kind": ["c", "d"], "extra": [True, False]})

    pipe.extract(events())
    pipe.normalize()
    files = normalized_files(pipe)
    assert [f["format"] for f in files] == ["arrow", "arrow"]
    pipe.load()
    rows = rows_by_id(pipe, "events")
    assert {i: (r["kind"], r["extra"]) for i, r in rows.items()} == {
        1: ("a", None), 2: ("b", None), 3: ("c", True), 4: ("d", False)}


def test_child_tables_and_merges_are_written_as_parquet(make_pipeline):
    pipe = make_pipeline()

    @dataload.resource(name="orders", write_disposition="merge", primary_key="id")
    def orders():
        yield pa.table({"id": [1, 2], "total": [5.0, 6.0]})

    @dataload.resource(name="carts")
    def carts():
        yield pa.table({"id": [1], "items": [[{"sku": "a"}, {"sku": "b"}]]})

    pipe.extract([orders(), carts()])  # a list of resources runs like a source of them
    pipe.normalize()
    assert {f["table"]: f.get("format", "parquet") for f in normalized_files(pipe)} == {
        "orders": "parquet", "carts": "parquet", "carts__items": "parquet"}
    pipe.load()
    assert sorted(r["sku"] for r in pipe.dataset().table("carts__items").rows()) == ["a", "b"]
    assert {i: r["total"] for i, r in rows_by_id(pipe, "orders").items()} == {1: 5.0, 2: 6.0}


def test_destinations_without_arrow_get_parquet(make_pipeline, tmp_path):
    pipe = make_pipeline(destination=filesystem(str(tmp_path / "lake")))
    pipe.extract(pa.table({"id": [1, 2], "name": ["a", "b"]}), table_name="t")
    pipe.normalize()
    assert [f.get("format", "parquet") for f in normalized_files(pipe)] == ["parquet"]
    pipe.load()
    assert {i: r["name"] for i, r in rows_by_id(pipe, "t").items()} == {1: "a", 2: "b"}
