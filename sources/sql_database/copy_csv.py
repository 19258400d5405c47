"""The ``pyarrow`` backend's fast path on PostgreSQL: ``COPY (SELECT ...) TO STDOUT (FORMAT csv)`` parsed by pyarrow.

Fetching rows through the driver builds a Python object per value (a ``Decimal``, an aware
``datetime``) only to turn it into Arrow again, and a server-side cursor makes the server wait
while the client converts. ``COPY`` streams the result as CSV text (the server does not wait for
a ``FETCH``), which pyarrow's CSV reader parses a chunk at a time (C++, no Python per value) straight
into the reflected Arrow types: the same values and types the row path builds (tested column type by column type).

It is taken when the engine is PostgreSQL through psycopg and every selected column has a type
whose CSV text pyarrow reads exactly (:func:`reads_exactly`): integers, ``numeric(p, s)`` up to 38
digits, floats, booleans, text (``varchar``, ``char``, enums, ``uuid``), dates, times without a time
zone and timestamps with or without one. Any other column (``json``, arrays, ``bytea``,
``interval``, ``money``, ``numeric`` without a precision, ...) sends the whole table through the row
path. The session settings the text depends on are set for the read's transaction only (UTC, ISO
dates, floats in full precision, UTF-8). Bound parameters (an incremental cursor) are quoted and
bound by psycopg on the client (``COPY`` takes no server-side parameters), never formatted into the
SQL by dataload; the connection's ``before_cursor_execute`` listeners see the ``COPY`` statement.

Each batch holds ``chunk_size`` rows (the last one fewer): PostgreSQL sends every row of a ``COPY``
as one message, so a chunk is the next ``chunk_size`` messages, parsed on their own; memory stays
bounded by the chunk whatever the size of the table or of one row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from sources.sql_database.arrow_build import ArrowColumns, ValueDoesNotFit
from sources.sql_database.connection import database_errors, sqlalchemy

if TYPE_CHECKING:
    from sources.sql_database.backends import ReadPlan

_SESSION = ("SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true), "
            "set_config('extra_float_digits', '3', true), set_config('client_encoding', 'UTF8', true)")
_COLUMN_NUMBER = re.compile(r"CSV column #(\d+)")


def copy_applies(plan: ReadPlan) -> bool:
    """Whether ``plan`` is read through ``COPY``: PostgreSQL through psycopg, every column of a type read exactly."""
    engine = plan.engine
    columns = list(plan.select.selected_columns)
    names = [c.name for c in columns]
    return (engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
            and len(set(names)) == len(names) and all(reads_exactly(c.type) for c in columns))


def reads_exactly(sqltype: Any) -> bool:
    """Whether pyarrow reads PostgreSQL's CSV text of a ``sqltype`` column into the column's reflected Arrow type
    holding the value the driver returns (``numeric`` needs a precision; ``json`` and arrays are not)."""
    sa = sqlalchemy()
    if isinstance(sqltype, sa.Numeric) and not isinstance(sqltype, sa.Float):
        return sqltype.precision is not None and sqltype.precision <= 38
    if isinstance(sqltype, sa.Time):
        return not sqltype.timezone
    return isinstance(sqltype, (sa.Integer, sa.Float, sa.Boolean, sa.String, sa.Uuid, sa.Date, sa.DateTime))


def copy_batches(plan: ReadPlan, columns: ArrowColumns) -> Iterator[pa.RecordBatch]:
    """The rows of ``plan``'s SELECT as record batches of ``columns``' types, read through ``COPY ... (FORMAT csv)``."""
    engine = plan.engine
    compiled = plan.select.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    statement = f"COPY ({compiled}) TO STDOUT (FORMAT csv)"
    parse = _CsvChunks(columns)
    first_row = 1
    with database_errors(engine, f"reading table {plan.table!r}"), engine.connect() as connection:
        connection.exec_driver_sql(_SESSION)
        with connection.connection.driver_connection.cursor() as cursor:
            statement, params = _announced(connection, cursor, statement, compiled.params)
            if not params:  # psycopg merges no parameters then, so undo the dialect's escaping of "%" itself
                statement = statement.replace("%%", "%")
            with cursor.copy(statement, params or None) as copy:
                for rows in _row_chunks(copy, plan.chunk_size):
                    yield parse.batch(rows, plan, first_row)
                    first_row += len(rows)


def _announced(connection: Any, cursor: Any, statement: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``statement`` and ``params`` after the connection's ``before_cursor_execute`` listeners saw them (and
    possibly changed them, as SQLAlchemy lets them): the ``COPY`` does not go through SQLAlchemy's own execution.
    The listeners' ``context`` is None, as SQLAlchemy documents for statements without one."""
    for listener in connection.dispatch.before_cursor_execute:
        statement, params = listener(connection, cursor, statement, params, None, False)
    return statement, params


def _row_chunks(copy: Any, chunk_size: int) -> Iterator[list[bytes]]:
    """The rows of a ``COPY ... TO STDOUT``, one message each, ``chunk_size`` at a time."""
    read = copy.read
    while True:
        rows: list[bytes] = []
        while len(rows) < chunk_size and (row := read()):
            rows.append(bytes(row))
        if rows:
            yield rows
        if len(rows) < chunk_size:
            return


class _CsvChunks:
    """Parses chunks of CSV rows into record batches of the columns' names and types."""

    def __init__(self, columns: ArrowColumns) -> None:
        self.columns = columns
        self.read = pa_csv.ReadOptions(column_names=list(columns.names), use_threads=True)
        self.parse = pa_csv.ParseOptions(newlines_in_values=True)
        self.convert = self._convert({name: kind for name, kind in zip(columns.names, columns.types)
                                      if kind is not None})

    @staticmethod
    def _convert(types: dict[str, pa.DataType]) -> pa_csv.ConvertOptions:
        # COPY writes NULL as an empty field and an empty text as "": only the unquoted empty field is null
        return pa_csv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                     quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"])

    def batch(self, rows: Sequence[bytes], plan: ReadPlan, first_row: int) -> pa.RecordBatch:
        """One record batch of ``rows`` (``first_row`` numbers the first in the result, for errors)."""
        try:
            table = self._table(rows)
        except pa.ArrowInvalid as exc:
            raise self._misfit(rows, plan, first_row, exc) from None
        return pa.RecordBatch.from_arrays([table.column(i).combine_chunks() for i in range(table.num_columns)],
                                          names=list(self.columns.names))

    def _table(self, rows: Sequence[bytes], convert: pa_csv.ConvertOptions | None = None) -> pa.Table:
        return pa_csv.read_csv(pa.py_buffer(b"".join(rows)), read_options=self.read, parse_options=self.parse,
                               convert_options=convert or self.convert)

    def _misfit(self, rows: Sequence[bytes], plan: ReadPlan, first_row: int, exc: pa.ArrowInvalid) -> ValueDoesNotFit:
        """The error for the first row of ``rows`` that does not parse, naming table, column and row."""
        low, high = 0, len(rows)  # the first bad row is in rows[low:high]
        while high - low > 1:
            middle = (low + high) // 2
            try:
                self._table(rows[low:middle])
                low = middle
            except pa.ArrowInvalid:
                high = middle
        number = _COLUMN_NUMBER.search(str(exc))
        bad = self.columns.names[int(number.group(1))] if number else None
        # the row again, with the column at fault (or, when Arrow did not say which, every column) as text
        types = {n: t if bad not in (None, n) else pa.string() for n, t in zip(self.columns.names, self.columns.types)
                 if t is not None}
        row = self._table(rows[low:high], self._convert(types)).to_pylist()[0]
        column = f"column {bad!r}, " if bad else ""
        return ValueDoesNotFit(f"sql_database: table {plan.table!r}, {column}"
                               f"{self.columns.row_key(list(row.values()), plan.primary_key, first_row + low)}: "
                               f"PostgreSQL's text of a value does not read as the column's type ({exc}); "
                               "give the column a type with type_adapter_callback or cast it in "
                               "query_adapter_callback")
