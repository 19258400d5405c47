"""Reflected SQLAlchemy column types as dataload column hints and as Arrow types.

The mapping keeps every value: a type without an exact counterpart gets a wider one (an unsigned
``BIGINT`` is ``decimal(20, 0)``, a ``DECIMAL`` wider than 38 digits is ``text``, a ``TINYINT(1)``
stays an integer because MySQL lets it hold 0-127). Types dataload has no name for (PostgreSQL
arrays, ``json``/``jsonb``) are ``json``; ``uuid`` is ``text``; an ``interval`` is a ``bigint`` of
microseconds; a type it does not know is left to inference from the values.

>>> import sqlalchemy as sa
>>> column_hints(sa.Column("price", sa.Numeric(10, 2), nullable=False), "full")
{'name': 'price', 'nullable': False, 'data_type': 'decimal', 'precision': 10, 'scale': 2}
>>> arrow_type(sa.Numeric(10, 2))
Decimal128Type(decimal128(10, 2))
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

import pyarrow as pa

from sources.sql_database.connection import sqlalchemy

ReflectionLevel = Literal["minimal", "full", "full_with_precision"]
REFLECTION_LEVELS: tuple[str, ...] = ("minimal", "full", "full_with_precision")
MAX_DECIMAL_DIGITS = 38  # what DuckDB (and Arrow's decimal128) hold; wider decimals are kept as text

Converter = Callable[[Any], Any]


def column_hints(column: Any, level: ReflectionLevel, *, json_as_text: bool = False) -> dict[str, Any]:
    """The hints of one reflected column: name and nullability always, the type from ``"full"`` on.

    ``"full"`` gives decimals their precision and scale (a value never needs rounding);
    ``"full_with_precision"`` adds integer widths (``SMALLINT`` is a 16-bit ``bigint``).
    ``json_as_text``: ``json`` columns are ``text`` (the Arrow backends deliver JSON as text).
    """
    hints: dict[str, Any] = {"name": column.name, "nullable": bool(column.nullable)}
    if level == "minimal":
        return hints
    data_type, precision, scale = _dataload_type(column.type)
    if data_type is None:
        return hints
    hints["data_type"] = "text" if data_type == "json" and json_as_text else data_type
    if data_type == "decimal" and precision is not None:
        hints["precision"], hints["scale"] = precision, scale
    elif data_type == "bigint" and level == "full_with_precision" and precision is not None:
        hints["precision"] = precision
    return hints


def _dataload_type(sqltype: Any) -> tuple[str | None, int | None, int | None]:
    """``(data_type, precision, scale)`` for a SQLAlchemy type; ``data_type`` None leaves it to inference."""
    sa = sqlalchemy()
    if isinstance(sqltype, sa.Integer):
        bits = _integer_bits(sqltype)
        return ("decimal", 20, 0) if bits > 64 else ("bigint", bits, None)
    if isinstance(sqltype, sa.Numeric) and not isinstance(sqltype, sa.Float):
        precision, scale = _decimal_size(sqltype)
        if precision is not None and precision > MAX_DECIMAL_DIGITS:
            return "text", None, None
        return "decimal", precision, scale
    simple = _simple_type(sqltype)
    return simple, None, None


def _simple_type(sqltype: Any) -> str | None:
    sa = sqlalchemy()
    kinds: list[tuple[Any, str]] = [
        (sa.Boolean, "bool"), (sa.Float, "double"), (sa.DateTime, "timestamp"), (sa.Date, "date"),
        (sa.Time, "time"), (sa.Interval, "bigint"), (sa.Uuid, "text"), (sa.JSON, "json"), (sa.ARRAY, "json"),
        (sa.LargeBinary, "binary"), (sa.types._Binary, "binary"), (sa.Enum, "text"), (sa.String, "text"),
    ]
    for kind, data_type in kinds:
        if isinstance(sqltype, kind):
            return data_type
    return _dialect_type(sqltype)


def _dialect_type(sqltype: Any) -> str | None:
    """Types of one dialect that no generic SQLAlchemy type covers."""
    name = type(sqltype).__name__
    if name == "BIT":  # MySQL BIT(n) arrives as an int; BIT(1) is a flag
        return "bool" if getattr(sqltype, "length", None) in (None, 1) else "bigint"
    if name == "MONEY":  # PostgreSQL money arrives as text with the currency sign; kept as it is
        return "text"
    if name in ("INTERVAL", "YEAR"):  # PostgreSQL's INTERVAL is no sqlalchemy.Interval: microseconds, as that is
        return "bigint"
    if name in ("SET", "INET", "CIDR", "MACADDR", "MACADDR8", "TSVECTOR", "XML", "CITEXT"):
        return "text"
    return None


def _integer_bits(sqltype: Any) -> int:
    """The width of an integer type in bits; unsigned MySQL integers take the next width (65 for BIGINT)."""
    sa = sqlalchemy()
    name = type(sqltype).__name__
    bits = {"TINYINT": 8, "SMALLINT": 16, "MEDIUMINT": 32, "INTEGER": 32, "INT": 32, "BIGINT": 64}.get(name)
    if bits is None:
        bits = 16 if isinstance(sqltype, sa.SmallInteger) else 64 if isinstance(sqltype, sa.BigInteger) else 32
    if getattr(sqltype, "unsigned", False):
        bits = 65 if bits == 64 else 2 * bits if bits < 32 else 64
    return bits


def _decimal_size(sqltype: Any) -> tuple[int | None, int | None]:
    precision = sqltype.precision
    if precision is None:
        return None, None
    return precision, sqltype.scale or 0


def arrow_type(sqltype: Any) -> pa.DataType | None:
    """The Arrow type the ``pyarrow`` backend builds a column of ``sqltype`` with; None: inferred from the values.

    Timestamps keep their time zone (UTC for ``timestamptz``; naive ones are read as UTC later),
    decimals their precision and scale, ``json`` and arrays are JSON text, ``uuid`` is text.
    """
    sa = sqlalchemy()
    data_type, precision, scale = _dataload_type(sqltype)
    if data_type == "bigint" and isinstance(sqltype, sa.Integer):
        return {8: pa.int8(), 16: pa.int16(), 32: pa.int32()}.get(precision or 64, pa.int64())
    if data_type == "decimal":
        return None if precision is None else pa.decimal128(precision, scale or 0)
    if data_type == "timestamp":
        return pa.timestamp("us", tz="UTC" if getattr(sqltype, "timezone", False) else None)
    if isinstance(sqltype, sa.Interval) or type(sqltype).__name__ == "INTERVAL":
        return pa.duration("us")
    return _SIMPLE_ARROW_TYPES.get(data_type or "")


_SIMPLE_ARROW_TYPES: dict[str, pa.DataType] = {
    "bool": pa.bool_(), "double": pa.float64(), "date": pa.date32(), "time": pa.time64("us"),
    "text": pa.string(), "json": pa.string(), "binary": pa.binary(), "bigint": pa.int64(),
}


def value_converter(sqltype: Any) -> Converter | None:
    """What turns a value as the driver returns it into one Arrow takes for :func:`arrow_type`; None: as it is."""
    data_type, _, _ = _dataload_type(sqltype)
    if data_type == "json":
        return _json_text
    if data_type == "text":
        return _text
    if data_type == "binary":
        return _bytes
    if data_type == "bool":
        return _flag
    return None


def _json_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)


def _text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (set, frozenset)):
        return ",".join(sorted(value))
    return format(value, "f") if type(value).__name__ == "Decimal" else str(value)


def _flag(value: Any) -> Any:
    """A flag the driver returns as 0 or 1 (MySQL ``BIT(1)``) as a bool; other values as they are."""
    return bool(value) if type(value) is int and value in (0, 1) else value


def _bytes(value: Any) -> Any:
    return bytes(value) if isinstance(value, (memoryview, bytearray)) else value
