"""Placeholders in an endpoint: ``{resources.<parent>.<field>}`` (a parent row's field) and
``{incremental.start_value}`` / ``{incremental.end_value}`` (the cursor of the current run).

They may stand in the ``path``, in ``params``, ``json`` (at any depth) and ``headers`` values. A
value that is one placeholder only takes the field's value as it is (a number stays a number in
``params`` and ``json``); inside a longer text it is written as text. In the path the value is
URL-quoted.

>>> fill({"path": "issues/{resources.issues.number}/comments", "params": {"n": "{resources.issues.number}"}},
...      parent=("issues", {"number": 7}))
{'path': 'issues/7/comments', 'params': {'n': 7}}
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

_PLACEHOLDER = re.compile(r"\{(resources\.(?P<parent>[^{}.]+)\.(?P<field>[^{}]+)|incremental\.(?P<cursor>[^{}]+))\}")
_PARTS = ("path", "params", "json", "headers")
_CURSOR_VALUES = ("start_value", "end_value")


class PlaceholderError(ValueError):
    """A placeholder cannot be filled: the parent row lacks the field, or an unknown incremental value."""


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string in ``value`` (dicts and lists walked), with its key path below ``where``."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def placeholders(endpoint: Mapping[str, Any]) -> Iterator[tuple[str, re.Match[str]]]:
    """Every placeholder of ``endpoint`` with the key path (``params.since``) of the value it is in."""
    for part in _PARTS:
        for where, text in _strings(endpoint.get(part), part):
            for match in _PLACEHOLDER.finditer(text):
                yield where, match


def parents_named(endpoint: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(key path, parent resource)`` of every ``{resources.<parent>.<field>}`` in ``endpoint``."""
    return [(where, match["parent"]) for where, match in placeholders(endpoint) if match["parent"]]


def cursor_problems(endpoint: Mapping[str, Any]) -> list[str]:
    """What is wrong with the ``{incremental.*}`` placeholders of ``endpoint`` (key path first)."""
    problems = []
    for where, match in placeholders(endpoint):
        cursor = match["cursor"]
        if cursor is None:
            continue
        if cursor not in _CURSOR_VALUES:
            problems.append(f"{where}: {{incremental.{cursor}}} is not known; use {{incremental.start_value}} or "
                            "{incremental.end_value}")
        elif "incremental" not in endpoint:
            problems.append(f"{where}: {{incremental.{cursor}}} needs an 'incremental' block in the endpoint "
                            "(at least its cursor_path)")
    return problems


def fill(endpoint: Mapping[str, Any], *, parent: tuple[str, Mapping[str, Any]] | None = None,
         cursor: Any = None) -> dict[str, Any]:
    """``endpoint`` with its placeholders replaced: from the ``(name, row)`` of the parent, from ``cursor``
    (a bound ``dataload.incremental``). Parts without placeholders are kept as they are."""

    def value_of(match: re.Match[str]) -> Any:
        if match["cursor"]:
            return getattr(cursor, match["cursor"])
        assert parent is not None
        return field_of(parent[1], match["field"], parent[0])

    filled = dict(endpoint)
    for part in _PARTS:
        if part in endpoint:
            filled[part] = _replace(endpoint[part], value_of, quoted=part == "path")
    return filled


def field_of(row: Mapping[str, Any], field: str, parent: str) -> Any:
    """The value at the dotted ``field`` of a parent row.

    >>> field_of({"user": {"login": "ann"}}, "user.login", "issues")
    'ann'
    """
    value: Any = row
    for key in field.split("."):
        if not isinstance(value, Mapping) or key not in value:
            keys = ", ".join(map(str, row)) if isinstance(row, Mapping) else type(row).__name__
            raise PlaceholderError(f"the {parent!r} row has no field {field!r} (its fields: {keys})")
        value = value[key]
    return value


def _replace(value: Any, value_of: Any, *, quoted: bool) -> Any:
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole and not quoted:
            return value_of(whole)
        return _PLACEHOLDER.sub(lambda match: _text(value_of(match), quoted), value)
    if isinstance(value, Mapping):
        return {key: _replace(item, value_of, quoted=quoted) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, value_of, quoted=quoted) for item in value]
    return value


def _text(value: Any, quoted: bool) -> str:
    text = "" if value is None else str(value)
    return quote(text, safe="") if quoted else text
