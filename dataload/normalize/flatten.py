"""Row-by-row unnesting for records Arrow cannot convert in one go (mixed types, odd objects).

Produces the same :class:`TableRows` as the columnar path; a column whose values have several
types keeps the first type in the column and the others as alternatives (they become variant
columns). Values that have no table representation raise a :class:`NormalizeError` naming the
table and column.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from dataload.exceptions import NormalizeError
from dataload.normalize.rows import MAX_NESTING_DEPTH, JsonText, TableRows
from dataload.schema.infer import (
    coerce_value,
    decimal_type_for_values,
    duration_micros,
    python_data_type,
    to_json_text,
)
from dataload.schema.model import VALUE_COLUMN
from dataload.schema.naming import join_path, normalize_identifier, shorten

_LISTS = (list, tuple, set, frozenset)


class _TableBuilder:
    def __init__(self, table: str, parent: str | None) -> None:
        self.table, self.parent = table, parent
        self.rows: list[dict[str, Any]] = []
        self.sources: dict[str, str] = {}
        self.json_columns: set[str] = set()
        self.parent_index: list[int] = []
        self.list_index: list[int] = []


class _Flattener:
    def __init__(self, table: str, max_table_nesting: int | None, max_identifier_length: int | None,
                 json_columns: frozenset[str]) -> None:
        self.root = table
        self.json = json_columns
        self.max_tables = max_table_nesting
        self.max_length = max_identifier_length
        self.builders: dict[str, _TableBuilder] = {table: _TableBuilder(table, None)}

    def builder(self, table: str, parent: str) -> _TableBuilder:
        if table not in self.builders:
            self.builders[table] = _TableBuilder(table, parent)
        return self.builders[table]

    def add_record(self, builder: _TableBuilder, record: Any, path: str, level: int, depth: int = 0) -> int:
        row: dict[str, Any] = {}
        builder.rows.append(row)
        index = len(builder.rows) - 1
        if not isinstance(record, Mapping):
            record = {VALUE_COLUMN: record}
        self.flatten(builder, row, index, path, "", record, level, depth)
        return index

    def flatten(self, builder: _TableBuilder, row: dict[str, Any], index: int, table_path: str,
                prefix: str, record: Mapping[str, Any], level: int, depth: int) -> None:
        for key, raw in record.items():
            path = join_path(prefix, normalize_identifier(key))
            column = shorten(path, self.max_length)
            value = plain_value(raw, builder.table, column)
            too_deep = depth + 1 >= MAX_NESTING_DEPTH
            if builder.parent is None and column in self.json and value is not None:  # declared json
                self.put(builder, row, column, to_json_text(_jsonable(value, builder.table, column)), key)
                builder.json_columns.add(column)
            elif isinstance(value, Mapping) and not too_deep:
                self.flatten(builder, row, index, table_path, path, value, level, depth + 1)
            elif isinstance(value, _LISTS) and not too_deep and (self.max_tables is None or level < self.max_tables):
                self.child_rows(builder, index, join_path(table_path, path), value, level + 1, depth + 1)
            elif isinstance(value, JsonText):
                self.put(builder, row, column, str(value), key)
                builder.json_columns.add(column)
            elif isinstance(value, (Mapping,) + _LISTS):
                self.put(builder, row, column, to_json_text(_jsonable(value, builder.table, column)), key)
                builder.json_columns.add(column)
            else:
                self.put(builder, row, column, value, key)

    def put(self, builder: _TableBuilder, row: dict[str, Any], column: str, value: Any, key: str) -> None:
        known = builder.sources.setdefault(column, key)
        if column in row and known != key and value is not None and row[column] is not None:
            raise NormalizeError(
                f"table {builder.table!r}: keys {known!r} and {key!r} both normalize to column {column!r}; "
                "rename one of them (for example with add_map)", table=builder.table, column=column)
        if value is not None or column not in row:
            row[column] = value

    def child_rows(self, parent: _TableBuilder, parent_row: int, table_path: str, items: Any, level: int,
                   depth: int) -> None:
        child = self.builder(shorten(table_path, self.max_length), parent.table)
        for position, item in enumerate(items):
            child.parent_index.append(parent_row)
            child.list_index.append(position)
            self.add_record(child, plain_value(item, child.table, VALUE_COLUMN), table_path, level, depth)


def flatten_records(
    table: str, records: list[Any], *, max_table_nesting: int | None, max_identifier_length: int | None,
    json_columns: frozenset[str] = frozenset(),
) -> list[TableRows]:
    """Unnest ``records`` row by row into the rows of ``table`` and its child tables (parents first).

    >>> [t.table for t in flatten_records("t", [{"a": 1, "b": [1, "x"]}], max_table_nesting=None,
    ...                                   max_identifier_length=None)]
    ['t', 't__b']
    """
    flattener = _Flattener(table, max_table_nesting, max_identifier_length, json_columns)
    root = flattener.builders[table]
    for record in records:
        flattener.add_record(root, plain_value(record, table, "(record)"), table, 0)
    return [_to_table_rows(b) for b in flattener.builders.values()]


def _to_table_rows(builder: _TableBuilder) -> TableRows:
    length = len(builder.rows)
    rows = TableRows(builder.table, builder.parent, length, json_columns=builder.json_columns,
                     sources=builder.sources)
    if builder.parent is not None:
        rows.parent_index = pa.array(builder.parent_index, type=pa.int64())
        rows.list_index = pa.array(builder.list_index, type=pa.int64())
    for name in builder.sources:
        values = [row.get(name) for row in builder.rows]
        main, alternatives = build_column(values, builder.table, name)
        rows.columns[name] = main
        if alternatives:
            rows.alternatives[name] = alternatives
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
    arrays = {k: _array(v, k, table, column) for k, v in groups.items()}
    main = arrays.pop(main_kind)
    return main, list(arrays.values())


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
    if type(value).__name__ == "NaTType":  # pandas' missing timestamp or timedelta
        return None
    if isinstance(value, datetime.timedelta):
        return duration_micros(value)
    if python_data_type(value) != "json" or isinstance(value, (tuple, set, frozenset)):
        return value
    if isinstance(value, enum.Enum):
        return plain_value(value.value, table, column)
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    raise NormalizeError(
        f"table {table!r}, column {column!r}: a value of type {type(value).__name__} has no table form; "
        "convert it to a dict, list, string or number (for example with add_map)", table=table, column=column)


def _jsonable(value: Any, table: str, column: str) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(plain_value(v, table, column), table, column) for k, v in value.items()}
    if isinstance(value, _LISTS):
        return [_jsonable(plain_value(v, table, column), table, column) for v in value]
    return value
