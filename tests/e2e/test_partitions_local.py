"""Partitioned runs on one machine (issue 18): the partition API, the thread and process executors,
schema and state folding, a partition that fails for good, and a run killed while it hands its
packages over. Values are read back from DuckDB with its own driver.

The Dask cluster runs are in ``test_partitioned_runs.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver
import pytest
from test_resume import assert_clean, child_env, cursor

import dataload
from dataload.scale.fold import fold_states

CRASH_SCRIPTS = Path(__file__).resolve().parent / "crash_scripts"
sys.path.insert(0, str(CRASH_SCRIPTS))  # importable by name, so worker processes unpickle its resource too
from partitioned_child import PARTS, ROWS, build, dies_once, numbers, split_numbers  # noqa: E402


def loaded(pipe: dataload.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on the DuckDB file of a ``make_pipeline`` pipeline, read with DuckDB's own driver."""
    con = duckdb_driver.connect(str(pipe.working_dir.parent.parent / f"{pipe.pipeline_name}.duckdb"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def in_order_values(make_pipeline: Any) -> list[tuple[Any, ...]]:
    """What the same rows give when loaded in one package, in order (the rule partitions must match)."""
    pipe = make_pipeline()
    pipe.run(numbers())
    return loaded(pipe, "SELECT * EXCLUDE (_dl_load_id, _dl_id) FROM ds.numbers ORDER BY n")


# -- the partition API ----------------------------------------------------------------------------
@dataload.resource
def counting(low: int = 0, high: int = ROWS) -> Any:
    yield from ({"n": n} for n in range(low, high))


def split_counting() -> dataload.Resource:
    return counting().partition_by(lambda: PARTS)


def test_partitions_are_the_plan_in_order_and_restrict_the_resource_function():
    resource = split_counting()
    found = resource.partitions()
    assert [p.index for p in found] == list(range(5))
    assert found[3] == dataload.Partition("counting", 3, {"low": 600, "high": 800})
    assert dataload.Partition.from_dict(found[3].to_dict()) == found[3]
    assert [row["n"] for row in resource.for_partition(found[3])] == list(range(600, 800))


def test_a_resource_without_a_plan_is_one_whole_partition_and_a_transformer_takes_its_parents_plan():
    assert numbers().partitions() == [dataload.Partition("numbers", 0, {})]

    @dataload.transformer
    def doubled(row: dict[str, Any]) -> Any:
        yield {"n": row["n"], "twice": row["n"] * 2}

    fed = split_counting() | doubled
    assert fed.is_partitioned and not (counting() | doubled).is_partitioned
    assert fed.partitions() == split_counting().partitions()
    assert (counting().partition_by(lambda: []) | doubled).partitions() == []  # nothing to read, not everything
    assert [row["twice"] for row in fed.for_partition(fed.partitions()[1])] == [n * 2 for n in range(200, 400)]


def test_only_a_resource_made_from_a_function_can_be_partitioned():
    with pytest.raises(dataload.InvalidConfig, match="'rows' cannot be partitioned"):
        dataload.Resource([{"a": 1}], name="rows").partition_by(lambda: [{}])


def test_import_dataload_does_not_import_dask():
    script = ("import sys, dataload; bad = [m for m in sys.modules if m.split('.')[0] in "
              "('dask', 'distributed')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", script], env=child_env(), check=True)


# -- folding -----------------------------------------------------------------------------------------
def _cursor_state(last_value: Any, hashes: list[str] | None = None) -> dict[str, Any]:
    cursor_state: dict[str, Any] = {"last_value": last_value}
    if hashes is not None:
        cursor_state["unique_hashes"] = hashes
    return {"sources": {"s": {"resources": {"r": {"incremental": {"at": cursor_state}}}}}}


@pytest.mark.parametrize("base, partitions, expected", [
    (_cursor_state(5), [_cursor_state(9), _cursor_state(7)], _cursor_state(9)),
    (_cursor_state(5), [_cursor_state(5), _cursor_state(5)], _cursor_state(5)),  # nothing new: stays
    ({}, [_cursor_state(3, ["a"]), _cursor_state(3, ["b"])], _cursor_state(3, ["a", "b"])),  # same boundary
    (_cursor_state("2024-01-02T00:00:00Z"), [_cursor_state("2024-01-01T23:00:00-02:00")],
     _cursor_state("2024-01-01T23:00:00-02:00")),  # instants compared as instants, not as text
    ({}, [{"sources": {"s": {"pages": 1}}}, {"sources": {"s": {"pages": 2}}}], {"sources": {"s": {"pages": 2}}}),
])
def test_fold_states_keeps_the_newest_cursor_and_the_last_partitions_other_keys(base, partitions, expected):
    assert fold_states(base, partitions) == expected


# -- runs ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_partitioned_run_loads_every_row_once_like_one_package_and_commits_the_cursor_once(
        make_pipeline, executor):
    expected = in_order_values(make_pipeline)
    pipe = make_pipeline()
    info = pipe.run(split_numbers(), executor=executor)

    assert len(info.load_ids) == len(PARTS)
    assert loaded(pipe, "SELECT * EXCLUDE (_dl_load_id, _dl_id) FROM ds.numbers ORDER BY n") == expected
    assert loaded(pipe, "SELECT count(*), count(DISTINCT n) FROM ds.numbers") == [(ROWS, ROWS)]
    assert cursor(pipe, "numbers", "n") == ROWS - 1
    versions = loaded(pipe, "SELECT version, _dl_load_id FROM ds._dl_pipeline_state WHERE version > 0")
    assert versions == [(1, info.load_ids[-1])]  # the other packages carry the state as it was (version 0)
    assert_clean(pipe)


def test_the_next_run_continues_from_the_folded_cursor(make_pipeline):
    pipe = make_pipeline()
    pipe.run(numbers().partition_by(lambda: PARTS[:2]), executor="threads")  # n below 400
    assert cursor(pipe, "numbers", "n") == 399

    pipe.run(split_numbers(), executor="threads")  # the partitions below 400 now read nothing new
    assert loaded(pipe, "SELECT count(*), count(DISTINCT n), max(n) FROM ds.numbers") == [(ROWS, ROWS, ROWS - 1)]
    assert cursor(pipe, "numbers", "n") == ROWS - 1


def test_a_partition_that_fails_for_good_is_named_nothing_is_loaded_and_the_rerun_loads_every_row_once(
        make_pipeline):
    pipe = make_pipeline()
    pipe.run(numbers().partition_by(lambda: PARTS[:1]), executor="threads")  # n below 200

    with pytest.raises(dataload.PartitionError, match=r"numbers\[3\] low=600 high=800 failed") as failure:
        pipe.run(split_numbers(fail_at=750), executor="threads", partition_retries=1)
    assert failure.value.partition == "numbers[3] low=600 high=800"
    assert "source broke at n=750" in str(failure.value)
    assert loaded(pipe, "SELECT count(*), max(n) FROM ds.numbers") == [(200, 199)]
    assert cursor(pipe, "numbers", "n") == 199  # not past the failed partition
    assert (pipe.working_dir / "partition_plan.json").exists()  # the re-run makes the same partitions

    pipe.run(split_numbers(), executor="threads")
    assert loaded(pipe, "SELECT count(*), count(DISTINCT n) FROM ds.numbers") == [(ROWS, ROWS)]
    assert cursor(pipe, "numbers", "n") == ROWS - 1
    assert not (pipe.working_dir / "partition_plan.json").exists()


def test_a_failing_partition_is_retried_and_then_succeeds(make_pipeline, tmp_path):
    marker = tmp_path / "failed-once"

    @dataload.resource
    def flaky(low: int = 0, high: int = 10) -> Any:
        if low == 5 and not marker.exists():
            marker.touch()
            raise RuntimeError("first attempt breaks")
        yield from ({"n": n} for n in range(low, high))

    pipe = make_pipeline()
    pipe.run(flaky().partition_by(lambda: [{"low": 0, "high": 5}, {"low": 5, "high": 10}]), executor="threads")
    assert marker.exists()
    assert loaded(pipe, "SELECT n FROM ds.flaky ORDER BY n") == [(n,) for n in range(10)]


def test_a_worker_process_killed_mid_task_is_replaced_and_every_row_lands_once(make_pipeline, tmp_path):
    marker = tmp_path / "killed-once"
    pipe = make_pipeline()
    pipe.run(dies_once(str(marker)).partition_by(lambda: PARTS), executor="processes", partition_retries=1)
    assert marker.exists()  # a worker process did die
    assert loaded(pipe, "SELECT count(*), count(DISTINCT n), max(n) FROM ds.dies_once") == [(ROWS, ROWS, ROWS - 1)]


def test_a_replaced_table_cannot_be_split(make_pipeline):
    pipe = make_pipeline()
    with pytest.raises(dataload.InvalidConfig, match="'numbers' has write disposition 'replace' and 5 partitions"):
        pipe.run(split_numbers().apply_hints(write_disposition="replace"), executor="threads")


def test_an_unknown_executor_is_refused_with_the_accepted_ones(make_pipeline):
    with pytest.raises(dataload.InvalidConfig, match="executor must be one of 'threads', 'processes'"):
        make_pipeline().run(split_numbers(), executor="gpu")


# -- killed while handing the packages over ---------------------------------------------------------
def run_partitioned_child(tmp_path: Path, crash_at: str, executor: str = "threads") -> subprocess.CompletedProcess[str]:
    """Run ``partitioned_child.py`` into ``tmp_path``; it kills itself at crash point ``crash_at``."""
    env = child_env() | {"DATALOAD_CRASH_AT": crash_at}
    return subprocess.run([sys.executable, str(CRASH_SCRIPTS / "partitioned_child.py"), str(tmp_path), executor],
                          env=env, capture_output=True, text=True, timeout=120)


def child_rows_and_cursor(tmp_path: Path) -> tuple[list[tuple[Any, ...]], str]:
    """(count, distinct n) of what the child loaded, and the newest committed state (as JSON text)."""
    con = duckdb_driver.connect(str(tmp_path / "partitioned.duckdb"))
    try:
        counts = con.execute("SELECT count(*), count(DISTINCT n) FROM ds.numbers").fetchall()
        state = con.execute("SELECT state FROM ds._dl_pipeline_state ORDER BY version DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return counts, state[0] if state else ""


@pytest.mark.parametrize("point", [
    "after_move.partitioned.normalized:2",  # ready.json written, two moved, three still staged
    "load.after_commit:3",  # three packages loaded (without the new state), two pending
])
def test_a_run_killed_while_handing_over_or_loading_its_packages_completes_exactly_once_on_the_next_run(
        tmp_path, point):
    killed = run_partitioned_child(tmp_path, point)
    assert killed.returncode == -9, killed.stderr

    build(tmp_path).run(split_numbers(), executor="threads")  # the re-run, here
    counts, state = child_rows_and_cursor(tmp_path)
    assert counts == [(ROWS, ROWS)]
    assert '"last_value": 999' in state
