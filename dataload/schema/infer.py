"""Type inference and coercion, one column (an Arrow array) at a time.

* :func:`infer_column` gives the column (type and hints) for an Arrow array; text that is entirely ISO 8601
  timestamps or dates is detected as ``timestamp`` / ``date``.
* :func:`coerce` fits an array into a column of a known type and returns the values that do not
  fit separately, so the caller can put them into a variant column instead of dropping them.

Documented coercions: naive timestamps are taken as UTC; ints beyond 64 bits become ``decimal``
(``decimal(38, 9)``, up to 29 digits) and text beyond that; NaN and infinity stay doubles. Arrow
types are kept where the schema has them: decimal precision and scale, integer width (a
``bigint``'s ``precision`` is its width in bits: 8, 16, 32 or 64). A ``timedelta`` or an Arrow
``duration`` is a ``bigint`` of microseconds. Lossless conversions into a column's type are made
(see :func:`coerce`); anything finer than microseconds is cut to microseconds and counted by
:func:`truncated_count`.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataload.schema.model import DEFAULT_PRECISION, DEFAULT_SCALE, Column, decimal_size, integer_bits

MAX_DECIMAL128 = 38
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
_ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_ISO_TIMESTAMP_TEXT = re.compile(_ISO_TIMESTAMP)
_ISO_DATE_TEXT = re.compile(_ISO_DATE)
_INT64 = (-(2**63), 2**63 - 1)
_INTEGER_TYPES = {8: pa.int8(), 16: pa.int16(), 32: pa.int32(), 64: pa.int64()}


def arrow_type_for(column: Column) -> pa.DataType:
    """The Arrow type that load files use for ``column``.

    >>> arrow_type_for(Column("x", "bigint"))
    DataType(int64)
    """
    kind = column.data_type
    if kind == "decimal":
        precision, scale = decimal_size(column)
        return pa.decimal128(precision, scale) if precision <= MAX_DECIMAL128 else pa.decimal256(precision, scale)
    if kind == "bigint":
        return _INTEGER_TYPES[integer_bits(column)]
    return _SIMPLE_ARROW_TYPES[kind or "text"]


_SIMPLE_ARROW_TYPES: dict[str, pa.DataType] = {
    "double": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "json": pa.string(),
    "timestamp": TIMESTAMP_TYPE,
    "date": pa.date32(),
    "time": pa.time64("us"),
    "binary": pa.binary(),
}


def data_type_of_arrow(arrow_type: pa.DataType) -> str | None:
    """The dataload type for an Arrow type; None for the null type (no value seen yet).

    >>> data_type_of_arrow(pa.int32())
    'bigint'
    """
    t = pa.types
    checks = (
        (t.is_null, None), (t.is_boolean, "bool"), (t.is_integer, "bigint"), (t.is_floating, "double"),
        (t.is_decimal, "decimal"), (t.is_timestamp, "timestamp"), (t.is_date, "date"), (t.is_time, "time"),
        (t.is_duration, "bigint"), (_is_string, "text"), (_is_binary, "binary"), (t.is_dictionary, "text"),
    )
    for check, kind in checks:
        if check(arrow_type):
            return kind
    return "json"


def _is_string(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
                or pa.types.is_string_view(arrow_type))


def _is_binary(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type)
                or pa.types.is_fixed_size_binary(arrow_type) or pa.types.is_binary_view(arrow_type))


def infer_column(name: str, array: pa.Array) -> Column | None:
    """A new column for ``array``, of a type that holds its values; None when it holds only nulls.

    >>> infer_column("when", pa.array(["2024-03-01T10:00:00Z"])).data_type
    'timestamp'
    """
    array = plain_array(array)
    kind = data_type_of_arrow(array.type)
    if kind is None:
        return None
    if kind == "text":
        kind = _detect_text_type(array)
    if kind == "decimal":
        return _decimal_column(name, array.type)
    if kind == "bigint":
        return _integer_column(name, array)
    return Column(name, kind)


def _decimal_column(name: str, arrow_type: pa.Decimal128Type) -> Column:
    """Precision and scale kept; wider than 38 digits (more than most destinations hold) is text."""
    precision, scale = arrow_type.precision, arrow_type.scale
    if precision > MAX_DECIMAL128:
        return Column(name, "text")
    if (precision, scale) == (DEFAULT_PRECISION, DEFAULT_SCALE):
        return Column(name, "decimal")
    return Column(name, "decimal", precision=precision, scale=scale)


def _integer_column(name: str, array: pa.Array) -> Column:
    """The width kept (unsigned ints get the next signed width); a uint64 beyond 2^63 is decimal(20, 0)."""
    arrow_type = array.type
    bits = arrow_type.bit_width * (2 if pa.types.is_unsigned_integer(arrow_type) else 1)
    if bits > 64:
        if (pc.max(array).as_py() or 0) > _INT64[1]:
            return Column(name, "decimal", precision=20, scale=0)
        bits = 64
    return Column(name, "bigint", precision=bits if bits < 64 else None)


def decimal_type_for_values(arrow_type: pa.DataType) -> pa.DataType:
    """The decimal type for Python ``Decimal`` values whose tightest type is ``arrow_type``.

    Values from Python get room to grow: precision 38, scale at least 9 (the default) unless the
    integer digits need it; more than 38 digits keeps the tight type (it becomes ``text``).

    >>> decimal_type_for_values(pa.decimal128(3, 2))
    Decimal128Type(decimal128(38, 9))
    """
    if arrow_type.precision > MAX_DECIMAL128:
        return arrow_type
    digits = arrow_type.precision - arrow_type.scale
    return pa.decimal128(DEFAULT_PRECISION, min(max(arrow_type.scale, DEFAULT_SCALE), DEFAULT_PRECISION - digits))


def with_room_for_python_decimals(arrow_type: pa.DataType) -> pa.DataType:
    """``arrow_type`` (as Arrow inferred it from Python values) with every decimal widened as
    :func:`decimal_type_for_values` does, inside structs and lists too.

    >>> with_room_for_python_decimals(pa.struct([("d", pa.decimal128(2, 1))]))
    StructType(struct<d: decimal128(38, 9)>)
    """
    if pa.types.is_decimal(arrow_type):
        return decimal_type_for_values(arrow_type)
    if pa.types.is_struct(arrow_type):
        return pa.struct([f.with_type(with_room_for_python_decimals(f.type)) for f in arrow_type])
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        value = arrow_type.value_field
        kind = pa.list_ if pa.types.is_list(arrow_type) else pa.large_list
        return kind(value.with_type(with_room_for_python_decimals(value.type)))
    return arrow_type


def variant_type(name: str, values: pa.Array, of: Column) -> Column:
    """The column for ``values`` that did not fit column ``of``: never of ``of``'s own type (then text).

    >>> variant_type("n", pa.array([2**40]), Column("n", "bigint", precision=32)).data_type
    'text'
    """
    inferred = infer_column(name, values)
    if inferred is None or inferred.data_type == of.data_type:
        return Column(name, "text")
    return inferred


def plain_array(array: pa.Array) -> pa.Array:
    """``array`` in the form columns are fitted from.

    Dictionary-encoded arrays (pandas categoricals) are decoded, large and view strings become
    strings, a ``duration`` becomes int64 microseconds, and nanosecond timestamps and times are
    cut to microseconds (:func:`truncated_count` counts what that loses).
    """
    arrow_type = array.type
    if pa.types.is_dictionary(arrow_type):
        return plain_array(array.dictionary_decode())
    if pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return pc.cast(array, pa.string())
    if pa.types.is_duration(arrow_type):
        micros = pc.cast(array, pa.duration("us"), safe=arrow_type.unit != "ns")  # only ns may lose digits
        return pc.cast(micros, pa.int64())
    if _finer_than_micros(arrow_type):
        return pc.cast(array, _in_micros(arrow_type), safe=False)
    return array


def _finer_than_micros(arrow_type: pa.DataType) -> bool:
    t = pa.types
    return bool((t.is_timestamp(arrow_type) or t.is_time(arrow_type) or t.is_duration(arrow_type))
                and arrow_type.unit == "ns")


def _in_micros(arrow_type: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(arrow_type):
        return pa.timestamp("us", arrow_type.tz)
    return pa.time64("us") if pa.types.is_time(arrow_type) else pa.duration("us")


def truncated_count(array: pa.Array) -> int:
    """How many values of ``array`` lose digits below a microsecond when fitted (0 for other types).

    >>> truncated_count(pa.array([1_000, 1_001], pa.timestamp("ns")))
    1
    """
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if not _finer_than_micros(array.type):
        return 0
    cut = pc.cast(pc.cast(array, _in_micros(array.type), safe=False), array.type)
    return int(pc.sum(pc.not_equal(cut, array)).as_py() or 0)


def _detect_text_type(array: pa.Array) -> str:
    values = array.drop_null()
    if len(values) == 0:
        return "text"
    if pc.all(pc.match_substring_regex(values, _ISO_DATE)).as_py() and _parses(values, pa.date32()):
        return "date"
    if pc.all(pc.match_substring_regex(values, _ISO_TIMESTAMP)).as_py() and _parse_timestamps(values) is not None:
        return "timestamp"
    return "text"


def _parses(values: pa.Array, target: pa.DataType) -> bool:
    try:
        pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def coerce(array: pa.Array, column: Column) -> tuple[pa.Array, pa.Array | None]:
    """Fit ``array`` into ``column``; values that do not fit are returned apart (None if all fit).

    The first array has the column's Arrow type with nulls where a value did not fit; the second
    holds exactly those values (nulls elsewhere), still in their own type. Conversions that lose
    nothing are made: ints and decimals into text, canonical integer text into ``bigint``, numeric
    text into ``double`` / ``decimal``, ISO 8601 text into ``timestamp`` / ``date`` / ``time``,
    ``0`` / ``1`` and ``"true"`` / ``"false"`` into ``bool``, ints into a narrower int column when in
    range. Text is matched by pattern and cast by Arrow, one column at a time.

    >>> coerce(pa.array([1, 2]), Column("x", "double"))[0].type
    DataType(double)
    """
    target = arrow_type_for(column)
    array = plain_array(array)
    if array.type == target:
        return array, None
    source = data_type_of_arrow(array.type)
    if source is None:
        return pa.nulls(len(array), target), None
    fitted = _vectorized_cast(array, column, target)
    if fitted is not None:
        return fitted, None
    partial = _PARTIAL_CASTS.get((source, column.data_type or "text"))
    if partial is not None:
        split = _cast_where(array, partial[0](array, target), target, partial[1])
        if split is not None:
            return split
    return _coerce_each(array, column, target)


_Mask = Callable[[pa.Array, pa.DataType], pa.Array]
_Cast = Callable[[pa.Array, pa.DataType], "pa.Array | None"]


def _cast_where(array: pa.Array, mask: pa.Array, target: pa.DataType,
                cast: _Cast) -> tuple[pa.Array, pa.Array | None] | None:
    """The values where ``mask`` is true cast to ``target``, the others apart; None if a cast failed."""
    if pc.all(mask).as_py():  # every value converts (the usual case; nulls are skipped): no masking
        whole = cast(array, target)
        return None if whole is None else (whole, None)
    mask = pc.fill_null(mask, False)
    fitted = cast(pc.if_else(mask, array, pa.scalar(None, array.type)), target)
    if fitted is None:
        return None
    rest = pc.if_else(mask, pa.scalar(None, array.type), array)
    return fitted, (rest if rest.null_count < len(rest) else None)


def _cast(array: pa.Array, target: pa.DataType) -> pa.Array | None:
    try:
        return pc.cast(array, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def _matching(pattern: str) -> _Mask:
    return lambda array, _target: pc.match_substring_regex(array, pattern)


def _bool_text(array: pa.Array, _target: pa.DataType) -> pa.Array:
    return pc.is_in(pc.utf8_lower(array), value_set=pa.array(["true", "false"]))


def _cast_bool_text(array: pa.Array, target: pa.DataType) -> pa.Array | None:
    return _cast(pc.utf8_lower(array), target)


def _zero_or_one(array: pa.Array, _target: pa.DataType) -> pa.Array:
    return pc.is_in(array, value_set=pa.array([0, 1], array.type))


def _in_range(array: pa.Array, target: pa.DataType) -> pa.Array:
    """Ints that the (narrower or signed) integer type ``target`` holds."""
    source_info, target_info = np.iinfo(array.type.to_pandas_dtype()), np.iinfo(target.to_pandas_dtype())
    low, high = max(source_info.min, target_info.min), min(source_info.max, target_info.max)
    return pc.and_(pc.greater_equal(array, pa.scalar(low, array.type)),
                   pc.less_equal(array, pa.scalar(high, array.type)))


def _cast_decimal_text(array: pa.Array, target: pa.DataType) -> pa.Array | None:
    """Number text as ``target`` decimals; None (they are then converted one by one) when a value is too
    wide: Arrow wraps such a value around instead of refusing it (36 digits into decimal(38, 9) give
    a 29-digit number), so each result is checked against the text read as a double."""
    fitted = _cast(array, target)
    if fitted is None:
        return None
    expected = pc.cast(array, pa.float64())
    error = pc.abs(pc.subtract(pc.cast(fitted, pa.float64()), expected))
    return None if pc.any(pc.greater(error, pc.multiply(pc.abs(expected), 1e-9))).as_py() else fitted


def _cast_timestamps(array: pa.Array, _target: pa.DataType) -> pa.Array | None:
    return _cast_iso_timestamps(array)


_INTEGER_TEXT = r"^-?(0|[1-9]\d*)$"  # canonical only: "007" or "+5" would not come back as written
_NUMBER_TEXT = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_TIME_TEXT = r"^\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$"
_PARTIAL_CASTS: dict[tuple[str, str], tuple[_Mask, _Cast]] = {
    ("text", "bigint"): (_matching(_INTEGER_TEXT), _cast),
    ("text", "double"): (_matching(_NUMBER_TEXT), _cast),
    ("text", "decimal"): (_matching(_NUMBER_TEXT), _cast_decimal_text),
    ("text", "timestamp"): (_matching(_ISO_TIMESTAMP), _cast_timestamps),
    ("text", "date"): (_matching(_ISO_DATE), _cast),
    ("text", "time"): (_matching(_TIME_TEXT), _cast),
    ("text", "bool"): (_bool_text, _cast_bool_text),
    ("bigint", "bool"): (_zero_or_one, _cast),
    ("bigint", "bigint"): (_in_range, _cast),
}


def _vectorized_cast(array: pa.Array, column: Column, target: pa.DataType) -> pa.Array | None:
    source_kind = data_type_of_arrow(array.type)
    allowed = _ALLOWED_CASTS.get(column.data_type or "", ())
    if source_kind != column.data_type and source_kind not in allowed:
        return None
    if source_kind == "timestamp" and array.type.tz is None:
        array = pc.assume_timezone(array, "UTC")
    if source_kind == "decimal" and column.data_type == "double":
        # Arrow's decimal-to-double cast is not correctly rounded (-0.99 gives -0.9900000000000001);
        # parsing the decimal's text is, and gives the nearest double
        array = pc.cast(array, pa.string())
    return _cast(array, target)


_ALLOWED_CASTS: dict[str, tuple[str, ...]] = {
    "double": ("bigint", "decimal"),
    "decimal": ("bigint", "double"),
    "text": ("bigint", "decimal"),
    "json": ("text",),
}


def _parse_timestamps(array: pa.Array) -> pa.Array | None:
    if not pc.all(pc.match_substring_regex(array.drop_null(), _ISO_TIMESTAMP)).as_py():
        return None
    return _cast_iso_timestamps(array)


def _cast_iso_timestamps(array: pa.Array) -> pa.Array | None:
    """ISO 8601 text (already matched) as UTC timestamps; None when a value is no real date-time."""
    try:
        return pc.cast(array, TIMESTAMP_TYPE)
    except pa.ArrowInvalid:
        pass
    try:  # all naive: they are taken as UTC
        return pc.assume_timezone(pc.cast(array, pa.timestamp("us")), "UTC")
    except pa.ArrowInvalid:
        pass
    try:  # a mix of naive and zoned strings, lowercase z, nanoseconds: parsed one by one
        return pa.array([None if v is None else _FROM_TEXT["timestamp"](v) for v in array.to_pylist()],
                        type=TIMESTAMP_TYPE)
    except ValueError:
        return None


def iso_instants(array: pa.Array) -> pa.Array | None:
    """ISO 8601 text as UTC timestamps (a date is its midnight), or None when some value is neither.

    >>> iso_instants(pa.array(["2024-05-01T13:00:00+02:00"])).to_pylist()[0].hour
    11
    """
    values = array.drop_null()
    if len(values) and pc.all(pc.match_substring_regex(values, _ISO_DATE)).as_py() and _parses(values, pa.date32()):
        return pc.assume_timezone(pc.cast(pc.cast(array, pa.date32()), pa.timestamp("us")), "UTC")
    return _parse_timestamps(array)


def parse_iso_text(text: str) -> datetime.datetime | datetime.date | None:
    """The instant (an aware UTC datetime) or date an ISO 8601 text holds, or None when it holds neither.

    Naive timestamps are taken as UTC, as everywhere in dataload.

    >>> parse_iso_text("2024-05-01T13:00:00+02:00")
    datetime.datetime(2024, 5, 1, 11, 0, tzinfo=datetime.timezone.utc)
    """
    try:
        if _ISO_DATE_TEXT.match(text):
            return datetime.date.fromisoformat(text)
        if _ISO_TIMESTAMP_TEXT.match(text):
            return _FROM_TEXT["timestamp"](text)  # type: ignore[no-any-return]
    except ValueError:
        return None
    return None


def as_utc(value: datetime.datetime) -> datetime.datetime:
    """``value`` in UTC; a naive value is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _coerce_each(array: pa.Array, column: Column, target: pa.DataType) -> tuple[pa.Array, pa.Array | None]:
    fitted: list[Any] = []
    rest: list[Any] = []
    for value in array.to_pylist():
        converted = coerce_value(value, column.data_type or "text")
        if converted is not _NO_FIT and converted is not None and not _fits_arrow(converted, target):
            converted = _NO_FIT
        if converted is _NO_FIT:
            fitted.append(None)
            rest.append(value)
        else:
            fitted.append(converted)
            rest.append(None)
    leftovers = pa.array(rest, type=array.type) if any(v is not None for v in rest) else None
    return pa.array(fitted, type=target), leftovers


_NO_FIT = object()


def _fits_arrow(value: Any, target: pa.DataType) -> bool:
    try:
        pa.scalar(value, type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, ValueError):
        return False
    return True


def coerce_value(value: Any, data_type: str) -> Any:
    """Python value converted for a column of ``data_type``, or a marker when it does not fit.

    >>> coerce_value("2024-03-01", "date")
    datetime.date(2024, 3, 1)
    """
    if value is None:
        return None
    kind = python_data_type(value)
    if kind == data_type:
        return as_utc(value) if kind == "timestamp" else value
    try:
        if data_type == "double" and kind in ("bigint", "decimal"):
            return float(value)
        if data_type == "decimal" and kind in ("bigint", "double"):
            return decimal.Decimal(str(value))
        if data_type == "text" and kind in ("bigint", "decimal"):
            return str(value)
        if data_type == "bool" and kind == "bigint" and value in (0, 1):
            return bool(value)
        if kind == "text" and data_type in _FROM_TEXT:
            return _FROM_TEXT[data_type](value)
    except (ValueError, decimal.InvalidOperation, OverflowError):
        return _NO_FIT
    return _NO_FIT


_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "timestamp": lambda s: as_utc(datetime.datetime.fromisoformat(_to_micros(s.replace("z", "Z")))),
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "json": lambda s: s,
    "decimal": lambda s: decimal.Decimal(_matched(s, _NUMBER_TEXT)),
    "bigint": lambda s: int(_matched(s, _INTEGER_TEXT)),
    "double": lambda s: float(_matched(s, _NUMBER_TEXT)),
    "bool": lambda s: {"true": True, "false": False}[_matched(s.lower(), "^(true|false)$")],
}


def _matched(text: str, pattern: str) -> str:
    """``text`` when it matches ``pattern`` (the same patterns the columnar path uses), else ValueError."""
    if re.match(pattern, text) is None:
        raise ValueError(f"{text!r} does not match {pattern}")
    return text


def _to_micros(text: str) -> str:
    """ISO text with a fraction longer than microseconds cut to six digits (Python parses no more)."""
    return re.sub(r"(\.\d{6})\d+", r"\1", text)


def python_data_type(value: Any) -> str | None:
    """The dataload type of one Python value (None for None).

    >>> [python_data_type(v) for v in (True, 1, 2**70, 1.5, "x")]
    ['bool', 'bigint', 'decimal', 'double', 'text']
    """
    if value is None:
        return None
    for py_type, kind in _PY_TYPES:
        if isinstance(value, py_type):
            if kind == "bigint" and isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
                return "decimal" if len(str(abs(value))) <= DEFAULT_PRECISION - DEFAULT_SCALE else "text"
            return kind
    return "json"


_PY_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "bool"), (int, "bigint"), (float, "double"), (decimal.Decimal, "decimal"), (str, "text"),
    (datetime.datetime, "timestamp"), (datetime.date, "date"), (datetime.time, "time"),
    ((bytes, bytearray, memoryview), "binary"),
)


def duration_micros(value: datetime.timedelta) -> int:
    """A ``timedelta`` as the ``bigint`` dataload stores it: whole microseconds.

    >>> duration_micros(datetime.timedelta(seconds=1, microseconds=5))
    1000005
    """
    return value // _MICROSECOND


_MICROSECOND = datetime.timedelta(microseconds=1)


def to_json_text(value: Any) -> str:
    """Serialize a nested value for a ``json`` column (datetimes and decimals as strings).

    >>> to_json_text({"a": [1, 2]})
    '{"a": [1, 2]}'
    """
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return duration_micros(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"value of type {type(value).__name__} cannot be stored as JSON")
