"""The Arrow columns the ADBC PostgreSQL driver returns, turned into plain Arrow types any destination loads.

The driver tags columns it has no Arrow type for as extension types: ``numeric`` as an opaque
text column (its precision and scale in the field's ``POSTGRESQL:typmod``), ``uuid`` and ``json``
as Arrow's canonical extensions, and any type it does not know (``inet``, ``xml``, ranges, ...)
as opaque bytes in PostgreSQL's binary wire format, which are refused rather than passed on.
:func:`plain_schema` decides once per result what each column becomes; :meth:`PlainSchema.convert`
applies it to every batch with Arrow compute (no Python rows).

>>> import pyarrow as pa
>>> field = pa.field("n", pa.opaque(pa.string(), "numeric", "PostgreSQL"), metadata={"POSTGRESQL:typmod": "786438"})
>>> schema = plain_schema(pa.schema([field]), "table 'orders'")
>>> schema.convert(pa.record_batch([pa.array(["12.50", None])], schema=pa.schema([field]))).to_pylist()
[{'n': Decimal('12.50')}, {'n': None}]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import dataload

Convert = Callable[[pa.Array], pa.Array]
_UUID_PARTS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))


class PlainSchema(NamedTuple):
    """What each column of a driver result becomes: the Arrow schema out, and one conversion per column."""

    source: pa.Schema
    schema: pa.Schema
    converts: tuple[Convert | None, ...]

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """``batch`` (of the driver's schema) with every column in its plain type."""
        columns = [column if convert is None else convert(column)
                   for column, convert in zip(batch.columns, self.converts)]
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)


def plain_schema(source: pa.Schema, what: str) -> PlainSchema:
    """How to turn batches of ``source`` into plain Arrow; ``what`` names the table(s) in errors.

    A column whose values would change on the way (``money``, read by the driver as cents) is
    refused with a :class:`dataload.SchemaError` naming it.
    """
    fields, converts = [], []
    for field in source:
        target, convert = _plain_field(field, what)
        fields.append(pa.field(field.name, target, nullable=field.nullable))
        converts.append(convert)
    return PlainSchema(source, pa.schema(fields), tuple(converts))


def _plain_field(field: pa.Field, what: str, column: str | None = None) -> tuple[pa.DataType, Convert | None]:
    """The plain type of one field and what converts it (None: as it is); ``column`` names a list's column."""
    pg_type = _metadata(field, b"POSTGRESQL:type") or getattr(field.type, "type_name", None)
    if pg_type == "money":
        raise dataload.SchemaError(
            f"column {column or field.name!r} of {what} is PostgreSQL money, which the native backend reads as "
            "whole cents: cast it to numeric in the query (query_adapter_callback) or use backend='pyarrow'",
            column=column or field.name)
    if pa.types.is_list(field.type) and isinstance(field.type.value_type, pa.BaseExtensionType):
        value_type, convert = _plain_field(field.type.value_field, what, column=field.name)
        return pa.list_(value_type), _list_of(convert)
    if not isinstance(field.type, pa.BaseExtensionType):
        return field.type, None
    if isinstance(field.type, pa.UuidType):
        return pa.string(), uuid_text
    if pg_type == "numeric":
        decimal = _decimal_type(_metadata(field, b"POSTGRESQL:typmod"))
        if decimal is not None:
            return decimal, _to_decimal(decimal, column or field.name, what)
    storage = field.type.storage_type
    if pa.types.is_binary(storage) or pa.types.is_large_binary(storage):
        raise dataload.SchemaError(
            f"column {column or field.name!r} of {what} is PostgreSQL {pg_type}, which the driver returns in "
            "PostgreSQL's binary wire format: cast it to text in the query (query_adapter_callback), or read "
            "the table with sql_table, which does", column=column or field.name)
    return storage, _storage


def _metadata(field: pa.Field, key: bytes) -> str | None:
    value = (field.metadata or {}).get(key)
    return value.decode() if value is not None else None


def _decimal_type(typmod: str | None) -> pa.DataType | None:
    """``decimal128(p, s)`` (``decimal256`` above 38 digits) for a ``numeric(p, s)`` typmod; None without one."""
    if typmod is None or int(typmod) < 4:  # -1: numeric without precision, kept as its exact text
        return None
    precision, scale = (int(typmod) - 4) >> 16, (int(typmod) - 4) & 0xFFFF
    if precision <= 38:
        return pa.decimal128(precision, scale)
    return pa.decimal256(precision, scale) if precision <= 76 else None


def _storage(column: pa.Array) -> pa.Array:
    return column.storage


def _list_of(convert: Convert | None) -> Convert:
    """A conversion of list columns that converts their values with ``convert``."""
    def converted(column: pa.Array) -> pa.Array:
        values = column.values if convert is None else convert(column.values)
        return pa.ListArray.from_arrays(column.offsets, values, mask=column.is_null() if column.null_count else None)

    return converted


def _to_decimal(decimal: pa.DataType, name: str, what: str) -> Convert:
    def convert(column: pa.Array) -> pa.Array:
        try:
            return pc.cast(column.storage, decimal)
        except pa.ArrowInvalid as exc:
            problem = str(exc)  # e.g. 'NaN', which a decimal cannot hold
        raise dataload.SchemaError(f"column {name!r} of {what}: a numeric value does not fit {decimal}: {problem}",
                                   column=name)

    return convert


def uuid_text(column: pa.Array) -> pa.Array:
    """Canonical text (``12345678-1234-...``) of a ``uuid`` column of 16-byte values, nulls kept.

    >>> import uuid
    >>> value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    >>> uuid_text(pa.array([value.bytes, None], pa.uuid())).to_pylist()
    ['12345678-1234-5678-1234-567812345678', None]
    """
    storage: Any = column.storage if isinstance(column, pa.ExtensionArray) else column
    if storage.null_count == len(storage):
        return pa.nulls(len(storage), pa.string())
    data = np.frombuffer(storage.buffers()[1], dtype=np.uint8)[storage.offset * 16:(storage.offset + len(storage)) * 16]
    digits = data.tobytes().hex().encode()
    offsets = np.arange(0, len(digits) + 1, 32, dtype=np.int32)
    flat = pa.StringArray.from_buffers(len(storage), pa.py_buffer(offsets), pa.py_buffer(digits))
    text = pc.binary_join_element_wise(*(pc.utf8_slice_codeunits(flat, a, b) for a, b in _UUID_PARTS), "-")
    return pc.if_else(storage.is_valid(), text, pa.scalar(None, pa.string())) if storage.null_count else text
