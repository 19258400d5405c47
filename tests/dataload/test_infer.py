"""Type inference and coercion (docs/normalization.md, "Types" and "variant columns") as truth tables."""

from __future__ import annotations

import datetime
import decimal
import math
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from dataload.normalize.flatten import build_column, plain_value
from dataload.schema.infer import coerce, infer_column, python_data_type, truncated_count, variant_type
from dataload.schema.model import Column

UTC = datetime.timezone.utc
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
DIGITS_29 = 10**29 - 1  # the largest int with 29 digits
DIGITS_30 = 10**29  # the smallest int with 30 digits


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        # bool is checked before int (bool is a subclass of int)
        (True, "bool"),
        (False, "bool"),
        # ints within 64 bits
        (0, "bigint"),
        (1, "bigint"),
        (-1, "bigint"),
        (INT64_MAX, "bigint"),
        (INT64_MIN, "bigint"),
        # beyond 64 bits, up to 29 digits: decimal
        (INT64_MAX + 1, "decimal"),
        (INT64_MIN - 1, "decimal"),
        (2**70, "decimal"),
        (10**28, "decimal"),  # 29 digits
        (DIGITS_29, "decimal"),
        (-DIGITS_29, "decimal"),  # the sign is not a digit
        # more than 29 digits: text
        (DIGITS_30, "text"),
        (-DIGITS_30, "text"),
        (10**40, "text"),
        # floats, NaN and infinity included
        (1.5, "double"),
        (0.0, "double"),
        (float("nan"), "double"),
        (float("inf"), "double"),
        (float("-inf"), "double"),
        (decimal.Decimal("1.5"), "decimal"),
        (decimal.Decimal("0.0000000000001"), "decimal"),
        ("x", "text"),
        ("", "text"),
        (datetime.datetime(2024, 3, 1, 10, 0), "timestamp"),  # datetime is checked before date
        (datetime.datetime(2024, 3, 1, 10, 0, tzinfo=UTC), "timestamp"),
        (datetime.date(2024, 3, 1), "date"),
        (datetime.time(10, 0, 0), "time"),
        (b"\x00\xff", "binary"),
        (b"", "binary"),
        (bytearray(b"ab"), "binary"),
        (memoryview(b"ab"), "binary"),
    ],
)
def test_python_data_type(value: Any, expected: str | None) -> None:
    assert python_data_type(value) == expected


def _kind(values: Any, arrow_type: pa.DataType | None = None) -> str | None:
    column = infer_column("x", pa.array(values, type=arrow_type))
    return None if column is None else column.data_type


@pytest.mark.parametrize(
    "values, expected",
    [
        # ISO 8601 date-times in every common spelling
        (["2024-03-01T10:00:00Z"], "timestamp"),
        (["2024-03-01T10:00:00z"], "timestamp"),
        (["2024-03-01T10:00:00+02:00"], "timestamp"),
        (["2024-03-01T10:00:00-05:00"], "timestamp"),
        (["2024-03-01T10:00:00+0200"], "timestamp"),
        (["2024-03-01T10:00:00"], "timestamp"),  # naive
        (["2024-03-01 10:00:00"], "timestamp"),  # space separator
        (["2024-03-01 10:00:00+00:00"], "timestamp"),
        (["2024-03-01T10:00:00.5Z"], "timestamp"),
        (["2024-03-01T10:00:00.123Z"], "timestamp"),
        (["2024-03-01T10:00:00.123456"], "timestamp"),
        (["2024-03-01T10:00:00.123456+01:00"], "timestamp"),
        (["2024-03-01T10:00:00.123456789Z"], "timestamp"),
        (["2024-03-01T10:00Z"], "timestamp"),
        (["2024-03-01T10:00:00Z", "2024-03-02 11:00:00", "2024-03-03T12:00:00.1+01:00"], "timestamp"),
        (["2024-03-01T10:00:00Z", None], "timestamp"),  # nulls do not count
        # YYYY-MM-DD is a date
        (["2024-03-01"], "date"),
        (["2024-03-01", "1999-12-31", None], "date"),
        # anything else, or a mix, is text
        (["2024-03-01", "2024-03-01T10:00:00Z"], "text"),
        (["2024-03-01T10:00:00Z", "hello"], "text"),
        (["2024-03-01", "hello"], "text"),
        (["hello"], "text"),
        ([""], "text"),
        (["2024-03-01T10:00:00Z", ""], "text"),
        (["20240301"], "text"),
        (["03/01/2024"], "text"),
        (["2024-03-01 T10:00:00"], "text"),
        (["10:00:00"], "text"),
        (["1", "2"], "text"),  # digits in strings are not converted
        # only nulls: no type yet
        ([None], None),
        ([None, None, None], None),
        # numbers, booleans and other Arrow types
        ([1, 2, 3], "bigint"),
        ([INT64_MAX, INT64_MIN], "bigint"),
        ([1, None], "bigint"),
        (pa.array([1], pa.int8()), "bigint"),
        (pa.array([1], pa.int32()), "bigint"),
        (pa.array([1], pa.uint16()), "bigint"),
        ([1.5, float("nan"), float("inf")], "double"),
        (pa.array([1.5], pa.float32()), "double"),
        ([True, False, None], "bool"),
        ([decimal.Decimal("1.5"), decimal.Decimal("-2.25")], "decimal"),
        ([datetime.datetime(2024, 3, 1)], "timestamp"),
        ([datetime.datetime(2024, 3, 1, tzinfo=UTC)], "timestamp"),
        ([datetime.date(2024, 3, 1)], "date"),
        ([datetime.time(10, 0)], "time"),
        ([b"\x00"], "binary"),
        (pa.array([b"\x00"], pa.large_binary()), "binary"),
        (pa.array(["a"], pa.large_string()), "text"),
        (pa.array(["2024-03-01T10:00:00Z"], pa.large_string()), "timestamp"),
    ],
)
def test_infer_column(values: Any, expected: str | None) -> None:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        column = infer_column("x", values)
        assert (None if column is None else column.data_type) == expected
    else:
        assert _kind(values) == expected


def test_infer_column_dictionary_encoded_strings_are_text() -> None:
    column = infer_column("x", pa.array(["a", "b", "a"]).dictionary_encode())
    assert column is not None and column.data_type == "text"


@pytest.mark.parametrize(
    "values",
    [
        ["2024-02-30"],  # no such day
        ["2024-13-01"],  # no such month
        ["2024-03-01T25:00:00Z"],  # no such hour
        ["2024-03-01T10:61:00Z"],  # no such minute
    ],
)
def test_infer_column_invalid_dates_are_text(values: list[str]) -> None:
    assert _kind(values) == "text"


def test_infer_column_keeps_the_name() -> None:
    column = infer_column("signed_up", pa.array(["2024-03-01T10:00:00Z"]))
    assert column is not None and column.name == "signed_up"


@pytest.mark.parametrize(
    "values, min_scale",
    [
        ([decimal.Decimal("1.5")], 9),  # default decimal(38, 9)
        ([decimal.Decimal("0.0000000000001")], 13),  # a wider scale is kept
        ([decimal.Decimal("1.123456789012")], 12),
    ],
)
def test_infer_column_decimal_scale(values: list[decimal.Decimal], min_scale: int) -> None:
    column = infer_column("amount", build_column(values, "t", "amount")[0])  # as records are built
    assert column is not None and column.data_type == "decimal"
    assert (9 if column.scale is None else column.scale) >= min_scale
    assert (38 if column.precision is None else column.precision) <= 38


# --- coerce -------------------------------------------------------------------------------------

def _coerce(values: Any, data_type: str, arrow_type: pa.DataType | None = None,
            **column: Any) -> tuple[list[Any], list[Any] | None]:
    if data_type == "bigint32":  # a bigint with a width hint (an INTEGER column)
        data_type, column = "bigint", {**column, "precision": 32}
    fitted, leftovers = coerce(pa.array(values, type=arrow_type), Column("x", data_type, **column))
    assert len(fitted) == len(values)
    return fitted.to_pylist(), None if leftovers is None else leftovers.to_pylist()


def _utc(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "values, data_type, expected",
    [
        # same type: unchanged
        ([1, None, 3], "bigint", [1, None, 3]),
        (["a", None], "text", ["a", None]),
        ([1.5], "double", [1.5]),
        ([True, False], "bool", [True, False]),
        # int into double / decimal loses nothing
        ([1, 2, None], "double", [1.0, 2.0, None]),
        ([-7], "double", [-7.0]),
        ([1, 2], "decimal", [decimal.Decimal(1), decimal.Decimal(2)]),
        ([INT64_MAX], "decimal", [decimal.Decimal(INT64_MAX)]),
        # ISO strings into timestamp (always UTC; naive ones taken as UTC)
        (["2024-03-01T10:00:00Z"], "timestamp", [_utc(2024, 3, 1, 10, 0)]),
        (["2024-03-01T12:00:00+02:00"], "timestamp", [_utc(2024, 3, 1, 10, 0)]),
        (["2024-03-01T05:00:00-05:00"], "timestamp", [_utc(2024, 3, 1, 10, 0)]),
        (["2024-03-01T10:00:00"], "timestamp", [_utc(2024, 3, 1, 10, 0)]),
        (["2024-03-01 10:00:00"], "timestamp", [_utc(2024, 3, 1, 10, 0)]),
        (["2024-03-01T10:00:00.123456Z"], "timestamp", [_utc(2024, 3, 1, 10, 0, 0, 123456)]),
        (["2024-03-01T10:00:00.5Z"], "timestamp", [_utc(2024, 3, 1, 10, 0, 0, 500000)]),
        (["2024-03-01T10:00:00", "2024-03-01T10:00:00Z"], "timestamp",  # naive and zoned mixed
         [_utc(2024, 3, 1, 10, 0), _utc(2024, 3, 1, 10, 0)]),
        (["2024-03-01T10:00:00Z", None], "timestamp", [_utc(2024, 3, 1, 10, 0), None]),
        # ISO strings into date / time
        (["2024-03-01", None], "date", [datetime.date(2024, 3, 1), None]),
        (["10:00:00"], "time", [datetime.time(10, 0, 0)]),
        (["10:00:00.250000"], "time", [datetime.time(10, 0, 0, 250000)]),
        # datetimes into timestamp: naive taken as UTC, aware converted to UTC
        ([datetime.datetime(2024, 3, 1, 10, 0)], "timestamp", [_utc(2024, 3, 1, 10, 0)]),
        ([datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))],
         "timestamp", [_utc(2024, 3, 1, 10, 0)]),
        # lossless conversions into a declared type
        ([7, 8, None], "text", ["7", "8", None]),
        ([-(2**63)], "text", [str(-(2**63))]),
        ([decimal.Decimal("1.25")], "text", ["1.25"]),
        (["7", "-12", "0", None], "bigint", [7, -12, 0, None]),
        ([str(2**63 - 1)], "bigint", [2**63 - 1]),
        (["1.5", "-2", "1e3", ".5"], "double", [1.5, -2.0, 1000.0, 0.5]),
        (["12.50", "-3"], "decimal", [decimal.Decimal("12.5"), decimal.Decimal(-3)]),
        ([0, 1, None], "bool", [False, True, None]),
        (["true", "False", "TRUE"], "bool", [True, False, True]),
        ([5, -5], "bigint32", [5, -5]),
        # only nulls fit anything
        ([None, None], "bigint", [None, None]),
        ([None], "timestamp", [None]),
    ],
)
def test_coerce_fits(values: list[Any], data_type: str, expected: list[Any]) -> None:
    fitted, leftovers = _coerce(values, data_type)
    assert leftovers is None
    assert fitted == expected


@pytest.mark.parametrize(
    "values, data_type, fitted_expected, leftovers_expected",
    [
        (["nope"], "bigint", [None], ["nope"]),
        (["nope", None, "x"], "bigint", [None, None, None], ["nope", None, "x"]),
        ([1.5], "bigint", [None], [1.5]),
        ([1.5, None, 2.5], "bigint", [None, None, None], [1.5, None, 2.5]),
        ([1.0], "bigint", [None], [1.0]),  # a float is never silently made an int
        ([True], "bigint", [None], [True]),
        (["n/a"], "timestamp", [None], ["n/a"]),
        (["yesterday", "2024-03-01T10:00:00Z"], "timestamp", [None, _utc(2024, 3, 1, 10, 0)],
         ["yesterday", None]),
        (["n/a"], "date", [None], ["n/a"]),
        (["n/a"], "time", [None], ["n/a"]),
        ([1], "timestamp", [None], [1]),
        ([b"\x00"], "text", [None], [b"\x00"]),
        # text that would not come back as written stays apart
        (["007"], "bigint", [None], ["007"]),
        (["+5"], "bigint", [None], ["+5"]),
        (["1.5"], "bigint", [None], ["1.5"]),
        (["99999999999999999999"], "bigint", [None], ["99999999999999999999"]),  # beyond 64 bits
        (["1", "x", None], "bigint", [1, None, None], [None, "x", None]),
        (["1.5e"], "double", [None], ["1.5e"]),
        (["nan"], "double", [None], ["nan"]),
        # bool only where unambiguous
        ([2], "bool", [None], [2]),
        ([0, 1, -1], "bool", [False, True, None], [None, None, -1]),
        (["yes"], "bool", [None], ["yes"]),
        (["1"], "bool", [None], ["1"]),
        # an int outside a narrower int column
        ([2**40, 5], "bigint32", [None, 5], [2**40, None]),
        ([datetime.date(2024, 3, 1)], "bigint", [None], [datetime.date(2024, 3, 1)]),
    ],
)
def test_coerce_returns_what_does_not_fit(values: list[Any], data_type: str, fitted_expected: list[Any],
                                          leftovers_expected: list[Any]) -> None:
    fitted, leftovers = _coerce(values, data_type)
    assert fitted == fitted_expected
    assert leftovers == leftovers_expected


def test_coerce_leftovers_keep_their_own_type() -> None:
    fitted, leftovers = coerce(pa.array(["nope", None]), Column("x", "bigint"))
    assert fitted.type == pa.int64()
    assert leftovers is not None and pa.types.is_string(leftovers.type)


def test_coerce_result_has_the_column_arrow_type() -> None:
    assert coerce(pa.array([1, 2]), Column("x", "double"))[0].type == pa.float64()
    ts, _ = coerce(pa.array(["2024-03-01T10:00:00Z"]), Column("x", "timestamp"))
    assert pa.types.is_timestamp(ts.type) and ts.type.tz in ("UTC", "+00:00")
    dec, _ = coerce(pa.array([1]), Column("x", "decimal"))
    assert dec.type == pa.decimal128(38, 9)
    hinted, _ = coerce(pa.array([1]), Column("x", "decimal", precision=18, scale=2))
    assert hinted.type == pa.decimal128(18, 2)


def test_coerce_nan_and_infinity_stay_doubles() -> None:
    fitted, leftovers = _coerce([float("nan"), float("inf"), float("-inf")], "double")
    assert leftovers is None
    assert math.isnan(fitted[0]) and fitted[1] == math.inf and fitted[2] == -math.inf


def _lost_nothing(original: Any, fitted: Any, leftover: Any) -> bool:
    """Either the value went to the variant (leftover) or it was converted exactly."""
    if leftover is not None:
        return bool(leftover == original)
    return fitted is not None and decimal.Decimal(fitted) == decimal.Decimal(original)


@pytest.mark.parametrize("value, expected", [
    (2**53 + 1, float(2**53)),            # documented: the nearest double
    (decimal.Decimal("0.1"), 0.1),
])
def test_numbers_go_into_a_double_column_as_the_nearest_double(value: Any, expected: float) -> None:
    fitted, leftovers = _coerce([value], "double")
    assert leftovers is None and fitted[0] == expected


def test_coerce_wider_decimal_into_decimal_column_is_a_leftover() -> None:
    value = decimal.Decimal("1.123456789123")
    fitted, leftovers = _coerce([value, decimal.Decimal("2.5")], "decimal")
    assert fitted[1] == decimal.Decimal("2.5")
    assert _lost_nothing(value, fitted[0], None if leftovers is None else leftovers[0])


# --- Arrow types kept, a new column holds its first values ----------------------------------------------

@pytest.mark.parametrize("array, expected", [
    (pa.array([decimal.Decimal("1.25")], pa.decimal128(10, 2)), ("decimal", 10, 2)),
    (pa.array([decimal.Decimal("1.25")], pa.decimal128(38, 9)), ("decimal", None, None)),  # the default
    (pa.array([decimal.Decimal("1" * 40)]), ("text", None, None)),  # beyond 38 digits: text holds it
    (pa.array([1], pa.int8()), ("bigint", 8, None)),
    (pa.array([1], pa.int16()), ("bigint", 16, None)),
    (pa.array([1], pa.int32()), ("bigint", 32, None)),
    (pa.array([1], pa.int64()), ("bigint", None, None)),
    (pa.array([1], pa.uint8()), ("bigint", 16, None)),  # the next signed width holds every value
    (pa.array([1], pa.uint16()), ("bigint", 32, None)),
    (pa.array([1], pa.uint32()), ("bigint", None, None)),
    (pa.array([2**63 - 1], pa.uint64()), ("bigint", None, None)),
    (pa.array([2**63], pa.uint64()), ("decimal", 20, 0)),
    (pa.array([1], pa.int32()).dictionary_encode(), ("bigint", 32, None)),
    (pa.array([5], pa.duration("s")), ("bigint", None, None)),  # microseconds
    (pa.array([1], pa.timestamp("ns")), ("timestamp", None, None)),
])
def test_infer_column_keeps_arrow_types(array: pa.Array, expected: tuple[str, int | None, int | None]) -> None:
    column = infer_column("x", array)
    assert column is not None and (column.data_type, column.precision, column.scale) == expected


@pytest.mark.parametrize("values, expected", [
    ([decimal.Decimal("1.5")], (38, 9)),
    ([decimal.Decimal("1" * 30)], (38, 8)),  # 30 integer digits leave room for 8 decimals
    ([decimal.Decimal("0.0000000000001")], (38, 13)),
])
def test_python_decimals_get_room_to_grow(values: list[decimal.Decimal], expected: tuple[int, int]) -> None:
    array = build_column(values, "t", "d")[0]
    assert (array.type.precision, array.type.scale) == expected
    assert array.to_pylist() == values


@pytest.mark.parametrize("values, of, expected", [
    (pa.array([2**40]), Column("n", "bigint", precision=32), "text"),  # same type: text, never n__v_bigint
    (pa.array([decimal.Decimal("1.123456789123")]), Column("d", "decimal"), "text"),
    (pa.array(["x"]), Column("n", "bigint"), "text"),
    (pa.array([2**63], pa.uint64()), Column("u", "bigint"), "decimal"),
    (pa.array([1]), Column("s", "timestamp"), "bigint"),
])
def test_variant_type_is_never_of_the_column_type(values: pa.Array, of: Column, expected: str) -> None:
    assert variant_type(of.name, values, of).data_type == expected


@pytest.mark.parametrize("array, truncated", [
    (pa.array([1_000, 1_001, None], pa.timestamp("ns", tz="UTC")), 1),
    (pa.array([1_000, 2_000], pa.timestamp("ns")), 0),
    (pa.array([1_001], pa.time64("ns")), 1),
    (pa.array([1_001, 7], pa.duration("ns")), 2),
    (pa.array([1_001], pa.timestamp("us")), 0),
    (pa.array([1]), 0),
])
def test_truncated_count(array: pa.Array, truncated: int) -> None:
    assert truncated_count(array) == truncated


def test_durations_are_fitted_as_microseconds() -> None:
    fitted, leftovers = coerce(pa.array([2, None], pa.duration("ms")), Column("x", "bigint"))
    assert leftovers is None and fitted.to_pylist() == [2_000, None]


@pytest.mark.parametrize("value, expected", [
    (datetime.timedelta(seconds=1, microseconds=5), 1_000_005),
    (-datetime.timedelta(microseconds=1), -1),
    (pd.NaT, None),
    (pd.Timedelta(seconds=2), 2_000_000),
])
def test_plain_value_of_durations_and_nat(value: Any, expected: Any) -> None:
    assert plain_value(value, "t", "c") == expected
