"""Readers: transformers that read the files of a listing, CSV and Parquet as Arrow batches, JSONL as dicts.

Each reader returns a transformer resource that reads every file of a listing in bounded chunks:
pipe the listing into it (``filesystem(...) | read_csv()``) or pass it (``read_csv(filesystem(...))``).
Compression (gzip, bz2, zstd) is picked from the file name (``.gz``, ``.bz2``, ``.zst``). A file
that cannot be read stops the run with a :class:`FileReadError` naming the file (and the line,
where there is one), or with ``on_error="skip"`` is skipped with a warning and counted in the
run's trace (``skipped_files`` / ``skipped_rows`` for the reader, through :func:`dataload.count`).

>>> import pathlib, tempfile
>>> from sources.filesystem import filesystem
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_text("id,name\\n1,Ann\\n2,NA\\n")
>>> [batch.to_pylist() for batch in filesystem(str(folder)) | read_csv()]
[[{'id': 1, 'name': 'Ann'}, {'id': 2, 'name': None}]]
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

import dataload
from dataload import Incremental, Resource
from sources.filesystem.json_lines import json_lines
from sources.filesystem.listing import FileItem, fsspec_filesystem, is_local, local_path

logger = logging.getLogger(__name__)

OnError = Literal["raise", "skip"]
DEFAULT_NULL_VALUES = ("", "NA", "N/A", "NULL", "null")
"""Spellings a CSV cell may use for a missing value, unless ``null_values`` says otherwise."""

_CODECS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
_READ_BLOCK = 1 << 20
DEFAULT_MAX_DECOMPRESSED_BYTES = 8 * 2 ** 30
"""The most a compressed file may expand to (8 GiB), unless a reader's ``max_decompressed_bytes`` says otherwise."""
# what reading a broken or truncated file raises: Arrow's errors (decoding, parsing, Parquet) and I/O errors
_FILE_ERRORS = (pa.ArrowException, OSError, EOFError)
_CSV_COLUMN = re.compile(r"In CSV column #(\d+): ")  # how pyarrow's CSV errors name a column: by position


class FileReadError(ValueError):
    """A file that could not be read; the message names the file's URL (and the line, where known)."""


class BoundedReader(io.RawIOBase):
    """The bytes of a decompressing ``stream``; a :class:`FileReadError` once more than ``limit`` were read.

    Reads ask ``stream`` for at most one byte past the limit, so a file that expands without
    bound (a "zip bomb") never has more than that in memory.

    >>> import gzip
    >>> stream = pa.CompressedInputStream(pa.BufferReader(gzip.compress(b"0" * 100)), "gzip")
    >>> BoundedReader(stream, "/tmp/z.gz", 10, "gzip").read(50)
    Traceback (most recent call last):
    ...
    sources.filesystem.readers.FileReadError: /tmp/z.gz: expands beyond max_decompressed_bytes (10 bytes) (gzip)
    """

    def __init__(self, stream: pa.NativeFile, url: str, limit: int, codec: str) -> None:
        super().__init__()
        self.stream, self.url, self.limit, self.codec = stream, url, limit, codec
        self.given = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        room = self.limit - self.given + 1
        data = self.stream.read(room if size is None or size < 0 else min(size, room))
        self.given += len(data)
        if self.given > self.limit:
            raise FileReadError(f"{self.url}: expands beyond max_decompressed_bytes ({self.limit} bytes) "
                                f"({self.codec})")
        return bytes(data)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def read_csv(
    data_from: Resource | None = None,
    *,
    name: str = "read_csv",
    delimiter: str = ",",
    header: bool = True,
    column_names: Sequence[str] | None = None,
    null_values: Sequence[str] = DEFAULT_NULL_VALUES,
    column_types: dict[str, pa.DataType] | None = None,
    block_size: int = _READ_BLOCK,
    on_error: OnError = "raise",
    incremental: Incremental | None = None,
    max_decompressed_bytes: int | None = DEFAULT_MAX_DECOMPRESSED_BYTES,
) -> Resource:
    """A transformer reading each CSV file of ``data_from`` as Arrow record batches of about ``block_size`` bytes.

    ``header=False`` reads the first line as data (columns are ``f0``, ``f1``, ... unless
    ``column_names`` are given; with ``header=True`` they replace the header's names). Cells equal
    to one of ``null_values`` are null, in text columns too. Types are inferred from the first
    block of each file; ``column_types`` (a column name to a ``pyarrow`` type) fixes them. ISO 8601
    timestamps read as timestamps (with an offset: aware, in UTC). A row with the wrong number of
    fields stops the run naming file and line; with ``on_error="skip"`` the row is skipped and
    counted. ``incremental`` is a cursor on a column inside the files.
    """
    options = _CsvOptions(delimiter, header, tuple(column_names or ()), tuple(null_values),
                          dict(column_types or {}), block_size)
    return _reader(_read_csv_file, data_from, name, on_error, incremental, max_decompressed_bytes,
                   options=options)


def read_jsonl(
    data_from: Resource | None = None,
    *,
    name: str = "read_jsonl",
    chunk_size: int = 1000,
    on_error: OnError = "raise",
    incremental: Incremental | None = None,
    max_decompressed_bytes: int | None = DEFAULT_MAX_DECOMPRESSED_BYTES,
) -> Resource:
    """A transformer reading each JSON Lines file of ``data_from`` as pages of ``chunk_size`` dicts.

    The dicts go through the normal normalizer (nested lists become child tables). Blank lines
    are ignored. A line that is not a JSON object stops the run naming file and line; with
    ``on_error="skip"`` the line is skipped and counted.
    """
    return _reader(_read_jsonl_file, data_from, name, on_error, incremental, max_decompressed_bytes,
                   chunk_size=chunk_size)


def read_parquet(
    data_from: Resource | None = None,
    *,
    name: str = "read_parquet",
    chunk_size: int = 65_536,
    on_error: OnError = "raise",
    incremental: Incremental | None = None,
    max_decompressed_bytes: int | None = DEFAULT_MAX_DECOMPRESSED_BYTES,
) -> Resource:
    """A transformer reading each Parquet file of ``data_from`` as Arrow record batches of ``chunk_size`` rows.

    A truncated or corrupt file stops the run naming the file; with ``on_error="skip"`` the rest of
    the file is skipped and counted (batches read before the damage are kept).
    """
    return _reader(_read_parquet_file, data_from, name, on_error, incremental, max_decompressed_bytes,
                   chunk_size=chunk_size)


def _reader(read: Callable[..., Iterator[Any]], data_from: Resource | None, name: str, on_error: OnError,
            incremental: Incremental | None, max_decompressed_bytes: int | None, **options: Any) -> Resource:
    """The transformer calling ``read(item, skips, stream_of, **options)`` for each file item, guarded by
    ``on_error``; ``stream_of(url)`` opens a file within ``max_decompressed_bytes``."""
    if on_error not in ("raise", "skip"):
        raise dataload.InvalidConfig(f"reader {name!r}: on_error must be 'raise' or 'skip', not {on_error!r}")

    def read_file(item: FileItem, incremental: Incremental | None = None) -> Iterator[Any]:
        # ``incremental`` is bound and applied to what is yielded by the engine
        yield from _guarded(item["url"], on_error, lambda skips: read(item, skips, stream_of, **options))

    def stream_of(url: str) -> AbstractContextManager[pa.NativeFile]:
        return open_stream(url, max_decompressed_bytes)

    return dataload.transformer(read_file, data_from=data_from, name=name)(incremental=incremental)


@dataclass
class _Skips:
    """What one file's reading skipped with ``on_error="skip"``: how many rows, and the first problem."""

    skip: bool
    rows: int = 0
    first: str | None = None

    def row(self, url: str, problem: str) -> None:
        """Skip one row, or raise when skipping was not asked for."""
        if not self.skip:
            raise FileReadError(f"{url}: {problem}")
        self.rows += 1
        self.first = self.first or problem


def _guarded(url: str, on_error: OnError, read: Callable[[_Skips], Iterator[Any]]) -> Iterator[Any]:
    """Yield what ``read`` yields; file-level errors raise :class:`FileReadError` or skip the rest of the file."""
    skips = _Skips(on_error == "skip")
    skipped_file = False
    try:
        yield from read(skips)
    except FileReadError:
        raise
    except _FILE_ERRORS as exc:
        if not skips.skip:
            raise FileReadError(f"{url}: cannot be read: {exc}") from exc
        skipped_file = True
        logger.warning("skipped the rest of file %s: %s", url, exc)
    if skips.rows:
        logger.warning("skipped %d rows of file %s, the first: %s", skips.rows, url, skips.first)
    if skips.rows:
        dataload.count("skipped_rows", skips.rows)
    if skipped_file:
        dataload.count("skipped_files")


@contextmanager
def open_stream(url: str, max_decompressed_bytes: int | None = DEFAULT_MAX_DECOMPRESSED_BYTES
                ) -> Iterator[pa.NativeFile]:
    """The file at ``url`` as an Arrow input stream, decompressed if its name ends in ``.gz``, ``.bz2`` or ``.zst``.

    A decompressed stream gives at most ``max_decompressed_bytes`` (None: no limit); reading
    more raises :class:`FileReadError` naming the file.
    """
    codec = _codec_of(url)
    if codec is not None and not pa.Codec.is_available(codec):
        raise FileReadError(f"{url}: this pyarrow build cannot decompress {codec}")
    if is_local(url):
        raw: pa.NativeFile = pa.OSFile(str(local_path(url)))
    else:
        fs, path = fsspec_filesystem(url)
        raw = pa.PythonFile(fs.open(path, "rb"), mode="r")
    try:
        if codec is None:
            yield raw
        else:
            with pa.CompressedInputStream(raw, codec) as stream:
                yield stream if max_decompressed_bytes is None else pa.PythonFile(
                    BoundedReader(stream, url, max_decompressed_bytes, codec), mode="r")
    finally:
        raw.close()


@dataclass(frozen=True)
class _CsvOptions:
    delimiter: str
    header: bool
    column_names: tuple[str, ...]
    null_values: tuple[str, ...]
    column_types: dict[str, pa.DataType]
    block_size: int

    def arrow(self, on_invalid_row: Callable[[Any], str]) -> dict[str, Any]:
        """The keyword arguments of ``pyarrow.csv.open_csv``."""
        read = pa_csv.ReadOptions(use_threads=False, block_size=self.block_size,
                                  column_names=list(self.column_names) or None,
                                  skip_rows=1 if self.header and self.column_names else 0,
                                  autogenerate_column_names=not self.header and not self.column_names)
        parse = pa_csv.ParseOptions(delimiter=self.delimiter, invalid_row_handler=on_invalid_row)
        convert = pa_csv.ConvertOptions(null_values=list(self.null_values), strings_can_be_null=True,
                                        column_types=self.column_types or None)
        return {"read_options": read, "parse_options": parse, "convert_options": convert}


StreamOf = Callable[[str], AbstractContextManager[pa.NativeFile]]


def _read_csv_file(item: FileItem, skips: _Skips, stream_of: StreamOf, options: _CsvOptions
                   ) -> Iterator[pa.RecordBatch]:
    url = item["url"]
    invalid: list[str] = []

    def on_invalid_row(row: Any) -> str:
        problem = f"line {row.number}: expected {row.expected_columns} fields, got {row.actual_columns}"
        if not skips.skip:
            invalid.append(problem)
            return "error"
        skips.row(url, problem)
        return "skip"

    with stream_of(url) as stream:
        reader = None
        try:
            reader = pa_csv.open_csv(stream, **options.arrow(on_invalid_row))
            yield from reader
        except pa.ArrowInvalid as exc:
            if invalid:
                raise FileReadError(f"{url}: {invalid[0]}") from exc
            named = _with_column_name(exc, reader.schema.names if reader else list(options.column_names),
                                      options.column_types)
            if named is exc:
                raise
            raise named from exc


def _with_column_name(error: pa.ArrowInvalid, names: list[str], column_types: dict[str, pa.DataType]
                      ) -> pa.ArrowInvalid:
    """A CSV reading ``error`` that names the column where pyarrow gives only its position.

    >>> str(_with_column_name(pa.ArrowInvalid("In CSV column #1: CSV conversion error to int64: invalid value 'x'"),
    ...                       ["id", "amount"], {}))  # doctest: +NORMALIZE_WHITESPACE
    "column 'amount': CSV conversion error to int64: invalid value 'x' (its type was inferred from the file's
    first block; column_types={'amount': ...} reads it as another)"
    """
    match = _CSV_COLUMN.match(str(error))
    if match is None or int(match[1]) >= len(names):
        return error
    name = names[int(match[1])]
    hint = "" if name in column_types else (f" (its type was inferred from the file's first block; "
                                            f"column_types={{{name!r}: ...}} reads it as another)")
    return pa.ArrowInvalid(f"column {name!r}: {str(error)[match.end():]}{hint}")


def _read_jsonl_file(item: FileItem, skips: _Skips, stream_of: StreamOf, chunk_size: int
                     ) -> Iterator[list[dict[str, Any]]]:
    url = item["url"]
    page: list[dict[str, Any]] = []
    with stream_of(url) as stream:
        for number, (line, loads) in enumerate(json_lines(stream, _READ_BLOCK), start=1):
            if not line.strip():
                continue
            try:
                row = loads(line)
            except ValueError as exc:
                skips.row(url, f"line {number}: invalid JSON: {exc}")
                continue
            if not isinstance(row, dict):
                skips.row(url, f"line {number}: a JSON {type(row).__name__}, not an object")
                continue
            page.append(row)
            if len(page) >= chunk_size:
                yield page
                page = []
    if page:
        yield page


def _read_parquet_file(item: FileItem, skips: _Skips, stream_of: StreamOf, chunk_size: int
                       ) -> Iterator[pa.RecordBatch]:
    url = item["url"]
    with stream_of(url) as stream:
        # Parquet needs random access: a compressed file is decompressed into memory first, in blocks
        source = stream if _codec_of(url) is None else pa.BufferReader(_read_all(stream))
        yield from pq.ParquetFile(source).iter_batches(batch_size=chunk_size)


def _read_all(stream: pa.NativeFile) -> pa.Buffer:
    """The rest of ``stream`` in one buffer, read in blocks (a bounded stream stops at its limit)."""
    sink = pa.BufferOutputStream()
    while block := stream.read(_READ_BLOCK):
        sink.write(block)
    return sink.getvalue()


def _codec_of(url: str) -> str | None:
    """The compression of the file at ``url`` by its name's suffix (``.gz``, ``.bz2``, ``.zst``), or None."""
    return _CODECS.get(PurePosixPath(urlsplit(url).path).suffix.lower())
