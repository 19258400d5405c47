"""The decompression limit of the filesystem readers: files that expand beyond it stop naming the file.

Each reader and each codec (gzip, bz2 and, where pyarrow has it, zstd) on a file right at the
limit (it loads, values read back with duckdb's driver) and one byte over it (an error naming
the file and the limit, nothing loaded).
"""

from __future__ import annotations

import inspect
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

import dataload
from sources.filesystem import (
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    FileReadError,
    filesystem,
    read_csv,
    read_jsonl,
    read_parquet,
)

ROWS = [{"id": n, "text": f"row {n} " + "x" * (n % 50)} for n in range(3000)]


def _csv() -> bytes:
    sink = io.BytesIO()
    pa_csv.write_csv(pa.Table.from_pylist(ROWS), sink)
    return sink.getvalue()


def _jsonl() -> bytes:
    return "".join(json.dumps(row) + "\n" for row in ROWS).encode()


def _parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(ROWS), sink)
    return sink.getvalue()


READERS: dict[str, tuple[Callable[..., dataload.Resource], Callable[[], bytes]]] = {
    "csv": (read_csv, _csv), "jsonl": (read_jsonl, _jsonl), "parquet": (read_parquet, _parquet)}
CODECS = {"gzip": ".gz", "bz2": ".bz2", "zstd": ".zst"}


def _write(path: Path, data: bytes, codec: str) -> None:
    if not pa.Codec.is_available(codec):
        pytest.skip(f"this pyarrow has no {codec} codec")
    with pa.CompressedOutputStream(str(path), codec) as out:
        out.write(data)


def _read(tmp_path: Path, pipe: dataload.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / f"{pipe.pipeline_name}.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("kind", sorted(READERS))
def test_a_file_loads_up_to_the_limit_and_stops_one_byte_over(
        make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path, kind: str, codec: str) -> None:
    reader, content = READERS[kind]
    data = content()
    folder = tmp_path / "files"
    folder.mkdir()
    _write(folder / f"rows.{kind}{CODECS[codec]}", data, codec)
    pipe = make_pipeline()

    with pytest.raises(dataload.ResourceError) as raised:
        pipe.run(reader(filesystem(str(folder), "*"), name="rows", max_decompressed_bytes=len(data) - 1))
    cause = raised.value.__cause__
    assert isinstance(cause, FileReadError)
    assert str(cause) == (f"{(folder / f'rows.{kind}{CODECS[codec]}').as_uri()}: expands beyond "
                          f"max_decompressed_bytes ({len(data) - 1} bytes) ({codec})")
    assert _read(tmp_path, pipe, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'rows'"
                 ) == [(0,)]

    pipe.run(reader(filesystem(str(folder), "*"), name="rows", max_decompressed_bytes=len(data)))
    assert _read(tmp_path, pipe, "SELECT id, text FROM ds.rows ORDER BY id") == [
        (row["id"], row["text"]) for row in ROWS]


def test_the_limit_stops_a_bomb_even_with_on_error_skip(tmp_path: Path) -> None:
    _write(tmp_path / "bomb.jsonl.gz", b"0" * (8 * 2 ** 20), "gzip")  # one 8 MiB "line": 8 KiB on disk

    with pytest.raises(dataload.ResourceError) as raised:
        list(read_jsonl(filesystem(str(tmp_path), "*"), on_error="skip", max_decompressed_bytes=2 ** 20))
    assert isinstance(raised.value.__cause__, FileReadError)
    assert str(raised.value.__cause__).endswith("bomb.jsonl.gz: expands beyond max_decompressed_bytes (1048576 bytes) "
                                                "(gzip)")


def test_every_reader_has_the_default_limit_and_none_lifts_it(tmp_path: Path) -> None:
    assert DEFAULT_MAX_DECOMPRESSED_BYTES == 8 * 2 ** 30  # the default docs/filesystem.md states
    for reader, _ in READERS.values():
        assert inspect.signature(reader).parameters["max_decompressed_bytes"].default == 8 * 2 ** 30
    _write(tmp_path / "rows.jsonl.gz", _jsonl(), "gzip")
    assert list(read_jsonl(filesystem(str(tmp_path), "*"), max_decompressed_bytes=None)) == ROWS
