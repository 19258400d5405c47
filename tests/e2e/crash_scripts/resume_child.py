"""Child process for tests/e2e/test_resume.py: runs one pipeline and, on request, SIGKILLs itself.

``python resume_child.py <pipelines_dir> <db_path> <rows> <mode> [<dataset>]``; ``db_path`` is a DuckDB
file or a ``postgresql://`` URL; ``mode`` is one of

- ``none``: run to the end; prints ``{"load_ids": ..., "resumed": ...}`` as JSON (with
  ``DATALOAD_CRASH_AT`` set, the engine kills the process at that crash point: see dataload.crash);
- ``extract``: kill inside the resource generator after ``KILL_AFTER_PAGES`` pages;
- ``normalize``: kill on the 3rd call of ``dataload.normalize.step.fit_rows``;
- ``load``: kill inside the load transaction, after the first table was written, before COMMIT;
- ``before_commit``: kill inside the load transaction after the ``_dl_loads`` row and the state were
  written, just before COMMIT;
- ``after_commit``: kill after COMMIT, when the loaded package is removed from ``normalized``;
- ``slow``: the resource writes ``<pipelines_dir>/started.marker`` and sleeps 3 s before yielding;
- ``null_last`` / ``surrogate_last``: the last row's payload is None / holds a lone surrogate (see
  ``spoiled()``), to fail the package in the load / the normalize step;
- ``retry``: only ``pipe.retry_failed()``.

The parent imports this file too (``items()``, ``build()``), so both run the very same pipeline.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import dataload
from dataload.extract.limits import BufferLimits
from destinations import duckdb, postgres

PIPELINE = "resume"
PAGE = 250
KILL_AFTER_PAGES = 8


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def build(pipelines_dir: str | Path, db_path: str | Path, dataset: str = "ds") -> dataload.Pipeline:
    """The pipeline both processes run: into DuckDB file ``db_path``, or PostgreSQL when it is a URL."""
    target = str(db_path)
    destination = postgres(target) if target.startswith("postgresql://") else duckdb(target)
    pipe = dataload.pipeline(PIPELINE, destination=destination, dataset_name=dataset, pipelines_dir=pipelines_dir,
                             buffer_limits=BufferLimits(segment_rows=500))
    return pipe


def items(rows: int, kill_after_pages: int | None = None, before: object = None) -> dataload.Resource:
    """``rows`` rows with ids 0..rows-1, yielded in pages of ``PAGE``; incremental on ``id``."""
    data = [{"id": i, "payload": f"row {i}"} for i in range(rows)]

    @dataload.resource(name="items")
    def items_resource(cursor=dataload.incremental("id", initial_value=-1)):
        if callable(before):
            before()
        for number, start in enumerate(range(0, rows, PAGE)):
            if kill_after_pages is not None and number == kill_after_pages:
                die()
            yield data[start:start + PAGE]

    return items_resource()


def spoiled(rows: int, payload: object) -> dataload.Resource:
    """``items(rows)`` whose last row has ``payload`` instead of its text."""
    return items(rows).add_map(lambda row: {**row, "payload": payload} if row["id"] == rows - 1 else row)


SPOILED = {"null_last": None, "surrogate_last": "bad \ud800"}


def main() -> None:
    pipelines_dir, db_path, rows, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    pipe = build(pipelines_dir, db_path, *sys.argv[5:6])
    kill_after_pages = None
    before = None
    if mode == "extract":
        kill_after_pages = KILL_AFTER_PAGES
    elif mode == "normalize":
        import dataload.normalize.step as normalize_step

        original_fit, calls = normalize_step.fit_rows, []

        def fit_rows(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                die()
            return original_fit(*args, **kwargs)

        normalize_step.fit_rows = fit_rows
    elif mode == "load":
        from destinations._duckdb import DuckDBClient

        original_write = DuckDBClient._write_table

        def _write_table(self, package, root, chunk=None):
            original_write(self, package, root, chunk)
            die()

        DuckDBClient._write_table = _write_table
    elif mode == "before_commit":
        from destinations.records import SqlRecords

        original_records = SqlRecords.commit

        def commit(self, package):
            original_records(self, package)
            die()

        SqlRecords.commit = commit
    elif mode == "after_commit":
        from dataload.package.storage import PackageStorage

        original_remove = PackageStorage.remove

        def remove(self, stage, load_id):
            if stage == "normalized":
                die()
            return original_remove(self, stage, load_id)

        PackageStorage.remove = remove
    elif mode == "slow":
        def before():
            Path(pipelines_dir, "started.marker").write_text(str(os.getpid()))
            time.sleep(3)
    elif mode == "retry":
        info = pipe.retry_failed()
        print(json.dumps({"load_ids": info.load_ids, "resumed": info.resumed}))
        return
    elif mode != "none" and mode not in SPOILED:
        raise SystemExit(f"unknown mode {mode!r}")
    info = pipe.run(spoiled(rows, SPOILED[mode]) if mode in SPOILED else items(rows, kill_after_pages, before))
    print(json.dumps({"load_ids": info.load_ids, "resumed": info.resumed}))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)  # as an application does: dataload itself only adds a NullHandler
    main()
