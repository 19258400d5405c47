"""``dataload pipeline ...``: the real command in subprocesses, on pipelines these tests ran.

Each test runs pipelines in ``tmp_path`` (working dirs in ``tmp_path/pipelines``) and then the
``dataload`` command from another folder, and compares what it printed with what the destination
holds, read back with its own driver.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver
import pytest
import yaml

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.cli.main import build_parser
from destinations import duckdb

ROOT = Path(__file__).resolve().parents[2]


def dataload_command(*args: str, cwd: Path, stdin: Any = subprocess.DEVNULL,
                     env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``dataload ARGS`` as a new process in ``cwd`` (this checkout's code first on the path)."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    environ = {**os.environ, **(env or {}), "PYTHONPATH": path}
    return subprocess.run([sys.executable, "-m", "dataload.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, stdin=stdin, env=environ, timeout=120)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder that is not where the pipelines ran: the command must not depend on the current folder."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@dataload.resource(primary_key="id", write_disposition="merge")
def events(updated: Any = dataload.incremental("updated", initial_value=0)) -> Any:
    yield [{"id": 1, "updated": 5, "tags": ["a", "b"]}, {"id": 2, "updated": 7, "tags": []},
           {"id": 3, "updated": 9, "tags": ["c"]}]


@dataload.source
def shop() -> Any:
    return events


@pytest.fixture
def shop_pipeline(make_pipeline, tmp_path):
    """A DuckDB pipeline that loaded ``shop`` once; the pipelines dir as a string."""
    pipe = make_pipeline("shop_pipe")
    pipe.run(shop())
    return pipe, str(tmp_path / "pipelines")


def duckdb_rows(pipe: dataload.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read with DuckDB's own driver from the pipeline's database file."""
    path = pipe.destination.attach_spec()["credentials"]
    with duckdb_driver.connect(path, read_only=True) as con:
        return con.execute(sql).fetchall()


def failing_pipeline(make_pipeline, tmp_path: Path, name: str = "failing") -> tuple[dataload.Pipeline, str]:
    """A pipeline with one loaded package (id 1) and one failed one: the destination's table refuses id 500."""
    db = tmp_path / f"{name}.duckdb"
    with duckdb_driver.connect(str(db)) as con:
        con.execute("CREATE SCHEMA ds; CREATE TABLE ds.items (id BIGINT CHECK (id < 100))")
    pipe = make_pipeline(name, destination=duckdb(str(db)))
    pipe.run([{"id": 1}], table_name="items")
    with pytest.raises(dataload.TerminalLoadError):
        pipe.run([{"id": 2}, {"id": 500}], table_name="items")
    (failed,) = pipe.failed_packages()
    return pipe, failed


# --- every command: help, one-line errors ------------------------------------------------------

def _command_words(parser: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                found += [(*path, name), *_command_words(sub, (*path, name))]
    return found


def test_every_command_has_help(elsewhere):
    commands = _command_words(build_parser())
    assert ("pipeline", "trace") in commands and ("pipeline", "load-package") in commands
    for words in commands:
        args = [words[0], "NAME", *words[1:]] if words[0] == "pipeline" and len(words) > 1 else list(words)
        result = dataload_command(*args, "--help", cwd=elsewhere)
        assert result.returncode == 0 and "usage: dataload" in result.stdout, (words, result.stderr)
        assert words[-1] in result.stdout.splitlines()[0]


def test_an_unknown_pipeline_lists_the_known_ones_in_one_line(shop_pipeline, elsewhere):
    _, base = shop_pipeline
    result = dataload_command("pipeline", "shop_pipee", "info", "--pipelines-dir", base, cwd=elsewhere)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "no pipeline 'shop_pipee'" in result.stderr and "known pipelines: shop_pipe" in result.stderr


def test_a_working_file_that_is_not_json_is_one_line_naming_it(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    (pipe.working_dir / "schema.json").write_text("{not json")
    result = dataload_command("pipeline", "shop_pipe", "schema", "--pipelines-dir", base, cwd=elsewhere,
                              env={"DATALOAD_DEBUG": ""})
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: {pipe.working_dir / 'schema.json'} is not valid JSON"), result.stderr


def test_an_unexpected_error_is_one_line_and_its_traceback_shows_only_at_debug(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    (pipe.working_dir / "schema.json").write_text("[]")  # JSON, but no schema: nothing expects it
    result = dataload_command("pipeline", "shop_pipe", "schema", "--pipelines-dir", base, cwd=elsewhere,
                              env={"DATALOAD_DEBUG": ""})
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ") and not result.stderr.startswith("error: /"), result.stderr
    assert result.stderr.endswith(" (--debug or DATALOAD_DEBUG=1 shows the traceback)\n")
    for switch, env in ((["--debug"], {}), (["--log-level", "DEBUG"], {}), ([], {"DATALOAD_DEBUG": "1"})):
        debug = dataload_command(*switch, "pipeline", "shop_pipe", "schema", "--pipelines-dir", base, cwd=elsewhere,
                                 env=env)
        assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr, switch
        assert debug.stderr.splitlines()[-1] == result.stderr.splitlines()[-1].split(" (--debug")[0], switch
    after = dataload_command("pipeline", "shop_pipe", "schema", "--debug", "--pipelines-dir", base, cwd=elsewhere)
    assert "Traceback (most recent call last)" in after.stderr  # --debug after the action too


# --- --list, --pipelines-dir anywhere -----------------------------------------------------------

def test_list_shows_each_pipeline_with_destination_dataset_and_last_run(make_pipeline, tmp_path, elsewhere):
    first, second = make_pipeline("first"), make_pipeline("second", dataset_name="other")
    first.run([{"id": 1}], table_name="t")
    second.extract([{"id": 1}], table_name="t")  # never ran
    result = dataload_command("pipeline", "--list", "--pipelines-dir", str(tmp_path / "pipelines"), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DESTINATION", "DATASET", "LAST", "RUN"]
    assert lines[1].split()[:3] == ["first", "duckdb", "ds"] and first.last_trace.started_at in lines[1]
    assert lines[1].split()[-1] == "ok"
    assert lines[2].split() == ["second", "duckdb", "other", "never"]


def test_list_of_an_empty_folder_says_so(elsewhere):
    result = dataload_command("pipeline", "--list", "--pipelines-dir", str(elsewhere / "none"), cwd=elsewhere)
    assert result.returncode == 0 and result.stdout.startswith("no pipelines in ")


def test_pipelines_dir_before_or_after_the_action_or_from_the_environment(shop_pipeline, elsewhere):
    _, base = shop_pipeline
    before = dataload_command("pipeline", "shop_pipe", "--pipelines-dir", base, "info", "--format", "json",
                              cwd=elsewhere)
    after = dataload_command("pipeline", "shop_pipe", "info", "--format", "json", "--pipelines-dir", base,
                             cwd=elsewhere)
    from_env = dataload_command("pipeline", "shop_pipe", "info", "--format", "json", cwd=elsewhere,
                                env={"DATALOAD_PIPELINES_DIR": base})
    assert before.returncode == after.returncode == from_env.returncode == 0, after.stderr
    assert json.loads(before.stdout) == json.loads(after.stdout) == json.loads(from_env.stdout)


def test_an_action_is_required_after_the_name(shop_pipeline, elsewhere):
    _, base = shop_pipeline
    result = dataload_command("pipeline", "--pipelines-dir", base, cwd=elsewhere)
    assert result.returncode == 2 and "NAME and an action" in result.stderr and result.stderr.count("\n") == 1
    unknown = dataload_command("pipeline", "shop_pipe", "infos", "--pipelines-dir", base, cwd=elsewhere)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1, unknown.stderr
    assert "invalid choice: 'infos'" in unknown.stderr and "(see: dataload pipeline --help)" in unknown.stderr


# --- info, trace, schema -------------------------------------------------------------------------

def test_info_shows_destination_dataset_last_run_packages_and_state(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    result = dataload_command("pipeline", "shop_pipe", "info", "--pipelines-dir", base, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    text = result.stdout.replace("working dir", "working_dir").replace("last run", "last_run")
    lines = dict(line.split(None, 1) for line in text.splitlines())
    assert lines["destination"] == "duckdb" and lines["dataset"] == "ds"
    assert lines["working_dir"] == str(pipe.working_dir)
    assert lines["last_run"].startswith(pipe.last_trace.started_at) and lines["last_run"].endswith(", ok")
    assert lines["pending"] == "none" and lines["failed"] == "none"
    assert lines["state"] == "version 1; shop.events: incremental updated = 9"
    assert lines["tables"] == "events, events__tags (schema shop_pipe version 1)"


def test_info_as_json(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    result = dataload_command("pipeline", "shop_pipe", "info", "--format", "json", "--pipelines-dir", base,
                              cwd=elsewhere)
    info = json.loads(result.stdout)
    assert info["dataset"] == "ds" and info["tables"] == ["events", "events__tags"]
    assert info["state"] == {"version": 1, "resources": {"shop.events": {"incremental": {"updated": 9}}}}
    assert info["last_run"]["started_at"] == pipe.last_trace.started_at and info["last_run"]["error"] is None


def test_info_names_pending_and_failed_packages(make_pipeline, tmp_path, elsewhere):
    pipe, failed = failing_pipeline(make_pipeline, tmp_path)
    result = dataload_command("pipeline", "failing", "info", "--pipelines-dir", str(tmp_path / "pipelines"),
                              cwd=elsewhere)
    out = result.stdout
    assert f"failed       {failed} (load, table items: TerminalLoadError)" in out, out
    assert "last run     " in out and ", failed: TerminalLoadError: package" in out


def test_trace_shows_the_last_runs_steps_rows_and_attempts(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    (load_id,) = [row[0] for row in duckdb_rows(pipe, "SELECT load_id FROM ds._dl_loads")]
    result = dataload_command("pipeline", "shop_pipe", "trace", "--pipelines-dir", base, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    first, *steps = result.stdout.splitlines()
    assert first.startswith(f"last run of shop_pipe: started {pipe.last_trace.started_at}, ") and first.endswith("ok")
    assert [s.split()[0] for s in steps] == ["extract", "normalize", "load"]
    assert all(s.split()[1] == f"{load_id}:" for s in steps)
    (count,) = duckdb_rows(pipe, "SELECT count(*) FROM ds.events__tags")[0]
    assert steps[2].endswith(f"events: 3, events__tags: {count}") and count == 3
    as_json = json.loads(dataload_command("pipeline", "shop_pipe", "trace", "--format", "json", "--pipelines-dir",
                                          base, cwd=elsewhere).stdout)
    assert as_json == pipe.last_trace.asdict() and as_json["steps"][2]["retries"] == []


def test_trace_before_any_run(make_pipeline, tmp_path, elsewhere):
    make_pipeline("idle").extract([{"id": 1}], table_name="t")
    result = dataload_command("pipeline", "idle", "trace", "--pipelines-dir", str(tmp_path / "pipelines"),
                              cwd=elsewhere)
    assert result.returncode == 0 and result.stdout.strip() == "pipeline idle has not run yet (no trace)"


def test_schema_as_text_yaml_and_json(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    text = dataload_command("pipeline", "shop_pipe", "schema", "--pipelines-dir", base, cwd=elsewhere).stdout
    lines = text.splitlines()
    assert lines[0] == "schema shop_pipe version 1"
    assert "events (resource events, merge)" in lines and "events__tags (child of events)" in lines
    assert lines[lines.index("events (resource events, merge)") + 1].split() == ["id", "bigint", "primary", "key",
                                                                                "not", "null"]
    as_yaml = yaml.safe_load(dataload_command("pipeline", "shop_pipe", "schema", "--format", "yaml",
                                              "--pipelines-dir", base, cwd=elsewhere).stdout)
    as_json = json.loads(dataload_command("pipeline", "shop_pipe", "schema", "--format", "json", "--pipelines-dir",
                                          base, cwd=elsewhere).stdout)
    assert as_yaml == as_json == pipe.default_schema.to_dict()
    described = {r[0] for r in duckdb_rows(pipe, "SELECT column_name FROM information_schema.columns "
                                                 "WHERE table_schema = 'ds' AND table_name = 'events'")}
    assert described == {c["name"] for t in as_json["tables"] if t["name"] == "events" for c in t["columns"]}


# --- loads, failed jobs, packages ----------------------------------------------------------------

def test_loads_before_any_load_says_so(make_pipeline, tmp_path, elsewhere):
    make_pipeline("fresh").extract([{"id": 1}], table_name="t")
    result = dataload_command("pipeline", "fresh", "loads", "--pipelines-dir", str(tmp_path / "pipelines"),
                              cwd=elsewhere)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.strip() == "no loads yet: pipeline fresh has loaded nothing into duckdb dataset ds"


def test_loads_show_status_and_rows_per_table_from_the_destination(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    pipe.run([{"id": 10, "updated": 11, "tags": ["z"]}], table_name="events")
    result = dataload_command("pipeline", "shop_pipe", "loads", "--pipelines-dir", base, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    loads = duckdb_rows(pipe, "SELECT load_id FROM ds._dl_loads ORDER BY load_id")
    counts = {(load_id, table): n for table in ("events", "events__tags")
              for load_id, n in duckdb_rows(pipe, f"SELECT _dl_load_id, count(*) FROM ds.{table} GROUP BY 1")}
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [row[0] for row in loads]
    for line, (load_id,) in zip(lines, loads):
        assert " loaded " in line
        expected = f"events: {counts[(load_id, 'events')]}, events__tags: {counts[(load_id, 'events__tags')]}"
        assert line.endswith(expected)
    assert lines[1].endswith("events: 1, events__tags: 1")


def test_failed_jobs_show_each_failed_package_with_its_error(make_pipeline, tmp_path, elsewhere):
    pipe, failed = failing_pipeline(make_pipeline, tmp_path)
    base = str(tmp_path / "pipelines")
    result = dataload_command("pipeline", "failing", "failed-jobs", "--pipelines-dir", base, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first == f"package {failed}: load failed on table items"
    assert any("CHECK constraint failed" in line for line in rest)
    assert any(line.strip().startswith("file ") and failed in line for line in rest)
    pipe.drop_failed()
    none = dataload_command("pipeline", "failing", "failed-jobs", "--pipelines-dir", base, cwd=elsewhere)
    assert none.stdout.strip() == "no failed packages"


def test_load_package_shows_files_tables_rows_and_stage(make_pipeline, tmp_path, elsewhere):
    pipe, failed = failing_pipeline(make_pipeline, tmp_path)
    base = str(tmp_path / "pipelines")
    result = dataload_command("pipeline", "failing", "load-package", "--pipelines-dir", base, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"package {failed}: failed (in {pipe.working_dir / 'packages' / 'failed' / failed})"
    assert "  items: 2 row(s)" in lines
    assert any(line.split()[:2] == ["items", "files/000000/written.arrow"] for line in lines), lines
    (loaded,) = [row[0] for row in duckdb_rows(pipe, "SELECT load_id FROM ds._dl_loads")]
    older = dataload_command("pipeline", "failing", "load-package", loaded, "--pipelines-dir", base, cwd=elsewhere)
    assert older.returncode == 0, older.stderr
    assert older.stdout.splitlines()[0].startswith(f"package {loaded}: loaded at ")
    assert "  items: 1 row(s)" in older.stdout.splitlines()
    unknown = dataload_command("pipeline", "failing", "load-package", "123.4", "--pipelines-dir", base, cwd=elsewhere)
    assert unknown.returncode == 1 and f"known: {loaded}, {failed}" in unknown.stderr


def test_load_package_of_a_pending_extracted_package(make_pipeline, tmp_path, elsewhere):
    pipe = make_pipeline("pending")
    load_id = pipe.extract([{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}], table_name="items")
    result = dataload_command("pipeline", "pending", "load-package", "--pipelines-dir", str(tmp_path / "pipelines"),
                              cwd=elsewhere)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"package {load_id}: extracted (in ")
    assert "  items: 2 item(s)" in lines
    info = dataload_command("pipeline", "pending", "info", "--pipelines-dir", str(tmp_path / "pipelines"),
                            cwd=elsewhere)
    assert f"pending      {load_id} (extracted)" in info.stdout


# --- retry, drop-failed, drop, sync --------------------------------------------------------------

def test_retry_and_drop_failed(make_pipeline, tmp_path, elsewhere):
    pipe, failed = failing_pipeline(make_pipeline, tmp_path)
    base = str(tmp_path / "pipelines")
    path = pipe.destination.attach_spec()["credentials"]
    with duckdb_driver.connect(path) as con:
        con.execute("DROP TABLE ds.items; CREATE TABLE ds.items (id BIGINT, _dl_load_id TEXT, _dl_id TEXT)")
    retried = dataload_command("pipeline", "failing", "retry", "--pipelines-dir", base, cwd=elsewhere)
    assert retried.returncode == 0, retried.stderr
    assert f"load id {failed}" in retried.stdout and "items: 2 row(s)" in retried.stdout
    assert duckdb_rows(pipe, "SELECT id FROM ds.items ORDER BY id") == [(2,), (500,)]
    pipe2, failed2 = failing_pipeline(make_pipeline, tmp_path, "failing2")
    dropped = dataload_command("pipeline", "failing2", "drop-failed", "--pipelines-dir", base, cwd=elsewhere)
    assert dropped.stdout.strip() == f"dropped: {failed2}" and pipe2.failed_packages() == []


def test_drop_refuses_without_a_terminal_and_without_yes(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    result = dataload_command("pipeline", "shop_pipe", "drop", "events", "--pipelines-dir", base, cwd=elsewhere)
    assert result.returncode == 1 and "--yes" in result.stderr and result.stderr.count("\n") == 1
    assert duckdb_rows(pipe, "SELECT count(*) FROM ds.events") == [(3,)]
    assert "events" in pipe.default_schema.tables


def test_drop_with_yes_drops_tables_and_state(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    result = dataload_command("pipeline", "shop_pipe", "drop", "events", "--yes", "--pipelines-dir", base,
                              cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "dropped tables: events, events__tags"
    tables = {r[0] for r in duckdb_rows(pipe, "SELECT table_name FROM information_schema.tables "
                                              "WHERE table_schema = 'ds'")}
    assert not tables & {"events", "events__tags"} and "_dl_loads" in tables
    assert pipe.state["sources"]["shop"]["resources"] == {}


def test_drop_asks_on_a_terminal(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    for answer, kept in (b"n\n", True), (b"y\n", False):
        controller, terminal = pty.openpty()
        try:
            os.write(controller, answer)
            result = dataload_command("pipeline", "shop_pipe", "drop", "events", "--pipelines-dir", base,
                                      cwd=elsewhere, stdin=terminal)
        finally:
            os.close(terminal)
            os.close(controller)
        assert ("events" in pipe.default_schema.tables) is kept, (result.stdout, result.stderr)
        assert "drop tables events, events__tags of resource(s) events" in result.stdout
        assert result.returncode == (1 if kept else 0)


def test_drop_of_an_unknown_resource_names_the_known_ones(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    result = dataload_command("pipeline", "shop_pipe", "drop", "nope", "--yes", "--pipelines-dir", base,
                              cwd=elsewhere)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "no resource 'nope'" in result.stderr and "its resources: events" in result.stderr
    assert duckdb_rows(pipe, "SELECT count(*) FROM ds.events") == [(3,)]


def test_sync_restores_the_working_dir_from_the_destination(shop_pipeline, elsewhere):
    pipe, base = shop_pipeline
    for name in ("state.json", "schema.json"):  # the local record lost; the destination keeps its own
        (pipe.working_dir / name).unlink()
    assert pipe.default_schema.data_tables() == []
    result = dataload_command("pipeline", "shop_pipe", "sync", "--pipelines-dir", base, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "restored state and schema of shop_pipe from duckdb dataset ds"
    assert [t.name for t in pipe.default_schema.data_tables()] == ["events", "events__tags"]
    assert pipe.state["sources"]["shop"]["resources"]["events"]["incremental"]["updated"]["last_value"] == 9
    again = dataload_command("pipeline", "shop_pipe", "sync", "--pipelines-dir", base, cwd=elsewhere)
    assert again.stdout.strip() == "shop_pipe is in step with duckdb dataset ds: nothing to restore"


# --- PostgreSQL: info reads local files only; credentials from where the pipeline was made -------

def test_postgres_pipeline_info_needs_no_credentials_and_loads_find_them_in_its_project(tmp_path, elsewhere,
                                                                                        monkeypatch):
    admin = postgres_connection()
    for variable in ("DESTINATION__POSTGRES__CREDENTIALS", "DATALOAD_PROJECT_DIR"):  # only the project's secrets
        monkeypatch.delenv(variable, raising=False)
    dataset = f"cli_{uuid.uuid4().hex[:8]}"
    project = tmp_path / "project"
    (project / ".dataload").mkdir(parents=True)
    with_password = POSTGRES_URL.replace("postgres@", "postgres:not-needed-with-trust@", 1)
    (project / ".dataload" / "secrets.toml").write_text(f'[destination.postgres]\ncredentials = "{with_password}"\n')
    script = (f"import dataload\npipe = dataload.pipeline('pg_pipe', destination='postgres', dataset_name='{dataset}',"
              f" pipelines_dir={str(tmp_path / 'pipelines')!r})\n"
              "pipe.run([{'id': 1, 'tags': ['a']}, {'id': 2, 'tags': []}], table_name='items')\n")
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        subprocess.run([sys.executable, "-c", script], cwd=project, env=environ, check=True, timeout=120)
        settings = json.loads((tmp_path / "pipelines" / "pg_pipe" / "pipeline.json").read_text())
        assert "credentials" not in settings["destination_options"]  # a password: looked up again, never stored
        base = str(tmp_path / "pipelines")
        info = dataload_command("pipeline", "pg_pipe", "info", "--pipelines-dir", base, cwd=elsewhere,
                                env={"DATALOAD_PROJECT_DIR": str(elsewhere)})  # no credentials anywhere
        assert info.returncode == 0, info.stderr
        assert "destination  postgres" in info.stdout and f"dataset      {dataset}" in info.stdout
        loads = dataload_command("pipeline", "pg_pipe", "loads", "--pipelines-dir", base, cwd=elsewhere)
        assert loads.returncode == 0, loads.stderr
        (load_id,) = [r[0] for r in admin.execute(f'SELECT load_id FROM "{dataset}"."_dl_loads"').fetchall()]
        assert loads.stdout.split()[0] == load_id and loads.stdout.rstrip().endswith("items: 2, items__tags: 1")
        assert "not-needed-with-trust" not in loads.stdout + loads.stderr + info.stdout
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
        admin.close()
