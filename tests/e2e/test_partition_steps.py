"""A partitioned run in the three steps an orchestrator runs as tasks of their own (issue 18):
``plan_partitions`` under the lock, ``run_planned`` per partition (here at once, in threads, with the run and
the outcomes sent through JSON as an orchestrator sends them), ``finish_partitions`` under the lock; and a
finish killed while it hands the packages over, completed by its retry."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from landed import assert_landed, cursor
from test_resume import child_env

import dataload
from dataload.facade import finish_partitions, plan_partitions
from dataload.scale.coordinator import run_planned
from dataload.scale.plan import PartitionedRun

CRASH_SCRIPTS = Path(__file__).resolve().parent / "crash_scripts"
sys.path.insert(0, str(CRASH_SCRIPTS))
from partition_steps_child import FIRST, WINDOWS, split_days, steps_pipeline  # noqa: E402


def through_json(document: Any) -> Any:
    return json.loads(json.dumps(document))


def all_days() -> dict[str, list[dict[str, Any]]]:
    return {"days": [{"day": FIRST + datetime.timedelta(days=d), "n": d % 10} for d in range(40)]}


def test_the_steps_run_concurrently_load_every_row_once_and_a_second_finish_loads_nothing(tmp_path: Path) -> None:
    pipe, source = steps_pipeline(tmp_path), split_days()

    planned = plan_partitions(pipe, source)
    run = PartitionedRun.from_dict(through_json(planned.to_dict()))
    with ThreadPoolExecutor(max_workers=len(WINDOWS)) as pool:
        outcomes = list(pool.map(lambda index: through_json(run_planned(run, index, source).to_dict()),
                                 range(len(run.partitions))))
    info = finish_partitions(pipe, run.run_id, outcomes[::-1])  # in any order

    assert run == planned
    assert (len(info.load_ids), info.rows) == (len(WINDOWS), {"days": 40})
    assert_landed(pipe, all_days(), packages=len(WINDOWS), keys={"days": "day"})
    assert cursor(pipe, "days", "day") == FIRST + datetime.timedelta(days=39)
    assert finish_partitions(pipe, run.run_id, outcomes).load_ids == []  # a retried finish: nothing left to load


def test_a_partition_without_an_outcome_fails_the_finish_naming_it_and_nothing_is_loaded(tmp_path: Path) -> None:
    pipe, source = steps_pipeline(tmp_path), split_days()
    run = plan_partitions(pipe, source)
    outcomes: list[Any] = [run_planned(run, index, source).to_dict() for index in (0, 1, 3)]

    with pytest.raises(dataload.PartitionError, match=r"partition days\[2\] start=2024-01-21 end=2024-01-31 failed"):
        finish_partitions(pipe, run.run_id, [*outcomes, None])

    assert pipe.state.get("sources", {}) == {} and pipe.pending_packages() == []
    with pytest.raises(dataload.InvalidConfig, match="another run of the pipeline was planned since"):
        finish_partitions(pipe, plan_partitions(pipe, source).run_id + "0", [])


@pytest.mark.parametrize("point", [
    "partitions.after_ready",  # ready.json written, no package moved
    "after_move.partitioned.normalized:2",  # two moved, two still staged
])
def test_a_finish_killed_while_handing_the_packages_over_is_completed_by_its_retry_exactly_once(
        tmp_path: Path, point: str) -> None:
    killed = subprocess.run([sys.executable, str(CRASH_SCRIPTS / "partition_steps_child.py"), str(tmp_path)],
                            env=child_env() | {"DATALOAD_CRASH_AT": point}, capture_output=True, text=True,
                            timeout=120)
    assert killed.returncode == -9, killed.stderr

    finish = json.loads((tmp_path / "finish.json").read_text())
    pipe = steps_pipeline(tmp_path)
    info = finish_partitions(pipe, finish["run_id"], finish["outcomes"])  # the orchestrator's retry of the finish

    assert info.rows == {"days": 40}
    assert_landed(pipe, all_days(), packages=len(WINDOWS), keys={"days": "day"})
    assert not (pipe.working_dir / "partition_run.json").exists()
