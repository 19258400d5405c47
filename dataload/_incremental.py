"""Incremental loading: a cursor over one field that remembers, between runs, how far a resource got.

Use it as the default of a resource argument::

    @dataload.resource(primary_key="id")
    def issues(updated=dataload.incremental("updated_at", initial_value="2024-01-01T00:00:00Z")):
        yield from api.get("/issues", since=updated.start_value)

Rows at or before the stored cursor are dropped, except rows *at* the cursor that were not seen
yet (remembered by primary key, or by a hash of the row): equal timestamps at the boundary never
lose or duplicate rows. Only the keys of rows at the current boundary value are kept, so the
state stays small however many rows pass.

Datetime-like cursor values (ISO 8601 text, datetimes, dates, pandas and Arrow timestamps) are
compared as instants, naive ones as UTC; see :mod:`dataload.incremental_values`.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from dataload._state import resource_state
from dataload.exceptions import InvalidConfig, ResourceError
from dataload.incremental_values import canonical, cursor_key, form_of, is_date_like

_MISSING_MODES = ("raise", "include", "exclude")
_ROW_ORDERS = (None, "asc", "desc")


class Incremental:
    """A cursor for incremental loading; see the module docstring.

    >>> cursor = Incremental("updated_at", initial_value=0)
    >>> cursor.cursor_path
    'updated_at'
    """

    def __init__(
        self,
        cursor_path: str,
        initial_value: Any = None,
        end_value: Any = None,
        last_value_func: Callable[[Any], Any] = max,
        primary_key: str | tuple[str, ...] | list[str] | None = None,
        row_order: str | None = None,
        lag: float | int | datetime.timedelta | None = None,
        on_cursor_value_missing: str = "raise",
    ) -> None:
        if on_cursor_value_missing not in _MISSING_MODES:
            raise InvalidConfig(f"on_cursor_value_missing must be one of {_MISSING_MODES}, "
                                f"not {on_cursor_value_missing!r}")
        if row_order not in _ROW_ORDERS:
            raise InvalidConfig(f"row_order must be 'asc', 'desc' or None, not {row_order!r}")
        if end_value is not None and initial_value is None:
            raise InvalidConfig("an incremental with end_value needs an initial_value (the start of the range)")
        self.cursor_path = cursor_path
        self.initial_value = initial_value
        self.end_value = end_value
        self.last_value_func = last_value_func
        self.primary_key = (primary_key,) if isinstance(primary_key, str) else tuple(primary_key or ())
        self.row_order = row_order
        self.lag = lag
        self.on_cursor_value_missing = on_cursor_value_missing
        self.start_value: Any = initial_value
        self.last_value: Any = initial_value
        self._seen: set[str] = set()
        self._boundary: set[str] = set()
        self._boundary_keys: list[list[Any]] = []
        self._getter = _cursor_getter(cursor_path)
        self._resource = "?"
        self._start_key: Any = cursor_key(initial_value)
        self._last_key: Any = self._start_key
        self._end_key: Any = cursor_key(end_value)

    # -- binding to a run ----------------------------------------------------------------------
    def bind(self, resource_name: str, resource_key: tuple[str, ...]) -> Incremental:
        """A copy with the stored cursor of ``resource_name`` loaded (called when the resource starts)."""
        bound = copy.copy(self)
        bound._resource = resource_name
        bound.primary_key = self.primary_key or resource_key
        stored = {} if self.end_value is not None else bound._stored()
        last = stored.get("last_value", self.initial_value)
        shown = form_of(self.initial_value if self.initial_value is not None else last)
        bound.last_value = shown(last) if last is not None else None
        bound._last_key = cursor_key(last)
        bound._seen = set(stored.get("unique_hashes", [])) if self.lag is None else set()
        bound._start_key = _minus_lag(bound._last_key, self.lag, self.last_value_func, is_date_like(last)) \
            if last is not None else None
        bound.start_value = shown(bound._start_key) if last is not None else None
        bound._boundary = set(bound._seen)
        bound._boundary_keys = []
        return bound

    def _stored(self) -> dict[str, Any]:
        cursors = resource_state().setdefault("incremental", {})
        return cursors.setdefault(self.cursor_path, {})  # type: ignore[no-any-return]

    def _save(self) -> None:
        if self.end_value is not None:
            return
        stored = self._stored()
        stored["initial_value"] = canonical(self.initial_value)
        if self.last_value is not None:
            stored["last_value"] = canonical(self.last_value)
            stored["unique_hashes"] = sorted(self._boundary | {_hash(keys) for keys in self._boundary_keys})

    # -- filtering -------------------------------------------------------------------------------
    def apply(self, items: Iterator[Any]) -> Iterator[Any]:
        """Filter ``items`` (dicts, pages or Arrow tables) and advance the cursor."""
        from dataload.incremental_arrow import filter_table, is_table

        try:
            for item in items:
                if is_table(item):
                    kept, stop = filter_table(self, item)
                elif isinstance(item, list):
                    kept, stop = self._filter_rows(item)
                else:
                    rows, stop = self._filter_rows([item])
                    kept = rows[0] if rows else None
                if kept is not None and not (isinstance(kept, list) and not kept):
                    yield kept
                if stop:
                    break
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            self._save()

    def _filter_rows(self, rows: list[Any]) -> tuple[list[Any], bool]:
        kept: list[Any] = []
        for row in rows:
            verdict = self.judge(row, self._value_of(row))
            if verdict == "stop":
                return kept, True
            if verdict == "keep":
                kept.append(row)
        return kept, False

    def _value_of(self, row: Any) -> Any:
        value = self._getter(row)
        if value is None and self.on_cursor_value_missing == "raise":
            raise ResourceError(self._resource, f"cursor {self.cursor_path!r} is missing or None in row "
                                f"{_short(row)}; set on_cursor_value_missing='include' or 'exclude'")
        return value

    def judge(self, row: Any, value: Any) -> str:
        """``keep``, ``drop`` or ``stop`` for one row with cursor ``value``; advances the cursor."""
        if value is None:
            return "keep" if self.on_cursor_value_missing == "include" else "drop"
        key = cursor_key(value)
        if self._end_key is not None and not self.is_newer(self._end_key, key):
            return "stop" if self.row_order == "asc" else "drop"
        if self._start_key is not None:
            if key == self._start_key:
                if self.lag is None and self.row_hash(row) in self._seen:
                    return "drop"
            elif not self.is_newer(key, self._start_key):
                return "stop" if self.row_order == "desc" else "drop"
        self.advance(value, row, key)
        return "keep"

    def is_newer(self, key: Any, than: Any) -> bool:
        """True when cursor key ``key`` comes after ``than`` in the cursor's order (see :func:`cursor_key`)."""
        try:
            return bool(key != than and self.last_value_func([key, than]) == key)
        except TypeError as exc:
            raise ResourceError(self._resource, f"cursor {self.cursor_path!r} cannot compare {key!r} with "
                                f"{than!r}: {exc}") from exc

    def advance(self, value: Any, row: Any, key: Any) -> None:
        """Move the cursor to ``value`` (whose cursor key is ``key``) if it is newer; remember boundary rows.

        With a primary key, the boundary rows' key values are kept and hashed only when the state
        is saved: on ascending data every row moves the cursor, and most stop being boundary rows.
        """
        if self._last_key is None or self.is_newer(key, self._last_key):
            self.last_value, self._last_key = value, key
            self._boundary, self._boundary_keys = set(), []
        elif key != self._last_key:
            return
        if self.primary_key and isinstance(row, dict):
            self._boundary_keys.append([row.get(k) for k in self.primary_key])
        else:
            self._boundary.add(self.row_hash(row))

    def row_hash(self, row: Any) -> str:
        """The primary key of ``row`` (or a hash of the whole row) as a short string."""
        if self.primary_key and isinstance(row, dict):
            return _hash([row.get(k) for k in self.primary_key])
        return _hash(row, sort_keys=True)

    def __repr__(self) -> str:
        return (f"Incremental({self.cursor_path!r}, start_value={self.start_value!r}, "
                f"last_value={self.last_value!r}, end_value={self.end_value!r})")


def incremental(cursor_path: str, initial_value: Any = None, end_value: Any = None,
                last_value_func: Callable[[Any], Any] = max, primary_key: Any = None, row_order: str | None = None,
                lag: float | int | datetime.timedelta | None = None,
                on_cursor_value_missing: str = "raise") -> Incremental:
    """Declare an incremental cursor as a resource argument's default (see :class:`Incremental`).

    >>> cursor = incremental("updated_at", initial_value="2024-01-01T00:00:00Z")
    >>> cursor.start_value
    '2024-01-01T00:00:00Z'
    """
    return Incremental(cursor_path, initial_value, end_value, last_value_func, primary_key, row_order, lag,
                       on_cursor_value_missing)


def _hash(value: Any, *, sort_keys: bool = False) -> str:
    body = json.dumps(value, sort_keys=sort_keys, default=str)
    return hashlib.blake2b(body.encode(), digest_size=8).hexdigest()


def _cursor_getter(path: str) -> Callable[[Any], Any]:
    if not any(c in path for c in "$.[*"):
        return lambda row: row.get(path) if isinstance(row, dict) else None
    from jsonpath_ng.parser import parse

    expression = parse(path)

    def get(row: Any) -> Any:
        found = expression.find(row)
        return found[0].value if found else None

    return get


def _minus_lag(key: Any, lag: Any, last_value_func: Callable[[Any], Any], in_days: bool) -> Any:
    """The cursor key ``key`` moved back by ``lag`` (days for date cursors, seconds for other instants)."""
    if lag is None:
        return key
    sign = -1 if last_value_func is not min else 1
    if isinstance(key, datetime.datetime):
        return key + sign * _as_delta(lag, "days" if in_days else "seconds")
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return key + sign * lag
    raise InvalidConfig(f"lag cannot be applied to a cursor value of type {type(key).__name__}")


def _as_delta(lag: Any, unit: str) -> datetime.timedelta:
    return lag if isinstance(lag, datetime.timedelta) else datetime.timedelta(**{unit: lag})


def _short(row: Any) -> str:
    text = repr(row)
    return text if len(text) <= 200 else text[:200] + "..."
