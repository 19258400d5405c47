"""Awkward column types of PostgreSQL, MariaDB and SQLite, read with every backend into DuckDB: each value read back
with the duckdb driver equals what the source held, and each column has the type the reflection promised."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

import pytest
from sqldb_fixtures import DuckTarget, make_source_db, target_fixture  # noqa: F401

from sources.sql_database import ValueDoesNotFit, sql_table

UTC = datetime.timezone.utc
BACKENDS = ("sqlalchemy", "pyarrow", "pandas")

POSTGRES_TABLE = """CREATE TABLE {s}awkward (
    id integer PRIMARY KEY, free numeric, exact numeric(12, 3), wide numeric(50, 10), uid uuid, doc jsonb, plain json,
    tags integer[], span interval, at timestamptz, naive timestamp, day date, clock time, raw bytea, price money,
    flag boolean, ratio real, label varchar(20) NOT NULL)"""
POSTGRES_ROWS = """INSERT INTO {s}awkward VALUES
    (1, 12345678901234567890.123456789, 123456789.125, 1234567890123456789012345678901234567890.0123456789,
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2], "b": "x"}', '[1, "two"]', '{1,2,3}',
     '1 day 02:00:00.5', '2024-03-01 12:00:00+02', '2024-03-01 12:00:00.123456', '2024-02-29', '23:59:59.5',
     '\\x00ff', 1234.56, true, 0.5, 'first'),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'second')"""
POSTGRES_EXPECTED = {
    "id": ("BIGINT", [1, 2]),
    "free": ("DECIMAL(38,9)", [decimal.Decimal("12345678901234567890.123456789"), None]),
    "exact": ("DECIMAL(12,3)", [decimal.Decimal("123456789.125"), None]),
    "wide": ("VARCHAR", ["1234567890123456789012345678901234567890.0123456789", None]),
    "uid": ("VARCHAR", ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None]),
    "doc": ("JSON", [{"a": [1, 2], "b": "x"}, None]),
    "plain": ("JSON", [[1, "two"], None]),
    "tags": ("JSON", [[1, 2, 3], None]),
    "span": ("BIGINT", [(24 + 2) * 3600 * 1_000_000 + 500_000, None]),
    "at": ("TIMESTAMP WITH TIME ZONE", [datetime.datetime(2024, 3, 1, 10, tzinfo=UTC), None]),
    "naive": ("TIMESTAMP WITH TIME ZONE", [datetime.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), None]),
    "day": ("DATE", [datetime.date(2024, 2, 29), None]),
    "clock": ("TIME", [datetime.time(23, 59, 59, 500000), None]),
    "raw": ("BLOB", [b"\x00\xff", None]),
    "price": ("VARCHAR", ["$1,234.56", None]),
    "flag": ("BOOLEAN", [True, None]),
    "ratio": ("DOUBLE", [0.5, None]),
    "label": ("VARCHAR", ["first", "second"]),
}

MARIADB_TABLE = """CREATE TABLE {s}awkward (
    id int PRIMARY KEY, ubig bigint unsigned, tiny tinyint(1), dt datetime(6), ts timestamp NULL, wide decimal(65, 30),
    choice enum('red', 'green'), bits bit(8), onebit bit(1), small smallint, label varchar(20) NOT NULL)"""
MARIADB_ROWS = """INSERT INTO {s}awkward VALUES
    (1, 18446744073709551615, 5, '2024-03-01 12:00:00.123456', '2024-03-01 12:00:00',
     12345678901234567890123456789012345.123456789012345678901234567890, 'green', b'101', b'1', -3, 'first'),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'second')"""
MARIADB_EXPECTED = {
    "id": ("BIGINT", [1, 2]),
    "ubig": ("DECIMAL(20,0)", [decimal.Decimal(2**64 - 1), None]),
    "tiny": ("BIGINT", [5, None]),
    "dt": ("TIMESTAMP WITH TIME ZONE", [datetime.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), None]),
    "ts": ("TIMESTAMP WITH TIME ZONE", [datetime.datetime(2024, 3, 1, 12, tzinfo=UTC), None]),
    "wide": ("VARCHAR", ["12345678901234567890123456789012345.123456789012345678901234567890", None]),
    "choice": ("VARCHAR", ["green", None]),
    "bits": ("BIGINT", [5, None]),
    "onebit": ("BOOLEAN", [True, None]),
    "small": ("BIGINT", [-3, None]),
    "label": ("VARCHAR", ["first", "second"]),
}

SQLITE_TABLE = """CREATE TABLE awkward (id INTEGER PRIMARY KEY, amount NUMERIC(10, 2), ratio REAL, label TEXT NOT NULL,
    happened DATETIME, day DATE, untyped, blob BLOB)"""
SQLITE_ROWS = """INSERT INTO awkward VALUES
    (1, 9.99, 0.25, 'first', '2024-03-01 12:00:00.000000', '2024-02-29', 42, x'00ff'),
    (2, NULL, NULL, 'second', NULL, NULL, NULL, NULL)"""
SQLITE_EXPECTED = {
    "id": ("BIGINT", [1, 2]),
    "amount": ("DECIMAL(10,2)", [decimal.Decimal("9.99"), None]),
    "ratio": ("DOUBLE", [0.25, None]),
    "label": ("VARCHAR", ["first", "second"]),
    "happened": ("TIMESTAMP WITH TIME ZONE", [datetime.datetime(2024, 3, 1, 12, tzinfo=UTC), None]),
    "day": ("DATE", [datetime.date(2024, 2, 29), None]),
    "untyped": ("BIGINT", [42, None]),
    "blob": ("BLOB", [b"\x00\xff", None]),
}

CASES = {
    "postgres": (POSTGRES_TABLE, POSTGRES_ROWS, POSTGRES_EXPECTED),
    "mariadb": (MARIADB_TABLE, MARIADB_ROWS, MARIADB_EXPECTED),
    "sqlite": (SQLITE_TABLE, SQLITE_ROWS, SQLITE_EXPECTED),
}


def _loaded(value: Any, duck_type: str) -> Any:
    """A value as the duckdb driver returns it, in the form the expectations use."""
    if duck_type == "JSON" and value is not None:
        return json.loads(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["postgres", "mariadb", "sqlite"])
def test_every_value_and_type_arrives_as_the_source_held_it(kind: str, backend: str, target: DuckTarget,
                                                              tmp_path: Any) -> None:
    db = make_source_db(kind, tmp_path)
    try:
        ddl, rows, expected = CASES[kind]
        db.run(ddl, rows)
        pipe = target.pipeline()
        pipe.run(sql_table(db.url, table="awkward", schema=db.schema, backend=backend, chunk_size=1))
        types = target.types("awkward")
        loaded = target.rows("awkward")
    finally:
        db.drop()
    # Arrow has no type for any JSON: the Arrow backends deliver it as JSON text in a text column
    json_type = "JSON" if backend == "sqlalchemy" else "VARCHAR"
    assert types == {name: json_type if duck_type == "JSON" else duck_type for name, (duck_type, _) in expected.items()}
    for name, (duck_type, values) in expected.items():
        assert [_loaded(row[name], duck_type) for row in loaded] == values, name


@pytest.mark.parametrize("backend", ["sqlalchemy", "pyarrow"])
def test_a_postgres_numeric_value_finer_than_the_default_scale_lands_in_a_variant_column(
        backend: str, target: DuckTarget, tmp_path: Any) -> None:
    db = make_source_db("postgres", tmp_path)
    try:
        db.run("CREATE TABLE {s}amounts (id integer PRIMARY KEY, free numeric)",
               "INSERT INTO {s}amounts VALUES (1, 1.5), (2, 1.0000000001)")
        target.pipeline().run(sql_table(db.url, table="amounts", schema=db.schema, backend=backend))
    finally:
        db.drop()
    rows = target.rows("amounts")
    variant = [name for name in target.types("amounts") if name.startswith("free__v_")]
    assert len(variant) == 1, target.types("amounts")
    assert [(row["free"], row[variant[0]]) for row in rows] == [
        (decimal.Decimal("1.5"), None), (None, "1.0000000001")]


def test_sqlite_text_in_an_integer_column_lands_in_a_variant_column_with_sqlalchemy(target: DuckTarget,
                                                                                     tmp_path: Any) -> None:
    db = make_source_db("sqlite", tmp_path)
    try:
        db.run("CREATE TABLE loose (id INTEGER PRIMARY KEY, n INTEGER)",
               "INSERT INTO loose VALUES (1, 7), (2, 'seven')")
        target.pipeline().run(sql_table(db.url, table="loose", backend="sqlalchemy"))
    finally:
        db.drop()
    assert target.types("loose") == {"id": "BIGINT", "n": "BIGINT", "n__v_text": "VARCHAR"}
    assert [(row["n"], row["n__v_text"]) for row in target.rows("loose")] == [(7, None), (None, "seven")]


def test_sqlite_text_in_an_integer_column_is_an_error_naming_table_column_and_row_with_pyarrow(
        target: DuckTarget, tmp_path: Any) -> None:
    db = make_source_db("sqlite", tmp_path)
    try:
        db.run("CREATE TABLE loose (id INTEGER PRIMARY KEY, n INTEGER)",
               "INSERT INTO loose VALUES (1, 7), (2, 'seven')")
        with pytest.raises(Exception) as raised:
            target.pipeline().run(sql_table(db.url, table="loose", backend="pyarrow"))
    finally:
        db.drop()
    chain = [raised.value, *(_causes(raised.value))]
    assert any(isinstance(e, ValueDoesNotFit) for e in chain), chain
    message = str(raised.value)
    assert "table 'loose'" in message and "column 'n'" in message and "id=2" in message and "'seven'" in message


def _causes(error: BaseException) -> list[BaseException]:
    found = []
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
        found.append(error)
    return found


def test_uuid_values_read_with_pyarrow_are_text(tmp_path: Any) -> None:
    db = make_source_db("postgres", tmp_path)
    try:
        value = uuid.uuid4()
        db.run("CREATE TABLE {s}ids (id uuid PRIMARY KEY)", f"INSERT INTO {{s}}ids VALUES ('{value}')")
        batches = list(sql_table(db.url, table="ids", schema=db.schema, backend="pyarrow"))
    finally:
        db.drop()
    assert [batch.to_pylist() for batch in batches] == [[{"id": str(value)}]]
