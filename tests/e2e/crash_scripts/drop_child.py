"""Child process for tests/e2e/test_state_reconcile.py: ``pipe.drop(resources=["items"])``, killed on request.

``python drop_child.py <pipelines_dir> <destination> <dataset> <mode>``; ``destination`` is
``duckdb:<path>`` or ``postgres:<url>``; ``mode`` is

- ``drop``: drop the resource ``items`` and exit normally;
- ``crash_after_drop_commit``: exit with ``os._exit(9)`` right after the destination committed the
  drop (tables and reset state in one transaction), before the local state and schema are rewritten.

The parent imports this file too (``build()``, ``items()``), so both run the very same pipeline.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import dataload

PIPELINE = "dropper"


def build(pipelines_dir: str, destination: str, dataset: str) -> dataload.Pipeline:
    kind, _, where = destination.partition(":")
    from destinations import duckdb, postgres

    target = duckdb(where) if kind == "duckdb" else postgres(where)
    return dataload.pipeline(PIPELINE, destination=target, dataset_name=dataset, pipelines_dir=pipelines_dir)


def items(rows: int) -> dataload.Resource:
    """``rows`` rows with ids 0..rows-1, incremental on ``id``."""

    @dataload.resource(name="items")
    def items_resource(cursor=dataload.incremental("id", initial_value=-1)):
        yield [{"id": i, "payload": f"row {i}"} for i in range(rows) if i > cursor.start_value]

    return items_resource()


def crash_after_drop_commit() -> None:
    drop_module = importlib.import_module("dataload.drop")  # where schema changes are committed
    original = drop_module.load_with_retries

    def load_then_die(new_client: Any, package: Any, policy: Any) -> bool:
        loaded = original(new_client, package, policy)
        if package.dropped_tables:
            sys.stdout.flush()
            os._exit(9)
        return loaded

    drop_module.load_with_retries = load_then_die


def main() -> None:
    pipelines_dir, destination, dataset, mode = sys.argv[1:5]
    if mode == "crash_after_drop_commit":
        crash_after_drop_commit()
    elif mode != "drop":
        raise SystemExit(f"unknown mode {mode!r}")
    build(pipelines_dir, destination, dataset).drop(resources=["items"])


if __name__ == "__main__":
    main()
