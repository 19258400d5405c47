"""A partitioned run in the three steps an orchestrator runs as tasks of their own (issue 18):
``plan_partitions`` under the lock, ``run_planned`` per partition (here at once, in threads, with the run and
the outcomes sent through JSON as an orchestrator sends them), ``finish_partitions`` under the lock."""

from __future__ import annotations

import datetime
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from landed import assert_landed, cursor

import dataload
from dataload.facade import finish_partitions, plan_partitions
from dataload.scale.coordinator import run_planned
from dataload.scale.plan import PartitionedRun

FIRST = datetime.date(2024, 1, 1)
WINDOWS = [{"start": FIRST + datetime.timedelta(days=10 * i), "end": FIRST + datetime.timedelta(days=10 * (i + 1))}
           for i in range(4)]  # dates: the plan must come back from JSON typed


@dataload.resource(name="days", primary_key="day")
def days(start: datetime.date = FIRST, end: datetime.date = FIRST,
         day: Any = dataload.incremental("day")) -> Any:
    yield [{"day": start + datetime.timedelta(days=n), "n": n} for n in range((end - start).days)]


def through_json(document: Any) -> Any:
    return json.loads(json.dumps(document))


def test_the_steps_run_concurrently_load_every_row_once_and_a_second_finish_loads_nothing(make_pipeline) -> None:
    pipe = make_pipeline()
    source = days().partition_by(lambda: WINDOWS)

    planned = plan_partitions(pipe, source)
    run = PartitionedRun.from_dict(through_json(planned.to_dict()))
    with ThreadPoolExecutor(max_workers=len(WINDOWS)) as pool:
        outcomes = list(pool.map(lambda index: through_json(run_planned(run, index, source).to_dict()),
                                 range(len(run.partitions))))
    info = finish_partitions(pipe, run.run_id, outcomes[::-1])  # in any order

    assert run == planned
    assert (len(info.load_ids), info.rows) == (len(WINDOWS), {"days": 40})
    assert_landed(pipe, {"days": [{"day": FIRST + datetime.timedelta(days=d), "n": d % 10} for d in range(40)]},
                  packages=len(WINDOWS), keys={"days": "day"})
    assert cursor(pipe, "days", "day") == FIRST + datetime.timedelta(days=39)
    assert finish_partitions(pipe, run.run_id, outcomes).load_ids == []  # a retried finish: nothing left to load


def test_a_partition_without_an_outcome_fails_the_finish_naming_it_and_nothing_is_loaded(make_pipeline) -> None:
    pipe = make_pipeline()
    source = days().partition_by(lambda: WINDOWS)
    run = plan_partitions(pipe, source)
    outcomes: list[Any] = [run_planned(run, index, source).to_dict() for index in (0, 1, 3)]

    with pytest.raises(dataload.PartitionError, match=r"partition days\[2\] start=2024-01-21 end=2024-01-31 failed"):
        finish_partitions(pipe, run.run_id, [*outcomes, None])

    assert pipe.state.get("sources", {}) == {} and pipe.pending_packages() == []
    with pytest.raises(dataload.InvalidConfig, match="another run of the pipeline was planned since"):
        finish_partitions(pipe, plan_partitions(pipe, source).run_id + "0", [])
