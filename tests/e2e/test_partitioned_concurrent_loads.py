"""The packages of a partitioned run load in parallel where the destination takes concurrent loads
(PostgreSQL), the state-carrying last package only after all the others committed; one at a time on DuckDB."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import pytest
from landed import assert_landed, cursor

import dataload
from dataload.testing.destination_suite import InterceptedLoads

PARTS = [{"low": low, "high": low + 150} for low in range(0, 1050, 150)]  # seven partitions
SOURCE = {"numbers": [{"n": n, "v": f"t{n}"} for n in range(1050)]}


@dataload.resource(primary_key="n")
def numbers(low: int = 0, high: int = 1050,
            seen: dataload.Incremental = dataload.incremental("n", initial_value=-1)) -> Any:
    """Rows ``low <= n < high``."""
    yield from ({"n": n, "v": f"t{n}"} for n in range(low, high))


def recording(events: list[tuple[str, str]], meet: threading.Barrier | None = None,
              fail: str | None = None) -> Any:
    """An :class:`InterceptedLoads` load that records each package's start and end; loads 2 and 3 wait
    for each other at ``meet`` (they can only both get there when they run at once); ``fail`` breaks
    the load of that package index."""
    lock = threading.Lock()

    def load(attempt: int, package: Any, original: Any) -> bool:
        with lock:
            events.append(("start", package.load_id))
        if meet is not None and attempt in (2, 3):
            meet.wait()
        if fail is not None and package.load_id.endswith(fail):
            raise RuntimeError(f"package {package.load_id} broke (injected)")
        loaded = bool(original(package))
        with lock:
            events.append(("end", package.load_id))
        return loaded

    return load


def split() -> dataload.Resource:
    return numbers().partition_by(lambda: PARTS)


@pytest.mark.parametrize("sql_pipeline", ["postgres"], indirect=True)
def test_postgres_loads_the_middle_packages_at_once_and_the_state_carrying_one_last(sql_pipeline):
    pipe = sql_pipeline()
    events: list[tuple[str, str]] = []
    pipe.destination = InterceptedLoads(pipe.destination, recording(events, threading.Barrier(2, timeout=60)))
    info = pipe.run(split(), executor="threads")

    assert len(info.load_ids) == len(PARTS)
    last = max(info.load_ids)  # the package with the folded state
    starts = [i for i, (kind, _) in enumerate(events) if kind == "start"]
    assert any(events[i + 1][0] == "start" for i in starts[:-1])  # two loads were open at once
    other_ends = [i for i, (kind, load_id) in enumerate(events) if kind == "end" and load_id != last]
    assert events.index(("start", last)) > max(other_ends)  # after every other package committed
    assert_landed(pipe, SOURCE, packages=len(PARTS), keys={"numbers": "n"}, cursors={"numbers": "n"})


@pytest.mark.parametrize("sql_pipeline", ["postgres"], indirect=True)
def test_a_middle_package_that_fails_stops_the_run_and_the_retry_lands_the_rest_once(sql_pipeline):
    pipe = sql_pipeline()
    pipe.destination = InterceptedLoads(pipe.destination, recording([], fail=".000003"))
    with pytest.raises(dataload.TerminalLoadError, match=r"000003 broke"):
        pipe.run(split(), executor="threads")
    assert pipe.dataset().table("numbers").rows()  # the packages that committed stay committed
    assert cursor(pipe, "numbers", "n") in (None, -1)  # the state-carrying package did not load

    pipe.destination = pipe.destination.inner
    pipe.retry_failed()
    assert_landed(pipe, SOURCE, packages=len(PARTS), keys={"numbers": "n"}, cursors={"numbers": "n"})


def test_duckdb_loads_the_packages_one_at_a_time(make_pipeline):
    assert_loaded_one_at_a_time(make_pipeline())


@pytest.mark.parametrize("sql_pipeline", ["postgres"], indirect=True)
def test_load_package_workers_1_loads_a_postgres_run_one_package_at_a_time(sql_pipeline, monkeypatch):
    monkeypatch.setenv("LOAD__PACKAGE_WORKERS", "1")
    assert_loaded_one_at_a_time(sql_pipeline())


def assert_loaded_one_at_a_time(pipe: dataload.Pipeline) -> None:
    """Run the partitioned source into ``pipe``: each package's load ends before the next starts, in load-id order."""
    events: list[tuple[str, str]] = []
    pipe.destination = InterceptedLoads(pipe.destination, recording(events))
    info = pipe.run(split(), executor="threads")

    assert [kind for kind, _ in events] == ["start", "end"] * len(PARTS)
    assert [load_id for kind, load_id in events if kind == "start"] == info.load_ids
    assert_landed(pipe, SOURCE, packages=len(PARTS), keys={"numbers": "n"}, cursors={"numbers": "n"})


@pytest.mark.parametrize("sql_pipeline", ["postgres"], indirect=True)
def test_packages_loading_at_once_are_one_step_of_the_progress_report(sql_pipeline, caplog, monkeypatch):
    """The middle packages are counted together (one ``load`` step): none restarts the others' counts."""
    monkeypatch.setenv("RUNTIME__PROGRESS_INTERVAL", "3600")  # only the lines at each step's end
    caplog.set_level(logging.INFO, logger="dataload.progress")
    pipe = sql_pipeline(progress="log")
    pipe.destination = InterceptedLoads(pipe.destination, recording([], threading.Barrier(2, timeout=60)))
    info = pipe.run(split(), executor="threads")

    first, *middle, last = sorted(info.load_ids)
    loads = [r.getMessage() for r in caplog.records if r.getMessage().startswith("load ")]
    assert [re.sub(r" \(.*", "", line) for line in loads] == [
        f"load {first}: numbers 150 rows", f"load {middle[0]}..{middle[-1]}: numbers {150 * len(middle)} rows",
        f"load {last}: numbers 150 rows"]
    assert all(line.endswith("(done)") for line in loads)
    assert_landed(pipe, SOURCE, packages=len(PARTS), keys={"numbers": "n"}, cursors={"numbers": "n"})
