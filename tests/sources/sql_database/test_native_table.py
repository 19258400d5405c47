"""``sql_table(..., backend="native")``: PostgreSQL tables into DuckDB through the ADBC driver, every value and
type read back as the ``pyarrow`` backend delivers them, incremental runs with the cursor bound in the SQL."""

from __future__ import annotations

import datetime
import decimal
from pathlib import Path

import pytest
from sqldb_fixtures import DuckTarget, make_source_db, target_fixture  # noqa: F401
from test_sql_types import POSTGRES_EXPECTED, POSTGRES_ROWS, POSTGRES_TABLE, _loaded

import dataload
from sources.sql_database import sql_table

pytest.importorskip("adbc_driver_postgresql")
UTC = datetime.timezone.utc


def test_awkward_postgres_types_arrive_as_with_the_pyarrow_backend(target: DuckTarget, tmp_path: Path) -> None:
    db = make_source_db("postgres", tmp_path)
    try:
        db.run(POSTGRES_TABLE, POSTGRES_ROWS)
        target.pipeline().run(sql_table(db.url, table="awkward", schema=db.schema, backend="native", chunk_size=1))
        types, loaded = target.types("awkward"), target.rows("awkward")
    finally:
        db.drop()
    assert types == {name: "VARCHAR" if duck == "JSON" else duck for name, (duck, _) in POSTGRES_EXPECTED.items()}
    for name, (duck_type, values) in POSTGRES_EXPECTED.items():
        assert [_loaded(row[name], duck_type) for row in loaded] == values, name


def test_an_incremental_native_table_loads_only_new_rows_with_the_cursor_in_the_sql(
        target: DuckTarget, tmp_path: Path) -> None:
    db = make_source_db("postgres", tmp_path)
    try:
        db.run("CREATE TABLE {s}events (id bigint PRIMARY KEY, at timestamptz NOT NULL, amount numeric(12, 2))",
               "INSERT INTO {s}events SELECT i, timestamptz '2024-01-01 00:00+00' + i * interval '1 hour', i * 1.25 "
               "FROM generate_series(1, 50) AS i")

        def run() -> None:
            events = sql_table(db.url, table="events", schema=db.schema, backend="native", chunk_size=7,
                               incremental=dataload.incremental("at"))
            target.pipeline().run(events)

        run()
        # new rows, and an old one the native reader cannot convert (NaN): it is only left alone if the
        # cursor is in the SQL the server runs, not applied to rows after they were fetched
        db.run("INSERT INTO {s}events VALUES (51, '2024-01-03 03:00+00', 63.75), (52, '2024-01-03 04:00+00', NULL), "
               "(53, '2023-12-31 00:00+00', 'NaN')")
        run()
        rows = target.rows("events")
    finally:
        db.drop()
    assert [r["id"] for r in rows] == list(range(1, 53))  # the boundary row 50 was read again and dropped
    assert [(r["id"], r["at"].astimezone(UTC), r["amount"]) for r in rows][-3:] == [
        (50, datetime.datetime(2024, 1, 3, 2, tzinfo=UTC), decimal.Decimal("62.50")),
        (51, datetime.datetime(2024, 1, 3, 3, tzinfo=UTC), decimal.Decimal("63.75")),
        (52, datetime.datetime(2024, 1, 3, 4, tzinfo=UTC), None)]


def test_types_the_driver_has_no_arrow_type_for_arrive_as_their_postgres_text(target: DuckTarget,
                                                                             tmp_path: Path) -> None:
    db = make_source_db("postgres", tmp_path)
    columns = {"ip": "inet", "span": "int4range", "doc": "xml", "mood": "{s}mood", "word": "citext"}
    try:
        db.run("CREATE EXTENSION IF NOT EXISTS citext", "CREATE TYPE {s}mood AS ENUM ('sad', 'happy')",
               "CREATE TABLE {s}odd (id bigint PRIMARY KEY, "
               + ", ".join(f"{name} {kind}" for name, kind in columns.items()) + ")",
               "INSERT INTO {s}odd VALUES (1, '10.0.0.1/8', '[1,5)', '<a>b</a>', 'happy', 'MiXed'), "
               "(2, NULL, NULL, NULL, NULL, NULL)")
        with db.engine.connect() as connection:
            expected = [dict(row._mapping) for row in connection.exec_driver_sql(
                f"SELECT id, {', '.join(f'{c}::text AS {c}' for c in columns)} FROM {db.schema}.odd ORDER BY id")]
        target.pipeline().run(sql_table(db.url, table="odd", schema=db.schema, backend="native"))
        loaded = target.rows("odd")
    finally:
        db.drop()
    assert loaded == expected
    assert loaded[0]["ip"] == "10.0.0.1/8" and loaded[0]["mood"] == "happy"
