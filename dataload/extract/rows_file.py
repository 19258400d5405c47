"""Extracted rows Arrow cannot hold (mixed types, odd objects, deep nesting), as tagged JSON.

The file is a header line and one JSON array of the rows. JSON keeps str, int (any size), float
(also NaN and infinities), bool, None, lists and dicts with str keys; every other value is an
object tagged ``{"$dl": kind, "v": ...}`` (datetime, date, time, Decimal, bytes, bytearray,
timedelta, UUID, tuple, set, frozenset, JSON text, a dict with other keys or a ``"$dl"`` key), so
values come back equal and of the same type. Reading it runs no code (unlike a pickle). An enum,
dataclass, pydantic model or numpy scalar is kept as the plain data it stands for
(:func:`dataload.values.table_form`), pandas' NaT as None, any other object as a
:class:`~dataload.values.NoTableForm` naming its type, which normalize reports.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dataload.package.disk_full import naming_the_file
from dataload.schema.infer import to_json_text
from dataload.values import MAX_NESTING_DEPTH, NO_FORM, JsonText, NoTableForm, is_missing, table_form

HEADER = b"dataload rows 1\n"
TAG = "$dl"
MAX_DEPTH = 200
"""Rows nested deeper are written with their deep parts as JSON text (as normalize stores them),
so that reading them back stays far from Python's recursion limit."""


def write_rows(path: Path, rows: list[Any]) -> None:
    """Write ``rows`` to ``path`` (see the module's docstring for the format)."""
    try:
        encoded = [_encode(row, 0) for row in rows]
    except _TooDeep:
        encoded = [_encode(cap_depth(row, MAX_NESTING_DEPTH + 1), 0) for row in rows]
    with naming_the_file(path), open(path, "wb") as handle:
        handle.write(HEADER)
        # ASCII with escapes: text that is not valid Unicode (a lone surrogate) comes back as it was
        handle.write(json.dumps(encoded, separators=(",", ":")).encode("ascii"))


def read_rows(data: bytes) -> list[Any]:
    """The rows of a file written by :func:`write_rows` (``data``: its bytes after the header)."""
    rows: list[Any] = json.loads(data, object_hook=_decode)
    return rows


def cap_depth(value: Any, levels: int) -> Any:
    """``value`` with everything nested more than ``levels`` deep replaced by its JSON text."""
    if not isinstance(value, (dict, list, tuple, set, frozenset)):
        return value
    if levels <= 1:
        return JsonText(to_json_text(value))
    if isinstance(value, dict):
        return {k: cap_depth(v, levels - 1) for k, v in value.items()}
    return [cap_depth(v, levels - 1) for v in value]


class _TooDeep(Exception):
    pass


_SCALARS = frozenset({str, int, float, bool, type(None)})
_STR = frozenset({str})


def _encode(value: Any, depth: int) -> Any:
    """``value`` as JSON data (scalars of JSON's own types are kept as they are, without a call)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if depth > MAX_DEPTH:
        raise _TooDeep
    depth += 1
    if kind is dict:
        if TAG not in value and set(map(type, value)) <= _STR:
            return {key: item if type(item) in _SCALARS else _encode(item, depth) for key, item in value.items()}
        return {TAG: "dict", "v": [[_encode(key, depth), _encode(item, depth)] for key, item in value.items()]}
    if kind is list:
        return [item if type(item) in _SCALARS else _encode(item, depth) for item in value]
    if kind in _CONTAINERS:
        return {TAG: _CONTAINERS[kind], "v": [_encode(item, depth) for item in value]}
    encode = _ENCODERS.get(kind)
    if encode is not None:
        return encode(value)
    return _encode_other(value, depth)


def _encode_other(value: Any, depth: int) -> Any:
    """Subclasses of the types above, and objects kept as the plain data they stand for."""
    if is_missing(value):
        return None
    form = table_form(value)
    if form is not NO_FORM:
        return _encode(form, depth)
    for base, encode in _ENCODERS.items():
        if isinstance(value, base):
            return encode(value)
    for base in (str, int, float):
        if isinstance(value, base):
            return base(value)
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        plain = dict(value) if isinstance(value, dict) else list(value)
        return _encode(plain, depth)
    return {TAG: "object", "v": value.type_name if isinstance(value, NoTableForm) else type(value).__name__}


_CONTAINERS: dict[type, str] = {tuple: "tuple", set: "set", frozenset: "frozenset"}


def _base64(value: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(value).decode("ascii")


def _instant(kind: str, value: Any, isoformat: Callable[[Any], str]) -> dict[str, Any]:
    """A datetime or time as ISO text; one whose time zone cannot give its offset keeps the error, which
    normalize then reports for its column."""
    try:
        return {TAG: kind, "v": isoformat(value)}
    except Exception as error:  # a third-party tzinfo gone wrong
        problem = str(error) if type(error) is ValueError else f"{type(error).__name__}: {error}"
        return {TAG: kind, "v": isoformat(value.replace(tzinfo=None)), "zone_error": problem}


class ZoneWithoutOffset(datetime.tzinfo):
    """The time zone of a value whose own zone raised when asked for its offset: raises the same."""

    def __init__(self, problem: str) -> None:
        self.problem = problem

    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        raise ValueError(self.problem)

    def dst(self, dt: datetime.datetime | None) -> datetime.timedelta:
        raise ValueError(self.problem)

    def tzname(self, dt: datetime.datetime | None) -> str:
        return "unknown"


_ENCODERS: dict[type, Callable[[Any], dict[str, Any]]] = {
    datetime.datetime: lambda v: _instant("datetime", v, datetime.datetime.isoformat),
    datetime.date: lambda v: {TAG: "date", "v": datetime.date.isoformat(v)},
    datetime.time: lambda v: _instant("time", v, datetime.time.isoformat),
    datetime.timedelta: lambda v: {TAG: "timedelta", "v": [v.days, v.seconds, v.microseconds]},
    decimal.Decimal: lambda v: {TAG: "decimal", "v": str(v)},
    uuid.UUID: lambda v: {TAG: "uuid", "v": str(v)},
    bytes: lambda v: {TAG: "bytes", "v": _base64(v)},
    bytearray: lambda v: {TAG: "bytearray", "v": _base64(v)},
    memoryview: lambda v: {TAG: "bytes", "v": _base64(v)},
    JsonText: lambda v: {TAG: "json", "v": str(v)},
}

_DECODERS: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "timedelta": lambda v: datetime.timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "decimal": decimal.Decimal,
    "uuid": uuid.UUID,
    "bytes": base64.b64decode,
    "bytearray": lambda v: bytearray(base64.b64decode(v)),
    "json": JsonText,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "dict": lambda pairs: {key: item for key, item in pairs},
    "object": NoTableForm,
}


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get(TAG)
    if kind is None:
        return obj
    value = _DECODERS[kind](obj["v"])
    if "zone_error" in obj:
        return value.replace(tzinfo=ZoneWithoutOffset(obj["zone_error"]))
    return value
