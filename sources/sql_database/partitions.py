"""Key-range partitions of a table: ``sql_table(..., partition_on="id", partitions=8)``.

The ranges split the column's ``[min, max]`` evenly (whole numbers, decimals, dates and
datetimes), or fall between explicit ``partition_bounds``. The first range is open below and
takes the NULLs of the column too, the last is open above, so every row of the table is in
exactly one partition even when rows arrive after the bounds were taken. Each partition reads
``low <= column < high``. With the incremental cursor as ``partition_on`` the ranges are windows
of the cursor (one month each, with month starts as ``partition_bounds``).

>>> even_edges(0, 100, 4)
[25, 50, 75]
>>> import datetime
>>> even_edges(datetime.date(2024, 1, 1), datetime.date(2024, 1, 5), 2)
[datetime.date(2024, 1, 3)]
>>> [r["key_range"] for r in key_ranges("id", [10, 20])]  # doctest: +NORMALIZE_WHITESPACE
[{'column': 'id', 'low': None, 'high': 10}, {'column': 'id', 'low': 10, 'high': 20},
 {'column': 'id', 'low': 20, 'high': None}]
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dataload
from sources.sql_database.connection import database_errors, sqlalchemy
from sources.sql_database.query import partition_column

if TYPE_CHECKING:
    from sources.sql_database.source import _TableReader

def check_partitioning(table: str, partition_on: str | None, partitions: int | None,
                       partition_bounds: Sequence[Any] | None, incremental: dataload.Incremental | None) -> None:
    """Refuse partition options that do not fit together, naming the table."""
    if partition_on is not None and incremental is not None and incremental.last_value_func is not max:
        raise dataload.InvalidConfig(f"sql_table {table!r}: a partitioned table needs a cursor that counts up "
                                     "(last_value_func=max): the partitions' cursors are folded to the largest")
    if partition_on is None:
        if partitions is not None or partition_bounds is not None:
            raise dataload.InvalidConfig(f"sql_table {table!r}: partitions= and partition_bounds= need "
                                         "partition_on= (the column whose ranges make the partitions)")
        return
    if partitions is not None and partition_bounds is not None:
        raise dataload.InvalidConfig(f"sql_table {table!r}: give partitions= or partition_bounds=, not both")
    if partition_bounds is None and (not isinstance(partitions, int) or partitions < 1):
        raise dataload.InvalidConfig(f"sql_table {table!r}: partitions must be a whole number >= 1 "
                                     f"(with partition_on={partition_on!r}), not {partitions!r}")
    if partition_bounds is not None and list(partition_bounds) != sorted(partition_bounds):
        raise dataload.InvalidConfig(f"sql_table {table!r}: partition_bounds must be in ascending order")


def plan_of(reader: _TableReader, column: str, partitions: int | None,
            bounds: Sequence[Any] | None) -> Any:
    """The partition plan of ``reader``'s table on ``column`` (see :meth:`dataload.Resource.partition_by`)."""
    def plan() -> list[dict[str, Any]]:
        if bounds is not None:
            return key_ranges(column, list(bounds))
        low, high = min_max(reader, column)
        if low is None or high is None:  # an empty table (or only NULLs): one partition, the whole range
            return key_ranges(column, [])
        return key_ranges(column, even_edges(low, high, partitions or 1))

    return plan


def key_ranges(column: str, edges: list[Any]) -> list[dict[str, Any]]:
    """The partition arguments of the ranges between ``edges`` (open at both ends)."""
    lows, highs = [None, *edges], [*edges, None]
    return [{"key_range": {"column": column, "low": low, "high": high}} for low, high in zip(lows, highs)]


def even_edges(low: Any, high: Any, count: int) -> list[Any]:
    """``count - 1`` edges splitting ``[low, high]`` into ``count`` ranges of equal width (fewer when
    the values are too close to split that often)."""
    if isinstance(low, bool) or not isinstance(low, (int, float, decimal.Decimal, datetime.date)):
        raise dataload.InvalidConfig(f"cannot split values of type {type(low).__name__} into even ranges; "
                                     "give partition_bounds= instead")
    width = high - low
    edges: list[Any] = []
    for step in range(1, count):
        edge = low + (width * step // count if isinstance(low, int) else width * step / count)
        if edge > low and (not edges or edge > edges[-1]) and edge <= high:
            edges.append(edge)
    return edges


def min_max(reader: _TableReader, column: str) -> tuple[Any, Any]:
    """The smallest and largest value of ``column`` in the reader's table."""
    sa = sqlalchemy()
    target = partition_column(reader.reflect().table, column)
    with database_errors(reader.engine, f"reading the range of column {column!r} of table {reader.table!r}"):
        with reader.engine.connect() as connection:
            low, high = connection.execute(sa.select(sa.func.min(target), sa.func.max(target))).one()
    return low, high
