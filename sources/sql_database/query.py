"""The SELECT a table is read with: the chosen columns, the incremental range pushed into WHERE, ordered by the cursor.

With ``last_value_func=max`` (the default) a run reads ``cursor >= start_value`` (and
``cursor < end_value``) ordered by the cursor ascending: ``>=`` re-reads the rows at the stored
value, and the engine drops the ones already loaded, so rows that share the boundary value and
arrived after the last run are not lost. ``min`` mirrors it; any other function reads the whole
table and leaves the filtering to the engine.

>>> import sqlalchemy as sa, dataload
>>> t = sa.Table("orders", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("updated", sa.Integer))
>>> select = build_select(t, tuple(t.columns), dataload.incremental("updated", initial_value=5))
>>> " ".join(str(select).split())
'SELECT orders.id, orders.updated FROM orders WHERE orders.updated >= :updated_1 ORDER BY orders.updated ASC'
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

import dataload
from dataload import Incremental
from sources.sql_database.connection import sqlalchemy

KeyRange = dict[str, Any]
"""``{"column": name, "low": value or None, "high": value or None}``: ``low <= column < high``."""

QueryAdapter = Callable[[Any, Any], Any]
"""``query_adapter_callback(select, table) -> select``: change the SELECT (add a WHERE, a join, a hint)."""


def build_select(table: Any, columns: Sequence[Any], incremental: Incremental | None = None,
                 query_adapter_callback: QueryAdapter | None = None, key_range: KeyRange | None = None) -> Any:
    """``SELECT columns FROM table`` with the partition's ``key_range`` (see
    :mod:`sources.sql_database.partitions`) and the incremental range and order, then given to
    ``query_adapter_callback``."""
    select = sqlalchemy().select(*columns)
    if key_range is not None:
        select = with_key_range(select, table, key_range)
    if incremental is not None:
        select = _with_cursor_range(select, table, incremental)
    if query_adapter_callback is not None:
        select = query_adapter_callback(select, table)
    return select


def with_key_range(select: Any, table: Any, key_range: KeyRange) -> Any:
    """``select`` restricted to ``low <= column < high`` (NULLs too where ``low`` is open)."""
    column = partition_column(table, key_range["column"])
    low, high = bound_value(column, key_range["low"]), bound_value(column, key_range["high"])
    if low is not None:
        select = select.where(column >= low)
    if high is not None:
        select = select.where(column < high) if low is not None else \
            select.where(sqlalchemy().or_(column < high, column.is_(None)))
    return select


def partition_column(table: Any, name: str) -> Any:
    """The column ``name`` of ``table`` that partitions are ranges of (an error naming both if it is missing)."""
    if name not in table.columns:
        raise dataload.InvalidConfig(f"sql_database: partition_on column {name!r} is not a column of table "
                                     f"{table.name!r}; its columns: {', '.join(c.name for c in table.columns)}")
    return table.columns[name]


def _with_cursor_range(select: Any, table: Any, incremental: Incremental) -> Any:
    if incremental.cursor_path not in table.columns:
        raise dataload.InvalidConfig(f"sql_database: the incremental cursor {incremental.cursor_path!r} is not a "
                                     f"column of table {table.name!r}; its columns: "
                                     f"{', '.join(c.name for c in table.columns)}")
    cursor = table.columns[incremental.cursor_path]
    ascending = incremental.last_value_func is max
    if not ascending and incremental.last_value_func is not min:
        return select
    start, end = (bound_value(cursor, incremental.start_value), bound_value(cursor, incremental.end_value))
    if start is not None:
        select = select.where(cursor >= start if ascending else cursor <= start)
    if end is not None:
        select = select.where(cursor < end if ascending else cursor > end)
    return select.order_by(cursor.asc() if ascending else cursor.desc())


def bound_value(cursor: Any, value: Any) -> Any:
    """A cursor value as the column's driver takes it: ISO text parsed for date and time columns,
    aware datetimes as naive UTC for columns without a time zone (naive ones are UTC)."""
    if value is None:
        return None
    sa = sqlalchemy()
    if isinstance(cursor.type, sa.DateTime):
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value)
        if isinstance(value, datetime.datetime) and value.tzinfo is not None and not cursor.type.timezone:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        elif isinstance(value, datetime.datetime) and value.tzinfo is None and cursor.type.timezone:
            value = value.replace(tzinfo=datetime.timezone.utc)
    elif isinstance(cursor.type, sa.Date) and isinstance(value, str):
        value = datetime.date.fromisoformat(value[:10])
    return value
