"""Type inference and coercion, one column (an Arrow array) at a time.

* :func:`infer_data_type` gives the dataload type of an Arrow array; text that is entirely ISO 8601
  timestamps or dates is detected as ``timestamp`` / ``date``.
* :func:`coerce` fits an array into a column of a known type and returns the values that do not
  fit separately, so the caller can put them into a variant column instead of dropping them.

Documented coercions: naive timestamps are taken as UTC; ints beyond 64 bits become ``decimal``
(``decimal(38, 9)``, up to 29 digits) and text beyond that; NaN and infinity stay doubles.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataload.schema.model import Column

DEFAULT_PRECISION, DEFAULT_SCALE = 38, 9
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
_ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_ISO_TIMESTAMP_TEXT = re.compile(_ISO_TIMESTAMP)
_ISO_DATE_TEXT = re.compile(_ISO_DATE)
_INT64 = (-(2**63), 2**63 - 1)


def arrow_type_for(column: Column) -> pa.DataType:
    """The Arrow type that load files use for ``column``.

    >>> arrow_type_for(Column("x", "bigint"))
    DataType(int64)
    """
    kind = column.data_type
    if kind == "decimal":
        precision = column.precision or DEFAULT_PRECISION
        scale = DEFAULT_SCALE if column.scale is None else column.scale
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    return _SIMPLE_ARROW_TYPES[kind or "text"]


_SIMPLE_ARROW_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
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
        (_is_string, "text"), (_is_binary, "binary"), (t.is_dictionary, "text"),
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
    """A new column for ``array``, or None when it holds only nulls.

    >>> infer_column("when", pa.array(["2024-03-01T10:00:00Z"])).data_type
    'timestamp'
    """
    array = plain_array(array)
    kind = data_type_of_arrow(array.type)
    if kind is None:
        return None
    if kind == "text":
        kind = _detect_text_type(array)
    if kind == "decimal" and array.type.scale > DEFAULT_SCALE:
        return Column(name, "decimal", precision=DEFAULT_PRECISION, scale=min(array.type.scale, 37))
    return Column(name, kind)


def plain_array(array: pa.Array) -> pa.Array:
    """Dictionary-encoded arrays (pandas categoricals) decoded; others unchanged."""
    if pa.types.is_dictionary(array.type):
        return array.dictionary_decode()
    if pa.types.is_large_string(array.type) or pa.types.is_string_view(array.type):
        return pc.cast(array, pa.string())
    return array


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
    holds exactly those values (nulls elsewhere), still in their own type.

    >>> coerce(pa.array([1, 2]), Column("x", "double"))[0].type
    DataType(double)
    """
    target = arrow_type_for(column)
    array = plain_array(array)
    if array.type == target:
        return array, None
    if data_type_of_arrow(array.type) is None:
        return pa.nulls(len(array), target), None
    fitted = _vectorized_cast(array, column, target)
    if fitted is not None:
        return fitted, None
    return _coerce_each(array, column, target)


def _vectorized_cast(array: pa.Array, column: Column, target: pa.DataType) -> pa.Array | None:
    source_kind = data_type_of_arrow(array.type)
    allowed = _ALLOWED_CASTS.get(column.data_type or "", ())
    if source_kind != column.data_type and source_kind not in allowed:
        return None
    try:
        if source_kind == "text" and column.data_type == "timestamp":
            return _parse_timestamps(array)
        if source_kind == "text" and column.data_type in _TEXT_PATTERNS:
            if not pc.all(pc.match_substring_regex(array.drop_null(), _TEXT_PATTERNS[column.data_type])).as_py():
                return None
        if source_kind == "timestamp" and array.type.tz is None:
            array = pc.assume_timezone(array, "UTC")
        return pc.cast(array, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


_ALLOWED_CASTS: dict[str, tuple[str, ...]] = {
    "double": ("bigint", "decimal"),
    "decimal": ("bigint", "double", "text"),
    "timestamp": ("text",),
    "date": ("text",),
    "time": ("text",),
    "json": ("text",),
}
_TEXT_PATTERNS = {"date": _ISO_DATE, "time": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$",
                  "decimal": r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"}


def _parse_timestamps(array: pa.Array) -> pa.Array | None:
    if not pc.all(pc.match_substring_regex(array.drop_null(), _ISO_TIMESTAMP)).as_py():
        return None
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
    "decimal": decimal.Decimal,
}


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


def to_json_text(value: Any) -> str:
    """Serialize a nested value for a ``json`` column (datetimes and decimals as strings).

    >>> to_json_text({"a": [1, 2]})
    '{"a": [1, 2]}'
    """
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"value of type {type(value).__name__} cannot be stored as JSON")
