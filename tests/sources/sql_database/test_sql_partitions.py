"""Key-range partitions of sql_table (issue 18): even edges as a truth table, the ranges cover every
row once (NULLs and rows past the bounds included), and options that do not fit are refused."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import dataload
from sources.sql_database import sql_table
from sources.sql_database.partitions import even_edges


@pytest.mark.parametrize("low, high, count, expected", [
    (0, 100, 4, [25, 50, 75]),
    (1, 3, 8, [2]),  # too close to split that often: fewer ranges, never an empty or repeated one
    (5, 5, 4, []),
    (0.0, 1.0, 2, [0.5]),
    (Decimal("0"), Decimal("1"), 4, [Decimal("0.25"), Decimal("0.5"), Decimal("0.75")]),
    (datetime.date(2024, 1, 1), datetime.date(2024, 1, 5), 2, [datetime.date(2024, 1, 3)]),
    (datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 2), 2, [datetime.datetime(2024, 1, 1, 12)]),
])
def test_even_edges_split_the_range_into_equal_widths(low: Any, high: Any, count: int, expected: list[Any]) -> None:
    assert even_edges(low, high, count) == expected


def test_even_edges_refuse_values_that_do_not_subtract() -> None:
    with pytest.raises(dataload.InvalidConfig, match="give partition_bounds= instead"):
        even_edges("a", "z", 2)


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    made = sa.create_engine(f"sqlite:///{tmp_path / 'source.sqlite'}")
    with made.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE items (id INTEGER PRIMARY KEY, grp INTEGER, day TEXT)")
        connection.exec_driver_sql("INSERT INTO items VALUES " + ", ".join(
            f"({i}, {'NULL' if i % 10 == 0 else i % 7}, '2024-01-{1 + i % 28:02d}')" for i in range(1, 101)))
    return made


def rows_per_partition(table: dataload.Resource) -> list[list[int]]:
    return [sorted(row["id"] for row in table.for_partition(p)) for p in table.partitions()]


def test_partitions_of_min_max_cover_every_row_once_nulls_in_the_first(engine: sa.Engine) -> None:
    table = sql_table(engine, table="items", partition_on="grp", partitions=3)
    found = rows_per_partition(table)
    assert len(found) == 3
    assert sorted(i for ids in found for i in ids) == list(range(1, 101))
    assert all(i in found[0] for i in range(10, 101, 10))  # the NULLs


def test_explicit_bounds_make_open_ended_ranges_that_take_later_rows(engine: sa.Engine) -> None:
    table = sql_table(engine, table="items", partition_on="id", partition_bounds=[30, 60])
    assert [p.arguments["key_range"] for p in table.partitions()] == [
        {"column": "id", "low": None, "high": 30}, {"column": "id", "low": 30, "high": 60},
        {"column": "id", "low": 60, "high": None}]
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO items VALUES (500, 1, '2024-02-01')")
    assert rows_per_partition(table) == [list(range(1, 30)), list(range(30, 60)), [*range(60, 101), 500]]


def test_cursor_windows_partition_on_the_cursor_column(engine: sa.Engine) -> None:
    table = sql_table(engine, table="items", partition_on="day", partition_bounds=["2024-01-10", "2024-01-20"])
    found = rows_per_partition(table)
    assert sum(map(len, found)) == 100
    days = [sorted({f"2024-01-{1 + i % 28:02d}" for i in ids}) for ids in found]
    assert days[0][-1] < "2024-01-10" <= days[1][0] and days[1][-1] < "2024-01-20" <= days[2][0]


@pytest.mark.parametrize("options, message", [
    ({"partitions": 4}, "need partition_on="),
    ({"partition_on": "id", "partitions": 4, "partition_bounds": [1]}, "not both"),
    ({"partition_on": "id", "partitions": 0}, "partitions must be a whole number >= 1"),
    ({"partition_on": "id", "partition_bounds": [5, 1]}, "ascending order"),
    ({"partition_on": "id", "partitions": 2, "incremental": dataload.incremental("id", last_value_func=min)},
     "counts up"),
])
def test_partition_options_that_do_not_fit_are_refused_naming_the_table(
        engine: sa.Engine, options: dict[str, Any], message: str) -> None:
    with pytest.raises(dataload.InvalidConfig, match=message) as refused:
        sql_table(engine, table="items", **options)
    assert "'items'" in str(refused.value)


def test_an_unknown_partition_column_is_named_when_the_run_plans(engine: sa.Engine) -> None:
    with pytest.raises(dataload.InvalidConfig, match="partition_on column 'nope' is not a column of table 'items'"):
        sql_table(engine, table="items", partition_on="nope", partitions=2).partitions()
