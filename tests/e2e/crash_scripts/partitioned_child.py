"""Child process for tests/e2e/test_partitions_local.py: one partitioned run, killed at a crash point.

``python partitioned_child.py <folder> <executor>`` runs ``split_numbers()`` (five partitions of
200 rows) into ``<folder>/partitioned.duckdb`` on ``executor`` (``threads``, ``processes``, or the
address of a Dask scheduler, ``tcp://...``, to run as a client of that cluster); with
``DATALOAD_CRASH_AT`` set the engine kills the process there (see dataload.crash). The test modules
import this file too, so all run the very same resource.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import dataload
from destinations import duckdb

ROWS = 1_000
PARTS = [{"low": low, "high": low + 200} for low in range(0, ROWS, 200)]


@dataload.resource(primary_key="n")
def numbers(low: int = 0, high: int = ROWS, fail_at: int | None = None,
            seen: dataload.Incremental = dataload.incremental("n", initial_value=-1)) -> Any:
    """Rows ``low <= n < high``; ``v`` is text below 500 and a number from 500 on (a type conflict
    between partitions); raises at ``n == fail_at``."""
    for n in range(low, high):
        if n == fail_at:
            raise RuntimeError(f"source broke at n={n}")
        yield {"n": n, "v": f"t{n}" if n < 500 else n}


@dataload.resource(primary_key="n")
def dies_once(marker: str, low: int = 0, high: int = ROWS) -> Any:
    """Rows ``low <= n < high``; the partition starting at 400 kills its own (worker) process the first
    time it runs, leaving ``marker``."""
    if low == 400 and not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    yield from ({"n": n} for n in range(low, high))


def split_numbers(**arguments: Any) -> dataload.Resource:
    """``numbers`` split into the five partitions of ``PARTS``."""
    return numbers(**arguments).partition_by(lambda: PARTS)


def build(folder: Path) -> dataload.Pipeline:
    """The child's pipeline: working dir and DuckDB file in ``folder``."""
    return dataload.pipeline("partitioned", destination=duckdb(str(folder / "partitioned.duckdb")),
                             dataset_name="ds", pipelines_dir=folder / "pipelines")


if __name__ == "__main__":
    folder, executor = Path(sys.argv[1]), sys.argv[2]
    pipe = build(folder)
    if not executor.startswith("tcp://"):
        print(pipe.run(split_numbers(), executor=executor))
        sys.exit(0)
    from distributed import Client

    with Client(executor) as client:
        print(pipe.run(split_numbers(), executor=client))
