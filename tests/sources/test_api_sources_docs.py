"""The examples of docs/sources.md run as written, against the GitHub and Stripe replays.

Each ``python`` block that starts with an import is run in a fresh namespace, in order. The
sources' default ``base_url`` is pointed at the replay for the test (the examples name the real
API only through that default); the token and key come from the environment, as the docs say.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer

import sources.github
import sources.stripe
from tests.sources.github.github_api import GitHubAPI
from tests.sources.stripe.stripe_api import StripeAPI

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghs_docsToken0123456789"
API_KEY = "rk_test_51DocsKey0123456789"


def _examples(section: str) -> list[str]:
    """The runnable python blocks of ``## <section>`` (signature blocks do not start with an import)."""
    text = (ROOT / "docs" / "sources.md").read_text()
    part = text.split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    return [code for code in re.findall(r"```python\n(.*?)```", part, re.DOTALL) if code.startswith(("import", "from"))]


def _run(examples: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run each example; what each printed."""
    printed = []
    for code in examples:
        exec(compile(code, "docs/sources.md", "exec"), {})
        printed.append(capsys.readouterr().out)
    return printed


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)  # DuckDB files of destinations given by name land here
    monkeypatch.setenv("DATALOAD_PIPELINES_DIR", str(tmp_path / "pipelines"))
    yield tmp_path


def _point_at(monkeypatch: pytest.MonkeyPatch, base_url: str, *functions: object) -> None:
    for function in functions:
        target = getattr(function, "__wrapped__", function)  # a @dataload.source binds the wrapped function's
        monkeypatch.setitem(target.__kwdefaults__, "base_url", base_url)


def test_the_github_examples_run(httpserver: HTTPServer, in_tmp: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    api = GitHubAPI(token=TOKEN, owner="duckdb", repo="duckdb-web").serve(httpserver)
    _point_at(monkeypatch, api.base_url, sources.github.github_repo, sources.github.github_config)
    monkeypatch.setenv("SOURCES__GITHUB__ACCESS_TOKEN", TOKEN)

    examples = _examples("GitHub: `sources.github`")
    assert len(examples) == 2
    printed = _run(examples, capsys)

    assert printed[0].splitlines()[-1] == str(len(api.issues))
    with duckdb.connect(str(in_tmp / "github_issues.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT id, title FROM github_data.issues ORDER BY id").fetchall() == sorted(
            (i["id"], i["title"]) for i in api.issues)
    with duckdb.connect(str(in_tmp / "github_releases.duckdb"), read_only=True) as connection:
        releases = connection.execute("SELECT id, tag_name, prerelease FROM github_data.releases ORDER BY 1").fetchall()
    assert releases == sorted((r["id"], r["tag_name"], r["prerelease"]) for r in api.releases)
    assert {seen.headers.get("Authorization") for seen in api.requests} == {f"Bearer {TOKEN}"}


def test_the_stripe_examples_run(httpserver: HTTPServer, in_tmp: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    api = StripeAPI(api_key=API_KEY).serve(httpserver)
    _point_at(monkeypatch, api.base_url, sources.stripe.stripe_account, sources.stripe.stripe_config)
    monkeypatch.setenv("SOURCES__STRIPE__API_KEY", API_KEY)

    examples = _examples("Stripe: `sources.stripe`")
    assert len(examples) == 2
    printed = _run(examples, capsys)

    with duckdb.connect(str(in_tmp / "stripe.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT id, email FROM stripe_data.customers ORDER BY id").fetchall() == sorted(
            (c["id"], c["email"]) for c in api.customers)
    shown = re.search(r"^# (\{.*\})$", examples[1], re.MULTILINE)
    assert shown is not None and ast.literal_eval(printed[1].strip()) == ast.literal_eval(shown[1])
