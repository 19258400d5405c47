"""``arrow_stream`` reads a package's Arrow load files one after another: values unified across files, and
about two files' pages resident at once however many files the package has."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from dataload.protocol import PackageFile, arrow_stream

FILE_ROWS, FILE_COLUMNS = 2_000, 1_000  # 16 MB of doubles per file


def _arrow_file(path: Path, columns: dict[str, pa.Array]) -> PackageFile:
    table = pa.table(columns)
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return PackageFile("t", 0, path, table.num_rows, list(columns), file_format="arrow")


def _arrow_file_on_base(path: Path, base: dict[str, pa.Array]) -> PackageFile:
    """A load file as normalize leaves one: its columns in the extracted IPC stream ``base``, a key written beside."""
    table = pa.table(base)
    with pa.OSFile(str(path.with_suffix(".segment")), "wb") as sink, ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=1_000):
            writer.write_batch(batch)
    written = _arrow_file(path, {"k": pa.array(np.zeros(table.num_rows, np.int8))})
    written.columns, written.base = ["k", *base], path.with_suffix(".segment")
    written.base_columns = {name: name for name in base}
    return written


def _resident_file_mb() -> float:
    """File-backed pages of this process now (memory-mapped files count here), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no RssFile in /proc/self/status")


def test_files_with_different_columns_come_out_as_one_unified_stream(tmp_path: Path) -> None:
    first = _arrow_file(tmp_path / "a.arrow", {"id": pa.array([1, 2], pa.int32()), "name": pa.array(["x", "y"])})
    second = _arrow_file(tmp_path / "b.arrow", {"id": pa.array([3], pa.int64()), "score": pa.array([0.5])})

    table = arrow_stream([first, second]).read_all()

    assert table.schema == pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])
    assert table.to_pylist() == [{"id": 1, "name": "x", "score": None}, {"id": 2, "name": "y", "score": None},
                                 {"id": 3, "name": None, "score": 0.5}]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads RssFile from /proc/self/status")
def test_a_package_of_many_files_read_by_duckdb_keeps_about_two_resident(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    values = [rng.random((FILE_COLUMNS, FILE_ROWS)) for _ in range(12)]
    files = [_arrow_file_on_base(tmp_path / f"{n:02d}.arrow", {f"c{c}": pa.array(v[c]) for c in range(FILE_COLUMNS)})
             for n, v in enumerate(values)]
    connection = duckdb.connect(str(tmp_path / "loaded.duckdb"))
    connection.execute("SET preserve_insertion_order = false")  # as the destination loads
    connection.execute(f"CREATE TABLE loaded (k TINYINT, {', '.join(f'c{c} DOUBLE' for c in range(FILE_COLUMNS))})")
    connection.register("package", arrow_stream(files))
    before, peak, done = _resident_file_mb(), [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _resident_file_mb() - before)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        connection.execute("INSERT INTO loaded SELECT * FROM package")
        loaded = connection.execute(f"SELECT count(*), sum(c0), sum(c{FILE_COLUMNS - 1}) FROM loaded").fetchall()[0]
    finally:
        done.set()
        sampler.join()
        connection.close()

    assert loaded[0] == 12 * FILE_ROWS  # every row was read, with its values
    assert loaded[1:] == pytest.approx((sum(float(v[0].sum()) for v in values),
                                        sum(float(v[-1].sum()) for v in values)))
    assert peak[0] < 4 * 16, f"{peak[0]:.0f} MB of the 192 MB package's pages were resident at once"
