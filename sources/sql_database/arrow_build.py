"""Fetched rows (tuples) built into an Arrow record batch column by column, with types from the reflection.

A column whose values do not fit its reflected Arrow type (SQLite lets an ``INTEGER`` column hold
``1.5``) is built with the type Arrow infers from the values instead, and dataload's normalizer fits
it into the column (values that do not convert go to a variant column). Values that no single Arrow
type holds (``5`` and ``'five'`` in one column) raise :class:`ValueDoesNotFit`, naming the table,
column and row.

>>> import sqlalchemy as sa
>>> spec = ArrowColumns.of([sa.Column("id", sa.Integer), sa.Column("price", sa.Numeric(5, 2))])
>>> batch = spec.batch([(1, 2), (2, None)], table="orders", primary_key=("id",), first_row=1)
>>> batch.schema.types
[DataType(int32), Decimal128Type(decimal128(5, 2))]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

import dataload
from sources.sql_database.column_types import Converter, arrow_type, value_converter

_BUILD_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError,
                 ValueError)


class ValueDoesNotFit(dataload.ExtractError):
    """A column whose values no one Arrow type holds; the message names table, column and row."""


@dataclass(frozen=True)
class ArrowColumns:
    """The names, Arrow types and value converters of the columns of a SELECT."""

    names: tuple[str, ...]
    types: tuple[pa.DataType | None, ...]
    converters: tuple[Converter | None, ...]

    @classmethod
    def of(cls, columns: Sequence[Any]) -> ArrowColumns:
        """From the selected columns of a SELECT (anything with ``.name`` and ``.type``)."""
        return cls(tuple(c.name for c in columns), tuple(arrow_type(c.type) for c in columns),
                   tuple(value_converter(c.type) for c in columns))

    def batch(self, rows: Sequence[Sequence[Any]], *, table: str, primary_key: tuple[str, ...],
              first_row: int) -> pa.RecordBatch:
        """One record batch of ``rows`` (``first_row`` is the number of the first one in the result, for errors)."""
        columns = list(zip(*rows)) if rows else [() for _ in self.names]
        arrays = [self._array(i, column, rows, table, primary_key, first_row) for i, column in enumerate(columns)]
        return pa.RecordBatch.from_arrays(arrays, names=list(self.names))

    def _array(self, index: int, values: Sequence[Any], rows: Sequence[Sequence[Any]], table: str,
               primary_key: tuple[str, ...], first_row: int) -> pa.Array:
        convert, target = self.converters[index], self.types[index]
        if convert is not None:
            values = [convert(v) for v in values]
        if target is not None:
            try:
                return pa.array(values, type=target)
            except _BUILD_ERRORS:
                pass  # built with the type of the values below; the normalizer fits it into the column
        try:
            return pa.array(values)
        except _BUILD_ERRORS as exc:
            problem = f"{type(exc).__name__}: {exc}"
        position = _first_misfit(values, target)
        raise ValueDoesNotFit(f"sql_database: table {table!r}, column {self.names[index]!r}, "
                              f"{self.row_key(rows[position], primary_key, first_row + position)}: the value "
                              f"{_short(values[position])} does not fit the column's other values ({problem}); "
                              "read the table with backend='sqlalchemy' (values that do not fit go to a variant "
                              "column) or give the column a type with type_adapter_callback")

    def row_key(self, row: Sequence[Any], primary_key: tuple[str, ...], number: int) -> str:
        """How errors name a row: by its primary key when the SELECT has it, else its ``number`` in the result."""
        if primary_key and set(primary_key) <= set(self.names):
            return "row with " + ", ".join(f"{k}={row[self.names.index(k)]!r}" for k in primary_key)
        return f"row {number} of the result"


def _first_misfit(values: Sequence[Any], target: pa.DataType | None) -> int:
    """The position of the first value whose Python type differs from the first value's (or misses ``target``)."""
    kinds = [type(v) for v in values if v is not None]
    for position, value in enumerate(values):
        if value is None:
            continue
        if target is not None:
            try:
                pa.array([value], type=target)
                continue
            except _BUILD_ERRORS:
                pass
        if type(value) is not kinds[0] or target is not None:
            return position
    return 0


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "..."
