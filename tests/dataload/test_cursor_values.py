"""Truth tables for the incremental cursor: datetime-like values are compared as instants."""

from __future__ import annotations

import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from dataload._incremental import Incremental
from dataload._state import extracting

UTC = datetime.timezone.utc
PLUS2 = datetime.timezone(datetime.timedelta(hours=2))


def run_cursor(cursor: Incremental, items: list[Any],
               stored: dict[str, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
    """Filter ``items`` through ``cursor`` with ``stored`` as the resource's saved cursor state."""
    document: dict[str, Any] = {"sources": {"s": {"resources": {"r": {"incremental": {}}}}}}
    if stored is not None:
        document["sources"]["s"]["resources"]["r"]["incremental"][cursor.cursor_path] = dict(stored)
    with extracting(document, "s", "r"):
        bound = cursor.bind("r", ())
        kept = list(bound.apply(iter(items)))
    return kept, document["sources"]["s"]["resources"]["r"]["incremental"].get(cursor.cursor_path, {})


@pytest.mark.parametrize("stored, row, kept", [
    ("2024-05-01T13:00:00+02:00", "2024-05-01T12:45:00Z", True),       # 12:45Z is after 11:00Z
    ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00.500Z", True),        # a fraction is later
    ("2024-05-01T10:00:00Z", "2024-05-01T11:00:00+02:00", False),      # 09:00Z: before, though its text sorts after
    ("2024-05-01T10:00:00Z", "2024-05-01T09:59:59", False),            # naive text is UTC
    ("2024-05-01T10:00:00Z", "2024-05-01T10:30:00", True),
    ("2024-05-01T10:00:00Z", "2024-05-01 10:30:00+00:00", True),       # a space separator
    ("2024-05-01T10:00:00Z", "2024-05-01T10:30:00z", True),            # lowercase
    ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00.000000001Z", True),  # nanoseconds
    ("2024-05-01T10:00:00Z", "2024-05-02", True),                      # a date is its midnight UTC
    ("2024-05-01T10:00:00Z", "2024-05-01", False),
    ("2024-05-01", "2024-05-01T00:00:01Z", True),
    ("2024-05-01T10:00:00Z", datetime.datetime(2024, 5, 1, 10, 30), True),                 # naive datetime: UTC
    ("2024-05-01T10:00:00Z", datetime.datetime(2024, 5, 1, 11, 30, tzinfo=PLUS2), False),  # 09:30Z
    (datetime.datetime(2024, 5, 1, 10, tzinfo=UTC), datetime.datetime(2024, 5, 1, 10, 30), True),
    (datetime.datetime(2024, 5, 1, 10), datetime.datetime(2024, 5, 1, 10, 30, tzinfo=UTC), True),
    (datetime.datetime(2024, 5, 1, 10, tzinfo=UTC), "2024-05-01T09:59:59Z", False),
    (datetime.date(2024, 5, 1), datetime.datetime(2024, 5, 1, 0, 0, 1, tzinfo=UTC), True),
    (datetime.date(2024, 5, 1), datetime.date(2024, 4, 30), False),
    ("2024-05-01T10:00:00Z", pd.Timestamp("2024-05-01T10:00:00.000001Z"), True),
    ("2024-05-01T10:00:00Z", pd.Timestamp("2024-05-01T09:00:00"), False),
    ("b", "c", True),                                                  # other text compares as text
    ("b", "a", False),
    (10, 11, True),
    (10, 9, False),
])
def test_a_row_passes_when_its_instant_is_after_the_stored_cursor(stored, row, kept):
    cursor = Incremental("ts", primary_key="id")
    rows = [{"id": 1, "ts": stored}, {"id": 2, "ts": row}]
    passed, _ = run_cursor(cursor, rows[1:], {"last_value": stored, "unique_hashes": []})
    assert (passed == rows[1:]) is kept


@pytest.mark.parametrize("initial, rows, stored_last", [
    ("2024-05-01T00:00:00Z", ["2024-05-01T12:00:00Z", "2024-05-01T13:00:00+02:00"], "2024-05-01T12:00:00Z"),
    ("2024-05-01T00:00:00Z", ["2024-05-01T13:00:00+02:00"], "2024-05-01T11:00:00Z"),
    ("2024-05-01T00:00:00Z", ["2024-05-01T10:00:00.5Z"], "2024-05-01T10:00:00.500000Z"),
    ("2024-05-01T00:00:00Z", ["2024-05-01T10:00:00"], "2024-05-01T10:00:00Z"),
    ("2024-05-01", ["2024-05-03", "2024-05-02"], "2024-05-03"),
    (datetime.datetime(2024, 5, 1), [datetime.datetime(2024, 5, 1, 12, tzinfo=PLUS2)],
     datetime.datetime(2024, 5, 1, 10, tzinfo=UTC)),
    (datetime.datetime(2024, 5, 1, tzinfo=UTC), [datetime.datetime(2024, 5, 1, 12)],
     datetime.datetime(2024, 5, 1, 12, tzinfo=UTC)),
    (datetime.datetime(2024, 5, 1, tzinfo=UTC), [pd.Timestamp("2024-05-01T12:00:00+02:00")],
     datetime.datetime(2024, 5, 1, 10, tzinfo=UTC)),
    (0, [3, 1], 3),
])
def test_the_cursor_is_stored_in_one_canonical_form_and_never_moves_back(initial, rows, stored_last):
    cursor = Incremental("ts", initial_value=initial)
    _, stored = run_cursor(cursor, [{"ts": v} for v in rows])
    assert stored["last_value"] == stored_last
    assert type(stored["last_value"]) is type(stored_last)


@pytest.mark.parametrize("initial, stored_last, lag, start", [
    ("2024-05-01T13:00:00+02:00", "2024-05-01T12:00:00Z", None, "2024-05-01T14:00:00+02:00"),
    ("2024-05-01T00:00:00Z", "2024-05-01T12:00:00Z", 60, "2024-05-01T11:59:00Z"),
    ("2024-05-01 00:00:00", "2024-05-01T12:00:00.5Z", None, "2024-05-01 12:00:00"),    # floored to its precision
    ("2024-05-01T00:00:00.000+00:00", "2024-05-01T12:00:00.5Z", None, "2024-05-01T12:00:00.500+00:00"),
    ("2024-05-01", "2024-05-03", 1, "2024-05-02"),
    ("2024-05-01T00:00Z", "2024-05-01T12:30:00Z", None, "2024-05-01T12:30Z"),
])
def test_start_value_keeps_the_format_of_the_initial_value(initial, stored_last, lag, start):
    cursor = Incremental("ts", initial_value=initial, lag=lag)
    document = {"sources": {"s": {"resources": {"r": {"incremental": {"ts": {"last_value": stored_last}}}}}}}
    with extracting(document, "s", "r"):
        assert cursor.bind("r", ()).start_value == start


def test_a_row_at_the_stored_instant_in_another_form_is_remembered_by_its_key():
    cursor = Incremental("ts", initial_value="2024-05-01T00:00:00Z", primary_key="id")
    _, stored = run_cursor(cursor, [{"id": 1, "ts": "2024-05-01T11:00:00Z"}])
    again = [{"id": 1, "ts": "2024-05-01T13:00:00+02:00"}, {"id": 2, "ts": "2024-05-01T13:00:00+02:00"}]
    passed, _ = run_cursor(cursor, again, stored)
    assert passed == again[1:]


def test_end_value_is_compared_as_an_instant():
    cursor = Incremental("ts", initial_value="2024-05-01T00:00:00Z", end_value="2024-05-01T12:00:00+02:00")
    rows = [{"ts": "2024-05-01T09:59:00Z"}, {"ts": "2024-05-01T10:00:00Z"}, {"ts": "2024-05-01T11:00:00+02:00"}]
    passed, _ = run_cursor(cursor, rows)
    assert passed == [rows[0], rows[2]]


@pytest.mark.parametrize("column, stored, expected", [
    (pa.array(["2024-05-01T12:45:00Z", "2024-05-01T10:30:00+02:00", "2024-05-01T10:00:00.5Z"]),
     "2024-05-01T13:00:00+02:00", [0]),
    (pa.array(["2024-05-01T12:45:00", "2024-05-01T10:00:00"]), "2024-05-01T13:00:00+02:00", [0]),
    (pa.array([datetime.datetime(2024, 5, 1, 12), datetime.datetime(2024, 5, 1, 10)]),
     datetime.datetime(2024, 5, 1, 11, tzinfo=UTC), [0]),
    (pa.array([datetime.datetime(2024, 5, 1, 12), datetime.datetime(2024, 5, 1, 10)], pa.timestamp("ns", "UTC")),
     "2024-05-01T13:00:00+02:00", [0]),
    (pa.array([datetime.date(2024, 5, 2), datetime.date(2024, 4, 30)]), "2024-05-01T13:00:00+02:00", [0]),
    (pa.array([datetime.datetime(2024, 5, 1, 12), datetime.datetime(2024, 5, 1, 10)]),
     datetime.date(2024, 5, 1), [0, 1]),
])
def test_arrow_columns_are_compared_as_instants(column, stored, expected):
    table = pa.table({"id": list(range(len(column))), "ts": column})
    cursor = Incremental("ts", primary_key="id")
    passed, state = run_cursor(cursor, [table], {"last_value": stored, "unique_hashes": []})
    assert passed[0].column("id").to_pylist() == expected


def test_arrow_boundary_rows_at_the_stored_instant_are_not_repeated():
    cursor = Incremental("ts", initial_value="2024-05-01T00:00:00Z", primary_key="id")
    first = pa.table({"id": [1, 2], "ts": ["2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"]})
    _, stored = run_cursor(cursor, [first])
    assert stored["last_value"] == "2024-05-01T11:00:00Z"
    second = pa.table({"id": [2, 3, 4], "ts": ["2024-05-01T13:00:00+02:00", "2024-05-01T13:00:00+02:00",
                                              "2024-05-01T11:30:00Z"]})
    passed, stored = run_cursor(cursor, [second], stored)
    assert passed[0].column("id").to_pylist() == [3, 4]
    assert stored["last_value"] == "2024-05-01T11:30:00Z"


@pytest.mark.parametrize("stored, item", [
    ("2024-05-01T10:00:00Z", {"id": 2, "ts": "not a timestamp"}),
    ("2024-05-01T10:00:00Z", pa.table({"id": [2], "ts": ["not a timestamp"]})),
    (5, pa.table({"id": [2], "ts": [datetime.datetime(2024, 5, 1)]})),
])
def test_values_that_cannot_be_compared_name_the_resource_and_cursor(stored, item):
    from dataload.exceptions import ResourceError

    with pytest.raises(ResourceError, match=r"'r'.*'ts'|'ts'.*'r'"):
        run_cursor(Incremental("ts", primary_key="id"), [item], {"last_value": stored, "unique_hashes": []})
