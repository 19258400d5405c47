"""The pyarrow backend's COPY path on PostgreSQL (``sources.sql_database.copy_csv``): the same batches, values and
types as building them from fetched rows, for every column type it takes; the rows path everywhere else."""

from __future__ import annotations

import datetime
import decimal
import math
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqldb_fixtures import DuckTarget, SourceDb, make_source_db, target_fixture  # noqa: F401

import dataload
from sources.sql_database import ValueDoesNotFit, sql_table
from sources.sql_database.arrow_build import ArrowColumns
from sources.sql_database.backends import ReadPlan, arrow_from_rows, read_arrow
from sources.sql_database.copy_csv import copy_applies, copy_batches
from sources.sql_database.reflection import reflect_table

UTC = datetime.timezone.utc
LONG_TEXT = "long " * 300_000  # 1.5 MB in one value: more than a CSV block

POSTGRES_TABLE = """CREATE TYPE {s}mood AS ENUM ('sad', 'happy, "very"');
CREATE TABLE {s}every (
    id bigint PRIMARY KEY, small smallint, normal integer, exact numeric(12, 3), widest numeric(38, 10),
    ratio real, score double precision, flag boolean, label varchar(40), padded char(5), note text, uid uuid,
    feeling {s}mood, day date, clock time, at timestamptz, naive timestamp)"""
POSTGRES_ROWS = [
    f"""INSERT INTO {{s}}every VALUES
    (1, -32768, -2147483648, -123456789.125, 1234567890123456789012345678.0123456789, 0.1, 0.1, true,
     'comma, "quote"', 'ab', E'line one\\nline two\\r\\nand ''three''', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     'happy, "very"', '0001-01-01', '00:00:00', '2024-03-01 12:00:00.000001+02', '9999-12-31 23:59:59.999999'),
    (2, 32767, 2147483647, 0.001, -0.0000000001, 'NaN', '-Infinity', false, '', '', '', NULL, 'sad',
     '9999-12-31', '23:59:59.999999', '1970-01-01 00:00:00+00', '0001-01-01 00:00:00'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, 0, 0, 0, 0, 'Infinity', 5e-324, true, 'Grüße ✓ 🙂', 'x', '{LONG_TEXT}', NULL, NULL, '2024-02-29',
     '12:34:56.5', '2024-06-30 23:59:59.5-09:30', '2024-06-30 23:59:59.5'),
    (5, 1, 2, 3, 4, 1.5, 1e300, NULL, 'NULL', 'NA', '\\.', NULL, NULL, '2000-01-01', '01:02:03',
     '2000-01-01 00:00:00+00', '2000-01-01 00:00:00')""",
    "INSERT INTO {s}every (id, label) SELECT i, 'filler ' || i FROM generate_series(6, 2500) AS i",
]


def _plan(db: SourceDb, table: str, chunk_size: int) -> tuple[ReadPlan, ArrowColumns]:
    shape = reflect_table(db.engine, table, schema=db.schema, json_as_text=True)
    select = sa.select(*shape.selected).order_by(shape.table.c.id)
    return ReadPlan(db.engine, select, table, shape.primary_key, chunk_size), ArrowColumns.of(shape.selected)


def _comparable(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """The batch's rows, NaN as text (so that two NaN compare equal)."""
    return [{k: "NaN" if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
            for row in batch.to_pylist()]


@pytest.fixture
def every(tmp_path: Path) -> Any:
    db = make_source_db("postgres", tmp_path)
    try:
        db.run(*POSTGRES_TABLE.split(";"), *POSTGRES_ROWS)
        yield db
    finally:
        db.drop()


def test_copy_builds_the_same_batches_as_the_fetched_rows_for_every_type_it_takes(every: SourceDb) -> None:
    plan, columns = _plan(every, "every", chunk_size=1000)
    assert copy_applies(plan)
    from_rows = list(arrow_from_rows(plan, columns))
    copied = list(copy_batches(plan, columns))
    assert [b.num_rows for b in copied] == [b.num_rows for b in from_rows] == [1000, 1000, 500]
    for ours, theirs in zip(copied, from_rows):
        assert ours.schema == theirs.schema
        assert _comparable(ours) == _comparable(theirs)
    first = copied[0].to_pylist()
    assert first[0]["note"] == "line one\nline two\r\nand 'three'" and first[0]["label"] == 'comma, "quote"'
    assert first[0]["at"] == datetime.datetime(2024, 3, 1, 10, 0, 0, 1, tzinfo=UTC)
    assert (first[1]["label"], first[2]["label"]) == ("", None)  # an empty text is not a NULL
    assert first[3]["note"] == LONG_TEXT and first[4]["padded"] == "NA   " and first[4]["note"] == "\\."
    assert first[0]["widest"] == decimal.Decimal("1234567890123456789012345678.0123456789")


def test_a_table_read_through_copy_loads_into_duckdb_as_the_source_holds_it(every: SourceDb,
                                                                            target: DuckTarget) -> None:
    statements: list[str] = []
    sa.event.listen(every.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: statements.append(statement) if "every" in statement
                    else None)
    target.pipeline().run(sql_table(every.engine, table="every", schema=every.schema, backend="pyarrow",
                                    chunk_size=700))
    assert len(statements) == 1 and statements[0].startswith("COPY (SELECT")
    with every.engine.connect() as connection:
        source = [dict(row._mapping) for row in connection.execute(sa.text(f"SELECT * FROM {every.name('every')}"
                                                                           " ORDER BY id"))]
    loaded = target.rows("every")
    assert len(loaded) == len(source) == 2500
    for ours, theirs in zip(loaded, source):
        expected = {k: _as_loaded(v) for k, v in theirs.items()}
        assert {k: "NaN" if isinstance(v, float) and math.isnan(v) else v for k, v in ours.items()} == expected
    types = target.types("every")
    assert (types["exact"], types["at"], types["naive"], types["clock"], types["ratio"]) == (
        "DECIMAL(12,3)", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITH TIME ZONE", "TIME", "DOUBLE")


def _as_loaded(value: Any) -> Any:
    """A value as psycopg returns it, in the form DuckDB hands it back (uuid as text, naive timestamps in UTC)."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, datetime.datetime):
        return value.astimezone(UTC)
    return str(value) if value is not None and type(value).__name__ == "UUID" else value


@pytest.mark.parametrize("kind", ["sqlite", "mariadb"])
def test_other_databases_read_from_fetched_rows(kind: str, tmp_path: Path) -> None:
    db = make_source_db(kind, tmp_path)
    try:
        db.run("CREATE TABLE {s}every (id integer PRIMARY KEY, label varchar(20), amount numeric(10, 2))",
               "INSERT INTO {s}every VALUES (1, 'a', 1.50), (2, NULL, NULL), (3, '', -2.25)")
        plan, columns = _plan(db, "every", chunk_size=2)
        assert not copy_applies(plan)
        batches = list(read_arrow(plan))
        assert [_comparable(b) for b in batches] == [_comparable(b) for b in arrow_from_rows(plan, columns)]
    finally:
        db.drop()
    assert [row for batch in batches for row in batch.to_pylist()] == [
        {"id": 1, "label": "a", "amount": decimal.Decimal("1.50")}, {"id": 2, "label": None, "amount": None},
        {"id": 3, "label": "", "amount": decimal.Decimal("-2.25")}]


@pytest.mark.parametrize("column", ["doc jsonb", "tags integer[]", "raw bytea", "free numeric", "span interval",
                                    "price money", "clock timetz", "ref oid"])
def test_a_postgres_column_copy_cannot_read_exactly_sends_the_table_through_fetched_rows(column: str,
                                                                                         tmp_path: Path) -> None:
    db = make_source_db("postgres", tmp_path)
    try:
        db.run(f"CREATE TABLE {{s}}mixed (id integer PRIMARY KEY, {column})")
        plan, _ = _plan(db, "mixed", chunk_size=10)
        assert not copy_applies(plan)
    finally:
        db.drop()


def test_a_value_the_column_type_cannot_hold_is_an_error_naming_table_column_and_row(tmp_path: Path) -> None:
    db = make_source_db("postgres", tmp_path)
    try:
        db.run("CREATE TABLE {s}stamps (id integer PRIMARY KEY, at timestamptz)",
               "INSERT INTO {s}stamps SELECT i, '2024-01-01'::timestamptz + i * interval '1 day' "
               "FROM generate_series(1, 100) AS i",
               "UPDATE {s}stamps SET at = 'infinity' WHERE id = 77")
        with pytest.raises(dataload.ResourceError) as raised:
            list(sql_table(db.engine, table="stamps", schema=db.schema, backend="pyarrow", chunk_size=40))
    finally:
        db.drop()
    assert isinstance(raised.value.__cause__, ValueDoesNotFit)
    message = str(raised.value.__cause__)
    assert "table 'stamps'" in message and "column 'at'" in message, message
    assert "id=77" in message and "'infinity'" in message, message


def test_stopping_early_ends_the_copy_and_gives_the_connection_back(tmp_path: Path) -> None:
    db = make_source_db("postgres", tmp_path)
    try:
        db.run("CREATE TABLE {s}many (id integer PRIMARY KEY)",
               "INSERT INTO {s}many SELECT i FROM generate_series(1, 20000) AS i")
        threads = threading.active_count()
        with db.engine.connect() as connection:
            date_style = connection.exec_driver_sql("SHOW DateStyle").scalar()
        batches = iter(sql_table(db.engine, table="many", schema=db.schema, backend="pyarrow", chunk_size=100))
        first = next(batches)
        batches.close()  # type: ignore[attr-defined]
        assert threading.active_count() == threads
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql(f"SELECT count(*) FROM {db.name('many')}").scalar() == 20000
            assert connection.exec_driver_sql("SHOW DateStyle").scalar() == date_style  # the read's own setting is gone
    finally:
        db.drop()
    assert first.column("id").to_pylist() == list(range(1, 101))


@pytest.mark.parametrize("with_parameter", [False, True])
def test_a_percent_sign_in_names_and_values_reaches_the_server_as_it_is(with_parameter: bool, tmp_path: Path) -> None:
    db = make_source_db("postgres", tmp_path)
    try:
        db.run('CREATE TABLE {s}"rate%%x" (id integer PRIMARY KEY, "share%%" text)',  # "%%": the driver's escape
               """INSERT INTO {s}"rate%%x" VALUES (1, '50%%'), (2, '7')""")
        adapter = (lambda select, table: select.where(table.c["share%"].like("5%"))) if with_parameter else None
        batches = list(sql_table(db.engine, table="rate%x", schema=db.schema, backend="pyarrow",
                                 query_adapter_callback=adapter))
    finally:
        db.drop()
    rows = sorted((row for batch in batches for row in batch.to_pylist()), key=lambda row: row["id"])
    assert rows == ([{"id": 1, "share%": "50%"}] if with_parameter else
                    [{"id": 1, "share%": "50%"}, {"id": 2, "share%": "7"}])
