"""``examples/github_pipeline.py`` runs as a script against the GitHub replay, configured by environment only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb as duckdb_driver
from github_api import OWNER, REPO, GitHubAPI, instant
from pytest_httpserver import HTTPServer

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "ghs_exampleToken0123456789"


def test_the_example_loads_the_repository_given_on_the_command_line(httpserver: HTTPServer, tmp_path: Path) -> None:
    api = GitHubAPI(token=TOKEN).serve(httpserver)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "DATALOAD_PIPELINES_DIR": str(tmp_path / "pipelines"),
           "SOURCES__GITHUB__BASE_URL": api.base_url, "SOURCES__GITHUB__ACCESS_TOKEN": TOKEN}

    result = subprocess.run([sys.executable, str(ROOT / "examples" / "github_pipeline.py"), OWNER, REPO],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert {seen.headers.get("Authorization") for seen in api.requests} == {f"Bearer {TOKEN}"}
    with duckdb_driver.connect(str(tmp_path / "github_pipeline.duckdb"), read_only=True) as connection:
        issues = connection.execute("SELECT id, title, epoch(updated_at) FROM github_data.issues ORDER BY id"
                                    ).fetchall()
        comments = connection.execute("SELECT id, _issues_number FROM github_data.comments ORDER BY id").fetchall()
    assert issues == sorted((i["id"], i["title"], instant(i["updated_at"]).timestamp()) for i in api.issues)
    assert comments == sorted((c["id"], int(c["issue_url"].rsplit("/", 1)[1])) for c in api.comments)
    assert re.search(rf"^\s+issues\s+{len(api.issues)} rows$", result.stdout, re.MULTILINE), result.stdout
