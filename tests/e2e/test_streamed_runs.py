"""Streamed runs (dataload.streaming): a long extraction is loaded in parts while it runs, the state is
committed once, with the last package, and a run that stops half way is undone, so every source row
lands exactly once.

The pipeline is the one of ``test_resume.py`` (``crash_scripts/resume_child.py``: 250-row pages of an
incremental resource into a keyless append table, where a duplicate would show), with the extraction
sealed as a part after every extract file of 500 rows (``STREAMED``). A killed run is a real child
process SIGKILLing itself at a named crash point (``DATALOAD_CRASH_AT``), on every destination that
can delete by load id; what landed is read back and compared with the source (``landed.assert_landed``).
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from landed import assert_clean, assert_landed, cursor, stage_ids
from test_crash_matrix import load_ids, loaded_ids, target_on
from test_resume import EARLIER, MORE, ROWS, Target, child, child_env, run_child

import dataload
from dataload.exceptions import TransientLoadError
from dataload.extract.limits import BufferLimits
from dataload.load.step import RetryPolicy
from dataload.streaming import RECORD_FILE
from destinations import duckdb, filesystem

STREAMED = child.STREAMED
PARTS = ROWS // STREAMED.segment_rows  # the killed run's parts: one per 500 rows
STREAMING = ["duckdb", "postgres", "sqlalchemy-sqlite", "sqlalchemy-mariadb"]
NO_RETRY = RetryPolicy(attempts=1)


@pytest.fixture(params=STREAMING)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    yield from target_on(request.param, tmp_path, f"stream_{uuid.uuid4().hex[:10]}")


def streamed(tmp_path: Path, target: Target) -> dataload.Pipeline:
    pipe = child.build(tmp_path / "pipelines", target.url, target.dataset)
    pipe.buffer_limits = STREAMED
    return pipe


def loads_overlapped_extraction(pipe: dataload.Pipeline) -> bool:
    """True when the trace shows a package loaded before the run's last package was extracted."""
    steps = [step.step for step in pipe.last_trace.steps]
    return "load" in steps[:max(i for i, step in enumerate(steps) if step == "extract")]


def state_rows(pipe: dataload.Pipeline) -> list[tuple[int, str]]:
    """``(version, _dl_load_id)`` of every stored state row, by load id."""
    rows = pipe.dataset().table("_dl_pipeline_state").rows()
    return sorted(((row["version"], row["_dl_load_id"]) for row in rows), key=lambda row: row[1])


# -- a streamed run that finishes ----------------------------------------------------------------------
def test_a_long_run_loads_its_parts_while_it_extracts_and_commits_the_state_once_with_the_last(
        tmp_path: Path, target: Target) -> None:
    pipe = streamed(tmp_path, target)
    first = pipe.run(child.items(EARLIER))
    assert len(first.load_ids) == EARLIER // STREAMED.segment_rows + 1  # two parts, then the state
    before = state_rows(pipe)

    info = pipe.run(child.items(ROWS))

    parts, last = info.load_ids[:-1], info.load_ids[-1]
    assert len(parts) == (ROWS - EARLIER) // STREAMED.segment_rows and last == max(info.load_ids)
    assert loads_overlapped_extraction(pipe)
    assert loaded_ids(pipe) == list(range(ROWS))
    assert_landed(pipe, {"items": child.source_rows(ROWS)}, packages=len(first.load_ids) + len(info.load_ids),
                  cursors={"items": "id"})
    # the parts carry the state as it was; only the last package stores a new one
    new_rows = [row for row in state_rows(pipe) if row not in before]
    assert [load_id for _, load_id in new_rows] == [last]
    assert new_rows[0][0] == max(version for version, _ in before) + 1
    assert not (tmp_path / "pipelines" / child.PIPELINE / RECORD_FILE).exists()
    assert_clean(pipe)


# -- killed between parts, and while finishing the run --------------------------------------------------
# (crash point, whether the last package was sealed: then the run is finished, else undone)
KILLS = [
    ("stream.before_part_sealed:3", False),  # the third part recorded, not yet a package
    ("stream.after_part_sealed:3", False),  # the third part sealed, maybe not loaded
    ("stream.after_part_loaded:2", False),  # two parts in the destination
    ("load.after_commit:3", False),  # a part committed, its local state not written
    ("extract.before_seal", False),  # every part loaded, the last package not sealed
    ("stream.after_complete", True),  # the last package sealed, the record removed: it is finished
]


@pytest.mark.parametrize("point, finished", KILLS, ids=[point for point, _ in KILLS])
def test_killed_during_a_streamed_run_the_next_run_lands_every_row_once(
        tmp_path: Path, target: Target, point: str, finished: bool, caplog: pytest.LogCaptureFixture) -> None:
    pipe = streamed(tmp_path, target)
    pipe.run(child.items(EARLIER))
    committed = load_ids(pipe)

    killed = run_child(tmp_path, ROWS, "streamed", target, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert cursor(pipe) == EARLIER - 1  # no part moves the cursor
    record = tmp_path / "pipelines" / child.PIPELINE / RECORD_FILE
    assert record.exists() is not finished
    if point == "stream.after_part_loaded:2":  # loaded while the extraction went on
        assert len(loaded_ids(pipe)) >= EARLIER + 2 * STREAMED.segment_rows

    with caplog.at_level(logging.WARNING, logger="dataload"):
        info = pipe.run(child.items(ROWS + MORE))

    assert ("undid a streamed run" in caplog.text) is not finished
    assert not record.exists()
    assert loaded_ids(pipe) == list(range(ROWS + MORE))
    if finished:  # the killed run's packages are kept and finished, the new rows come as parts
        assert len(info.resumed) == 1
    else:  # nothing of the killed run is left: the rows are its own, in parts of this run
        assert set(load_ids(pipe)) == set(committed) | set(info.load_ids)
    assert_landed(pipe, {"items": child.source_rows(ROWS + MORE)}, packages=len(load_ids(pipe)),
                  cursors={"items": "id"})
    assert_clean(pipe)


@pytest.mark.parametrize("point", ["stream.before_part_sealed", "stream.after_part_loaded"])
def test_the_first_run_of_a_pipeline_killed_mid_stream_is_undone_and_the_next_lands_every_row_once(
        tmp_path: Path, target: Target, point: str) -> None:
    """No earlier state: the killed run's first part stored the initial state, which the undo deletes."""
    killed = run_child(tmp_path, ROWS, "streamed", target, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    pipe = streamed(tmp_path, target)
    pipe.run(child.items(ROWS))

    assert loaded_ids(pipe) == list(range(ROWS))
    assert_landed(pipe, {"items": child.source_rows(ROWS)}, packages=len(load_ids(pipe)), cursors={"items": "id"})
    assert_clean(pipe)


def test_a_run_killed_mid_stream_whose_working_dir_is_lost_is_undone_from_the_destination(
        tmp_path: Path, target: Target, caplog: pytest.LogCaptureFixture) -> None:
    """As on a CI runner: the next run starts in a fresh working dir, so only the destination knows
    (``_dl_loads`` status 1) that the loaded parts belong to a run that never finished."""
    pipe = streamed(tmp_path, target)
    pipe.run(child.items(EARLIER))
    killed = run_child(tmp_path, ROWS, "streamed", target, crash_at="stream.after_part_loaded:3")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    statuses = {row["load_id"]: row["status"] for row in pipe.dataset().table("_dl_loads").rows()}
    unfinished = sorted(load_id for load_id, status in statuses.items() if status == 1)
    assert len(unfinished) >= 3  # the killed run's parts
    shown = subprocess.run([sys.executable, "-m", "dataload.cli.main", "pipeline", child.PIPELINE, "loads",
                            "--pipelines-dir", str(tmp_path / "pipelines")], capture_output=True, text=True,
                           cwd=tmp_path, env=child_env(), timeout=60)
    assert sorted(line.split()[0] for line in shown.stdout.splitlines() if "unfinished part" in line) == unfinished
    shutil.rmtree(tmp_path / "pipelines")

    fresh = streamed(tmp_path, target)
    with caplog.at_level(logging.WARNING, logger="dataload"):
        fresh.run(child.items(ROWS + MORE))

    assert "undid a streamed run" in caplog.text
    assert loaded_ids(fresh) == list(range(ROWS + MORE))
    assert_landed(fresh, {"items": child.source_rows(ROWS + MORE)}, packages=len(load_ids(fresh)),
                  cursors={"items": "id"})
    assert {row["status"] for row in fresh.dataset().table("_dl_loads").rows()} == {0}


def test_parts_whose_last_package_is_pending_are_kept_when_the_working_dir_is_fresh_otherwise(
        tmp_path: Path, target: Target) -> None:
    """Killed after the last package was sealed: its parts stay (status 1) until it loads and completes them."""
    pipe = streamed(tmp_path, target)
    killed = run_child(tmp_path, ROWS, "streamed", target, crash_at="stream.after_complete")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pipe.sync_destination()  # reads the destination's record: nothing to undo, the last package completes them
    assert len(loaded_ids(pipe)) >= ROWS - 2 * STREAMED.segment_rows

    info = pipe.run()

    assert len(info.resumed) == 1
    assert_landed(pipe, {"items": child.source_rows(ROWS)}, packages=len(load_ids(pipe)), cursors={"items": "id"})
    assert {row["status"] for row in pipe.dataset().table("_dl_loads").rows()} == {0}


def test_killed_while_undoing_a_streamed_run_the_run_after_undoes_it_and_lands_every_row_once(
        tmp_path: Path) -> None:
    target = Target(str(tmp_path / "crash.duckdb"), "ds")
    pipe = streamed(tmp_path, target)
    pipe.run(child.items(EARLIER))
    assert run_child(tmp_path, ROWS, "streamed", target, crash_at="stream.after_part_loaded:3").returncode \
        == -signal.SIGKILL
    undoing = run_child(tmp_path, ROWS, "streamed", target, crash_at="stream.after_delete")
    assert undoing.returncode == -signal.SIGKILL, undoing.stderr
    assert loaded_ids(pipe) == list(range(EARLIER))  # the rows are deleted, the record not yet removed

    pipe.run(child.items(ROWS))

    assert_landed(pipe, {"items": child.source_rows(ROWS)}, packages=len(load_ids(pipe)), cursors={"items": "id"})
    assert_clean(pipe)


# -- a streamed run that fails -------------------------------------------------------------------------
def test_a_part_that_fails_to_normalize_stops_the_run_and_undoes_its_parts(tmp_path: Path) -> None:
    pipe = streamed(tmp_path, Target(str(tmp_path / "crash.duckdb"), "ds"))
    pipe.run(child.items(EARLIER))
    bad = child.items(ROWS).add_map(lambda row: {**row, "payload": "bad \ud800"} if row["id"] == 2_200 else row)

    with pytest.raises(dataload.DataloadError, match="surrogate"):
        pipe.run(bad)

    assert loaded_ids(pipe) == list(range(EARLIER))
    assert cursor(pipe) == EARLIER - 1
    assert pipe.failed_packages() == [] and pipe.pending_packages() == []
    pipe.run(child.items(ROWS))
    assert_landed(pipe, {"items": child.source_rows(ROWS)}, packages=len(load_ids(pipe)), cursors={"items": "id"})


class UndoFailsOnce:
    """DuckDB, whose clients' first ``delete_loads`` fails as a lost connection would."""

    def __init__(self, path: Path) -> None:
        self.inner = duckdb(str(path))
        self.name, self.capabilities = self.inner.name, self.inner.capabilities
        self.check_dataset_name, self.attach_spec = self.inner.check_dataset_name, self.inner.attach_spec
        self.failures = 1

    def client(self, **kwargs):
        client = self.inner.client(**kwargs)
        owner = self

        class Client:
            def delete_loads(self, load_ids: list[str]) -> None:
                if owner.failures:
                    owner.failures -= 1
                    raise TransientLoadError("connection lost (simulated)")
                client.delete_loads(load_ids)

            def __getattr__(self, name: str):
                return getattr(client, name)

        return Client()


def test_a_source_that_raises_after_some_parts_loaded_leaves_nothing_even_when_the_undo_must_wait(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    destination = UndoFailsOnce(tmp_path / "stream.duckdb")
    pipe = dataload.pipeline("flaky", destination=destination, dataset_name="ds", pipelines_dir=tmp_path / "p",
                             buffer_limits=STREAMED, retry_policy=NO_RETRY)
    pipe.run(child.items(EARLIER))

    def broken(row: dict) -> dict:
        if row["id"] == 3_000:
            raise RuntimeError("the API went away")
        return row

    with caplog.at_level(logging.WARNING, logger="dataload"), pytest.raises(dataload.DataloadError, match="went away"):
        pipe.run(child.items(ROWS).add_map(broken))
    assert "could not undo" in caplog.text
    assert len(loaded_ids(pipe)) > EARLIER  # parts loaded; the record says what to undo
    assert cursor(pipe) == EARLIER - 1

    pipe.run(child.items(ROWS))  # undoes them first

    assert loaded_ids(pipe) == list(range(ROWS))
    assert_landed(pipe, {"items": child.source_rows(ROWS)}, packages=len(load_ids(pipe)), cursors={"items": "id"})


# -- where no parts are made ---------------------------------------------------------------------------
def accounts(**hints) -> dataload.Resource:
    """2,000 accounts in pages of 250, merged on ``id``."""
    @dataload.resource(name="accounts", write_disposition="merge", primary_key="id", **hints)
    def accounts_resource():
        for start in range(0, 2_000, 250):
            yield [{"id": i, "balance": i * 2} for i in range(start, start + 250)]

    return accounts_resource()


def assert_accounts(pipe: dataload.Pipeline) -> None:
    assert sorted((r["id"], r["balance"]) for r in pipe.dataset().table("accounts").rows()) == \
        [(i, i * 2) for i in range(2_000)]


@pytest.mark.parametrize("routed", [False, True], ids=["named", "routed"])
def test_a_merge_table_lands_in_one_package(make_pipeline, routed: bool) -> None:
    """A resource naming a merge table makes its run one package; one whose ``table_name`` callable
    routes rows to it is known only when its first row is written (after the items): parts end there."""
    merged = accounts(table_name=lambda row: "accounts") if routed else accounts()

    @dataload.source
    def both():
        return child.items(2_000), merged

    pipe = make_pipeline(buffer_limits=STREAMED)
    info = pipe.run(both())

    assert (len(info.load_ids) > 2) is routed
    assert {row["_dl_load_id"] for row in pipe.dataset().table("accounts").rows()} == {info.load_ids[-1]}
    assert_accounts(pipe)
    assert loaded_ids(pipe) == list(range(2_000))


def test_parts_are_sealed_by_time_too(make_pipeline) -> None:
    pipe = make_pipeline(buffer_limits=BufferLimits(part_bytes=None, part_seconds=0))
    info = pipe.run(child.items(1_000))
    assert len(info.load_ids) == 1_000 // child.PAGE + 1  # a part per page, then the last package: the state
    assert loaded_ids(pipe) == list(range(1_000))
    assert_landed(pipe, {"items": child.source_rows(1_000)}, packages=len(info.load_ids), cursors={"items": "id"})


def test_a_destination_that_cannot_delete_by_load_id_gets_one_package(tmp_path: Path) -> None:
    pipe = dataload.pipeline("files", destination=filesystem(str(tmp_path / "bucket")), dataset_name="ds",
                             pipelines_dir=tmp_path / "p", buffer_limits=STREAMED)
    info = pipe.run(child.items(2_000))
    assert len(info.load_ids) == 1
    assert loaded_ids(pipe) == list(range(2_000))
    assert stage_ids(pipe, "extracted") == []


def test_a_log_progress_report_shows_each_part_loading_while_the_extraction_goes_on(
        make_pipeline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("RUNTIME__PROGRESS_INTERVAL", "0")
    caplog.set_level(logging.INFO, logger="dataload.progress")
    pipe = make_pipeline(buffer_limits=STREAMED, progress="log")

    info = pipe.run(child.items(2_000))

    lines = [r.getMessage() for r in caplog.records if r.name == "dataload.progress"]
    for load_id in info.load_ids[:-1]:  # every part, normalized and loaded by the run's thread: 500 rows each
        for step in ("normalize", "load"):
            done = [line for line in lines if line.startswith(f"{step} {load_id}: ") and line.endswith("(done)")]
            assert len(done) == 1 and "items 500 rows" in done[0], (step, load_id, lines)
    first = info.load_ids[0]
    assert any(line.startswith(f"extract {first}: items 2,000 items") for line in lines)  # one extraction report
    assert loaded_ids(pipe) == list(range(2_000))
