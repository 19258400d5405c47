"""What the ``show`` pages read from a pipeline: its schema, row counts, first rows, loads and last run.

The schema and the last run's trace come from the pipeline's working dir (``trace.json``, see
:mod:`dataload.run_trace`); everything else from the
destination, through its SQL and never row by row: counts are the destination's ``count(*)``
(:meth:`dataload.Dataset.row_counts`), first rows a ``LIMIT`` query, rows per load a
``count(*) ... GROUP BY`` in the destination. So a page of a 10-million-row table reads as many
rows as it shows. Each statement is logged at DEBUG on this module's logger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dataload.run_trace import read_trace
from dataload.schema.model import LOAD_ID, Schema, Table

if TYPE_CHECKING:
    import pyarrow as pa

    from dataload.facade import Pipeline
    from dataload.info import Trace
    from dataload.sql_client import QueryResult, SqlClient

logger = logging.getLogger(__name__)

MAX_ROWS = 1000
"""The most first rows a table page shows."""
LOADS_TABLE = "_dl_loads"  # a name that needs no quoting in any SQL dialect, like LOAD_ID
MAX_LOADS = 500
"""The most loads the load history shows (the newest)."""


def quote(identifier: str) -> str:
    """An identifier quoted the SQL-standard way (DuckDB, PostgreSQL, SQLite), inner quotes doubled.

    >>> quote('we"ird <name>')
    '"we""ird <name>"'
    """
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class Load:
    """One row of ``_dl_loads``."""

    load_id: str
    inserted_at: Any
    status: int
    schema_version_hash: str


class PipelineReader:
    """Reads one pipeline for the pages; the schema is read again on every call, so a run shows up."""

    def __init__(self, pipe: Pipeline) -> None:
        self.pipe = pipe

    def schema(self) -> Schema:
        """The pipeline's schema as the last run left it."""
        return self.pipe.default_schema

    def tables(self) -> list[Table]:
        """The tables that are in the destination (those with a typed column), in schema order."""
        return self.schema().data_tables()

    def row_counts(self) -> dict[str, int]:
        """Rows in each table, counted by the destination."""
        dataset = self.pipe.dataset()
        logger.debug("row counts of %d table(s) through the destination: %s", len(dataset.tables),
                     ", ".join(dataset.tables))
        return dataset.row_counts()

    def first_rows(self, table: str, limit: int) -> pa.Table:
        """Up to ``limit`` rows of ``table`` (whichever the destination returns first)."""
        if not 1 <= limit <= MAX_ROWS:
            raise ValueError(f"limit must be from 1 to {MAX_ROWS}, not {limit}")
        with self.pipe.sql_client() as sql:
            return _run(sql, f"SELECT * FROM {quote(table)} LIMIT {int(limit)}").arrow()

    def loads(self) -> list[Load]:
        """The newest loads recorded in ``_dl_loads`` (at most :data:`MAX_LOADS`), newest first; none
        before the first load."""
        if not self.tables():  # nothing loaded yet: there is no _dl_loads to read
            return []
        with self.pipe.sql_client() as sql:  # system names need no quotes, so this runs on every SQL dialect
            found = _run(sql, f"SELECT load_id, inserted_at, status, schema_version_hash FROM {LOADS_TABLE} "
                              f"ORDER BY load_id DESC LIMIT {MAX_LOADS}").fetchall()
        return [Load(*row) for row in found]

    def rows_per_load(self) -> dict[str, dict[str, int]]:
        """``{load_id: {table: rows}}``: the rows each load left in each table, counted in one
        ``count(*) ... GROUP BY`` query in the destination."""
        tables = [t.name for t in self.tables() if LOAD_ID in t.columns]
        if not tables:
            return {}
        statement = " UNION ALL ".join(
            f"SELECT {position} AS position, {LOAD_ID} AS load_id, count(*) AS n FROM {quote(table)} GROUP BY {LOAD_ID}"
            for position, table in enumerate(tables))
        with self.pipe.sql_client() as sql:
            counted = sorted(_run(sql, statement).fetchall())
        per_load: dict[str, dict[str, int]] = {}
        for position, load_id, n in counted:
            per_load.setdefault(load_id, {})[tables[position]] = int(n)
        return per_load

    def last_trace(self) -> Trace | None:
        """The pipeline's last run as it saved it in the working dir, or None before the first run."""
        return read_trace(self.pipe.working_dir)


def _run(sql: SqlClient, statement: str) -> QueryResult:
    logger.debug("%s", statement)
    return sql.execute(statement)
