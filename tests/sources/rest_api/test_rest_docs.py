"""The declarative examples of docs/rest_api.md run, against a local API that answers like the one they describe."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_URL = "https://api.example.com/v1/"
USERS = [{"id": i, "login": f"user{i}"} for i in range(1, 5)]
ISSUES = [{"id": 10 + n, "number": n, "updated_at": f"2024-02-0{n}T00:00:00Z"} for n in range(1, 4)]


def _examples() -> list[str]:
    """The python blocks of the *Declarative sources* section."""
    text = (ROOT / "docs" / "rest_api.md").read_text()
    section = text.split("## Declarative sources", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


class ExampleAPI:
    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.seen: list[tuple[str, dict[str, str], str | None]] = []
        server.expect_request(re.compile("/v1/.*")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        self.seen.append((request.path, dict(request.args), request.headers.get("Authorization")))
        path = request.path.removeprefix("/v1/")
        if path == "users":
            page = int(request.args.get("page", "1"))
            following = self.server.url_for("/v1/users?page=2") if page == 1 else None
            body: Any = {"users": USERS[(page - 1) * 2:page * 2], "paging": {"next": following}}
        elif path == "issues":
            since = request.args.get("since") or ""
            body = {"data": {"items": [i for i in ISSUES if i["updated_at"] >= since]}, "paging": {"next": None}}
        elif match := re.fullmatch(r"issues/(\d+)/comments", path):
            number = int(match[1])
            body = [{"id": number * 100 + k, "body": f"comment {k} on {number}"} for k in range(number)]
        else:
            return Response("{}", status=404, content_type="application/json")
        return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def run_example(httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATALOAD_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.setenv("SOURCES__EXAMPLE__TOKEN", "example-token")

    def run(code: str) -> dict[str, Any]:
        namespace: dict[str, Any] = {}
        exec(compile(code.replace(EXAMPLE_URL, httpserver.url_for("/v1/")), "docs/rest_api.md", "exec"), namespace)
        return namespace

    return run


def test_the_issue_example(httpserver: HTTPServer, run_example: Any) -> None:
    api = ExampleAPI(httpserver)
    first = _examples()[0]
    pipe = run_example(first)["pipe"]
    rows = {table: pipe.dataset().table(table).rows() for table in ("users", "issues", "comments")}
    assert sorted(r["login"] for r in rows["users"]) == [u["login"] for u in USERS]
    assert sorted(r["number"] for r in rows["issues"]) == [1, 2, 3]
    assert sorted((r["id"], r["_issues_id"]) for r in rows["comments"]) == [
        (n * 100 + k, 10 + n) for n in (1, 2, 3) for k in range(n)]
    assert {auth for _, _, auth in api.seen} == {"Bearer example-token"}
    assert ("/v1/issues", {"per_page": "100", "since": "2024-01-01T00:00:00Z"}, "Bearer example-token") in api.seen


def test_the_paginator_example(run_example: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run_example(_examples()[1])
    assert capsys.readouterr().out.strip() == "['events', 'orders', 'me']"


def test_the_incremental_example(httpserver: HTTPServer, run_example: Any) -> None:
    api = ExampleAPI(httpserver)
    pipe = run_example(_examples()[2])["pipe"]
    assert [args.get("since") for path, args, _ in api.seen] == ["2024-01-01T00:00:00Z", "2024-02-03T00:00:00Z"]
    assert sorted(r["number"] for r in pipe.dataset().table("issues").rows()) == [1, 2, 3]


def test_the_response_actions_example(run_example: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run_example(_examples()[3])
    assert capsys.readouterr().out.strip() == "['orders', 'users', 'wrapped']"


def test_every_example_is_run() -> None:
    assert len(_examples()) == 4
