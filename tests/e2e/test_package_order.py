"""Packages land in the order they were extracted (issue 12, item 6), on DuckDB and PostgreSQL.

A newer package never lands while an older one is pending or failed, so a retried package cannot
overwrite newer rows and the cursor never passes a package that did not land. Every value is read
back from the destination.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import dataload
from dataload.exceptions import PackageBlockedError, TerminalLoadError
from dataload.package.failure import read_failure

MUST = {"must": {"nullable": False, "data_type": "text"}}
MakePipeline = Callable[[], dataload.Pipeline]


@pytest.fixture
def make(sql_pipeline: Callable[..., dataload.Pipeline]) -> MakePipeline:
    """Open (and reopen) one pipeline loading into a dataset of its own, on DuckDB and on PostgreSQL."""
    return lambda: sql_pipeline("order")


def rows(pipe: dataload.Pipeline, table: str = "t") -> list[dict[str, Any]]:
    """The rows of ``table`` without dataload's columns, by id."""
    found = [{k: v for k, v in r.items() if not k.startswith("_dl_")} for r in pipe.dataset().table(table).rows()]
    return sorted(found, key=lambda r: r["id"])


def loads(pipe: dataload.Pipeline) -> list[str]:
    return sorted(r["load_id"] for r in pipe.dataset().table("_dl_loads").rows())


def relax_must(pipe: dataload.Pipeline) -> None:
    """The fix for the failed package: the destination accepts a null ``must``."""
    with pipe.sql_client() as sql:
        sql.execute(f'ALTER TABLE "{pipe.dataset_name}"."t" ALTER COLUMN "must" DROP NOT NULL')


def put(pipe: dataload.Pipeline, value: str, must: str | None) -> None:
    pipe.run([{"id": 1, "v": value, "must": must}], table_name="t", write_disposition="merge", primary_key="id",
             columns=MUST)


def test_a_failed_package_blocks_newer_data_so_its_retry_cannot_overwrite_newer_rows(make):
    pipe = make()
    put(pipe, "v1", "a")
    with pytest.raises(TerminalLoadError):
        put(pipe, "v2-stale", None)
    [stale] = pipe.failed_packages()

    with pytest.raises(PackageBlockedError) as raised:  # the newer data waits: nothing extracted
        put(pipe, "v3-newest", "c")
    message = str(raised.value)
    assert raised.value.load_id == stale and stale in message
    assert "retry_failed()" in message and "drop_failed()" in message and "dataload pipeline order retry" in message
    assert pipe.pending_packages() == [] and pipe.failed_packages() == [stale]
    assert rows(pipe) == [{"id": 1, "v": "v1", "must": "a"}]

    relax_must(pipe)
    assert pipe.retry_failed().load_ids == [stale]
    assert rows(pipe) == [{"id": 1, "v": "v2-stale", "must": None}]
    put(pipe, "v3-newest", "c")
    assert rows(pipe) == [{"id": 1, "v": "v3-newest", "must": "c"}]
    assert loads(pipe)[1] == stale and len(loads(pipe)) == 3


def test_a_newer_pending_package_does_not_land_before_an_older_failed_one(make):
    pipe = make()
    put(pipe, "v1", "a")
    for value, must in (("v2-stale", None), ("v3-newest", "c")):
        pipe.extract([{"id": 1, "v": value, "must": must}], table_name="t", write_disposition="merge",
                     primary_key="id", columns=MUST)
    older, newer = pipe.pending_packages()
    pipe.normalize()
    with pytest.raises(TerminalLoadError):
        pipe.load()
    assert pipe.failed_packages() == [older] and pipe.pending_packages() == [newer]

    for attempt in (pipe.load, pipe.run, lambda: make().run([{"id": 2}], table_name="t")):
        with pytest.raises(PackageBlockedError, match=older):
            attempt()
    assert pipe.pending_packages() == [newer] and rows(pipe) == [{"id": 1, "v": "v1", "must": "a"}]

    relax_must(pipe)
    info = pipe.retry_failed()
    assert info.load_ids == [older, newer]  # oldest first: the newest row wins
    assert rows(pipe) == [{"id": 1, "v": "v3-newest", "must": "c"}]
    assert pipe.pending_packages() == [] and pipe.failed_packages() == []


def counted(rows_at_source: int) -> dataload.Resource:
    """``rows_at_source`` rows, incremental on ``id``; the row with id 5 has no ``must``."""

    @dataload.resource(name="t", columns=MUST)
    def t(cursor: Any = dataload.incremental("id", initial_value=-1)) -> Any:
        yield [{"id": i, "must": None if i == 5 else "x"} for i in range(rows_at_source) if i > cursor.last_value]

    return t()


def cursor(pipe: dataload.Pipeline) -> Any:
    for source in pipe.state.get("sources", {}).values():
        found = source.get("resources", {}).get("t", {}).get("incremental", {}).get("id")
        if found is not None:
            return found["last_value"]
    return None


def test_the_cursor_never_passes_a_failed_package_and_a_dropped_one_is_read_again(make):
    pipe = make()
    pipe.run(counted(3))
    with pytest.raises(TerminalLoadError):
        pipe.run(counted(8))  # ids 3..7; id 5 breaks the NOT NULL
    with pytest.raises(PackageBlockedError):
        pipe.run(counted(10))
    assert cursor(pipe) == 2 and [r["id"] for r in rows(pipe)] == [0, 1, 2]

    relax_must(pipe)
    pipe.drop_failed()  # discarded: its rows are read from the source again
    pipe.run(counted(10))
    assert [r["id"] for r in rows(pipe)] == list(range(10))
    assert cursor(pipe) == 9


def test_a_terminal_failure_in_package_2_of_3_lands_1_keeps_2_with_its_error_and_holds_back_3(make):
    """Issue 17 "Faults": one load of three packages; the second breaks a NOT NULL (the row with id 5)."""
    pipe = make()
    first, second, third = (pipe.extract(counted(n)) for n in (3, 6, 9))  # ids 0-2, 3-5, 6-8
    with pytest.raises(TerminalLoadError, match="must") as failed:
        pipe.run()
    assert [r["id"] for r in rows(pipe)] == [0, 1, 2] and loads(pipe) == [first]  # package 1 landed
    assert cursor(pipe) == 2  # not past the failed package
    assert pipe.failed_packages() == [second] and pipe.pending_packages() == [third]  # 3 waits, normalized
    failure = read_failure(pipe.working_dir / "packages" / "failed" / second)
    assert failure is not None and (failure.load_id, failure.step, failure.table) == (second, "load", "t")
    assert failure.error == str(failed.value) and failure.error_type == "TerminalLoadError"
    with pytest.raises(PackageBlockedError, match=second):
        pipe.run(counted(12))  # new data waits too: nothing is extracted
    assert pipe.pending_packages() == [third] and cursor(pipe) == 2

    relax_must(pipe)
    assert pipe.retry_failed().load_ids == [second, third]
    pipe.run(counted(12))
    assert [r["id"] for r in rows(pipe)] == list(range(12))  # every row once
    assert cursor(pipe) == 11 and loads(pipe)[:3] == [first, second, third] and len(loads(pipe)) == 4
    assert pipe.failed_packages() == [] and pipe.pending_packages() == []

def test_a_newer_package_does_not_land_while_an_older_one_waits_to_be_normalized(make, monkeypatch):
    import dataload.normalize.step as normalize_step

    original, breaking = normalize_step.fit_rows, [ValueError]

    def fit_rows(rows: Any, *args: Any, **kwargs: Any) -> Any:
        if "v" in rows.columns and "v2-older" in rows.columns["v"].to_pylist() and breaking:
            raise breaking[0]("cannot handle this (simulated)")
        return original(rows, *args, **kwargs)

    monkeypatch.setattr(normalize_step, "fit_rows", fit_rows)
    pipe = make()
    put(pipe, "v1", "a")
    for value in ("v2-older", "v3-newest"):
        pipe.extract([{"id": 1, "v": value, "must": "b"}], table_name="t", write_disposition="merge",
                     primary_key="id", columns=MUST)
    older, newer = pipe.pending_packages()
    with pytest.raises(dataload.DataloadError, match="simulated"):  # content: the older package fails
        pipe.normalize()
    assert pipe.normalize() == [newer] and pipe.failed_packages() == [older]

    breaking[0] = MemoryError  # not about the content: the retried package stays extracted
    with pytest.raises(MemoryError):
        pipe.retry_failed()
    assert pipe.failed_packages() == [] and pipe.pending_packages() == [older, newer]
    with pytest.raises(PackageBlockedError, match=older):
        pipe.load()
    assert rows(pipe) == [{"id": 1, "v": "v1", "must": "a"}]

    breaking.clear()
    info = pipe.run()
    assert info.load_ids == [older, newer]
    assert rows(pipe) == [{"id": 1, "v": "v3-newest", "must": "b"}]


def test_drops_wait_for_a_failed_package_like_new_data(make):
    """A drop is a commit too: while an older package is failed it is refused and changes nothing."""
    pipe = make()
    put(pipe, "v1", "a")
    with pytest.raises(TerminalLoadError):
        put(pipe, "v2-stale", None)
    [stale] = pipe.failed_packages()
    for drop in (lambda: pipe.drop(resources=["t"]), lambda: pipe.drop_columns("t", ["v"])):
        with pytest.raises(PackageBlockedError, match=stale):
            drop()
    assert rows(pipe) == [{"id": 1, "v": "v1", "must": "a"}] and "v" in pipe.default_schema.tables["t"].columns

    pipe.drop_failed()
    pipe.drop_columns("t", ["v"])
    assert rows(pipe) == [{"id": 1, "must": "a"}]


def test_sync_destination_takes_the_lock(make):
    """Nothing is written to the working dir without the lock, also by a public call."""
    from dataload.lock import pipeline_lock

    pipe = make()
    put(pipe, "v1", "a")
    (pipe.working_dir / "state.json").unlink()  # something to restore, so sync would write
    with pipeline_lock(pipe.working_dir, pipe.pipeline_name), pytest.raises(dataload.PipelineLockedError):
        pipe.sync_destination()
    assert not (pipe.working_dir / "state.json").exists()
    assert pipe.sync_destination() and (pipe.working_dir / "state.json").exists()
