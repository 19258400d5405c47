"""Per-table item buffers written to extracted files, bounded by rows and by estimated bytes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataload.exceptions import ExtractError, PackageFormatError, SchemaError
from dataload.extract.arrow_records import records_array
from dataload.extract.limits import BufferLimits
from dataload.extract.rows_file import HEADER, read_rows, write_rows
from dataload.package.disk_full import naming_the_file
from dataload.values import MAX_NESTING_DEPTH, nested_deeper


class TableBuffer:
    """Collects the items of one table and writes them as extracted segment files."""

    def __init__(self, table: str, new_file: Callable[[str], Path], limits: BufferLimits) -> None:
        self.table = table
        self.new_file = new_file
        self.limits = limits
        self.rows: list[Any] = []
        self.arrow: list[pa.Table] = []
        self.buffered_rows = 0
        self.buffered_bytes = 0
        self.items = 0
        self._sampled = 0
        self._sample_every = 1
        self._row_estimate = 1
        self._deep = False  # a sampled record is nested deeper than MAX_NESTING_DEPTH: no Arrow attempt

    def add_records(self, records: list[Any]) -> None:
        """Buffer a page of records (dicts; other values are stored under ``value``).

        A page with more rows, or more estimated bytes, than the segment has room for is split
        across segments, so a page of big records never makes one oversized file.
        """
        if self.arrow:
            self.flush()
        if records and type(records[0]) is not dict:
            records = [r if isinstance(r, dict) else {"value": r} for r in records]
        row_bytes = self._row_bytes(records) if records else 1
        while records:
            room = min(self.limits.segment_rows - self.buffered_rows,  # rows until the segment is full
                       -(-(self.limits.segment_bytes - self.buffered_bytes) // row_bytes))
            page, records = records[:max(room, 1)], records[max(room, 1):]
            self.rows.extend(page)
            self.items += len(page)
            self.buffered_rows += len(page)
            self.buffered_bytes += row_bytes * len(page)
            self._flush_if_full()

    def _row_bytes(self, records: list[Any]) -> int:
        """Estimated bytes per record: measured on the first record of a page, or of every 64th single
        record while records are small (every one once they are big)."""
        self._sampled += len(records)
        if self._sampled >= self._sample_every or len(records) > 1:
            self._row_estimate = max(approximate_size(records[0]), 1)
            self._deep = self._deep or nested_deeper(records[0], MAX_NESTING_DEPTH, list_items=8)
            self._sampled = 0
            self._sample_every = 1 if self._row_estimate > 16_384 else 64
        return self._row_estimate

    def add_table(self, table: pa.Table) -> None:
        """Buffer an Arrow table (its columns are kept as they are); a column name given twice is refused."""
        if len(set(table.column_names)) < table.num_columns:
            twice = next(name for name in table.column_names if table.column_names.count(name) > 1)
            raise SchemaError(f"table {self.table!r}: the key {twice!r} appears twice (two Arrow columns of that "
                              "name); rename one of them", table=self.table, column=twice)
        if self.rows:
            self.flush()
        self.arrow.append(table)
        self.items += table.num_rows
        self.buffered_rows += table.num_rows
        self.buffered_bytes += table.nbytes
        self._flush_if_full()

    def _flush_if_full(self) -> None:
        if self.buffered_rows >= self.limits.segment_rows or self.buffered_bytes >= self.limits.segment_bytes:
            self.flush()

    def flush(self) -> None:
        """Write what is buffered as one extracted file."""
        if self.rows:
            self._write_rows(self.rows)
        elif self.arrow:  # one record batch per file: normalize can then use its columns without a copy
            self._write_table(pa.concat_tables(self.arrow, promote_options="permissive").combine_chunks())
        self.rows, self.arrow = [], []
        self.buffered_rows = self.buffered_bytes = 0

    def _write_rows(self, rows: list[Any]) -> None:
        path = self.new_file(self.table)
        # pyarrow takes time quadratic in the depth of nested data, and crashes printing such a type
        records = None if self._deep else records_array(rows)
        self._deep = False
        if records is None or not _write_arrow(path, pa.Table.from_struct_array(records)):
            try:
                write_rows(path, rows)
            except RecursionError:
                raise ExtractError(f"table {self.table!r}: an item is nested too deep to store even as JSON text "
                                   f"(deeper than Python's recursion limit, {sys.getrecursionlimit()}); "
                                   "flatten it with add_map") from None

    def _write_table(self, table: pa.Table) -> None:
        path = self.new_file(self.table)
        if not _write_arrow(path, table):  # e.g. nested deeper than Arrow goes
            write_rows(path, table.to_pylist())


def _write_arrow(path: Path, table: pa.Table) -> bool:
    """Arrow data as an IPC stream, straight into the file (slice-exact); False if it cannot."""
    import pyarrow.ipc as ipc

    try:
        with naming_the_file(path), pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def approximate_size(value: Any, depth: int = 0) -> int:
    """A cheap estimate of the bytes a record takes (strings and bytes by length, others 8)."""
    if isinstance(value, (str, bytes)):
        return len(value) + 8
    if depth > 4:
        return 64
    if isinstance(value, dict):
        return sum(approximate_size(v, depth + 1) + 8 for v in value.values())
    if isinstance(value, (list, tuple)):
        head = value[:8]
        return 8 + (sum(approximate_size(v, depth + 1) for v in head) * len(value)) // max(len(head), 1)
    return 8


def read_extracted(path: Path) -> tuple[str, Any]:
    """Read one extracted file: ``("arrow", Table)`` or ``("rows", list)`` (told apart by the first bytes).

    Arrow files are memory-mapped: the table's columns are the file's bytes, not a copy. Rows are
    read from tagged JSON (:mod:`dataload.extract.rows_file`); a pickle an older dataload wrote is
    refused, since reading one can run code.
    """
    with open(path, "rb") as handle:
        head = handle.read(len(HEADER))
        if head == HEADER:
            return "rows", read_rows(handle.read())
        if head[:1] == _PICKLE_PROTOCOL:
            raise PackageFormatError(
                f"extracted file {path} was written as a pickle by an older version of dataload; it is not read, "
                "because reading a pickle can run code: finish the package with the dataload version that wrote "
                "it, or discard it with pipe.drop_failed()", load_id=path.parent.parent.name)
    import pyarrow.ipc as ipc

    with ipc.open_stream(pa.memory_map(str(path))) as reader:
        return "arrow", reader.read_all()


_PICKLE_PROTOCOL = b"\x80"
