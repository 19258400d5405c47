"""File formats of the filesystem destination: writing parquet/jsonl/csv, and reading them back typed.

``parquet`` load files are copied as they are (the destination takes Parquet load files for the
``parquet`` format); for ``jsonl`` and ``csv`` it also takes ``arrow`` load files, and either
is converted batch by batch:

- jsonl: one JSON object per row; timestamps, dates and times as ISO 8601 text, decimals as
  text (no precision lost), binary as base64, ``json`` columns embedded as JSON values,
  NaN/infinity as the strings ``"nan"``/``"inf"``/``"-inf"``.
- csv: a header row, then pyarrow's CSV rendering; binary as base64, ``json`` columns as JSON
  text. A null is an empty unquoted field, an empty string is ``""``.

Reading back goes through DuckDB and casts every column to its schema type, so all three
formats read back the same values; columns a file lacks read as NULL.
"""

from __future__ import annotations

import base64
import csv
import datetime
import decimal
import io
import itertools
import json
import math
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from dataload.protocol import PackageFile
from dataload.schema.model import Column, Table
from destinations._duckdb import duckdb_type
from destinations.sql import quote

FORMATS = ("parquet", "jsonl", "csv")


def write_converted(source: PackageFile, load_id: str, out: BinaryIO, file_format: str, table: Table | None) -> None:
    """Write the load file ``source`` of package ``load_id`` to ``out`` in ``file_format``.

    ``parquet`` takes Parquet load files (the destination does not offer ``arrow`` then) and copies
    their bytes; ``jsonl`` and ``csv`` read either format batch by batch.
    """
    if file_format == "parquet":
        with open(source.path, "rb") as data:
            while chunk := data.read(1 << 20):
                out.write(chunk)
        return
    json_columns = {c.name for c in table.columns.values() if c.data_type == "json"} if table else set()
    batches = source.batches(load_id, 10_000)
    if file_format == "jsonl":
        _write_jsonl(batches, out, json_columns)
    else:
        _write_csv(batches, out)


def _write_jsonl(batches: Iterable[pa.RecordBatch], out: BinaryIO, json_columns: set[str]) -> None:
    for batch in batches:
        floats = [f.name for f in batch.schema if pa.types.is_floating(f.type)]
        lines = []
        for row in batch.to_pylist():
            for name in json_columns:
                if row.get(name) is not None:
                    row[name] = _parsed_json(row[name])
            for name in floats:
                value = row[name]
                if value is not None and not math.isfinite(value):
                    row[name] = str(value)
            lines.append(json.dumps(row, default=_json_value, ensure_ascii=False))
        if lines:
            out.write(("\n".join(lines) + "\n").encode())


def _parsed_json(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _write_csv(batches: Iterator[pa.RecordBatch], out: BinaryIO) -> None:
    first = next(batches, None)  # a load file holds at least one row
    if first is None:
        return
    target = pa.schema([pa.field(f.name, pa.string()) if _is_binary(f.type) else f for f in first.schema])
    with pa_csv.CSVWriter(out, target) as writer:
        for batch in itertools.chain([first], batches):
            writer.write_batch(pa.RecordBatch.from_arrays(
                [_base64(column) if _is_binary(column.type) else column for column in batch.columns], schema=target))


def _is_binary(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type)
                or pa.types.is_fixed_size_binary(arrow_type))


def _base64(column: pa.Array) -> pa.Array:
    return pa.array([None if v is None else base64.b64encode(v).decode() for v in column.to_pylist()], pa.string())


def without_columns(data: bytes, file_format: str, columns: set[str]) -> bytes | None:
    """The file content ``data`` with ``columns`` removed, or None when it has none of them."""
    if file_format == "parquet":
        table = pq.read_table(io.BytesIO(data))
        if not columns & set(table.column_names):
            return None
        out = io.BytesIO()
        pq.write_table(table.drop_columns([c for c in table.column_names if c in columns]), out)
        return out.getvalue()
    if file_format == "jsonl":
        rows = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        if not any(columns & row.keys() for row in rows):
            return None
        kept = [{k: v for k, v in row.items() if k not in columns} for row in rows]
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept).encode()
    return _csv_without(data, columns)


def _csv_without(data: bytes, columns: set[str]) -> bytes | None:
    names = next(csv.reader(io.StringIO(data.decode())), [])
    if not columns & set(names):
        return None
    convert = pa_csv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                                    quoted_strings_can_be_null=False, null_values=[""],
                                    include_columns=[n for n in names if n not in columns])
    table = pa_csv.read_csv(io.BytesIO(data), convert_options=convert)
    out = io.BytesIO()
    pa_csv.write_csv(table, out)
    return out.getvalue()


# -- reading back ------------------------------------------------------------------------------

def _typed(column: Column) -> str:
    """The DuckDB type a column is read back as (``json`` as its text)."""
    return "VARCHAR" if column.data_type == "json" else duckdb_type(column)


def _decoded(column: Column, file_format: str) -> str:
    """The SQL that turns a column as read from a file into its schema type."""
    name = quote(column.name)
    if file_format != "parquet" and column.data_type == "binary":
        return f"from_base64({name}) AS {name}"
    return f"CAST({name} AS {_typed(column)}) AS {name}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _file_list(urls: list[str]) -> str:
    return "[" + ", ".join(_literal(u) for u in urls) + "]"


def _reader(file_format: str, urls: list[str], columns: list[Column]) -> str:
    files = _file_list(urls)
    if file_format == "parquet":
        return f"read_parquet({files}, union_by_name = true)"
    if file_format == "jsonl" and not columns:
        return f"read_json({files}, format = 'newline_delimited', union_by_name = true)"
    if file_format == "jsonl":
        types = ", ".join(f"{_literal(c.name)}: {'JSON' if c.data_type == 'json' else 'VARCHAR'}" for c in columns)
        return (f"read_json({files}, format = 'newline_delimited', records = true, "
                f"columns = {{{types}}}, maximum_object_size = 268435456)")
    return (f"read_csv({files}, header = true, all_varchar = true, union_by_name = true, "
            "allow_quoted_nulls = false, delim = ',', quote = '\"', escape = '\"')")


def select_sql(table: Table | None, files: dict[str, list[str]]) -> str:
    """A SELECT over the files of one table (``format -> urls``), every column cast to its type.

    Without a ``table`` schema the files are read as they are (``SELECT *``, unioned by name).
    A table with no files gives no rows but still has its typed columns.
    """
    groups = [(fmt, urls) for fmt, urls in files.items() if urls]
    if table is None:
        if not groups:
            raise ValueError("no schema and no files")
        return " UNION ALL BY NAME ".join(f"SELECT * FROM {_reader(fmt, urls, [])}" for fmt, urls in groups)
    columns = [c for c in table.columns.values() if c.data_type]
    empty = ", ".join(f"CAST(NULL AS {_typed(c)}) AS {quote(c.name)}" for c in columns)
    if not groups:
        return f"SELECT {empty} WHERE false"
    as_text = ", ".join(f"CAST(NULL AS VARCHAR) AS {quote(c.name)}" for c in columns)
    selects = []
    for fmt, urls in groups:
        template = empty if fmt == "parquet" else as_text
        projection = ", ".join(_decoded(c, fmt) for c in columns)
        selects.append(f"SELECT {projection} FROM (SELECT {template} WHERE false "
                       f"UNION ALL BY NAME SELECT * FROM {_reader(fmt, urls, columns)})")
    return " UNION ALL ".join(selects)
