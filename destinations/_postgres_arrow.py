"""Arrow <-> PostgreSQL text: record batches as COPY CSV, query results as Arrow tables.

Load files sent as CSV (``copy_format="csv"``, or a column without a binary encoder; the binary
format is :mod:`destinations._postgres_binary`) go to ``COPY ... FROM STDIN (FORMAT csv)`` written by
pyarrow batch by batch with the row's position (``_dl_chunk``, ``_dl_row``) appended; binary columns
go as ``bytea`` hex text. Rows read back are typed from the result's column types.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

POSITION_COLUMNS = ("_dl_chunk", "_dl_row")
"""The columns appended to each staged row: its load file's chunk and its row in that file."""

_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_ARROW_TYPES = {16: pa.bool_(), 17: pa.binary(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 25: pa.string(),
                114: pa.string(), 700: pa.float32(), 701: pa.float64(), 1043: pa.string(), 1082: pa.date32(),
                1083: pa.time64("us"), 1114: pa.timestamp("us"), 1184: pa.timestamp("us", "UTC"), 3802: pa.string()}


def csv_chunk(batch: pa.RecordBatch, position: tuple[int, int] | None) -> memoryview:
    """One record batch as COPY CSV (no header); with ``position`` = (chunk, first row), ``_dl_chunk``
    and ``_dl_row`` are appended.

    Nulls are unquoted empty fields and strings are always quoted, so ``""`` stays an empty string.
    """
    import pyarrow.csv as pacsv

    arrays = [bytea_text(a) if pa.types.is_binary(a.type) or pa.types.is_large_binary(a.type)
              or pa.types.is_fixed_size_binary(a.type) else a for a in batch.columns]
    names = list(batch.schema.names)
    if position is not None:
        chunk, first_row = position
        arrays.append(pa.array(np.full(batch.num_rows, chunk, dtype=np.int64)))
        arrays.append(pa.array(np.arange(first_row, first_row + batch.num_rows, dtype=np.int64)))
        names += POSITION_COLUMNS
    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.RecordBatch.from_arrays(arrays, names), sink, pacsv.WriteOptions(include_header=False))
    return memoryview(sink.getvalue())


def bytea_text(array: pa.Array) -> pa.Array:
    r"""Binary values as PostgreSQL's hex input for ``bytea`` (``\x0aff``), vectorized.

    >>> bytea_text(pa.array([b"\n\xff", None])).to_pylist()
    ['\\x0aff', None]
    """
    array = pc.cast(array, pa.large_binary())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset:array.offset + len(array) + 1]
    data = array.buffers()[2]
    raw = (np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8))[offsets[0]:offsets[-1]]
    lengths = np.diff(offsets)
    out_offsets = np.concatenate([[0], np.cumsum(2 * lengths + 2)]).astype(np.int64)
    out, starts = np.empty(int(out_offsets[-1]), dtype=np.uint8), out_offsets[:-1]
    out[starts], out[starts + 1] = ord("\\"), ord("x")
    owner = np.repeat(np.arange(len(lengths)), lengths)
    positions = starts[owner] + 2 + 2 * (np.arange(len(raw)) - (offsets[:-1] - offsets[0])[owner])
    out[positions], out[positions + 1] = _HEX_DIGITS[raw >> 4], _HEX_DIGITS[raw & 15]
    text = pa.Array.from_buffers(pa.large_string(), len(array), [None, pa.py_buffer(out_offsets), pa.py_buffer(out)])
    return pc.if_else(pc.is_valid(array), text, pa.scalar(None, pa.large_string()))


def result_to_arrow(cursor: Any) -> pa.Table:
    """The rows of an executed cursor as an Arrow table typed from the result's column types."""
    if cursor.description is None:
        return pa.table({})
    rows = cursor.fetchall()
    values = list(zip(*rows)) if rows else [() for _ in cursor.description]
    arrays = [_array(list(v), _arrow_type(d)) for v, d in zip(values, cursor.description)]
    return pa.Table.from_arrays(arrays, names=[d.name for d in cursor.description])


def _arrow_type(column: Any) -> pa.DataType | None:
    if column.type_code == 1700 and column.precision:  # numeric(p, s)
        precision, scale = column.precision, column.scale or 0
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    return _ARROW_TYPES.get(column.type_code)


def _array(values: list[Any], arrow_type: pa.DataType | None) -> pa.Array:
    try:
        return pa.array(values, type=arrow_type)
    except (pa.ArrowException, TypeError, ValueError):  # a type Arrow does not know (uuid, interval...)
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
