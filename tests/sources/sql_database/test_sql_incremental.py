"""Incremental reads push the cursor into the SQL the database runs (seen through SQLAlchemy's
``before_cursor_execute`` event), and a second run loads only the new and changed rows."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqldb_fixtures import DuckTarget, SourceDb, source_db_fixture, target_fixture  # noqa: F401

import dataload
from sources.sql_database import sql_table

UTC = datetime.timezone.utc
START = datetime.datetime(2024, 1, 1, tzinfo=UTC)

CURSOR_TYPES = {"postgres": "timestamptz", "mariadb": "datetime(6)", "sqlite": "DATETIME"}


def _at(day: int, hour: int = 0) -> str:
    """A cursor value as SQL text in the format every database (and SQLAlchemy's SQLite dialect) reads."""
    return f"'2024-01-{day:02d} {hour:02d}:00:00.000000'"


class Statements:
    """The SELECTs sent to the database through ``engine``, with their parameters."""

    def __init__(self, engine: Any) -> None:
        self.seen: list[tuple[str, Any]] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, connection: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        # the pyarrow backend reads PostgreSQL through COPY (SELECT ...) TO STDOUT: the same SELECT, inside COPY
        if statement.lstrip().upper().startswith(("SELECT", "COPY (SELECT")) and "events" in statement:
            self.seen.append((" ".join(statement.split()), parameters))

    def take(self) -> list[tuple[str, Any]]:
        taken, self.seen = self.seen, []
        return taken


@pytest.fixture
def events(source_db: SourceDb) -> Iterator[tuple[SourceDb, Statements]]:
    """Table ``events`` (id, updated_at, note) with three rows, and the recorder of the statements run on it."""
    source_db.run(f"CREATE TABLE {{s}}events (id integer PRIMARY KEY, updated_at {CURSOR_TYPES[source_db.kind]} "
                  "NOT NULL, note varchar(20))",
                  f"INSERT INTO {{s}}events VALUES (1, {_at(2)}, 'a'), (2, {_at(3)}, 'b'), (3, {_at(4)}, 'c')")
    yield source_db, Statements(source_db.engine)


def _source_rows(db: SourceDb) -> list[tuple[Any, ...]]:
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"SELECT id, updated_at, note FROM {db.name('events')} ORDER BY id")
        return [(i, _utc(at), note) for i, at, note in rows]


def _utc(value: Any) -> datetime.datetime:
    if isinstance(value, str):  # SQLite hands back the text it holds
        value = datetime.datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _loaded(target: DuckTarget) -> list[tuple[Any, ...]]:
    return [(row["id"], _utc(row["updated_at"]), row["note"]) for row in target.rows("events")]


def _events(db: SourceDb, backend: str, cursor: dataload.Incremental) -> dataload.Resource:
    return sql_table(db.engine, table="events", schema=db.schema, backend=backend, incremental=cursor,
                     write_disposition="merge", chunk_size=2)


@pytest.mark.parametrize("backend", ["sqlalchemy", "pyarrow"])
def test_the_second_run_asks_only_for_rows_from_the_last_cursor_and_loads_the_new_and_changed_ones(
        events: tuple[SourceDb, Statements], target: DuckTarget, backend: str) -> None:
    db, statements = events
    pipe = target.pipeline()
    pipe.run(_events(db, backend, dataload.incremental("updated_at", initial_value=START)))
    (first,) = statements.take()
    assert "WHERE" in first[0] and ">=" in first[0] and "ORDER BY" in first[0] and "updated_at" in first[0]
    assert _bound_values(first[1]) == [START if db.kind == "postgres" else START.replace(tzinfo=None)]
    assert _loaded(target) == _source_rows(db)
    first_load = {row["_dl_load_id"] for row in _raw_rows(target)}

    db.run(f"UPDATE {{s}}events SET updated_at = {_at(5)}, note = 'b2' WHERE id = 2",
           f"INSERT INTO {{s}}events VALUES (4, {_at(4)}, 'boundary'), (5, {_at(6)}, 'e')")
    statements.take()  # the test's own reads
    pipe.run(_events(db, backend, dataload.incremental("updated_at", initial_value=START)))

    (second,) = statements.take()
    last_run_cursor = datetime.datetime(2024, 1, 4, tzinfo=UTC)  # naive (UTC) for columns without a time zone
    expected = last_run_cursor if db.kind == "postgres" else last_run_cursor.replace(tzinfo=None)
    assert _bound_values(second[1]) == [expected]
    assert _loaded(target) == _source_rows(db)
    reloaded = sorted(row["id"] for row in _raw_rows(target) if row["_dl_load_id"] not in first_load)
    assert reloaded == [2, 4, 5]  # row 3 (at the boundary, loaded before) is read again but not loaded again


@pytest.mark.parametrize("backend", ["sqlalchemy", "pyarrow"])
def test_an_end_value_bounds_the_query_and_the_rows(events: tuple[SourceDb, Statements], target: DuckTarget,
                                                    backend: str) -> None:
    db, statements = events
    window = dataload.incremental("updated_at", initial_value=datetime.datetime(2024, 1, 3, tzinfo=UTC),
                                  end_value=datetime.datetime(2024, 1, 4, tzinfo=UTC))
    target.pipeline().run(_events(db, backend, window))
    ((statement, parameters),) = statements.take()
    assert ">=" in statement and "<" in statement.replace("<=", "")
    assert len(_bound_values(parameters)) == 2
    assert [row[0] for row in _loaded(target)] == [2]


def test_last_value_func_min_reads_downwards(events: tuple[SourceDb, Statements], target: DuckTarget) -> None:
    db, statements = events
    cursor = dataload.incremental("updated_at", initial_value=datetime.datetime(2024, 1, 3, tzinfo=UTC),
                                  last_value_func=min)
    target.pipeline().run(_events(db, "sqlalchemy", cursor))
    ((statement, _),) = statements.take()
    assert "<=" in statement and "DESC" in statement
    assert [row[0] for row in _loaded(target)] == [1, 2]


def test_a_cursor_that_is_not_a_column_is_refused_naming_the_table(events: tuple[SourceDb, Statements],
                                                                   target: DuckTarget) -> None:
    db, _ = events
    with pytest.raises(dataload.DataloadError, match=r"cursor 'changed' is not a column of table 'events'"):
        target.pipeline().run(_events(db, "sqlalchemy", dataload.incremental("changed", initial_value=1)))


def _bound_values(parameters: Any) -> list[Any]:
    """The values bound to a statement (a dict on some drivers, a sequence on others), timestamps parsed."""
    values = list(parameters.values()) if isinstance(parameters, dict) else list(parameters)
    return [datetime.datetime.fromisoformat(v) if isinstance(v, str) else v for v in values]


def _raw_rows(target: DuckTarget) -> list[dict[str, Any]]:
    rows = target.query(f'SELECT id, _dl_load_id FROM "{target.dataset}"."events" ORDER BY id')
    return [{"id": i, "_dl_load_id": load_id} for i, load_id in rows]
