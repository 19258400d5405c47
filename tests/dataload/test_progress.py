"""Progress while a pipeline runs: the lines and counters a user sees, with the counts the data has."""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb as duckdb_driver
import pytest

import dataload
from dataload.exceptions import TransientLoadError
from dataload.load.step import RetryPolicy
from dataload.protocol import LoadPackage
from dataload.testing import InterceptedLoads

PAGES, PAGE_SIZE = 3, 100


@dataload.resource(name="users")
def users() -> Iterator[list[dict[str, object]]]:
    for page in range(PAGES):
        yield [{"id": page * PAGE_SIZE + n, "tags": ["a", "b"]} for n in range(PAGE_SIZE)]


def orders() -> dataload.Resource:
    return dataload.resource([{"id": n} for n in range(50)], name="orders")


@dataload.source
def shop() -> list[dataload.Resource]:
    return [users, orders()]


def progress_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dataload.progress"]


def counts(tmp_path: Path, name: str) -> dict[str, int]:
    with duckdb_driver.connect(str(tmp_path / f"{name}.duckdb"), read_only=True) as connection:
        return {table: connection.execute(f'SELECT count(*) FROM ds."{table}"').fetchone()[0]
                for table in ("users", "users__tags", "orders")}


def test_log_progress_reports_items_per_resource_page_by_page_and_rows_per_table(
        make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__PROGRESS_INTERVAL", "0")
    caplog.set_level(logging.INFO, logger="dataload.progress")
    pipe = make_pipeline("progress_log", progress="log")
    info = pipe.run(shop())
    load_id = info.load_ids[0]
    lines = progress_lines(caplog)
    extract = [line for line in lines if line.startswith(f"extract {load_id}:")]
    assert [re.sub(r" \(.*", "", line.split(": ", 1)[1]) for line in extract[:PAGES]] == [
        f"users {n * PAGE_SIZE} items" for n in range(1, PAGES + 1)]
    assert re.match(rf"extract {load_id}: users 300 items \([\d,]+/s\), orders 50 items \([\d,]+/s\) after "
                    r"[\d.]+ s \(done\)$", extract[-1]), extract[-1]
    normalized = next(line for line in lines if line.startswith(f"normalize {load_id}") and "(done)" in line)
    assert "users 300 rows" in normalized and "users__tags 600 rows" in normalized and "orders 50 rows" in normalized
    loaded = next(line for line in lines if line.startswith(f"load {load_id}") and "(done)" in line)
    assert "users 300 rows" in loaded and "users__tags 600 rows" in loaded
    assert counts(tmp_path, "progress_log") == {"users": 300, "users__tags": 600, "orders": 50}


def test_runtime_progress_in_the_environment_turns_it_on_and_the_interval_spaces_lines(
        make_pipeline: Callable[..., dataload.Pipeline], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__PROGRESS", "log")
    monkeypatch.setenv("RUNTIME__PROGRESS_INTERVAL", "3600")
    caplog.set_level(logging.INFO, logger="dataload.progress")
    make_pipeline("progress_env").run(shop())
    lines = progress_lines(caplog)
    assert [line.split(" ", 1)[0] for line in lines] == ["extract", "normalize", "load"]
    assert all(line.endswith("(done)") for line in lines)


def test_progress_off_says_nothing(make_pipeline: Callable[..., dataload.Pipeline],
                                   caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    make_pipeline("progress_off").run(shop())
    assert progress_lines(caplog) == []
    assert counts(tmp_path, "progress_off") == {"users": 300, "users__tags": 600, "orders": 50}


def test_tqdm_shows_a_counter_per_resource_and_table(make_pipeline: Callable[..., dataload.Pipeline],
                                                     capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("tqdm")
    make_pipeline("progress_tqdm", progress="tqdm").run(shop())
    err = capsys.readouterr().err
    assert re.search(r"extract users: 300 items", err) and re.search(r"extract orders: 50\.0 items", err), err
    assert re.search(r"normalize users__tags: 600 rows", err), err
    assert counts(tmp_path, "progress_tqdm") == {"users": 300, "users__tags": 600, "orders": 50}


def test_rich_shows_a_line_per_resource_and_table(make_pipeline: Callable[..., dataload.Pipeline],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("rich")
    make_pipeline("progress_rich", progress="rich").run(shop())
    err = capsys.readouterr().err
    assert re.search(r"extract users\s+300 items", err) and re.search(r"load users__tags\s+600 rows", err), err


@pytest.mark.parametrize("kind, extra", [("tqdm", "tqdm"), ("rich", "rich")])
def test_a_missing_library_names_the_extra(make_pipeline: Callable[..., dataload.Pipeline],
                                           monkeypatch: pytest.MonkeyPatch, kind: str, extra: str) -> None:
    monkeypatch.setitem(sys.modules, kind, None)  # as if it were not installed: its import fails
    pipe = make_pipeline(f"progress_{kind}_missing", progress=kind)
    with pytest.raises(dataload.MissingDependencyError, match=re.escape(f'pip install "dataload[{extra}]"')):
        pipe.run([{"id": 1}], table_name="t")


def test_an_unknown_progress_is_refused_naming_the_choices(make_pipeline: Callable[..., dataload.Pipeline],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(dataload.InvalidConfig, match="'bar' is not one of log, tqdm, rich"):
        make_pipeline("progress_bad", progress="bar")
    monkeypatch.setenv("RUNTIME__PROGRESS", "loud")
    with pytest.raises(dataload.InvalidConfig, match="'loud' is not one of log, tqdm, rich"):
        make_pipeline("progress_bad_env").run([{"id": 1}], table_name="t")


@pytest.mark.parametrize("destination", ["duckdb", "postgres", "filesystem", "function"])
def test_load_progress_comes_job_by_job_before_the_package_commits(
        destination: str, make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each table (with its children) or file the destination writes is reported as it is written, so a
    long load shows progress; the totals at the end are the package's rows, counted once."""
    from destinations import filesystem, postgres
    from tests.conftest import POSTGRES_URL, postgres_connection

    delivered: dict[str, int] = {}

    @dataload.destination(batch_size=1000)
    def sink(items: list[dict[str, object]], table: dataload.Table) -> None:
        delivered[table.name] = delivered.get(table.name, 0) + len(items)

    dataset = f"progress_{uuid.uuid4().hex[:8]}"
    target = {"duckdb": None, "postgres": postgres(POSTGRES_URL), "filesystem": filesystem(str(tmp_path / "files")),
              "function": sink}[destination]
    options = {"destination": target} if target is not None else {}
    monkeypatch.setenv("RUNTIME__PROGRESS_INTERVAL", "0")
    caplog.set_level(logging.INFO, logger="dataload.progress")
    try:
        pipe = make_pipeline("progress_jobs", progress="log", dataset_name=dataset, **options)
        load_id = pipe.run(shop()).load_ids[0]
    finally:
        if destination == "postgres":
            with postgres_connection() as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
    loads = [line.split(": ", 1)[1] for line in progress_lines(caplog) if line.startswith(f"load {load_id}:")]
    tables = [re.findall(r"(\w+) ([\d,]+) rows", line) for line in loads]
    assert 0 < len(tables[0]) < 3, loads  # the first job is reported before the last one is written
    assert dict(tables[-1]) == {"users": "300", "users__tags": "600", "orders": "50"} and loads[-1].endswith("(done)")
    if destination == "function":
        assert delivered == {"users": 300, "users__tags": 600, "orders": 50}


def _fails_after_the_first_job(attempt: int, package: LoadPackage, original: Callable[[LoadPackage], bool]) -> bool:
    """The first attempt writes one job, then fails transiently; the retry loads all."""
    if attempt == 1:
        package.job_done(package.family_files(package.tables[0]))
        raise TransientLoadError("connection lost after the first job (simulated)")
    return original(package)


def test_a_retried_load_counts_each_file_once(make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__PROGRESS_INTERVAL", "0")
    caplog.set_level(logging.INFO, logger="dataload.progress")
    pipe = make_pipeline("progress_retry", progress="log")
    pipe.destination = flaky = InterceptedLoads(pipe.destination, _fails_after_the_first_job)
    pipe.retry_policy = RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.05)
    load_id = pipe.run(shop()).load_ids[0]
    assert flaky.attempts == 2
    done = next(line for line in progress_lines(caplog) if line.startswith(f"load {load_id}") and "(done)" in line)
    assert dict(re.findall(r"(\w+) ([\d,]+) rows", done)) == {"users": "300", "users__tags": "600", "orders": "50"}
    assert counts(tmp_path, "progress_retry") == {"users": 300, "users__tags": 600, "orders": 50}
