"""Row-by-row unnesting for records Arrow cannot convert in one go (mixed types, odd objects).

Produces the same :class:`TableRows` as the columnar path; a column whose values have several
types keeps the first type in the column and the others as alternatives (they become variant
columns). Values that have no table representation raise a :class:`NormalizeError` naming the
table and column.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from dataload.exceptions import NormalizeError
from dataload.normalize.errors import content_errors
from dataload.normalize.rows import TableNames, TableRows
from dataload.schema.infer import (
    coerce_value,
    decimal_type_for_values,
    duration_micros,
    infer_column,
    python_data_type,
    to_json_text,
)
from dataload.schema.model import VALUE_COLUMN
from dataload.schema.naming import SourceKey, child_table_path, path_name, shorten
from dataload.values import MAX_NESTING_DEPTH, NO_FORM, JsonText, is_missing, table_form, type_name

_LISTS = (list, tuple, set, frozenset)


class _TableBuilder:
    """The rows of one table; a child's name is settled once all records are seen (``TableNames``)."""

    def __init__(self, table: str, source_key: SourceKey | None = None) -> None:
        self.table = table  # the plain name until the names are settled (for error messages)
        self.parent: str | None = None
        self.source_key = source_key
        self.children: dict[SourceKey, _TableBuilder] = {}  # by the list's key, in order of appearance
        self.rows: list[dict[SourceKey, Any]] = []
        self.keys: dict[SourceKey, None] = {}  # every source key seen, in order
        self.json_keys: set[SourceKey] = set()
        self.parent_index: list[int] = []
        self.list_index: list[int] = []


class _Flattener:
    def __init__(self, table: str, max_table_nesting: int | None, json_columns: frozenset[str],
                 names: TableNames) -> None:
        self.json = json_columns
        self.max_tables = max_table_nesting
        self.names = names
        self.root = _TableBuilder(table)

    def add_record(self, builder: _TableBuilder, record: Any, level: int, depth: int = 0) -> int:
        row: dict[SourceKey, Any] = {}
        builder.rows.append(row)
        index = len(builder.rows) - 1
        if not isinstance(record, Mapping):
            record = {VALUE_COLUMN: record}
        self.flatten(builder, row, index, (), record, level, depth)
        return index

    def declared_json(self, builder: _TableBuilder, path: SourceKey) -> bool:
        return bool(self.json) and builder is self.root and self.names.of(builder.table).planned(path) in self.json

    def flatten(self, builder: _TableBuilder, row: dict[SourceKey, Any], index: int, prefix: SourceKey,
                record: Mapping[str, Any], level: int, depth: int) -> None:
        for key, raw in record.items():
            path = (*prefix, key if isinstance(key, str) else str(key))
            value = plain_value(raw, builder.table, path_name(path))
            too_deep = depth + 1 >= MAX_NESTING_DEPTH
            if value is not None and self.declared_json(builder, path):
                self.put(builder, row, path, to_json_text(_jsonable(value, builder.table, path_name(path))), True)
            elif isinstance(value, Mapping) and not too_deep:
                self.flatten(builder, row, index, path, value, level, depth + 1)
            elif isinstance(value, _LISTS) and not too_deep and (self.max_tables is None or level < self.max_tables):
                self.child_rows(builder, index, path, value, level + 1, depth + 1)
            elif isinstance(value, JsonText):
                self.put(builder, row, path, str(value), True)
            elif isinstance(value, (Mapping,) + _LISTS):
                self.put(builder, row, path, to_json_text(_jsonable(value, builder.table, path_name(path))), True)
            else:
                self.put(builder, row, path, value, False)

    @staticmethod
    def put(builder: _TableBuilder, row: dict[SourceKey, Any], path: SourceKey, value: Any, is_json: bool) -> None:
        builder.keys[path] = None
        row[path] = value
        if is_json:
            builder.json_keys.add(path)

    def child_rows(self, parent: _TableBuilder, parent_row: int, path: SourceKey, items: Any, level: int,
                   depth: int) -> None:
        child = parent.children.get(path)
        if child is None:
            plain = shorten(child_table_path(parent.table, path), self.names.max_length)
            child = parent.children[path] = _TableBuilder(plain, path)
        for position, item in enumerate(items):
            child.parent_index.append(parent_row)
            child.list_index.append(position)
            self.add_record(child, plain_value(item, child.table, VALUE_COLUMN), level, depth)


def flatten_records(
    table: str, records: list[Any], *, max_table_nesting: int | None, max_identifier_length: int | None,
    json_columns: frozenset[str] = frozenset(), names: TableNames | None = None,
) -> list[TableRows]:
    """Unnest ``records`` row by row into the rows of ``table`` and its child tables (parents first).

    ``names`` resolves each value's path of keys to its column and each list to its child table (a
    fresh one when not given), as in :func:`dataload.normalize.unnest.unnest`: both paths give the
    same names.

    >>> [t.table for t in flatten_records("t", [{"a": 1, "b": [1, "x"]}], max_table_nesting=None,
    ...                                   max_identifier_length=None)]
    ['t', 't__b']
    """
    names = names or TableNames(None, max_identifier_length)
    flattener = _Flattener(table, max_table_nesting, json_columns, names)
    for record in records:
        flattener.add_record(flattener.root, plain_value(record, table, "(record)"), 0)
    return [_to_table_rows(b, names) for b in _named(flattener.root, table, names)]


def _named(builder: _TableBuilder, path: str, names: TableNames) -> list[_TableBuilder]:
    """``builder`` and its descendants (parents first), each child given its settled name."""
    found = [builder]
    settled = names.child_tables_of(builder.table, path, list(builder.children))
    for child, (name, child_path) in zip(builder.children.values(), settled):
        child.table, child.parent = name, builder.table
        found += _named(child, child_path, names)
    return found


def _to_table_rows(builder: _TableBuilder, names: TableNames) -> TableRows:
    length = len(builder.rows)
    rows = TableRows(builder.table, builder.parent, length, source_key=builder.source_key)
    if builder.parent is not None:
        rows.parent_index = pa.array(builder.parent_index, type=pa.int64())
        rows.list_index = pa.array(builder.list_index, type=pa.int64())
    keys = list(builder.keys)
    leaves = []
    for path, name in zip(keys, names.of(builder.table).resolve(keys)):
        values = [row.get(path) for row in builder.rows]
        with content_errors(builder.table, name, find_value=lambda: _first_failing(values, builder.table, name)):
            main, alternatives = build_column(values, builder.table, name)
        leaves.append((path, main, path in builder.json_keys))
        if alternatives:
            rows.alternatives[name] = alternatives
    rows.fill(names.of(builder.table), leaves)
    return rows


def build_column(values: list[Any], table: str, column: str) -> tuple[pa.Array, list[pa.Array]]:
    """Arrow array(s) for one column: the first value's type in the main array, others apart."""
    kinds = [python_data_type(v) for v in values]
    present = {k for k in kinds if k is not None}
    main_kind = _main_kind(kinds, present)
    groups: dict[str | None, list[Any]] = {main_kind: [None] * len(values)}
    for i, (value, kind) in enumerate(zip(values, kinds)):
        if kind is None:
            continue
        target = main_kind if _fits(kind, main_kind) else kind
        groups.setdefault(target, [None] * len(values))[i] = _for_arrow(value, target)
    if main_kind == "text":
        _numbers_as_text(groups, table, column)
    arrays = {k: _array(v, k, table, column) for k, v in groups.items()}
    main = arrays.pop(main_kind)
    return main, list(arrays.values())


def _numbers_as_text(groups: dict[str | None, list[Any]], table: str, column: str) -> None:
    """Ints and decimals in a text column as ``str()`` of the value given (``Decimal("0.00")`` is
    ``"0.00"``, not the digits of a decimal array's scale); left apart when the text is ISO dates or
    date-times, which make a ``date`` / ``timestamp`` column."""
    numbers = [kind for kind in ("bigint", "decimal") if kind in groups]
    inferred = infer_column(column, _array(groups["text"], "text", table, column)) if numbers else None
    if inferred is None or inferred.data_type != "text":
        return
    texts = groups["text"]
    for kind in numbers:
        for i, value in enumerate(groups.pop(kind)):
            if value is not None:
                texts[i] = str(value)


def _first_failing(values: list[Any], table: str, column: str) -> Any:
    """The first value that cannot be made into a column on its own (looked for only after an error)."""
    for value in values:
        if value is None:
            continue
        try:
            build_column([value], table, column)
        except Exception:
            return value
    return None


def _main_kind(kinds: list[str | None], present: set[str]) -> str | None:
    if present and present <= {"bigint", "double"}:
        return "double" if "double" in present else "bigint"
    if present and present <= {"bigint", "decimal"}:
        return "decimal" if "decimal" in present else "bigint"
    return next((k for k in kinds if k is not None), None)


def _fits(kind: str, main_kind: str | None) -> bool:
    return kind == main_kind or (main_kind == "double" and kind == "bigint") or (
        main_kind == "decimal" and kind == "bigint")


def _for_arrow(value: Any, kind: str | None) -> Any:
    if kind == "double":
        return float(value)
    if kind == "decimal" and isinstance(value, int):
        import decimal

        return decimal.Decimal(value)
    if kind == "text" and not isinstance(value, str):
        return str(value)
    return value


def _array(values: list[Any], kind: str | None, table: str, column: str) -> pa.Array:
    try:
        if kind == "timestamp":
            return pa.array([coerce_value(v, "timestamp") for v in values], type=pa.timestamp("us", tz="UTC"))
        if kind == "decimal":
            tight = pa.array(values)
            return tight.cast(decimal_type_for_values(tight.type))
        return pa.array(values) if kind is not None else pa.nulls(len(values))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise NormalizeError(f"table {table!r}, column {column!r}: cannot store {kind} values: {exc}",
                             table=table, column=column) from exc


def plain_value(value: Any, table: str, column: str) -> Any:
    """Convert well-known Python objects to plain data; refuse objects with no defined form."""
    if value is None or isinstance(value, (str, int, float, bool, Mapping, list)):
        return value
    if is_missing(value):
        return None
    if isinstance(value, datetime.timedelta):
        return duration_micros(value)
    if python_data_type(value) != "json" or isinstance(value, (tuple, set, frozenset)):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    form = table_form(value)
    if form is not NO_FORM:
        return plain_value(form, table, column)
    raise NormalizeError(
        f"table {table!r}, column {column!r}: a value of type {type_name(value)} has no table form; "
        "convert it to a dict, list, string or number (for example with add_map)", table=table, column=column)


def _jsonable(value: Any, table: str, column: str) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(plain_value(v, table, column), table, column) for k, v in value.items()}
    if isinstance(value, _LISTS):
        return [_jsonable(plain_value(v, table, column), table, column) for v in value]
    return value
