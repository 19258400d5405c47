"""What the ``show`` pages read from a pipeline: its schema, row counts, first rows, loads and last run.

The schema and the last run's trace come from the pipeline's working dir (``trace.json``, see
:mod:`dataload.run_trace`); everything else from the destination, through its SQL and never
row by row: counts are the destination's ``count(*)`` (:meth:`dataload.Dataset.row_counts`),
first rows a ``LIMIT`` query, the loads and their rows per table what ``dataload pipeline NAME
loads`` reads (:func:`dataload.cli.destination_loads.recorded_loads`: ``count(*) ... GROUP BY``
in the destination). So a page of a 10-million-row table reads as many rows as it shows. The
statements this module issues are logged at DEBUG on its logger.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dataload.run_trace import read_trace
from dataload.schema.model import Schema, Table
from dataload.sql_client import quote_identifier

if TYPE_CHECKING:
    import pyarrow as pa

    from dataload.cli.destination_loads import RecordedLoad
    from dataload.facade import Pipeline
    from dataload.info import Trace

logger = logging.getLogger(__name__)

MAX_ROWS = 1000
"""The most first rows a table page shows."""
MAX_LOADS = 500
"""The most loads the load history shows (the newest)."""


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
        statement = f"SELECT * FROM {quote_identifier(table)} LIMIT {int(limit)}"
        logger.debug("%s", statement)
        with self.pipe.sql_client() as sql:
            return sql.execute(statement).arrow()

    def loads(self) -> list[RecordedLoad]:
        """The newest loads of the destination's ``_dl_loads`` (at most :data:`MAX_LOADS`), newest first,
        with the rows each left in each table; none before the first load."""
        if not self.tables():  # nothing loaded yet: there is no _dl_loads to read
            return []
        from dataload.cli.destination_loads import recorded_loads

        return recorded_loads(self.pipe)[::-1][:MAX_LOADS]

    def last_trace(self) -> Trace | None:
        """The pipeline's last run as it saved it in the working dir, or None before the first run."""
        return read_trace(self.pipe.working_dir)
