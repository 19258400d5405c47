"""A page of dicts converted a column at a time is exactly what ``pa.array(rows)`` made of it.

The reference is the conversion extraction used before (one ``pa.array(rows)`` of the whole page, then
the same checks and decimal widening): for every page both give the same Arrow type and the same
values, or both send the page to the rows path (None).
"""

from __future__ import annotations

import datetime
import decimal
import math
import os
from collections import OrderedDict
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataload.extract.arrow_records import accepted, by_column, records_array
from dataload.values import MAX_NESTING_DEPTH

D = decimal.Decimal
UTC = datetime.timezone.utc


def offset(**delta: int) -> datetime.timezone:
    return datetime.timezone(datetime.timedelta(**delta))


ZONES = [UTC, offset(hours=5, minutes=30), offset(hours=-8), offset(seconds=1, microseconds=5), ZoneInfo("UTC"),
         ZoneInfo("Etc/UTC"), ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]
EXAMPLES = int(os.environ.get("DATALOAD_FUZZ_EXAMPLES") or 300)
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize="DATALOAD_FUZZ_EXAMPLES" not in os.environ,
                    print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


REFUSED = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError, ValueError,
           RecursionError)


def whole_page(rows: list[Any]) -> pa.StructArray | None:
    """The conversion before this module: one ``pa.array`` of the whole page, the same checks after."""
    try:
        records = pa.array(rows)
    except REFUSED:
        return None
    return accepted(rows, records)


def column_at_a_time(rows: list[Any]) -> pa.StructArray | None:
    """:func:`records_array` with every page split into columns, whatever its first row says."""
    try:
        records = by_column(rows)
    except REFUSED:
        return None
    return whole_page(rows) if records is None else accepted(rows, records)


def comparable(value: Any) -> Any:
    """A value from ``to_pylist`` with NaN made equal to itself and the exact form of each value kept."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return [(key, comparable(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [comparable(item) for item in value]
    if isinstance(value, (decimal.Decimal, float, datetime.datetime, datetime.time)):
        return (type(value).__name__, repr(value))  # Decimal("1.50") is not "1.5"; the zone of a datetime counts
    return value


def assert_same_as_whole_page(rows: list[Any]) -> None:
    expected = whole_page(rows)
    for got in (records_array(rows), column_at_a_time(rows)):
        assert_same(got, expected)


def assert_same(got: pa.StructArray | None, expected: pa.StructArray | None) -> None:
    if expected is None:
        assert got is None
        return
    assert got is not None
    assert got.type == expected.type
    assert pa.Table.from_struct_array(got).schema == pa.Table.from_struct_array(expected).schema
    assert got.null_count == expected.null_count
    readable = with_int_timestamps(expected.type)  # an aware 0001-01-01 is before datetime.min in UTC
    assert comparable(got.cast(readable).to_pylist()) == comparable(expected.cast(readable).to_pylist())


def with_int_timestamps(arrow_type: pa.DataType) -> pa.DataType:
    """``arrow_type`` with every timestamp read as its int64 count, inside structs and lists too."""
    if pa.types.is_timestamp(arrow_type):
        return pa.int64()
    if pa.types.is_struct(arrow_type):
        return pa.struct([field.with_type(with_int_timestamps(field.type)) for field in arrow_type])
    if pa.types.is_list(arrow_type):
        return pa.list_(arrow_type.value_field.with_type(with_int_timestamps(arrow_type.value_type)))
    return arrow_type


# -- generated pages ---------------------------------------------------------------------------------
DECIMALS = st.one_of(
    st.decimals(places=2, min_value=-10**10, max_value=10**10),
    st.decimals(allow_nan=False, allow_infinity=False),  # any scale and exponent, 1E+2 included
    st.decimals(places=12, min_value=-1, max_value=1),
    st.integers(-10**40, 10**40).map(D),
    st.sampled_from(["0", "-0", "0.00", "0.05", "-0.050", "12.30", "1E+2", "1.500000000000", "0E-12", "NaN",
                     "123456789012345678901234567890.123456789", "99999999999999999999999999999999999999",
                     "999999999999999999999999999999999999999"]).map(D),
)
NAIVE = st.datetimes()
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "none": st.none(),
    "int": st.integers(-1000, 1000) | st.sampled_from([0, 1, -(2**63), 2**63 - 1]),
    "huge int": st.integers(2**63, 2**70),
    "float": st.floats() | st.sampled_from([0.0, 1.0, -0.0]),
    "bool": st.booleans(),
    "text": st.text(max_size=5),
    "bytes": st.binary(max_size=5),
    "decimal": DECIMALS,
    "naive": NAIVE,
    **{f"aware {zone}": NAIVE.map(lambda value, zone=zone: value.replace(tzinfo=zone)) for zone in ZONES},
    "any zone": st.datetimes(timezones=st.sampled_from(ZONES)),
    "fold": NAIVE.map(lambda value: value.replace(fold=1, tzinfo=ZONES[6])),
    "date": st.dates(),
    "time": st.times() | st.times(timezones=st.sampled_from(ZONES[:3])),
    "timedelta": st.timedeltas(),
    "list": st.lists(st.integers(-5, 5) | st.floats(0, 1) | st.booleans(), max_size=3),
    "dict": st.dictionaries(st.sampled_from(["x", "y"]), st.integers(-5, 5) | DECIMALS | NAIVE, max_size=2),
    "list of dicts": st.lists(st.dictionaries(st.sampled_from(["x", "y"]), st.floats() | st.booleans()), max_size=2),
}
NAMES = ["a", "b", "c", "d", "é", "with space"]


@st.composite
def pages(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Pages whose columns are mostly of one kind (sometimes two), with None, missing keys and keys
    in a different order from row to row."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    kinds = {name: draw(st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=2)) for name in names}
    shuffle, missing = draw(st.booleans()), draw(st.sampled_from([0, 0, 3, 10]))
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        order = draw(st.permutations(names)) if shuffle else names
        row = {}
        for name in order:
            if missing and draw(st.integers(0, missing)) == 0:
                continue
            kind = draw(st.sampled_from(kinds[name]))
            row[name] = None if draw(st.integers(0, 7)) == 0 else draw(VALUES[kind])
        rows.append(row)
    return rows


@PROPERTY
@given(pages())
def test_a_generated_page_converts_as_the_whole_page_did(rows: list[dict[str, Any]]) -> None:
    assert_same_as_whole_page(rows)


@PROPERTY
@given(st.sampled_from(sorted(VALUES)), st.lists(st.booleans(), min_size=1, max_size=40), st.data())
def test_a_column_of_one_kind_converts_as_the_whole_page_did(kind: str, present: list[bool], data: Any) -> None:
    rows = [{"id": i, "v": data.draw(VALUES[kind]) if here else None} for i, here in enumerate(present)]
    assert_same_as_whole_page(rows)


# -- the cases each path turns on, spelled out ---------------------------------------------------------
BERLIN = ZoneInfo("Europe/Berlin")


class Text(str):
    """A str subclass as a key (SQLAlchemy's ``quoted_name`` is one): its column is named by its text."""



T0 = datetime.datetime(2024, 3, 31, 1, 30)
DEEP: dict[str, Any] = {"leaf": 1}
for _ in range(MAX_NESTING_DEPTH + 1):
    DEEP = {"down": DEEP}


@pytest.mark.parametrize("rows, expected_type", [
    ([{"b": 1, "a": 2}, {"a": 1, "c": 3}], "struct<b: int64, a: int64, c: int64>"),  # first-seen order
    ([{"a": 1}, {}, {"b": "x"}], "struct<a: int64, b: string>"),  # missing keys are null
    ([{"a": D("12.30")}, {"a": D("0.05")}, {"a": None}], "struct<a: decimal128(38, 9)>"),
    ([{"a": D("1.1234567890123")}], "struct<a: decimal128(38, 13)>"),  # more than 9 places keep them
    ([{"a": D("0E-12")}], "struct<a: decimal128(38, 12)>"),  # zero with a scale
    ([{"a": D(10**30)}], "struct<a: decimal128(38, 7)>"),  # 31 digits before the point leave 7 after
    ([{"a": D("1E+2")}, {"a": D("1.5")}], "struct<a: decimal128(38, 9)>"),  # an exponent: the general path
    ([{"a": D(10**38)}], "struct<a: decimal256(39, 0)>"),  # too wide for decimal128: kept tight
    ([{"a": T0.replace(tzinfo=UTC)}, {"a": None}], "struct<a: timestamp[us, tz=UTC]>"),
    ([{"a": T0.replace(tzinfo=ZoneInfo("Etc/UTC"))}], "struct<a: timestamp[us, tz=Etc/UTC]>"),
    ([{"a": T0.replace(tzinfo=offset(hours=-3))}], "struct<a: timestamp[us, tz=-03:00]>"),
    ([{"a": T0.replace(tzinfo=BERLIN)}, {"a": T0.replace(tzinfo=BERLIN, fold=1)}],
     "struct<a: timestamp[us, tz=Europe/Berlin]>"),  # a zone with summer time: the general path
    ([{"a": T0.replace(tzinfo=UTC)}, {"a": T0.replace(tzinfo=BERLIN)}], "struct<a: timestamp[us, tz=UTC]>"),
    ([{"a": T0}, {"a": T0.replace(tzinfo=UTC)}], "struct<a: timestamp[us]>"),  # naive first: the first decides
    ([{"a": datetime.datetime(1, 1, 1, tzinfo=offset(hours=5))}], "struct<a: timestamp[us, tz=+05:00]>"),
    ([{"a": [1.5]}, {"a": [2]}], "struct<a: list<item: double>>"),
    ([OrderedDict(a=1), {"a": 2}], "struct<a: int64>"),  # a dict subclass: the whole page at once
    ([{b"a": 1}], "struct<a: int64>"),  # a bytes key: the whole page at once
    ([{Text("a"): D("1.5"), "b": 1}, {"a": None, Text("b"): 2}], "struct<a: decimal128(38, 9), b: int64>"),
    ([{}, {}], "struct<>"),
    ([{"a": 1}, None], "struct<a: int64>"),  # a row that is None: a null row
])
def test_a_page_keeps_its_arrow_type(rows: list[Any], expected_type: str) -> None:
    assert_same_as_whole_page(rows)
    got = column_at_a_time(rows)
    assert got is not None and str(got.type) == expected_type


@pytest.mark.parametrize("rows", [
    [{"a": 1}, {"a": "one"}],  # mixed types in a column
    [{"a": 2.5}, {"a": True}],  # a bool Arrow would make 1.0
    [{"a": [{"b": 2.5}]}, {"a": [{"b": False}]}],  # the same inside lists of dicts
    [{"a": 2**64}],  # an int beyond 64 bits
    [{"a": D("NaN")}],  # a Decimal Arrow cannot hold
    [{"a": D(10**80)}],  # wider than decimal256
    [{"a": DEEP}],  # deeper than MAX_NESTING_DEPTH
    [{"a": 1}, 5],  # a row that is not a dict
])
def test_a_page_arrow_cannot_hold_takes_the_rows_path(rows: list[Any]) -> None:
    assert whole_page(rows) is None
    assert records_array(rows) is None
    assert column_at_a_time(rows) is None


def test_values_of_fast_columns_are_exact() -> None:
    india = offset(hours=5, minutes=30)
    times = [datetime.datetime(1, 1, 1, tzinfo=india), None, datetime.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=india)]
    naive = [datetime.datetime(9999, 12, 31, 23, 59, 59, 999999), None, datetime.datetime(1970, 1, 1)]
    amounts = [D("-0.050"), None, D("123456789012345678901234567890.12345678")]
    got = column_at_a_time([{"d": d, "t": t, "n": n} for d, t, n in zip(amounts, times, naive)])
    assert got is not None
    assert got.field("d").to_pylist() == amounts
    epoch, microsecond = datetime.datetime(1970, 1, 1, tzinfo=UTC), datetime.timedelta(microseconds=1)
    assert got.field("t").cast(pa.int64()).to_pylist() == [None if t is None else (t - epoch) // microsecond
                                                           for t in times]
    assert got.field("n").to_pylist() == naive
