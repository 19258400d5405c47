"""Child process for tests/e2e/test_resume.py and test_crash_matrix.py: runs one pipeline, killed at a crash point.

``python resume_child.py <pipelines_dir> <db_path> <rows> <mode> [<dataset>]``; ``db_path`` is a DuckDB
file, a ``postgresql://`` URL, a SQLAlchemy URL (``sqlite:///...``, ``mysql+pymysql://...``) or
``filesystem:<folder>``; ``mode`` is one of

- ``none``: run to the end; prints ``{"load_ids": ..., "resumed": ...}`` as JSON (with
  ``DATALOAD_CRASH_AT`` set, the engine kills the process at that crash point: see dataload.crash);
- ``slow``: the resource writes ``<pipelines_dir>/started.marker`` and sleeps 3 s before yielding;
- ``null_last`` / ``surrogate_last``: the last row's payload is None / holds a lone surrogate (see
  ``spoiled()``), to fail the package in the load / the normalize step;
- ``retry``: only ``pipe.retry_failed()``;
- ``three_packages``: extract three packages (ids below a third, two thirds, all of ``rows``), then
  normalize and load them;
- ``streamed``: as ``none``, the extraction sealed as a part after every extract file (every two
  pages), each loaded while the extraction goes on (see dataload.streaming).

The parent imports this file too (``items()``, ``build()``), so both run the very same pipeline.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import dataload
from dataload.extract.limits import BufferLimits
from destinations import duckdb, filesystem, postgres, sqlalchemy

PIPELINE = "resume"
PAGE = 250


def destination_of(target: str) -> object:
    """The destination a ``db_path`` argument names (see the module docstring)."""
    if target.startswith("postgresql://"):
        return postgres(target)
    if target.startswith(("sqlite:", "mysql")):
        return sqlalchemy(target)
    if target.startswith("filesystem:"):
        return filesystem(target.removeprefix("filesystem:"))
    return duckdb(target)


def build(pipelines_dir: str | Path, db_path: str | Path, dataset: str = "ds") -> dataload.Pipeline:
    """The pipeline both processes run, into the destination ``db_path`` names."""
    destination = destination_of(str(db_path))
    pipe = dataload.pipeline(PIPELINE, destination=destination, dataset_name=dataset, pipelines_dir=pipelines_dir,
                             buffer_limits=BufferLimits(segment_rows=500))
    return pipe


def source_rows(rows: int) -> list[dict[str, object]]:
    """What the source holds: ``rows`` rows with ids 0..rows-1."""
    return [{"id": i, "payload": f"row {i}"} for i in range(rows)]


def items(rows: int, before: object = None) -> dataload.Resource:
    """``source_rows(rows)`` yielded in pages of ``PAGE``; incremental on ``id``."""
    data = source_rows(rows)

    @dataload.resource(name="items")
    def items_resource(cursor=dataload.incremental("id", initial_value=-1)):
        if callable(before):
            before()
        for start in range(0, rows, PAGE):
            yield data[start:start + PAGE]

    return items_resource()


def spoiled(rows: int, payload: object) -> dataload.Resource:
    """``items(rows)`` whose last row has ``payload`` instead of its text."""
    return items(rows).add_map(lambda row: {**row, "payload": payload} if row["id"] == rows - 1 else row)


STREAMED = BufferLimits(segment_rows=500, part_bytes=1)  # a part per extract file of 500 rows
SPOILED = {"null_last": None, "surrogate_last": "bad \ud800"}


def main() -> None:
    pipelines_dir, db_path, rows, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    pipe = build(pipelines_dir, db_path, *sys.argv[5:6])
    before = None
    if mode == "slow":
        def before():
            Path(pipelines_dir, "started.marker").write_text(str(os.getpid()))
            time.sleep(3)
    elif mode == "three_packages":
        for part in (1, 2, 3):  # three packages, each with the next third of the rows
            pipe.extract(items(rows * part // 3))
        pipe.normalize()
        info = pipe.load()
        print(json.dumps({"load_ids": info.load_ids, "resumed": info.resumed}))
        return
    elif mode == "retry":
        info = pipe.retry_failed()
        print(json.dumps({"load_ids": info.load_ids, "resumed": info.resumed}))
        return
    elif mode == "streamed":
        pipe.buffer_limits = STREAMED
    elif mode != "none" and mode not in SPOILED:
        raise SystemExit(f"unknown mode {mode!r}")
    info = pipe.run(spoiled(rows, SPOILED[mode]) if mode in SPOILED else items(rows, before))
    print(json.dumps({"load_ids": info.load_ids, "resumed": info.resumed}))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)  # as an application does: dataload itself only adds a NullHandler
    main()
