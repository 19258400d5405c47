"""Arrow record batches as PostgreSQL's binary ``COPY`` format, column at a time.

Each column becomes one Arrow binary array holding, per row, the field as ``COPY ... (FORMAT
binary)`` wants it (a big-endian 4-byte length, then the value in the type's binary form, or
length -1 for NULL); the fixed-width columns without NULLs go first, packed together with the
row's field count by one numpy structured array, and one ``binary_join_element_wise`` joins the
fields of each row, so no Python code runs per row or per value. The server then skips the text
parsing of every value (timestamps, numbers, booleans) that CSV costs it.

Which target types have a binary form here: :func:`binary_kind` (all that the destination maps); a load
file with a column in an Arrow type other than the one load files use for it (``decimal256``, say) is sent
as CSV (:mod:`destinations._postgres_arrow`).

>>> batch = pa.record_batch({"n": pa.array([1, None], pa.int64()), "s": ["é", None]})
>>> chunk = binary_chunk(batch, ["int8", "text"], None)
>>> bytes(chunk.data)
b'\\x00\\x02\\x00\\x00\\x00\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x02\\xc3\\xa9\\x00\\x02\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff'
>>> chunk.order
[0, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataload.schema.model import Column, integer_bits

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
"""What a binary ``COPY`` stream starts with: the signature, no flags, no header extension."""
TRAILER = b"\xff\xff"
"""What a binary ``COPY`` stream ends with (a field count of -1)."""

_NULL = b"\xff\xff\xff\xff"
_NO_SEPARATOR = pa.scalar(b"", pa.large_binary())
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01
_PG_EPOCH_DAYS = 10_957
_NUMBERS = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "bool": "u1", "timestamptz": ">i8",
            "date": ">i4", "time": ">i8"}  # their big-endian numpy type
_FIXED = {*_NUMBERS, "numeric"}  # kinds whose fields have one width per column
_KINDS = {"double": "float8", "bool": "bool", "text": "text", "timestamp": "timestamptz", "date": "date",
          "time": "time", "binary": "bytea", "json": "jsonb", "decimal": "numeric"}
_NBASE_DIGITS = 4  # numeric's binary digits are base 10,000: four decimal digits each
_t = pa.types
_ACCEPTS: dict[str, Callable[[pa.DataType], bool]] = {
    "int2": _t.is_integer, "int4": _t.is_integer, "int8": _t.is_integer, "float8": _t.is_float64,
    "bool": _t.is_boolean, "timestamptz": lambda t: _t.is_timestamp(t) and t.unit == "us", "date": _t.is_date32,
    "time": lambda t: _t.is_time64(t) and t.unit == "us", "text": lambda t: _t.is_string(t) or _t.is_large_string(t),
    "jsonb": lambda t: _t.is_string(t) or _t.is_large_string(t),
    "bytea": lambda t: _t.is_binary(t) or _t.is_large_binary(t), "numeric": _t.is_decimal128,
}
"""The Arrow types (those load files use, :func:`dataload.schema.infer.arrow_type_for`) each kind encodes."""


def binary_kind(column: Column) -> str | None:
    """How a column of this data type is sent in binary ``COPY`` (None: as CSV only).

    >>> binary_kind(Column("n", "bigint", precision=32)), binary_kind(Column("d", "decimal"))
    ('int4', 'numeric')
    """
    if column.data_type == "bigint":
        return {8: "int2", 16: "int2", 32: "int4"}.get(integer_bits(column), "int8")
    return _KINDS.get(column.data_type or "text")


def binary_kinds(schema: pa.Schema, columns: Sequence[Column]) -> list[str] | None:
    """The kind of each field of ``schema`` (a load file's) stored in ``columns``; None unless every one has a
    binary form and its Arrow type is one that kind encodes exactly (then the file goes as CSV)."""
    kinds = []
    for field, column in zip(schema, columns):
        kind, arrow_type = binary_kind(column), field.type
        if _t.is_dictionary(arrow_type):
            arrow_type = arrow_type.value_type
        if kind is None or not (_t.is_null(arrow_type) or _ACCEPTS[kind](arrow_type)):
            return None
        kinds.append(kind)
    return kinds


class BinaryChunk(NamedTuple):
    """One batch as binary ``COPY`` rows: ``data`` holds the fields of the columns in ``order`` (their indexes)."""

    data: memoryview
    order: list[int]


def binary_chunk(batch: pa.RecordBatch, kinds: Sequence[str], position: tuple[int, int] | None) -> BinaryChunk:
    """``batch`` (its columns sent as ``kinds``, see :func:`binary_kinds`) as binary ``COPY`` rows; with
    ``position`` = (chunk, first row), ``_dl_chunk`` and ``_dl_row`` are appended as two ``int8`` fields.

    The fields of a row go in ``order``, which the ``COPY`` statement's column list must follow.
    Raises ``pyarrow.ArrowInvalid`` naming the column when an integer does not fit its type (40000 in a
    ``smallint``; normalization keeps such values out of load files, in a variant column).
    """
    arrays, kinds = list(batch.columns), list(kinds)
    if position is not None:
        chunk, first_row = position
        arrays += [pa.array(np.full(batch.num_rows, chunk, dtype=np.int64)),
                   pa.array(np.arange(first_row, first_row + batch.num_rows, dtype=np.int64))]
        kinds += ["int8", "int8"]
    names = [*batch.schema.names, "_dl_chunk", "_dl_row"]
    fixed = [i for i, (a, k) in enumerate(zip(arrays, kinds)) if k in _FIXED and a.null_count == 0]
    rest = [i for i in range(len(arrays)) if i not in fixed]
    columns = []
    for i in fixed + rest:
        try:
            columns.append(_values(arrays[i], kinds[i]) if i in fixed else _field(arrays[i], kinds[i]))
        except pa.ArrowInvalid as exc:
            raise pa.ArrowInvalid(f"column {names[i]!r}: {exc}") from None
    head = _packed(batch.num_rows, columns[:len(fixed)], count=len(arrays))
    rows = pc.binary_join_element_wise(head, *columns[len(fixed):], _NO_SEPARATOR) if rest else head
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset:rows.offset + len(rows) + 1]
    data = rows.buffers()[2]
    return BinaryChunk(memoryview(data)[offsets[0]:offsets[-1]] if data is not None else memoryview(b""),
                       fixed + rest)


def _packed(rows: int, values: list[np.ndarray], count: int | None = None) -> pa.Array:
    """Fixed-width columns (their :func:`_values`) as one packed record per row: the row's field count
    ``count`` (when given), then each column's length and value."""
    layout: list[tuple[str, Any]] = [("count", ">i2")] if count is not None else []
    for n, column in enumerate(values):
        layout += [(f"n{n}", ">i4"), (f"v{n}", column.dtype)]
    block = np.empty(rows, dtype=np.dtype(layout))
    if count is not None:
        block["count"] = count
    for n, column in enumerate(values):
        block[f"n{n}"], block[f"v{n}"] = column.dtype.itemsize, column
    return _as_binary(block, rows)


def _field(array: pa.Array, kind: str) -> pa.Array:
    """One column's fields (length and value, or the NULL marker) as a large_binary array."""
    if _t.is_dictionary(array.type):  # encode each distinct value once (e.g. _dl_load_id)
        return pc.take(_field(array.dictionary, kind), array.indices).fill_null(_NULL)
    if _t.is_null(array.type):
        return pa.nulls(len(array), pa.large_binary()).fill_null(_NULL)
    if kind in _FIXED:
        fields = _packed(len(array), [_values(array, kind)])
    else:
        payload = pc.cast(array, pa.large_string() if kind != "bytea" else pa.large_binary()).view(pa.large_binary())
        offsets = np.frombuffer(payload.buffers()[1], dtype=np.int64)[payload.offset:payload.offset + len(payload) + 1]
        if kind == "jsonb":  # jsonb's binary form: a version byte (1), then the JSON text
            prefix = np.empty(len(array), dtype=np.dtype([("n", ">i4"), ("version", "u1")]))
            prefix["n"], prefix["version"] = np.diff(offsets) + 1, 1
        else:
            prefix = np.empty(len(array), dtype=np.dtype([("n", ">i4")]))
            prefix["n"] = np.diff(offsets)
        fields = pc.binary_join_element_wise(_as_binary(prefix, len(array)), payload, _NO_SEPARATOR)
    if array.null_count:
        fields = pc.if_else(pc.is_valid(array), fields, pa.scalar(_NULL, pa.large_binary()))
    return fields


def _values(array: pa.Array, kind: str) -> np.ndarray:
    """A fixed-width column's values in PostgreSQL's binary form, one numpy record per row (NULLs as zeros:
    replaced after)."""
    if _t.is_dictionary(array.type):
        array = array.dictionary_decode()
    if _t.is_null(array.type):
        return np.zeros(len(array), dtype=_NUMBERS.get(kind, ">i8"))
    if kind == "numeric":
        return _numeric(array)
    if kind in ("int2", "int4", "int8"):
        numbers = _numbers(pc.cast(array, {"int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64()}[kind]))
    elif kind == "timestamptz":
        numbers = _numbers(array.cast(pa.int64())) - _PG_EPOCH_US
    elif kind == "date":
        numbers = _numbers(array.cast(pa.int32())) - _PG_EPOCH_DAYS
    elif kind == "time":
        numbers = _numbers(array.cast(pa.int64()))
    else:  # float8, bool
        numbers = _numbers(array)
    return numbers.astype(_NUMBERS[kind])


def _numeric(array: pa.Array) -> np.ndarray:
    """decimal128 values in numeric's binary form: digit count, weight, sign, display scale, base-10,000 digits.

    Every value of a column gets the same number of digits (enough for its precision), the decimal point
    between two of them; PostgreSQL drops the leading and trailing zero digits. The 128-bit integers are
    worked on as five 32-bit limbs (room for the shift below), all rows at once.
    """
    precision, scale = array.type.precision, array.type.scale
    shift = -scale % _NBASE_DIGITS  # more decimal places, so that the point falls between two digits
    digits = -(-(precision + shift) // _NBASE_DIGITS)
    words = np.frombuffer(array.buffers()[1], dtype=np.uint64)[2 * array.offset:2 * (array.offset + len(array))]
    low, high = words[0::2].copy(), words[1::2].copy()
    negative = (high >> np.uint64(63)).astype(bool)
    borrow = (low == 0) & negative  # two's complement: |x| = ~x + 1
    low[negative], high[negative] = ~low[negative] + np.uint64(1), ~high[negative] + borrow[negative]
    mask, bits = np.uint64(0xFFFFFFFF), np.uint64(32)
    limbs = [low & mask, low >> bits, high & mask, high >> bits, np.zeros_like(low)]
    carry = np.zeros_like(low)
    for n, limb in enumerate(limbs):  # times 10**shift
        product = limb * np.uint64(10**shift) + carry
        limbs[n], carry = product & mask, product >> bits
    out = np.empty(len(array), dtype=np.dtype([("ndigits", ">i2"), ("weight", ">i2"), ("sign", ">u2"),
                                               ("dscale", ">i2"), ("digits", ">i2", (digits,))]))
    base = np.uint64(10**_NBASE_DIGITS)
    for position in range(digits - 1, -1, -1):  # divide by 10,000 again and again: the digits, lowest first
        remainder = np.zeros_like(low)
        for n in range(len(limbs) - 1, -1, -1):
            current = (remainder << bits) | limbs[n]
            limbs[n], remainder = current // base, current % base
        out["digits"][:, position] = remainder
    out["ndigits"], out["weight"] = digits, digits - 1 - (scale + shift) // _NBASE_DIGITS
    out["sign"], out["dscale"] = np.where(negative, 0x4000, 0), scale
    return out


def _numbers(array: pa.Array) -> np.ndarray:
    """A primitive array's values as numpy (NULLs as zero/False)."""
    values: np.ndarray = array.fill_null(False if _t.is_boolean(array.type) else 0).to_numpy(zero_copy_only=False)
    return values


def _as_binary(records: np.ndarray, rows: int) -> pa.Array:
    """``rows`` packed numpy records as a large_binary array of one value each (no copy)."""
    width = records.dtype.itemsize
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int64)
    return pa.Array.from_buffers(pa.large_binary(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(records)])
