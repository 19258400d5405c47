"""A page of records (dicts) as one Arrow struct array, a column at a time where that pays.

:func:`records_array` gives exactly what ``pa.array(rows)`` gives for a page of dicts (with Python
``Decimal`` columns then widened as :func:`~dataload.schema.infer.with_room_for_python_decimals`
does), or None when the page must take the rows path: a column of mixed types, data nested
deeper than ``MAX_NESTING_DEPTH``, a bool Arrow would make a float, anything Arrow refuses.

``pa.array`` spends most of its time on two kinds of values: a ``Decimal`` (it reads each one's
digits and exponent in Python) and a ``datetime`` (it asks each one for its UTC offset). A page
whose first row is mostly such values is converted a column at a time (:func:`by_column`): split
into columns (keys in first-seen order, a missing key is null), ``Decimal`` columns through their
text (precision and scale read off the strings, then one Arrow cast), ``datetime`` columns of one
fixed-offset zone (or naive) through their distance from the column's first value, and every
other column by ``pa.array`` of its values. Other pages take one ``pa.array(rows)``: splitting a
page in Python costs about what Arrow spends on a plain column, so it pays only where it saves a
``Decimal`` or ``datetime`` conversion (measured in ``benchmarks/README.md``). So do pages that do
not split (a row that is not a dict, a key that is not a ``str``, no keys at all).
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable
from itertools import chain, repeat
from operator import attrgetter, itemgetter, sub
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataload.schema.infer import MAX_DECIMAL128, decimal_type_for_values, with_room_for_python_decimals
from dataload.values import MAX_NESTING_DEPTH

_REFUSED = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError,
            ValueError, RecursionError)
_NONE = type(None)
_PLAIN_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"  # str() of a finite Decimal that needs no exponent
_EPOCH = datetime.datetime(1970, 1, 1)
_MICROSECOND = datetime.timedelta(microseconds=1)
_SAVED = {decimal.Decimal: 4, datetime.datetime: 1}  # what a column of these saves, in plain columns split
_UTC_ZONES = frozenset({"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"})


def records_array(rows: list[Any]) -> pa.StructArray | None:
    """The page ``rows`` as one Arrow struct array, or None when it takes the rows path.

    >>> import decimal
    >>> records_array([{"n": 1, "d": decimal.Decimal("1.5")}, {"s": "x"}]).type
    StructType(struct<n: int64, d: decimal128(38, 9), s: string>)
    >>> records_array([{"n": 1}, {"n": "one"}]) is None
    True
    """
    try:
        records = by_column(rows) if _worth_splitting(rows) else None
        if records is None:
            records = pa.array(rows)
    except _REFUSED:
        return None
    return accepted(rows, records)


def accepted(rows: list[Any], records: pa.Array) -> pa.StructArray | None:
    """``records`` (``rows`` as Arrow made them) with room for Python decimals, or None when the
    rows must take the rows path instead.

    >>> accepted([{"a": 2.5}, {"a": True}], pa.array([{"a": 2.5}, {"a": True}])) is None
    True
    """
    if not pa.types.is_struct(records.type) or _nested_deeper(records.type, MAX_NESTING_DEPTH):
        return None  # deep data takes the rows path, which stores the deep parts as JSON text
    if _bool_made_double(rows, records):
        return None  # Arrow turns a bool after a float into 1.0; the rows path puts it in a bool variant
    roomy = with_room_for_python_decimals(records.type)  # Decimals get decimal(38, 9), not their tightest type
    return records if roomy == records.type else records.cast(roomy)


def _worth_splitting(rows: list[Any]) -> bool:
    """True when converting the page a column at a time is likely cheaper than ``pa.array(rows)``, as
    told by its first row: splitting the page costs about what ``pa.array`` spends on a plain column,
    and it saves about that for a ``datetime`` column and four times that for a ``Decimal`` one.

    >>> _worth_splitting([{"n": 1, "when": datetime.datetime(2024, 1, 1)}]), _worth_splitting([{"n": 1}])
    (True, False)
    """
    first = rows[0] if rows else None
    if type(first) is not dict:
        return False
    saved = sum(_SAVED.get(type(value), 0) for value in first.values())
    return saved > 0 and saved >= len(first) - sum(type(value) in _SAVED for value in first.values())


def by_column(rows: list[Any]) -> pa.StructArray | None:
    """``pa.array(rows)`` built from one array per column; None for a page that is not plain dicts
    (Arrow's errors are raised as ``pa.array`` raises them).

    >>> by_column([{"n": 1}, {"n": 2, "s": "x"}]).type
    StructType(struct<n: int64, s: string>)
    """
    columns = _columns(rows)
    if columns is None:
        return None
    arrays = [_column_array(values) for values in columns.values()]
    if any(isinstance(array, pa.ChunkedArray) for array in arrays):
        return None  # a column over 2 GB: Arrow chunks the whole page's struct the same way
    return pa.StructArray.from_arrays(arrays, names=list(columns))


def _columns(rows: list[Any]) -> dict[str, list[Any]] | None:
    """The values of each key, keys in first-seen order, None where a row lacks the key.

    Keys are looked up by their text, as Arrow does (a ``str`` subclass such as SQLAlchemy's
    ``quoted_name`` names its column by its text).
    """
    if not rows or set(map(type, rows)) != {dict}:
        return None
    first = rows[0]
    if len(set(map(len, rows))) == 1:  # same length and every key of the first row: the same keys
        names = _names(first)
        if names is None or len(set(names)) < len(first):
            return None
        try:
            return {name: list(map(itemgetter(name), rows)) for name in names} or None
        except KeyError:
            pass
    names = _names(dict.fromkeys(chain.from_iterable(rows)))
    if not names:
        return None
    return {name: [row.get(name) for row in rows] for name in names}


def _names(keys: Iterable[Any]) -> list[str] | None:
    """The text of each key, or None when one is not a ``str`` (Arrow reads bytes keys as text)."""
    names = []
    for key in keys:
        if not isinstance(key, str):
            return None
        names.append(str(key))
    return names


def _column_array(values: list[Any]) -> pa.Array:
    """One column as Arrow, typed as ``pa.array(rows)`` types that field of the page.

    A column of several kinds of values is converted as a field of its own: ``pa.array`` of a plain
    list stops inferring at the first ``bool``, ``date``, ``datetime``, ``time`` or ``timedelta``,
    while a field is inferred from all its values.
    """
    kinds = set(map(type, values))
    nulls = _NONE in kinds
    kinds.discard(_NONE)
    if len(kinds) > 1:
        return pa.array([{"": value} for value in values]).field(0)
    kind = kinds.pop() if kinds else _NONE
    array = None
    if kind is decimal.Decimal:
        array = _decimals(values, nulls)
    elif kind is datetime.datetime:
        array = _datetimes(values, nulls)
    return pa.array(values) if array is None else array


def _decimals(values: list[Any], nulls: bool) -> pa.Array | None:
    """A column of ``Decimal`` (and None where ``nulls``) through its text, already of the roomy
    type; None for a Decimal written with an exponent (``1E+2``, ``NaN``).

    Arrow infers the tightest type holding every value: scale the most digits after the point,
    precision that plus the most digits before it (a value ``0.x`` has none; ``0`` has one).
    """
    text = pa.array(list(map(str, values)), pa.string())
    if nulls:
        text = pc.if_else(pc.equal(text, "None"), pa.scalar(None, pa.string()), text)
    if not pc.all(pc.match_substring_regex(text, _PLAIN_DECIMAL)).as_py():
        return None
    length = pc.utf8_length(text)
    point = pc.find_substring(text, ".")
    has_point = pc.greater_equal(point, 0)
    scale = pc.max(pc.if_else(has_point, pc.subtract(pc.subtract(length, point), 1), 0)).as_py()
    before = pc.subtract(pc.if_else(has_point, point, length), pc.cast(pc.starts_with(text, "-"), pa.int32()))
    only_fraction = pc.and_(has_point, pc.match_substring_regex(text, r"^-?0\."))
    digits = pc.max(pc.if_else(only_fraction, 0, before)).as_py()
    if digits + scale > MAX_DECIMAL128:
        return None  # Arrow makes it a decimal256 (or refuses it): the general path decides
    return text.cast(decimal_type_for_values(pa.decimal128(digits + scale, scale)))


def _datetimes(values: list[Any], nulls: bool) -> pa.Array | None:
    """A column of ``datetime`` (and None where ``nulls``) of one zone with a fixed offset, or naive:
    its first value plus each value's distance from it (a subtraction Python makes without the
    zone); None for other zones."""
    present = [value for value in values if value is not None] if nulls else values
    zones = set(map(attrgetter("tzinfo"), present))
    first = present[0]
    offset = _fixed_offset_us(zones.pop(), first) if len(zones) == 1 else None
    if offset is None:
        return None
    if nulls:
        since = pa.array([None if value is None else value - first for value in values], pa.duration("us"))
    else:
        since = pa.array(list(map(sub, values, repeat(first))), pa.duration("us"))
    start = (first.replace(tzinfo=None) - _EPOCH) // _MICROSECOND - offset
    return pc.add(since.cast(pa.int64()), start).cast(pa.array([first]).type)


def _fixed_offset_us(zone: datetime.tzinfo | None, at: datetime.datetime) -> int | None:
    """The offset from UTC of every time in ``zone``, in microseconds, or None when it varies
    (or has a fraction of a second, which Arrow drops)."""
    if zone is None:
        return 0
    offset: datetime.timedelta | None
    if type(zone) is datetime.timezone:
        offset = zone.utcoffset(None)
    elif type(zone) is ZoneInfo and zone.key in _UTC_ZONES:
        offset = zone.utcoffset(at)
    else:
        return None
    if offset is None or offset.microseconds:
        return None
    return (offset.days * 86_400 + offset.seconds) * 1_000_000


def _bool_made_double(rows: list[Any], records: pa.StructArray) -> bool:
    """True when Arrow, building ``records`` from ``rows``, made a bool into a float (True -> 1.0).

    Vectorized: only the float values that are 0.0 or 1.0 are traced back to the Python value they
    came from, so a page pays for a lookup per such value, not a walk of the rows.

    >>> rows = [{"a": [{"b": 2.5}]}, {"a": [{"b": True}]}]
    >>> _bool_made_double(rows, pa.array(rows)), _bool_made_double(rows[:1], pa.array(rows[:1]))
    (True, False)
    """

    def search(array: pa.Array, path: tuple[Any, ...], offsets: tuple[Any, ...]) -> bool:
        arrow_type = array.type
        if pa.types.is_struct(arrow_type):
            return any(search(array.field(i), (*path, arrow_type.field(i).name), offsets)
                       for i in range(arrow_type.num_fields))
        if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
            return search(array.flatten(), (*path, None), (*offsets, array.offsets.to_numpy()))
        if not pa.types.is_floating(arrow_type):
            return False
        zero_or_one = pc.is_in(array, value_set=pa.array([0.0, 1.0], arrow_type))
        return any(type(_value_at(rows, int(at), path, offsets)) is bool
                   for at in np.flatnonzero(zero_or_one.to_numpy(zero_copy_only=False)))

    return search(records, (), ())


def _value_at(rows: list[Any], at: int, path: tuple[Any, ...], offsets: tuple[Any, ...]) -> Any:
    """The Python value behind element ``at`` of a leaf reached by ``path`` (field names, None for a list
    step) through lists whose Arrow offsets are ``offsets``, outermost first."""
    positions = []
    for level in reversed(offsets):  # from the leaf up: which list, and where in it
        owner = int(np.searchsorted(level, at, side="right")) - 1
        positions.append(at - int(level[owner]))
        at = owner
    value: Any = rows[at]
    for step in path:
        if step is None:
            position = positions.pop()
            value = value[position] if isinstance(value, (list, tuple)) else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


def _nested_deeper(arrow_type: pa.DataType, levels: int) -> bool:
    """True when structs and lists in ``arrow_type`` go more than ``levels`` deep (without recursion)."""
    level = [arrow_type]
    for _ in range(levels + 1):
        level = [kind.field(i).type for kind in level if pa.types.is_nested(kind) for i in range(kind.num_fields)]
        if not level:
            return False
    return True
