"""The system tables of a dataset: what their rows hold, the order a package commits them in, how they are read.

Every destination keeps three tables (the filesystem destination as folders of one-row files):

* ``_dl_version``: one row per schema version, written when the package's version is not stored yet;
* ``_dl_pipeline_state``: one row per state version, written when the package carries a state whose
  version is not stored yet (the same content alone is not enough: a state can come back);
* ``_dl_loads``: one row per loaded package, written **last**, so a load id found there is committed;
  its ``status`` is 0, or ``PART_STATUS`` for a part of a streamed run until the run's last package
  commits (in the same transaction, it sets its parts' rows to 0).

:func:`commit_records` holds that order once, for any :class:`RecordStore`; :class:`SqlRecords` is
the store of every SQL destination, given its dialect, a way to run SQL and its driver's errors.
A driver error on a system table is classified by :mod:`destinations.errors` and names the table
(``dataset._dl_version``): a table of that name that is not ours is a terminal error, not a retry.
Changing a system table is one edit here.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ContextManager, Protocol

from dataload.configuration import Secret
from dataload.crash import crash_point
from dataload.protocol import ENGINE_VERSION, PART_STATUS, LoadPackage
from dataload.schema.model import LOAD_ID, Column, Table
from destinations.errors import is_missing_table, load_error, read_error
from destinations.sql import DEFAULT_DIALECT, SqlDialect, TypeMapper, create_table_sql

LOADS, VERSIONS, STATES = "_dl_loads", "_dl_version", "_dl_pipeline_state"
SYSTEM_TABLES: dict[str, list[tuple[str, str]]] = {
    LOADS: [("load_id", "text"), ("schema_name", "text"), ("status", "bigint"),
            ("inserted_at", "timestamp"), ("schema_version_hash", "text")],
    VERSIONS: [("version", "bigint"), ("engine_version", "bigint"), ("inserted_at", "timestamp"),
               ("schema_name", "text"), ("version_hash", "text"), ("schema", "text")],
    STATES: [("version", "bigint"), ("engine_version", "bigint"), ("pipeline_name", "text"),
             ("state", "text"), ("created_at", "timestamp"), ("version_hash", "text"), ("_dl_load_id", "text")],
}


def system_table(name: str) -> Table:
    """The schema of a system table (``_dl_loads``, ``_dl_version``, ``_dl_pipeline_state``)."""
    return Table(name, {c: Column(c, t) for c, t in SYSTEM_TABLES[name]})


@dataclass(frozen=True)
class Document:
    """A JSON document kept in a system table: the newest ``version`` of an ``owner`` wins, then ``stamp``."""

    table: str
    column: str
    owner: str
    stamp: str


SCHEMA = Document(VERSIONS, "schema", "schema_name", "inserted_at")
STATE = Document(STATES, "state", "pipeline_name", "created_at")


class RecordStore(Protocol):
    """Where a destination keeps its system tables."""

    def stored(self, table: str, version: int, version_hash: str) -> bool:
        """True when ``table`` holds a row of this version and hash."""

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """Add one row (keys: the columns of ``SYSTEM_TABLES[table]``; timestamps as aware datetimes)."""


def _no_context(table: str) -> ContextManager[None]:
    return contextlib.nullcontext()


def commit_records(package: LoadPackage, store: RecordStore,
                   at_fault: Callable[[str], ContextManager[None]] = _no_context) -> None:
    """Write the package's schema version and state when not stored yet, then its ``_dl_loads`` row.

    ``at_fault(table)`` wraps the work on each table (to name it in an error).
    """
    now = datetime.now(timezone.utc)
    schema, state = package.schema, package.state
    with at_fault(VERSIONS):
        if not store.stored(VERSIONS, schema.version, schema.version_hash):
            store.insert(VERSIONS, {"version": schema.version, "engine_version": ENGINE_VERSION, "inserted_at": now,
                                    "schema_name": schema.name, "version_hash": schema.version_hash,
                                    "schema": schema.to_json()})
    with at_fault(STATES):
        if state is not None and not store.stored(STATES, state_version(state), state_hash(state)):
            store.insert(STATES, {"version": state_version(state), "engine_version": ENGINE_VERSION,
                                  "pipeline_name": package.pipeline_name, "state": json.dumps(state),
                                  "created_at": now, "version_hash": state_hash(state),
                                  "_dl_load_id": package.load_id})
    crash_point("load.before_commit")  # everything written but the marker; a SQL transaction not committed
    with at_fault(LOADS):
        store.insert(LOADS, {"load_id": package.load_id, "schema_name": schema.name,
                             "status": PART_STATUS if package.stream_part else 0,
                             "inserted_at": now, "schema_version_hash": schema.version_hash})


def state_version(state: dict[str, Any]) -> int:
    """The version a pipeline state carries."""
    return int(state.get("_state_version", 0))


def state_hash(state: dict[str, Any]) -> str:
    """The content hash a pipeline state carries."""
    return str(state.get("_state_hash", ""))


@dataclass(frozen=True)
class SqlRecords:
    """The system tables of one dataset in a SQL database.

    ``execute(sql, parameters)`` runs one statement with ``?`` placeholders and returns its rows
    (none for a statement without a result); ``type_of`` maps a column to the database's type;
    ``driver_errors`` are the exceptions the driver raises, classified and redacted of ``secrets``
    when they happen; ``timestamp`` turns the (aware, UTC) commit time into what the database
    stores where columns keep no zone (a naive UTC datetime, text); None: as it is.
    """

    dataset: str
    execute: Callable[[str, list[Any]], Sequence[Sequence[Any]]]
    type_of: TypeMapper
    driver_errors: tuple[type[BaseException], ...]
    dialect: SqlDialect = DEFAULT_DIALECT
    secrets: list[Secret] = field(default_factory=list)
    timestamp: Callable[[datetime], Any] | None = None

    def create_sql(self) -> list[str]:
        """``CREATE TABLE IF NOT EXISTS`` of each system table."""
        return [create_table_sql(self.dataset, system_table(name), self.type_of, self.dialect)
                for name in SYSTEM_TABLES]

    def loaded(self, package: LoadPackage) -> bool:
        """True when ``_dl_loads`` holds the package's load id (it was loaded before)."""
        with self._at_fault(package, LOADS):
            return self._count(LOADS, {"load_id": package.load_id}) > 0

    def commit(self, package: LoadPackage) -> None:
        """The package's system rows (see :func:`commit_records`), inside the caller's transaction; the
        last package of a streamed run also marks its parts' ``_dl_loads`` rows complete."""
        commit_records(package, self, lambda table: self._at_fault(package, table))
        if package.completes:
            with self._at_fault(package, LOADS):
                self.execute(f"UPDATE {self._table(LOADS)} SET {self.dialect.quote('status')} = 0 WHERE "
                             f"{self.dialect.quote('load_id')} IN ({', '.join('?' for _ in package.completes)})",
                             list(package.completes))

    def unfinished_parts(self) -> list[str]:
        """Load ids of parts of streamed runs whose last package never committed (none without ``_dl_loads``)."""
        q = self.dialect.quote
        try:
            rows = self.execute(f"SELECT {q('load_id')} FROM {self._table(LOADS)} WHERE {q('status')} = ? "
                                f"ORDER BY {q('load_id')}", [PART_STATUS])
        except self.driver_errors as exc:
            if is_missing_table(exc):
                return []
            error = read_error(exc, f"reading unfinished loads from {self.dataset}.{LOADS}", self.secrets)
        else:
            return [str(row[0]) for row in rows]
        raise error  # outside the handler: no chained driver error to leak from

    def stored(self, table: str, version: int, version_hash: str) -> bool:
        """True when ``table`` holds a row of this version and hash."""
        return self._count(table, {"version_hash": version_hash, "version": version}) > 0

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """Add one row to ``table``."""
        names = [name for name, _ in SYSTEM_TABLES[table]]
        values = [self.timestamp(row[n]) if self.timestamp and isinstance(row[n], datetime) else row[n]
                  for n in names]
        self.execute(f"INSERT INTO {self._table(table)} ({', '.join(map(self.dialect.quote, names))}) "
                     f"VALUES ({', '.join('?' for _ in names)})", values)

    def newest(self, document: Document, owner: str) -> dict[str, Any] | None:
        """The newest ``document`` of ``owner`` (a schema or pipeline name); None if there is none (or no table)."""
        q = self.dialect.quote
        sql = (f"SELECT {q(document.column)} FROM {self._table(document.table)} WHERE {q(document.owner)} = ? "
               f"ORDER BY {q('version')} DESC, {q(document.stamp)} DESC LIMIT 1")
        try:
            rows = self.execute(sql, [owner])
        except self.driver_errors as exc:
            if is_missing_table(exc):
                return None
            error = read_error(exc, f"reading the stored {document.column} from {self.dataset}.{document.table}",
                               self.secrets)
        else:
            return dict(json.loads(rows[0][0])) if rows and rows[0][0] else None
        raise error  # outside the handler: no chained driver error to leak from

    def delete_loads(self, load_ids: Sequence[str], columns: dict[str, set[str]]) -> None:
        """Delete what the packages ``load_ids`` loaded, inside the caller's transaction: their rows in every
        table of ``columns`` (the dataset's tables with their column names) that has ``_dl_load_id``
        (data tables and ``_dl_pipeline_state``) and their ``_dl_loads`` rows. Schema versions stay: the
        tables and columns they describe stay too."""
        marks = ", ".join("?" for _ in load_ids)
        for table in sorted(columns):
            if LOAD_ID in columns[table]:
                self.execute(f"DELETE FROM {self._table(table)} WHERE {self.dialect.quote(LOAD_ID)} IN ({marks})",
                             list(load_ids))
        if LOADS in columns:
            self.execute(f"DELETE FROM {self._table(LOADS)} WHERE {self.dialect.quote('load_id')} IN ({marks})",
                         list(load_ids))

    def _count(self, table: str, where: dict[str, Any]) -> int:
        condition = " AND ".join(f"{self.dialect.quote(column)} = ?" for column in where)
        rows = self.execute(f"SELECT count(*) FROM {self._table(table)} WHERE {condition}", list(where.values()))
        return int(rows[0][0]) if rows else 0

    def _table(self, table: str) -> str:
        return self.dialect.qualified(self.dataset, table)

    @contextlib.contextmanager
    def _at_fault(self, package: LoadPackage, table: str) -> Iterator[None]:
        """Name the system table at fault (a foreign table of that name, a missing column) in an error."""
        try:
            yield
        except self.driver_errors as exc:
            error = load_error(exc, package, f"{self.dataset}.{table}", None, self.secrets)
        else:
            return
        raise error  # not chained: the driver's text may quote rows

