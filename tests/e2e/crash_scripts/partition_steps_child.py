"""Child process for tests/e2e/test_partition_steps.py: a partitioned run in the steps an orchestrator takes.

``python partition_steps_child.py <folder>`` plans ``split_days()`` (four windows of ten days) with
``plan_partitions``, runs each partition with ``run_planned``, writes the run id and the outcomes to
``<folder>/finish.json`` (what an orchestrator keeps for a retry of its finish task), then calls
``finish_partitions``; with ``DATALOAD_CRASH_AT`` set the engine kills the process there (see
dataload.crash). The test module imports this file too, so both run the very same resource.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

import dataload
from dataload.facade import finish_partitions, plan_partitions
from dataload.scale.coordinator import run_planned
from destinations import duckdb

FIRST = datetime.date(2024, 1, 1)
WINDOWS = [{"start": FIRST + datetime.timedelta(days=10 * i), "end": FIRST + datetime.timedelta(days=10 * (i + 1))}
           for i in range(4)]  # dates: the plan must come back from JSON typed


@dataload.resource(name="days", primary_key="day")
def days(start: datetime.date = FIRST, end: datetime.date = FIRST,
         day: Any = dataload.incremental("day")) -> Any:
    """One row per day ``start <= day < end``; ``n`` counts the days from ``start``."""
    yield [{"day": start + datetime.timedelta(days=n), "n": n} for n in range((end - start).days)]


def split_days() -> dataload.Resource:
    return days().partition_by(lambda: WINDOWS)


def steps_pipeline(folder: Path) -> dataload.Pipeline:
    return dataload.pipeline("steps", destination=duckdb(str(folder / "steps.duckdb")), dataset_name="ds",
                             pipelines_dir=folder / "pipelines")


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    pipe, source = steps_pipeline(folder), split_days()
    run = plan_partitions(pipe, source)
    outcomes = [run_planned(run, index, source).to_dict() for index in range(len(run.partitions))]
    (folder / "finish.json").write_text(json.dumps({"run_id": run.run_id, "outcomes": outcomes}))
    finish_partitions(pipe, run.run_id, outcomes)
