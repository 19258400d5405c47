"""``sql_table(..., backend="native")``: the native Arrow reader, its columns in the types the reflection hinted.

:func:`sources.sql_database.native.native_arrow_batches` returns what the driver reads. For a table
the reflection has already promised each column's type (the same as the ``pyarrow`` backend
builds), so here the SELECT and the batches are fitted to it, still without Python rows:

* in the SQL: arrays become their JSON text (``to_json(tags)::text``), and the types the driver has
  no Arrow type for (``money``, which it would read as cents, ``inet``, ``xml``, ranges, enums, ...)
  their text;
* in Arrow: each column is cast to the reflected Arrow type where it differs (``numeric(50, 10)`` read
  as ``decimal256`` becomes its exact text, a ``decimal`` read as text becomes the decimal when its
  values fit); ``interval`` becomes microseconds the way psycopg counts them (a month 30 days, a year 365).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sources.sql_database.arrow_build import ArrowColumns
from sources.sql_database.backends import ReadPlan
from sources.sql_database.connection import sqlalchemy
from sources.sql_database.native import native_arrow_batches

_MICROS_PER_DAY = 86_400_000_000


def read_native(plan: ReadPlan) -> Iterator[pa.RecordBatch]:
    """The batches of ``plan``'s SELECT through the native driver, typed as the ``pyarrow`` backend types them."""
    columns = list(plan.select.selected_columns)
    types = ArrowColumns.of(columns).types
    for batch in native_arrow_batches(plan.engine, text_for_sql_only_types(plan.select), plan.chunk_size):
        yield conform(batch, types)


def text_for_sql_only_types(select: Any) -> Any:
    """``select`` with arrays read as their JSON text and every type the driver has no Arrow type for
    (``money``, ``inet``, ``xml``, ranges, enums, ``timetz``, ...) as its text, labelled as before."""
    sa = sqlalchemy()
    columns = []
    for column in select.selected_columns:
        if isinstance(column.type, sa.ARRAY):
            column = sa.cast(sa.func.to_json(column), sa.Text).label(column.name)
        elif not _read_natively(column.type):
            column = sa.cast(column, sa.Text).label(column.name)
        columns.append(column)
    return select.with_only_columns(*columns, maintain_column_froms=True)


def _read_natively(sqltype: Any) -> bool:
    """Whether the driver reads a column of ``sqltype`` into an Arrow type of its own (not PostgreSQL's wire bytes)."""
    sa = sqlalchemy()
    if isinstance(sqltype, (sa.Enum, sa.types.NullType)) or type(sqltype).__name__ in ("MONEY", "BIT", "CITEXT"):
        return False
    if isinstance(sqltype, sa.Time):
        return not sqltype.timezone
    if type(sqltype).__name__ == "INTERVAL":  # PostgreSQL's own, not a subclass of sa.Interval
        return True
    return isinstance(sqltype, (sa.Integer, sa.Numeric, sa.Float, sa.Boolean, sa.String, sa.Date, sa.DateTime,
                                sa.Interval, sa.LargeBinary, sa.Uuid, sa.JSON))


def conform(batch: pa.RecordBatch, types: Sequence[pa.DataType | None]) -> pa.RecordBatch:
    """``batch`` with each column cast to its type in ``types`` (None: as it is) where that is exact."""
    arrays = [column if target is None or column.type == target else _cast(column, target)
              for column, target in zip(batch.columns, types)]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _cast(column: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_interval(column.type) and pa.types.is_duration(target):
        return interval_micros(column).cast(target)
    try:
        return pc.cast(column, target)  # safe cast: refuses anything that would change a value
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return column  # left in the driver's type; the normalizer fits it into the column (or a variant)


def interval_micros(column: pa.Array) -> pa.Array:
    """Microseconds of a ``month_day_nano_interval`` column, a month counted as 30 days and a year as 365.

    >>> intervals = pa.array([pa.MonthDayNano([13, 1, 500_000]), None], pa.month_day_nano_interval())
    >>> interval_micros(intervals).to_pylist()  # (365 + 30 + 1) days and 500 microseconds
    [34214400000500, None]
    """
    parts = np.frombuffer(column.buffers()[1], dtype=[("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])
    parts = parts[column.offset:column.offset + len(column)]
    months = parts["months"].astype(np.int64)
    years, rest = np.trunc(months / 12).astype(np.int64), months - np.trunc(months / 12).astype(np.int64) * 12
    days = parts["days"] + 30 * rest + 365 * years
    micros = days * _MICROS_PER_DAY + parts["nanos"] // 1000
    return pa.array(micros, pa.int64(), mask=column.is_null().to_numpy(zero_copy_only=False))
