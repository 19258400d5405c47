"""The dataload command, run in-process against real pipelines."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dataload.cli.main import main


@pytest.fixture
def loaded(make_pipeline, tmp_path):
    pipe = make_pipeline("cli_pipe")
    pipe.run([{"id": 1, "tags": ["a"]}], table_name="items")
    return pipe, str(tmp_path / "pipelines")


def test_info_shows_tables_and_versions(loaded, capsys):
    pipe, base = loaded
    assert main(["pipeline", "cli_pipe", "--pipelines-dir", base, "info", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["tables"] == ["items", "items__tags"] and info["dataset"] == "ds"
    assert info["schema_version"] == 1 and info["failed_packages"] == []


def test_schema_and_loads(loaded, capsys):
    pipe, base = loaded
    main(["pipeline", "cli_pipe", "--pipelines-dir", base, "schema", "--format", "yaml"])
    assert "name: items__tags" in capsys.readouterr().out
    main(["pipeline", "cli_pipe", "--pipelines-dir", base, "loads"])
    assert pipe.dataset().table("_dl_loads").rows()[0]["load_id"] in capsys.readouterr().out


def test_drop_resources(loaded, capsys):
    pipe, base = loaded
    assert main(["pipeline", "cli_pipe", "--pipelines-dir", base, "drop", "items", "--yes"]) == 0
    assert "items__tags" in capsys.readouterr().out
    assert pipe.default_schema.data_tables() == []


def test_unknown_pipeline_is_a_clear_error(tmp_path, capsys):
    assert main(["pipeline", "nope", "--pipelines-dir", str(tmp_path), "info"]) == 1
    assert "no pipeline 'nope'" in capsys.readouterr().err


def test_help_runs_as_a_command():
    result = subprocess.run([sys.executable, "-m", "dataload.cli.main", "--help"], capture_output=True, text=True,
                            check=True)
    assert "pipeline" in result.stdout and "version" in result.stdout


def test_the_command_shows_dataload_logs_at_the_level_asked(make_pipeline, tmp_path):
    pipe = make_pipeline("cli_logs")
    load_id = pipe.extract([{"id": 1}, {"id": 2}], table_name="items")  # left pending: retry loads it
    command = [sys.executable, "-m", "dataload.cli.main", "--log-level", "INFO", "pipeline", "cli_logs",
               "--pipelines-dir", str(tmp_path / "pipelines"), "retry"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert f"load {load_id}" in result.stderr and "items: 2" in result.stderr, result.stderr
    assert sorted(r["id"] for r in pipe.dataset().items.rows()) == [1, 2]
    quiet = subprocess.run([c for c in command if c not in ("--log-level", "INFO")], capture_output=True,
                           text=True, check=True)
    assert "INFO" not in quiet.stderr and "nothing to load" in quiet.stdout
