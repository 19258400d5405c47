"""PostgreSQL's two COPY encodings (binary, the default, and CSV) store the same values of every type.

Each test loads the same rows with ``copy_format="binary"`` and ``copy_format="csv"`` into datasets of
their own and reads them back with psycopg: every column type the destination maps (integers of
each width, double, numeric, boolean, text, timestamptz, date, time, bytea, jsonb), NULLs in every
column, a variant column, lists kept as JSON, and the staged paths (merge by delete-insert and by
upsert), in both encodings equal to the source.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.exceptions import InvalidConfig, TerminalLoadError
from dataload.protocol import PackageFile
from dataload.schema.infer import arrow_type_for
from dataload.schema.model import Column
from destinations import postgres
from destinations._postgres import _encode
from destinations.sql import quote

PACKAGE_ID = "1733212345.000001"  # what _encode fills an Arrow file's _dl_load_id with (these are Parquet)

UTC = datetime.timezone.utc
FORMATS = ("binary", "csv")
HINTS = {"small": {"data_type": "bigint", "precision": 16}, "medium": {"data_type": "bigint", "precision": 32},
         "tiny": {"data_type": "bigint", "precision": 8}, "clock": {"data_type": "time"},
         "doc": {"data_type": "json"}}
ROWS: list[dict[str, Any]] = [
    {"id": 1, "big": 2**62, "small": -32768, "medium": 2**31 - 1, "tiny": 127, "x": 1.5, "ok": True,
     "name": "plain", "at": datetime.datetime(2024, 3, 1, 8, 0, 0, 123456, tzinfo=UTC),
     "day": datetime.date(2024, 2, 29), "clock": datetime.time(7, 30, 0, 1), "blob": b"\x00\xff\n",
     "doc": {"a": [1, None, "x"]}, "tags": ["a", "b"]},
    {"id": 2, "big": -(2**63), "small": 0, "medium": -(2**31), "tiny": -128, "x": -2.25e300, "ok": False,
     "name": "émoji 🦆, \"quoted\"\n\ttab\\", "at": datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
     "day": datetime.date(1900, 1, 1), "clock": datetime.time(23, 59, 59, 999999), "blob": b"",
     "doc": [], "tags": []},
    {"id": 3, "big": None, "small": None, "medium": None, "tiny": None, "x": None, "ok": None, "name": "",
     "at": datetime.datetime(2000, 1, 1, tzinfo=UTC), "day": datetime.date(2000, 1, 1),
     "clock": datetime.time(0, 0), "blob": None, "doc": None, "tags": None},
    {"id": 4, "big": 7, "small": 1, "medium": 1, "tiny": 1, "x": 0.1, "ok": True, "name": None, "at": None,
     "day": None, "clock": None, "blob": b"\x01", "doc": "just text", "tags": ["c"]},
]
COLUMNS = ("id", "big", "small", "medium", "tiny", "x", "ok", "name", "at", "day", "clock", "blob", "doc", "tags")


@pytest.fixture
def admin() -> Iterator[Any]:
    """An autocommit connection to the test server (skip, or fail in CI, when none answers)."""
    with contextlib.closing(postgres_connection()) as connection:
        yield connection


@pytest.fixture
def load(make_pipeline: Callable[..., dataload.Pipeline], admin: Any) -> Iterator[Callable[..., str]]:
    """Run data into a new dataset with one copy format; returns the dataset (dropped after the test)."""
    datasets: list[str] = []

    def run(copy_format: str, *runs: Any) -> str:
        datasets.append(f"cf_{copy_format}_{uuid.uuid4().hex[:8]}")
        pipe = make_pipeline(f"cf_{copy_format}", dataset_name=datasets[-1],
                             destination=postgres(POSTGRES_URL, copy_format=copy_format))
        for data in runs:
            pipe.run(data)
        return datasets[-1]

    yield run
    for dataset in datasets:
        admin.execute(f"DROP SCHEMA IF EXISTS {quote(dataset)} CASCADE")


def read(admin: Any, dataset: str, table: str, columns: tuple[str, ...], order: str = "id") -> list[tuple]:
    """The rows of a loaded table, JSON as parsed values."""
    names = ", ".join(quote(c) for c in columns)
    return admin.execute(f"SELECT {names} FROM {quote(dataset)}.{quote(table)} ORDER BY {quote(order)}").fetchall()


def typed_rows(rows: list[dict[str, Any]] = ROWS) -> Any:
    @dataload.resource(name="typed", columns=HINTS, max_table_nesting=0)
    def typed():
        yield [dict(r) for r in rows]

    return typed()


def expected(rows: list[dict[str, Any]] = ROWS) -> list[tuple]:
    """The rows as psycopg reads them back (integers, floats, bytes, aware datetimes, parsed JSON)."""
    return [tuple(r[c] for c in COLUMNS) for r in rows]


@pytest.mark.parametrize("copy_format", FORMATS)
def test_every_type_reads_back_equal_to_the_source(load, admin, copy_format):
    dataset = load(copy_format, typed_rows())
    found = read(admin, dataset, "typed", COLUMNS)
    assert found == expected()
    types = dict(admin.execute("SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_schema = %s AND table_name = 'typed'", [dataset]).fetchall())
    assert [types[c] for c in ("big", "small", "medium", "tiny", "clock", "doc", "tags")] == [
        "bigint", "smallint", "integer", "smallint", "time without time zone", "jsonb", "jsonb"]


def test_both_encodings_store_identical_tables(load, admin):
    tables = []
    for copy_format in FORMATS:
        dataset = load(copy_format, typed_rows())
        tables.append(admin.execute(f"SELECT {', '.join(quote(c) for c in COLUMNS)}, _dl_id, "
                                    f"_dl_load_id IS NOT NULL FROM {quote(dataset)}.typed ORDER BY id").fetchall())
    assert [row[:-2] for row in tables[0]] == [row[:-2] for row in tables[1]] == expected()
    assert all(row[-1] for table in tables for row in table)


@pytest.mark.parametrize("copy_format", FORMATS)
def test_numeric_and_a_variant_read_back_equal_to_the_source(load, admin, copy_format):
    @dataload.resource(name="money", columns={"amount": {"data_type": "decimal", "precision": 38, "scale": 9},
                                              "n": {"data_type": "bigint"}})
    def money():
        yield [{"id": 1, "amount": decimal.Decimal("-12345678901234567890123456789.123456789"), "n": 5},
               {"id": 2, "amount": None, "n": "not a number"},
               {"id": 3, "amount": decimal.Decimal("0.000000001"), "n": None}]

    dataset = load(copy_format, money())
    assert read(admin, dataset, "money", ("id", "amount", "n", "n__v_text")) == [
        (1, decimal.Decimal("-12345678901234567890123456789.123456789"), 5, None),
        (2, None, None, "not a number"),
        (3, decimal.Decimal("0.000000001"), None, None)]


@pytest.mark.parametrize("strategy", ["delete-insert", "upsert"])
@pytest.mark.parametrize("copy_format", FORMATS)
def test_merges_through_staging_tables_keep_the_latest_row_of_each_key(load, admin, copy_format, strategy):
    def merged(rows: list[dict[str, Any]]) -> Any:
        @dataload.resource(name="typed", columns=HINTS, max_table_nesting=0, primary_key="id",
                           write_disposition={"disposition": "merge", "strategy": strategy})
        def typed():
            yield [dict(r) for r in rows]

        return typed()

    changed = [dict(ROWS[1], name="second version", at=None), dict(ROWS[0], id=5)]
    # the package holds id 2 twice: the later row (with NULLs in other columns) must win
    dataset = load(copy_format, merged(ROWS), merged([dict(ROWS[1], x=None), *changed]))
    assert read(admin, dataset, "typed", COLUMNS) == expected([ROWS[0], changed[0], *ROWS[2:], changed[1]])


def test_rows_nested_in_child_tables_load_in_both_encodings(load, admin):
    @dataload.resource(name="parent", primary_key="id", write_disposition="merge")
    def parent():
        yield [{"id": i, "kids": [{"k": j, "at": datetime.datetime(2024, 1, j + 1, tzinfo=UTC)} for j in range(i)]}
               for i in range(4)]

    found = []
    for copy_format in FORMATS:
        dataset = load(copy_format, parent())
        found.append(admin.execute(f"SELECT p.id, c.k, c.at FROM {quote(dataset)}.parent p JOIN "
                                   f"{quote(dataset)}.parent__kids c ON c._dl_parent_id = p._dl_id "
                                   "ORDER BY p.id, c._dl_list_idx").fetchall())
    assert found[0] == found[1] == [(i, j, datetime.datetime(2024, 1, j + 1, tzinfo=UTC))
                                    for i in range(4) for j in range(i)]


def load_file(tmp_path: Path, columns: list[Column], arrays: list[pa.Array]) -> PackageFile:
    """A Parquet load file holding ``arrays`` in the Arrow types load files use for ``columns``."""
    path = tmp_path / f"{uuid.uuid4().hex}.parquet"
    pq.write_table(pa.table({c.name: a.cast(arrow_type_for(c)) for c, a in zip(columns, arrays)}), path)
    return PackageFile("t", 0, path, len(arrays[0]), [c.name for c in columns])


def copy_into(admin: Any, table: str, encoded: Any) -> None:
    """Send an encoded load file to ``table`` the way the destination does, one COPY per column order."""
    with admin.cursor() as cursor:
        for names, pieces in encoded.copies:
            with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT {encoded.format})") as copy:
                for piece in pieces:
                    copy.write(piece)


def test_a_file_goes_binary_unless_a_column_has_no_binary_form_or_csv_is_asked_for(tmp_path):
    plain = [Column("id", "bigint"), Column("at", "timestamp"), Column("doc", "json"),
             Column("amount", "decimal", precision=12, scale=2)]
    values = [pa.array([1, None]), pa.array([0, 1], pa.timestamp("us", "UTC")), pa.array(['{"a": 1}', None]),
              pa.array([decimal.Decimal("1.50"), decimal.Decimal("-2.25")], pa.decimal128(12, 2))]
    wide = [*plain, Column("huge", "decimal", precision=40, scale=2)]  # decimal256 in the load file
    huge = [*values, pa.array([decimal.Decimal("1.50"), None], pa.decimal256(40, 2))]

    binary = _encode(load_file(tmp_path, plain, values), {c.name: c for c in plain}, False, "binary", PACKAGE_ID)
    assert binary.format == "binary" and len(binary.copies) == 1
    names, pieces = binary.copies[0]
    assert names == ["at", "amount", "id", "doc"]  # the fixed-width columns without NULLs are packed first
    assert bytes(pieces[0]).startswith(b"PGCOPY\n\xff\r\n\x00") and bytes(pieces[-1]) == b"\xff\xff"
    columns = {c.name: c for c in wide}
    assert _encode(load_file(tmp_path, wide, huge), columns, False, "binary", PACKAGE_ID).format == "csv"
    assert _encode(load_file(tmp_path, plain, values), columns, True, "csv", PACKAGE_ID).copies[0][0] == [
        "id", "at", "doc", "amount", "_dl_chunk", "_dl_row"]


NUMERIC_SIZES = [(1, 0), (4, 4), (5, 5), (12, 2), (18, 9), (19, 0), (20, 3), (38, 0), (38, 9), (38, 37), (38, 38)]


@pytest.mark.parametrize(("precision", "scale"), NUMERIC_SIZES)
def test_numeric_values_of_every_size_read_back_equal_in_both_encodings(tmp_path, admin, precision, scale):
    import random

    rng = random.Random(precision * 100 + scale)
    top = 10**precision - 1
    unscaled = [0, 1, -1, top, -top, 10**(precision - 1), *(rng.randint(-top, top) for _ in range(200)),
                *(rng.randint(-min(999, top), min(999, top)) for _ in range(20))]
    values = [decimal.Decimal(f"{n}e-{scale}") for n in unscaled] + [None]  # exact: no context rounding
    column = Column("v", "decimal", precision=precision, scale=scale)
    file = load_file(tmp_path, [Column("id", "bigint"), column],
                     [pa.array(range(len(values))), pa.array(values, pa.decimal128(precision, scale))])
    columns = {"id": Column("id", "bigint"), "v": column}
    found = {}
    for copy_format in FORMATS:
        encoded = _encode(file, columns, False, copy_format, PACKAGE_ID)
        assert encoded.format == copy_format
        table = f"cf_{copy_format}_{uuid.uuid4().hex[:8]}"
        admin.execute(f"CREATE TABLE {table} (id bigint, v numeric({precision}, {scale}))")
        try:
            copy_into(admin, table, encoded)
            found[copy_format] = admin.execute(f"SELECT v, v::text FROM {table} ORDER BY id").fetchall()
        finally:
            admin.execute(f"DROP TABLE {table}")
    assert found["binary"] == found["csv"]
    assert [v for v, _ in found["binary"]] == values


@pytest.mark.parametrize("copy_format", FORMATS)
def test_a_load_file_that_does_not_read_is_a_terminal_error_naming_table_and_file(
        make_pipeline, admin, tmp_path, copy_format):
    dataset = f"cf_{uuid.uuid4().hex[:8]}"
    pipe = make_pipeline(f"cf_{copy_format}", dataset_name=dataset,
                         destination=postgres(POSTGRES_URL, copy_format=copy_format))
    try:
        pipe.extract(typed_rows())
        pipe.normalize()
        (file,) = (tmp_path / "pipelines").rglob("normalized/*/files/*/*.parquet")  # the one table's one file
        file.write_bytes(b"PAR1 not a parquet file PAR1")
        with pytest.raises(Exception) as raised:
            pipe.load()
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {quote(dataset)} CASCADE")
    error = raised.value
    while not isinstance(error, TerminalLoadError) and error.__cause__ is not None:
        error = error.__cause__
    assert isinstance(error, TerminalLoadError)
    assert "table 'typed' (file " in str(error) and "000.parquet" in str(error), str(error)


def test_an_unknown_copy_format_is_refused():
    with pytest.raises(InvalidConfig, match="copy_format must be one of binary, csv, not 'text'"):
        postgres(POSTGRES_URL, copy_format="text")
