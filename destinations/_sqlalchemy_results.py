"""What the SQLAlchemy destination gets back from a database, in dataload's terms.

Result columns become Arrow arrays typed by their declared SQL types (SQLite's text dates and
0/1 booleans, MariaDB's TIME durations and TINYINT(1) booleans, timestamps stored as UTC).
Driver errors are classified in :mod:`destinations.errors`.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pyarrow as pa

from dataload.schema.model import DEFAULT_PRECISION

sa: Any
try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql
except ImportError:  # SqlAlchemy() says what to install
    sa = None

_UTC = datetime.timezone.utc
_DIGITS_OF_DECIMAL256 = decimal.Context(prec=76)  # quantize needs room for every digit (the default context has 28)

_ARROW = {bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string(), bytes: pa.binary(),
          datetime.datetime: pa.timestamp("us", "UTC"), datetime.date: pa.date32(), datetime.time: pa.time64("us")}


def arrow_array(values: list[Any], sql_type: Any) -> pa.Array:
    """One result column as Arrow, converted by its declared SQL type (None: by the values)."""
    kind = _python_type(sql_type)
    arrow_type = _ARROW.get(kind)
    if kind is decimal.Decimal:  # SQLite hands back a float, MariaDB a Decimal: both get the column's scale
        scale = sql_type.scale or 0
        exponent = decimal.Decimal(1).scaleb(-scale)
        arrow_type = pa.decimal128(sql_type.precision or DEFAULT_PRECISION, scale)
        values = [None if v is None else decimal.Decimal(str(v)).quantize(exponent, context=_DIGITS_OF_DECIMAL256)
                  for v in values]
    try:
        return pa.array([None if v is None else _value(v, kind) for v in values], type=arrow_type)
    except (pa.ArrowException, TypeError, ValueError):  # keep what Arrow cannot hold as text
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _python_type(sql_type: Any) -> Any:
    if sql_type is None:
        return None
    if isinstance(sql_type, sa.Float):  # MariaDB's DOUBLE claims Decimal
        return float
    if isinstance(sql_type, mysql.TINYINT) and sql_type.display_width == 1:
        return bool  # MariaDB's BOOL is TINYINT(1)
    try:
        return sql_type.python_type
    except NotImplementedError:
        return None


def _value(value: Any, kind: Any) -> Any:
    """SQLite's text dates and 0/1 booleans, MariaDB's TIME durations, timestamps (stored as UTC)."""
    if isinstance(value, str) and kind in (datetime.datetime, datetime.date, datetime.time):
        value = kind.fromisoformat(value)
    if isinstance(value, datetime.timedelta):
        return (datetime.datetime.min + value).time()
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)
    return bool(value) if kind is bool else value

