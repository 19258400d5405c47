"""Backends: how the rows of a SELECT become items, streamed in chunks from a server-side cursor.

``BACKENDS`` maps a backend's name to a function of a :class:`ReadPlan` that yields items; adding
a backend is one entry. Every backend reads ``chunk_size`` rows at a time and never the whole
result, so memory does not grow with the table.

* ``sqlalchemy``: pages of dicts (the normalizer infers what reflection left open).
* ``pyarrow``: an Arrow record batch per chunk, built column by column with the reflected types;
  ``json`` columns and arrays are JSON text (see :data:`JSON_AS_TEXT`). On PostgreSQL, tables whose
  column types allow it are read through ``COPY ... (FORMAT csv)`` parsed by pyarrow
  (``sources.sql_database.copy_csv``), with the same values and types.
* ``pandas``: a DataFrame per chunk (Arrow-backed columns, so integers with nulls stay integers).
* ``native``: Arrow batches straight from the ADBC PostgreSQL driver, no Python rows
  (``sources.sql_database.native``; extra ``dataload[sql_native]``), fitted to the reflected types.

>>> sorted(BACKENDS)
['native', 'pandas', 'pyarrow', 'sqlalchemy']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

import dataload
from sources.sql_database.arrow_build import ArrowColumns
from sources.sql_database.connection import streaming_connection
from sources.sql_database.copy_csv import copy_applies, copy_batches


@dataclass(frozen=True)
class ReadPlan:
    """What a backend reads: the SELECT on the engine, in chunks; ``table`` and ``primary_key`` name rows in errors."""

    engine: Any
    select: Any
    table: str
    primary_key: tuple[str, ...]
    chunk_size: int


Backend = Callable[[ReadPlan], Iterator[Any]]


def _chunks(plan: ReadPlan) -> Iterator[tuple[list[str], list[Any]]]:
    """The result's column names and its rows, ``chunk_size`` at a time, from a server-side cursor."""
    with streaming_connection(plan.engine, plan.table) as connection, \
            connection.execution_options(yield_per=plan.chunk_size).execute(plan.select) as result:
        names = list(result.keys())
        for rows in result.partitions(plan.chunk_size):
            yield names, rows


def read_rows(plan: ReadPlan) -> Iterator[list[dict[str, Any]]]:
    """The ``sqlalchemy`` backend: a list of dicts per chunk.

    Where no selected column's type changes the driver's values (``result_processor`` is ``None`` for
    each: PostgreSQL through psycopg, for instance), rows after the first chunk are fetched from the
    DBAPI cursor itself, skipping SQLAlchemy's per-row work; the values are the same ones either way.
    """
    with streaming_connection(plan.engine, plan.table) as connection, connection.execute(plan.select) as result:
        # plain str keys: SQLAlchemy's names (``quoted_name``, a str subclass the garbage collector tracks)
        # would make every row dict tracked, and full collections over pages of them cost ~15 % of a copy
        names = tuple(map(str, result.keys()))
        # the first chunk through SQLAlchemy, which may hold rows it read ahead to learn the columns
        rows: Sequence[Any] = result.fetchmany(plan.chunk_size)
        fetch = result.cursor.fetchmany if _driver_values_kept(plan, connection, result) else result.fetchmany
        while rows:
            yield [dict(zip(names, row)) for row in rows]
            if len(rows) < plan.chunk_size:
                return  # a short chunk is the last one (SQLAlchemy may have closed the cursor already)
            rows = fetch(plan.chunk_size)


def _driver_values_kept(plan: ReadPlan, connection: Any, result: Any) -> bool:
    """Whether SQLAlchemy would hand every column's driver value on unchanged (no type has a result processor)."""
    description = result.cursor.description if result.cursor is not None else None
    columns = list(plan.select.selected_columns)
    if description is None or len(description) != len(columns):
        return False
    dialect = connection.dialect
    return all(column.type.dialect_impl(dialect).result_processor(dialect, entry[1]) is None
               for column, entry in zip(columns, description))


def read_arrow(plan: ReadPlan) -> Iterator[pa.RecordBatch]:
    """The ``pyarrow`` backend: an Arrow record batch per chunk, typed from the SELECT's columns; on PostgreSQL
    through ``COPY`` where every column's type allows it (``copy_csv``), otherwise built from fetched rows."""
    columns = ArrowColumns.of(list(plan.select.selected_columns))
    if copy_applies(plan):
        yield from copy_batches(plan, columns)
    else:
        yield from arrow_from_rows(plan, columns)


def arrow_from_rows(plan: ReadPlan, columns: ArrowColumns) -> Iterator[pa.RecordBatch]:
    """Record batches of ``columns`` built from the rows the driver fetches, ``chunk_size`` at a time."""
    first_row = 1
    for _, rows in _chunks(plan):
        yield columns.batch(rows, table=plan.table, primary_key=plan.primary_key, first_row=first_row)
        first_row += len(rows)


def read_pandas(plan: ReadPlan) -> Iterator[Any]:
    """The ``pandas`` backend: a DataFrame per chunk, with Arrow-backed columns of the reflected types."""
    try:
        pd = importlib.import_module("pandas")
    except ImportError:
        raise dataload.MissingDependencyError("the sql_database source's pandas backend", "pandas", "pandas") from None
    for batch in read_arrow(plan):
        yield batch.to_pandas(types_mapper=pd.ArrowDtype)


def read_native(plan: ReadPlan) -> Iterator[pa.RecordBatch]:
    """The ``native`` backend: Arrow batches from the ADBC PostgreSQL driver (see ``native_backend``)."""
    native = importlib.import_module("sources.sql_database.native_backend")  # only when this backend is chosen
    yield from native.read_native(plan)


BACKENDS: dict[str, Backend] = {
    "sqlalchemy": read_rows,
    "pyarrow": read_arrow,
    "pandas": read_pandas,
    "native": read_native,
}
"""Backend name -> the function reading a :class:`ReadPlan` with it."""
JSON_AS_TEXT = frozenset({"pyarrow", "pandas", "native"})
"""The backends delivering ``json`` columns (and arrays) as JSON text, hinted ``text``: no Arrow type holds any JSON."""


def backend_named(name: str) -> Backend:
    """The backend called ``name``, or an error listing the backends there are."""
    if name not in BACKENDS:
        raise dataload.InvalidConfig(f"sql_database: backend {name!r} is not one of {', '.join(BACKENDS)}")
    return BACKENDS[name]
