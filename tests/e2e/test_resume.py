"""Resume and failure (issue 5): SIGKILL at every stage, pending packages, transient and terminal
load errors, two processes on one pipeline. Every value is read back from DuckDB.

The child process is ``crash_scripts/resume_child.py``; the parent imports the same file so both
run the very same pipeline (same working dir, same DuckDB file, same resource).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb as duckdb_driver
import pytest
from landed import assert_clean, cursor, stage_ids

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.exceptions import PackageBlockedError, TerminalLoadError, TransientLoadError
from dataload.load.step import RetryPolicy
from destinations import duckdb

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).resolve().parent / "crash_scripts" / "resume_child.py"
_spec = importlib.util.spec_from_file_location("resume_child", CHILD)
assert _spec and _spec.loader
child = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(child)

ROWS = 5_000  # rows the killed run reads: ids 0..4999
EARLIER = 1_000  # rows an earlier, successful run loaded first: ids 0..999
MORE = 500  # rows that appeared at the source before the run after the crash
FAST_RETRY = RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.02)


# -- helpers ---------------------------------------------------------------------------------------
def run_child(tmp_path: Path, rows: int, mode: str, target: Target | None = None,
              crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the child; with ``crash_at`` it kills itself at that crash point (``DATALOAD_CRASH_AT``)."""
    env = child_env() | ({"DATALOAD_CRASH_AT": crash_at} if crash_at else {})
    return subprocess.run(child_command(tmp_path, rows, mode, target), env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def child_command(tmp_path: Path, rows: int, mode: str, target: Target | None = None) -> list[str]:
    where = [target.url, target.dataset] if target else [str(tmp_path / "resume.duckdb")]
    return [sys.executable, str(CHILD), str(tmp_path / "pipelines"), where[0], str(rows), mode, *where[1:]]


def child_env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    env.pop("DATALOAD_CRASH_AT", None)
    return env


@dataclass
class Target:
    """Where the child and the parent load: a DuckDB file or a PostgreSQL schema of its own."""

    url: str
    dataset: str

    def ids(self, table: str = "items") -> list[int]:
        """Ids in ``table``, read with a connection of our own (sorted, duplicates kept)."""
        if not self.url.startswith("postgresql://"):
            return db_ids(Path(self.url), table, self.dataset)
        return sorted(r[0] for r in self._rows(f'SELECT id FROM "{self.dataset}"."{table}"'))

    def load_ids(self) -> list[str]:
        if not self.url.startswith("postgresql://"):
            return db_load_ids(Path(self.url), self.dataset)
        return [r[0] for r in self._rows(f'SELECT load_id FROM "{self.dataset}"."_dl_loads" ORDER BY load_id')]

    def _rows(self, sql: str) -> list[tuple[object, ...]]:
        import psycopg

        with postgres_connection() as con:
            try:
                return con.execute(sql).fetchall()
            except psycopg.errors.UndefinedTable:
                return []


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """The DuckDB file of the test, or a PostgreSQL schema dropped afterwards."""
    if request.param == "duckdb":
        yield Target(str(tmp_path / "resume.duckdb"), "ds")
        return
    connection = postgres_connection()
    dataset = f"resume_{uuid.uuid4().hex[:10]}"
    try:
        yield Target(POSTGRES_URL, dataset)
    finally:
        connection.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
        connection.close()


def db_ids(db: Path, table: str = "items", dataset: str = "ds") -> list[int]:
    """Ids in ``table`` read with a connection of our own (sorted, duplicates kept)."""
    con = duckdb_driver.connect(str(db))
    try:
        return sorted(r[0] for r in con.execute(f'SELECT id FROM "{dataset}"."{table}"').fetchall())
    except duckdb_driver.CatalogException:
        return []
    finally:
        con.close()


def db_load_ids(db: Path, dataset: str = "ds") -> list[str]:
    con = duckdb_driver.connect(str(db))
    try:
        return [r[0] for r in con.execute(f'SELECT load_id FROM "{dataset}"."_dl_loads" ORDER BY load_id').fetchall()]
    except duckdb_driver.CatalogException:
        return []
    finally:
        con.close()


# -- 1. SIGKILL at each stage: tests/e2e/test_crash_matrix.py, every crash point on every destination


# the crash points of every package move, and the stage each leaves the killed run's package in
# (the named points of each step, on every destination: test_crash_matrix.py)
CRASH_POINTS = [
    ("before_move.extracting.tmp.extracted", None),  # not sealed: discarded, the rows are extracted again
    ("after_move.extracting.tmp.extracted", "extracted"),
    ("before_move.normalizing.tmp.normalized", "extracted"),
    ("after_move.normalizing.tmp.normalized", "normalized"),  # its extracted copy not yet removed
]


@pytest.mark.parametrize("point, left_in", CRASH_POINTS, ids=[p for p, _ in CRASH_POINTS])
def test_killed_at_a_crash_point_the_next_run_loads_every_row_exactly_once(tmp_path, target, point, left_in):
    pipe = child.build(tmp_path / "pipelines", target.url, target.dataset)
    pipe.run(child.items(EARLIER))
    killed = run_child(tmp_path, ROWS, "none", target, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pending = stage_ids(pipe, left_in) if left_in else []
    assert len(pending) == (1 if left_in else 0)
    assert target.ids() == list(range(EARLIER))  # a move happens before the load

    info = pipe.run(child.items(ROWS + MORE))
    assert info.resumed == pending
    ids = target.ids()
    assert ids == list(range(ROWS + MORE)), f"missing or duplicated rows: {len(ids)} rows, {len(set(ids))} distinct"
    assert cursor(pipe) == ROWS + MORE - 1
    loads = target.load_ids()
    assert len(loads) == len(set(loads)) == 2 + len(pending) and set(pending) <= set(loads)
    assert_clean(pipe)


def set_payload_not_null(pipe: dataload.Pipeline, required: bool) -> None:
    """Make the destination refuse (or accept again) a null payload: a terminal load error, and its fix."""
    with pipe.sql_client() as sql:
        sql.execute(f'ALTER TABLE "{pipe.dataset_name}"."items" ALTER COLUMN "payload" '
                    f'{"SET" if required else "DROP"} NOT NULL')


FAILING_POINTS = [  # (crash point, child mode, the error of the package's failing step)
    ("before_move.normalized.failed", "null_last", TerminalLoadError),
    ("after_move.normalized.failed", "null_last", TerminalLoadError),
    ("before_move.extracted.failed", "surrogate_last", dataload.DataloadError),
    ("after_move.extracted.failed", "surrogate_last", dataload.DataloadError),
]


@pytest.mark.parametrize("point, mode, error", FAILING_POINTS, ids=[p for p, _, _ in FAILING_POINTS])
def test_killed_while_failing_a_package_the_next_run_fails_it_and_drop_then_loads_every_row_once(
        tmp_path, target, point, mode, error):
    pipe = child.build(tmp_path / "pipelines", target.url, target.dataset)
    pipe.run(child.items(EARLIER))
    set_payload_not_null(pipe, True)
    killed = run_child(tmp_path, ROWS, mode, target, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert target.ids() == list(range(EARLIER)) and cursor(pipe) == EARLIER - 1

    if point.startswith("before_move"):  # still pending: the next run tries it again, and fails it
        with pytest.raises(error):
            pipe.run()
    with pytest.raises(PackageBlockedError):
        pipe.run(child.items(ROWS + MORE))
    assert len(pipe.failed_packages()) == 1 and pipe.pending_packages() == []

    set_payload_not_null(pipe, False)
    pipe.drop_failed()
    pipe.run(child.items(ROWS + MORE))
    assert target.ids() == list(range(ROWS + MORE))
    assert cursor(pipe) == ROWS + MORE - 1
    assert_clean(pipe)


RETRY_POINTS = ["before_move.failed.normalized", "after_move.failed.normalized", "load.after_commit"]


@pytest.mark.parametrize("point", RETRY_POINTS)
def test_killed_while_retrying_a_failed_package_the_next_run_loads_it_once(tmp_path, target, point):
    pipe = child.build(tmp_path / "pipelines", target.url, target.dataset)
    pipe.run(child.items(EARLIER))
    set_payload_not_null(pipe, True)
    with pytest.raises(TerminalLoadError):
        pipe.run(child.spoiled(ROWS, None))
    [failed] = pipe.failed_packages()
    set_payload_not_null(pipe, False)  # the fix, then a retry that is killed
    killed = run_child(tmp_path, ROWS, "retry", target, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    info = pipe.retry_failed()
    assert info.load_ids == ([] if point == "load.after_commit" else [failed])
    pipe.run(child.items(ROWS + MORE))
    assert target.ids() == list(range(ROWS + MORE))
    assert target.load_ids().count(failed) == 1 and len(target.load_ids()) == 3
    assert cursor(pipe) == ROWS + MORE - 1
    assert_clean(pipe)


def test_sigkill_then_rerun_in_a_new_process(tmp_path):
    """Both runs are separate processes (the scheduled-job case); nothing shared in memory."""
    killed = run_child(tmp_path, ROWS, "none", crash_at="load.after_job:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pipe = child.build(tmp_path / "pipelines", tmp_path / "resume.duckdb")
    pending = stage_ids(pipe, "normalized")
    assert len(pending) == 1 and db_ids(tmp_path / "resume.duckdb") == [] and cursor(pipe) is None

    rerun = run_child(tmp_path, ROWS + MORE, "none")
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert report["resumed"] == pending
    assert "left pending by an earlier run" in rerun.stderr
    assert db_ids(tmp_path / "resume.duckdb") == list(range(ROWS + MORE))
    assert cursor(pipe) == ROWS + MORE - 1
    assert_clean(pipe)


# -- 2. pending package + new data in one call --------------------------------------------------------
def test_run_finishes_a_pending_package_and_still_loads_the_new_data(make_pipeline, caplog):
    pipe = make_pipeline()
    a = pipe.extract([{"id": 1, "src": "A"}, {"id": 2, "src": "A"}], table_name="t")
    assert stage_ids(pipe, "extracted") == [a]
    with caplog.at_level(logging.WARNING, logger="dataload"):
        info = pipe.run([{"id": 3, "src": "B"}], table_name="t")
    assert info.resumed == [a]
    assert a in info.load_ids and len(info.load_ids) == 2
    rows = sorted((r["id"], r["src"]) for r in pipe.dataset().table("t").rows())
    assert rows == [(1, "A"), (2, "A"), (3, "B")]
    warnings = [r for r in caplog.records if r.name.startswith("dataload.") and r.levelno == logging.WARNING]
    assert any(a in r.getMessage() and "pending" in r.getMessage() for r in warnings), warnings
    assert a in str(info) and "pending" in str(info)
    assert_clean(pipe)


def test_several_pending_packages_are_finished_in_order_and_the_cursor_follows(make_pipeline, tmp_path):
    pipe = make_pipeline("several")
    first = pipe.extract(child.items(1_000))
    second = pipe.extract(child.items(1_500))  # continues from the cursor of the pending package
    assert stage_ids(pipe, "extracted") == [first, second] and cursor(pipe) is None
    info = pipe.run(child.items(2_000))
    assert info.resumed == [first, second]
    assert info.load_ids[:2] == [first, second] and len(info.load_ids) == 3
    assert info.rows == {"items": 2_000}
    assert db_ids(tmp_path / "several.duckdb") == list(range(2_000))
    assert cursor(pipe) == 1_999
    assert_clean(pipe)


def test_a_package_extracted_but_not_loaded_is_not_visible_until_the_next_run(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"id": 0}], table_name="t")
    pipe.extract([{"id": 1}], table_name="t")
    pipe.normalize()
    assert sorted(r["id"] for r in pipe.dataset().table("t").rows()) == [0]
    info = pipe.run()  # no new data: only the pending package
    assert len(info.resumed) == 1 and info.load_ids == info.resumed
    assert sorted(r["id"] for r in pipe.dataset().table("t").rows()) == [0, 1]


# -- 3. transient failures are retried -----------------------------------------------------------------
class FlakyDestination:
    """A destination of our own around DuckDB whose first ``failures`` package loads fail transiently."""

    def __init__(self, inner, failures: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.check_dataset_name, self.attach_spec = inner.check_dataset_name, inner.attach_spec
        self.failures_left = failures
        self.load_calls = 0
        self.after_commit = False

    def client(self, **kwargs):
        return FlakyClient(self, self.inner.client(**kwargs))


class FlakyClient:
    def __init__(self, owner: FlakyDestination, inner) -> None:
        self.owner = owner
        self.inner = inner

    def load_package(self, package):
        self.owner.load_calls += 1
        if self.owner.failures_left > 0:
            self.owner.failures_left -= 1
            if self.owner.after_commit:  # the load went through but its acknowledgement was lost
                self.inner.load_package(package)
            raise TransientLoadError("connection lost (simulated)")
        return self.inner.load_package(package)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_transient_errors_are_retried_and_the_rows_land_once(make_pipeline, tmp_path, caplog):
    flaky = FlakyDestination(duckdb(str(tmp_path / "flaky.duckdb")), failures=2)
    pipe = make_pipeline("flaky", destination=flaky, retry_policy=FAST_RETRY)
    with caplog.at_level(logging.WARNING, logger="dataload"):
        info = pipe.run(child.items(1_200))
    assert flaky.load_calls == 3
    assert len(info.load_ids) == 1
    assert db_ids(tmp_path / "flaky.duckdb") == list(range(1_200))
    assert db_load_ids(tmp_path / "flaky.duckdb") == info.load_ids
    assert cursor(pipe) == 1_199
    assert sum("retrying" in r.getMessage() for r in caplog.records if r.name.startswith("dataload.")) == 2
    assert_clean(pipe)


def test_a_transient_error_after_the_commit_is_retried_without_duplicating(make_pipeline, tmp_path):
    db = tmp_path / "flaky.duckdb"
    flaky = FlakyDestination(duckdb(str(db)), failures=1)
    flaky.after_commit = True
    pipe = make_pipeline("flaky", destination=flaky, retry_policy=FAST_RETRY)
    info = pipe.run(child.items(1_000))
    assert flaky.load_calls == 2
    assert db_ids(db) == list(range(1_000))
    assert db_load_ids(db) == info.load_ids
    assert cursor(pipe) == 999
    assert_clean(pipe)


def test_a_transient_error_mid_transaction_rolls_back_and_the_retry_loads_once(make_pipeline, tmp_path,
                                                                               monkeypatch):
    from destinations._duckdb import DuckDBClient

    original, raised = DuckDBClient._write_table, []

    def write_then_fail_once(self, package, root, chunk=None):
        original(self, package, root, chunk)
        if not raised:
            raised.append(root)
            raise TransientLoadError("lock timeout (simulated) after writing the table")

    monkeypatch.setattr(DuckDBClient, "_write_table", write_then_fail_once)
    db = tmp_path / "mid.duckdb"
    pipe = make_pipeline("mid", destination=duckdb(str(db)), retry_policy=FAST_RETRY)
    pipe.run([{"id": 0}], table_name="items")
    raised.clear()
    info = pipe.run(child.items(1_000))
    assert raised == ["items"]
    assert db_ids(db) == [0] + list(range(1_000))
    assert db_load_ids(db)[-1] == info.load_ids[0] and len(db_load_ids(db)) == 2
    assert_clean(pipe)


HOLD_DB = """
import sys, time, pathlib, duckdb
con = duckdb.connect(sys.argv[1])
pathlib.Path(sys.argv[1] + ".held").touch()
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_a_destination_file_locked_by_another_process_is_retried(make_pipeline, tmp_path):
    db = tmp_path / "locked.duckdb"
    pipe = make_pipeline("locked", destination=duckdb(str(db)),
                         retry_policy=RetryPolicy(attempts=8, first_wait=0.2, max_wait=1.0))
    pipe.run([{"id": 1}], table_name="t")
    script = tmp_path / "hold_db.py"
    script.write_text(HOLD_DB)
    holder = subprocess.Popen([sys.executable, str(script), str(db), "1.0"], env=child_env())
    try:
        deadline = time.monotonic() + 30
        while not Path(str(db) + ".held").exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        pipe.run([{"id": 2}], table_name="t")  # a lock held for 1 s is a transient error
    finally:
        holder.wait(timeout=30)
    assert db_ids(db, "t") == [1, 2]
    assert_clean(pipe)


def test_transient_errors_past_the_attempts_propagate_and_keep_the_package(make_pipeline, tmp_path):
    db = tmp_path / "flaky.duckdb"
    flaky = FlakyDestination(duckdb(str(db)), failures=99)
    pipe = make_pipeline("flaky", destination=flaky,
                         retry_policy=RetryPolicy(attempts=2, first_wait=0.01, max_wait=0.02))
    with pytest.raises(TransientLoadError, match="connection lost"):
        pipe.run(child.items(1_000))
    assert flaky.load_calls == 2
    pending = stage_ids(pipe, "normalized")
    assert len(pending) == 1 and pipe.failed_packages() == []
    assert db_ids(db) == [] and cursor(pipe) is None  # the state does not claim what did not land

    healthy = make_pipeline("flaky", destination=duckdb(str(db)))  # a later, normal run
    info = healthy.run(child.items(1_300))
    assert info.resumed == pending
    assert db_ids(db) == list(range(1_300))
    assert cursor(healthy) == 1_299
    assert_clean(healthy)


# -- 4. terminal failures fail the package ---------------------------------------------------------------
MUST = {"must": {"nullable": False, "data_type": "text"}}


def test_terminal_error_fails_the_package_names_table_and_file_and_can_be_dropped(make_pipeline, tmp_path, caplog):
    pipe = make_pipeline("strict")
    pipe.run([{"id": 1, "must": "a"}], table_name="t", columns=MUST)
    with pytest.raises(TerminalLoadError) as raised:
        pipe.run([{"id": 2, "must": "b"}, {"id": 3, "must": None}], table_name="t", columns=MUST)
    error = raised.value
    failed = pipe.failed_packages()
    assert len(failed) == 1
    assert error.table == "t" and "'t'" in str(error)
    assert error.file and f"{failed[0]}/files/" in error.file and error.file in str(error)
    assert failed[0] in str(error) and "NOT NULL" in str(error)
    assert stage_ids(pipe, "normalized") == []
    assert sorted(r["id"] for r in pipe.dataset().table("t").rows()) == [1]  # nothing of the failed package
    assert failed[0] not in [r["load_id"] for r in pipe.dataset().table("_dl_loads").rows()]

    with caplog.at_level(logging.WARNING, logger="dataload"):
        info = pipe.run()  # nothing new: the run reports the failed package
    message = " ".join(r.getMessage() for r in caplog.records
                       if r.name.startswith("dataload.") and r.levelno == logging.WARNING)
    assert failed[0] in message and "retry_failed" in message and "drop_failed" in message
    assert "FAILED" in str(info) and failed[0] in str(info)
    assert info.failed == failed
    with pytest.raises(PackageBlockedError, match=failed[0]):  # newer data waits for the failed package
        pipe.run([{"id": 4, "must": "c"}], table_name="t", columns=MUST)
    assert sorted(r["id"] for r in pipe.dataset().table("t").rows()) == [1]

    assert pipe.drop_failed() == failed
    pipe.run([{"id": 4, "must": "c"}], table_name="t", columns=MUST)
    assert pipe.failed_packages() == [] and stage_ids(pipe, "failed") == []
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dataload"):
        info = pipe.run([{"id": 5, "must": "d"}], table_name="t", columns=MUST)
    assert info.failed == [] and "FAILED" not in str(info)
    assert not [r for r in caplog.records if r.name.startswith("dataload.") and r.levelno >= logging.WARNING]
    assert sorted(r["id"] for r in pipe.dataset().table("t").rows()) == [1, 4, 5]


def test_retry_failed_after_the_cause_is_fixed_loads_the_package_once(make_pipeline):
    pipe = make_pipeline("strict")
    pipe.run([{"id": 1, "must": "a"}], table_name="t", columns=MUST)
    with pytest.raises(TerminalLoadError):
        pipe.run([{"id": 2, "must": None}], table_name="t", columns=MUST)
    with pytest.raises(TerminalLoadError):  # cause not fixed: fails again and stays failed
        pipe.retry_failed()
    assert len(pipe.failed_packages()) == 1
    with pipe.sql_client() as sql:  # the fix: relax the constraint in the destination
        sql.execute('ALTER TABLE "ds"."t" ALTER COLUMN "must" DROP NOT NULL')
    info = pipe.retry_failed()
    assert len(info.load_ids) == 1 and pipe.failed_packages() == []
    assert sorted(r["id"] for r in pipe.dataset().table("t").rows()) == [1, 2]
    assert_clean(pipe)


def test_terminal_error_names_a_file_that_is_kept_for_inspection(make_pipeline):
    pipe = make_pipeline("strict")
    with pytest.raises(TerminalLoadError) as raised:
        pipe.run([{"id": 2, "must": None}], table_name="t", columns=MUST)
    kept = Path(raised.value.file)
    assert kept.is_file(), kept  # the file named by the error is where the failed package is kept
    assert kept.is_relative_to(pipe.working_dir / "packages" / "failed" / pipe.failed_packages()[0])


# -- 5. two processes on one pipeline -------------------------------------------------------------------
@contextmanager
def slow_child_extracting(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process loading 1,000 rows slowly, once it has started extracting; killed if still running at exit."""
    marker = tmp_path / "pipelines" / "started.marker"
    first = subprocess.Popen(child_command(tmp_path, 1_000, "slow"), env=child_env(), cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the child never started extracting"
            time.sleep(0.02)
        yield first
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def test_a_second_process_is_refused_while_the_first_runs_and_nothing_is_corrupted(tmp_path):
    with slow_child_extracting(tmp_path) as first:
        pipe = child.build(tmp_path / "pipelines", tmp_path / "resume.duckdb")
        with pytest.raises(dataload.PipelineLockedError, match="'resume'") as raised:
            pipe.run(child.items(1_500))
        assert str(first.pid) in str(raised.value)
        assert first.poll() is None, "the refusal came while the child was still running"
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err

    db = tmp_path / "resume.duckdb"
    assert db_ids(db) == list(range(1_000))
    info = pipe.run(child.items(1_500))
    assert info.resumed == [] and len(info.load_ids) == 1
    assert db_ids(db) == list(range(1_500))
    assert cursor(pipe) == 1_499
    loads = db_load_ids(db)
    assert len(loads) == 2 and len(set(loads)) == 2
    assert_clean(pipe)


def test_a_refused_second_process_writes_nothing_to_the_working_dir(tmp_path):
    """The lock is taken before anything is written: the refused process leaves the settings as they were."""
    with slow_child_extracting(tmp_path) as first:
        settings = tmp_path / "pipelines" / child.PIPELINE / "pipeline.json"
        before = settings.read_text()
        other = dataload.pipeline(child.PIPELINE, destination=duckdb(str(tmp_path / "other.duckdb")),
                                  dataset_name="other_ds", pipelines_dir=tmp_path / "pipelines")
        with pytest.raises(dataload.PipelineLockedError):
            other.run(child.items(10))
        assert settings.read_text() == before
        assert not list(settings.parent.glob("*.tmp"))
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert db_ids(tmp_path / "resume.duckdb") == list(range(1_000))
    assert not (tmp_path / "other.duckdb").exists()
