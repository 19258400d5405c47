"""Columnar unnesting: a struct array (records) becomes parent and child tables, no per-row Python.

Nested structs are flattened into ``parent__child`` columns; lists become child tables linked by
position. Used for Arrow input and for pages of dicts that Arrow could convert in one go.
"""

from __future__ import annotations

import pyarrow as pa

from dataload.normalize.rows import TableNames, TableRows, list_positions
from dataload.schema.infer import to_json_text
from dataload.schema.model import VALUE_COLUMN
from dataload.schema.naming import SourceKey
from dataload.values import MAX_NESTING_DEPTH


def unnest(
    table: str,
    records: pa.StructArray,
    *,
    max_table_nesting: int | None,
    max_identifier_length: int | None,
    json_columns: frozenset[str] = frozenset(),
    names: TableNames | None = None,
) -> list[TableRows]:
    """Split ``records`` into the rows of ``table`` and of its child tables (parents first).

    ``names`` resolves each field's path of keys to its column (a fresh one when not given).

    >>> [t.table for t in unnest("u", pa.array([{"tags": ["a"]}]), max_table_nesting=None,
    ...                                         max_identifier_length=None)]
    ['u', 'u__tags']
    """
    out: list[TableRows] = []
    limits = _Limits(max_table_nesting, json_columns, names or TableNames(None, max_identifier_length))
    _unnest_into(out, TableRows(table, None, len(records)), table, records, 0, 0, limits)
    return out


class _Limits:
    def __init__(self, max_table_nesting: int | None, json_columns: frozenset[str], names: TableNames) -> None:
        self.tables = max_table_nesting
        self.json = json_columns
        self.names = names


_Lists = list[tuple[SourceKey, pa.Array, int]]  # the lists of one table's rows: key, values, struct depth


def _unnest_into(out: list[TableRows], rows: TableRows, path: str, records: pa.StructArray, level: int,
                 depth: int, limits: _Limits) -> None:
    out.append(rows)
    leaves: list[tuple[SourceKey, pa.Array, bool]] = []
    lists: _Lists = []
    _flatten(rows, leaves, lists, (), records, level, depth, limits)
    rows.fill(limits.names.of(rows.table), leaves)
    children = limits.names.child_tables_of(rows.table, path, [key for key, _, _ in lists])
    for (source_key, values, list_depth), (name, child_path) in zip(lists, children):
        _child_table(out, rows, name, child_path, source_key, values, level + 1, list_depth, limits)


def _flatten(
    rows: TableRows, leaves: list[tuple[SourceKey, pa.Array, bool]], lists: _Lists,
    prefix: SourceKey, struct: pa.StructArray, level: int, depth: int, limits: _Limits,
) -> None:
    for field, child in zip(struct.type, struct.flatten()):
        path = (*prefix, field.name)
        kind = child.type
        too_deep = depth + 1 >= MAX_NESTING_DEPTH
        if rows.parent is None and limits.json and limits.names.of(rows.table).planned(path) in limits.json:
            leaves.append((path, _as_json(child), True))  # declared json: every value as JSON text
        elif pa.types.is_struct(kind) and not too_deep:
            _flatten(rows, leaves, lists, path, child, level, depth + 1, limits)
        elif _is_list(kind) and not too_deep and (limits.tables is None or level < limits.tables):
            lists.append((path, child, depth + 1))
        elif pa.types.is_struct(kind) or _is_list(kind) or pa.types.is_map(kind):
            leaves.append((path, _as_json(child), True))
        else:
            leaves.append((path, child, False))


def _child_table(out: list[TableRows], parent: TableRows, name: str, table_path: str, source_key: SourceKey,
                 lists: pa.Array, level: int, depth: int, limits: _Limits) -> None:
    values, parent_index, list_index = list_positions(lists)
    child = TableRows(name, parent.table, len(values), parent_index=parent_index, list_index=list_index,
                      source_key=source_key)
    if not pa.types.is_struct(values.type):
        values = pa.StructArray.from_arrays([values], [VALUE_COLUMN])
    _unnest_into(out, child, table_path, values, level, depth, limits)


def _is_list(kind: pa.DataType) -> bool:
    return bool(pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind))


def _as_json(array: pa.Array) -> pa.Array:
    return pa.array([None if v is None else to_json_text(v) for v in array.to_pylist()], type=pa.string())
