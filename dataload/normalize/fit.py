"""Fit the raw columns of a batch to the schema: infer new columns, coerce, create variants.

This is the one place where a batch meets the schema, so both the columnar and the row-by-row
path end here and behave the same. The schema's table is updated in place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from dataload.normalize.errors import content_errors
from dataload.normalize.rows import TableRows
from dataload.schema.infer import (
    coerce,
    data_type_of_arrow,
    infer_column,
    to_json_text,
    truncated_count,
    variant_type,
)
from dataload.schema.model import LOAD_ID, Column, Schema, Table
from dataload.schema.naming import disambiguated_name, variant_name


@dataclass
class TypeNotes:
    """Values not stored as their column's type, counted per ``"table.column"``.

    ``not_converted``: values that did not convert to the column's type (they went to a variant
    column); ``truncated``: values cut to microseconds (nanosecond timestamps, times, durations).
    """

    not_converted: Counter[str] = field(default_factory=Counter)
    truncated: Counter[str] = field(default_factory=Counter)

    def update(self, other: TypeNotes) -> None:
        """Add the counts of ``other``."""
        self.not_converted.update(other.not_converted)
        self.truncated.update(other.truncated)


def fit_rows(rows: TableRows, schema: Schema, load_id: str | None, max_identifier_length: int | None,
             notes: TypeNotes | None = None) -> pa.Table:
    """The final Arrow table for ``rows``: every column typed as the schema says.

    New columns are added to ``schema``; values that do not fit their column go into a variant
    column ``<name>__v_<type>``, never dropped, and are counted in ``notes``. With ``load_id``
    None the ``_dl_load_id`` column is declared in the schema but left out of the table (see
    :func:`with_load_id`).
    """
    table = _table_for(rows, schema)
    notes = TypeNotes() if notes is None else notes
    arrays: dict[str, pa.Array] = {}
    for name, array in rows.columns.items():
        if name.startswith("_dl_"):
            continue
        with content_errors(rows.table, name):
            for piece in [array, *rows.alternatives.get(name, [])]:
                _fit_column(table, arrays, name, piece, rows, max_identifier_length, notes)
    for system in _system_columns(rows):
        if system not in table.columns:
            table.columns[system] = Column(system, "text" if system == LOAD_ID else "bigint", nullable=False)
        if system != LOAD_ID:
            arrays[system] = rows.columns[system]
    if load_id is not None:
        arrays[LOAD_ID] = _load_ids(load_id, rows.length)
    ordered = [n for n in table.columns if n in arrays]
    return pa.table({n: arrays[n] for n in ordered})


def with_load_id(fitted: pa.Table, table: Table, load_id: str) -> pa.Table:
    """``fitted`` (made by ``fit_rows`` without a load id) with ``_dl_load_id`` where ``fit_rows`` puts it."""
    position = columns_with_load_id(fitted, table).index(LOAD_ID)
    return fitted.add_column(position, LOAD_ID, _load_ids(load_id, fitted.num_rows))


def columns_with_load_id(fitted: pa.Table, table: Table) -> list[str]:
    """The columns of ``fitted`` plus ``_dl_load_id``, in the table's order."""
    present = set(fitted.column_names) | {LOAD_ID}
    return [n for n in table.columns if n in present]


def _load_ids(load_id: str, length: int) -> pa.Array:
    return pa.repeat(pa.scalar(load_id, pa.string()), length)


def _table_for(rows: TableRows, schema: Schema) -> Table:
    table = schema.tables.get(rows.table)
    if table is None:
        parent = schema.tables[rows.parent] if rows.parent else None
        table = Table(rows.table, parent=rows.parent,
                      write_disposition=parent.write_disposition if parent else "append")
        schema.tables[rows.table] = table
    if table.source_key is None:  # recorded, so later runs put this list here again
        table.source_key = rows.source_key
    return table


def _system_columns(rows: TableRows) -> list[str]:
    return [LOAD_ID] + [n for n in rows.columns if n.startswith("_dl_")]


def _fit_column(table: Table, out: dict[str, pa.Array], name: str, array: pa.Array,
                rows: TableRows, max_length: int | None, notes: TypeNotes) -> None:
    is_json = name in rows.json_columns
    column = table.columns.get(name)
    if column is None or column.data_type is None:
        if array.null_count == len(array):
            return  # only nulls: the column waits for its first value
        inferred = infer_column(name, array)
        if inferred is None:
            return  # only nulls: the column waits for its first value
        if is_json:
            inferred.data_type = "json"
        column = _merge_declared(column, inferred)
        table.columns[name] = column
    if column.source_key is None:  # recorded, so later runs put this key here again
        column.source_key = rows.sources.get(name)
    if column.data_type == "json" and not is_json and data_type_of_arrow(array.type) is not None:
        array = pa.array([None if v is None else to_json_text(v) for v in array.to_pylist()], pa.string())
    truncated = truncated_count(array)
    if truncated:
        notes.truncated[f"{table.name}.{name}"] += truncated
    fitted, leftovers = coerce(array, column)
    out[name] = _combine(out.get(name), fitted)
    if leftovers is not None:
        notes.not_converted[f"{table.name}.{name}"] += len(leftovers) - leftovers.null_count
        _fit_variant(table, out, name, leftovers, column, max_length, rows.columns)


def _fit_variant(table: Table, out: dict[str, pa.Array], name: str, values: pa.Array, misfit: Column,
                 max_length: int | None, user_columns: Collection[str]) -> None:
    """Put ``values`` that did not fit column ``misfit`` into a variant of column ``name``."""
    inferred = variant_type(name, values, misfit)
    target = variant_column(table, name, inferred.data_type or "text", max_length, user_columns)
    variant = table.columns.get(target)
    if variant is None:
        variant = Column(target, inferred.data_type, precision=inferred.precision,
                         scale=inferred.scale, variant_of=name)
        table.columns[target] = variant
    fitted, rest = coerce(values, variant)
    if rest is not None:  # a decimal wider than the variant's, for example: keep it as text
        _fit_variant(table, out, name, pa.array([None if v is None else str(v) for v in rest.to_pylist()]),
                     variant, max_length, user_columns)
    out[target] = _combine(out.get(target), fitted)


def variant_column(table: Table, name: str, data_type: str, max_length: int | None,
                   user_columns: Collection[str] = ()) -> str:
    """The variant column of ``name`` for ``data_type`` values: ``<name>__v_<type>``, or that plus a
    hash of it when a user key has that name (in ``table`` or among ``user_columns``, a batch's).

    >>> variant_column(Table("t"), "price", "text", None)
    'price__v_text'
    """
    target = variant_name(name, data_type, max_length)
    existing = table.columns.get(target)
    if target in user_columns or (existing is not None and existing.variant_of != name):
        return disambiguated_name((target,), max_length)
    return target


def _merge_declared(declared: Column | None, inferred: Column) -> Column:
    if declared is None:
        return inferred
    declared.data_type = inferred.data_type
    if declared.precision is None:
        declared.precision, declared.scale = inferred.precision, inferred.scale
    return declared


def _combine(existing: pa.Array | None, new: pa.Array) -> pa.Array:
    return new if existing is None else pc.coalesce(existing, new)
