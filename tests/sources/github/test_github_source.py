"""``sources.github`` against the GitHub replay: values read back from DuckDB (and PostgreSQL) equal the fixtures."""

from __future__ import annotations

import copy
import datetime
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from github_api import OWNER, REPO, GitHubAPI, github_time, instant
from pytest_httpserver import HTTPServer

import dataload
from sources.github import github_config, github_repo
from tests.sources.readback import Readback

TOKEN = "ghs_replayToken0123456789abcdef"
CONTENTS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")


@pytest.fixture
def api(httpserver: HTTPServer) -> GitHubAPI:
    return GitHubAPI(token=TOKEN).serve(httpserver)


@pytest.fixture
def warehouse(make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> Readback:
    return Readback(make_pipeline("github", dataset_name=f"github_{uuid.uuid4().hex[:8]}"), tmp_path / "github.duckdb")


@pytest.fixture
def sql_warehouse(sql_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> Readback:
    """On DuckDB and on PostgreSQL (conftest's ``sql_pipeline``: a unique schema, dropped after)."""
    return Readback(sql_pipeline("github"), tmp_path / "github.duckdb")


def load(warehouse: Readback, api: GitHubAPI, **options: Any) -> dataload.LoadInfo:
    """Run ``github_repo`` on the replay, with the token and two rows a page unless told otherwise."""
    options.setdefault("access_token", TOKEN)
    options.setdefault("per_page", 2)  # every list takes several pages
    return warehouse.pipe.run(github_repo(OWNER, REPO, base_url=api.base_url, **options))


def _issue_row(issue: dict[str, Any]) -> tuple[Any, ...]:
    reactions = issue["reactions"]
    return (issue["id"], issue["number"], issue["title"], issue["state"], issue["body"], issue["user"]["login"],
            reactions["total_count"], reactions["+1"], reactions["-1"], reactions["heart"],
            issue.get("pull_request", {}).get("url"), instant(issue["updated_at"]).timestamp())


ISSUES_SQL = ("SELECT id, number, title, state, body, user__login, reactions__total_count, reactions__plus_1, "
              "reactions__minus_1, reactions__heart, pull_request__url, extract(epoch FROM updated_at) FROM issues "
              "ORDER BY id")
COMMENTS_SQL = "SELECT id, _issues_number, body, user__login, reactions__total_count FROM comments ORDER BY id"


def _comment_row(comment: dict[str, Any]) -> tuple[Any, ...]:
    number = int(comment["issue_url"].rsplit("/", 1)[1])
    return comment["id"], number, comment["body"], comment["user"]["login"], comment["reactions"]["total_count"]


def test_full_load_reads_back_every_fixture_row(api: GitHubAPI, warehouse: Readback) -> None:
    load(warehouse, api)

    assert warehouse.tables() == {"repos", "repos__topics", "issues", "issues__labels", "comments", "reactions"}
    repo = api.repo
    assert warehouse.query("SELECT id, full_name, owner__login, license__spdx_id, stargazers_count, "
                           "epoch(pushed_at) FROM repos") == [
        (repo["id"], repo["full_name"], repo["owner"]["login"], repo["license"]["spdx_id"], repo["stargazers_count"],
         instant(repo["pushed_at"]).timestamp())]
    assert [t for (t,) in warehouse.query("SELECT value FROM repos__topics ORDER BY _dl_list_idx")] == repo["topics"]

    assert warehouse.query(ISSUES_SQL) == [_issue_row(i) for i in sorted(api.issues, key=lambda i: i["id"])]
    labels = warehouse.query("SELECT i.number, l.name FROM issues__labels l JOIN issues i "
                             "ON l._dl_parent_id = i._dl_id ORDER BY i.number, l._dl_list_idx")
    assert labels == [(i["number"], label["name"]) for i in sorted(api.issues, key=lambda i: i["number"])
                      for label in i["labels"]]

    assert warehouse.query(COMMENTS_SQL) == [_comment_row(c) for c in sorted(api.comments, key=lambda c: c["id"])]
    assert warehouse.query("SELECT id, _issues_number, content, user__login, epoch(created_at) FROM reactions "
                           "ORDER BY id") == sorted(
        (r["id"], number, r["content"], r["user"]["login"], instant(r["created_at"]).timestamp())
        for number, rows in api.reactions.items() for r in rows)


def test_reaction_rows_add_up_to_each_issues_reaction_counts(api: GitHubAPI, warehouse: Readback) -> None:
    load(warehouse, api)

    counted = dict(((n, c), k) for n, c, k in warehouse.query(
        "SELECT _issues_number, content, count(*) FROM reactions GROUP BY ALL"))
    summary = {(i["number"], c): i["reactions"][c] for i in api.issues for c in CONTENTS if i["reactions"][c]}
    assert counted == summary
    totals = warehouse.query("SELECT number, reactions__total_count FROM issues ORDER BY number")
    assert totals == [(n, sum(k for (m, _), k in counted.items() if m == n)) for n, _ in totals]


def test_every_page_is_followed_through_the_link_header(api: GitHubAPI, warehouse: Readback) -> None:
    load(warehouse, api, per_page=3)

    issue_pages = api.seen("/issues")
    assert [seen.params.get("page") for seen in issue_pages] == [None, "2", "3"]  # 7 issues, 3 a page
    assert issue_pages[0].path == f"/repos/{OWNER}/{REPO}/issues"
    assert {seen.path for seen in issue_pages[1:]} == {f"/repositories/{api.repo['id']}/issues"}
    assert issue_pages[0].params == {"state": "all", "sort": "updated", "direction": "asc", "per_page": "3",
                                     "since": "1970-01-01T00:00:00Z"}
    comment_pages = [seen.params.get("page") for seen in api.seen("/issues/1349/comments")]
    assert comment_pages == [None, "2", "3", "4"]  # 12 comments
    assert warehouse.query("SELECT count(*) FROM comments WHERE _issues_number = 1349") == [(12,)]


def test_comments_and_reactions_are_requested_only_for_issues_that_have_some(api: GitHubAPI,
                                                                           warehouse: Readback) -> None:
    load(warehouse, api)

    def asked(child: str) -> set[int]:
        return {int(seen.path.split("/")[-2]) for seen in api.seen(f"/{child}")}

    assert asked("comments") == {i["number"] for i in api.issues if i["comments"]}
    assert asked("reactions") == {i["number"] for i in api.issues if i["reactions"]["total_count"]}
    assert asked("comments") != {i["number"] for i in api.issues}  # the fixtures have issues without any


def test_second_run_sends_the_stored_since_and_merges_only_updated_issues(api: GitHubAPI,
                                                                          sql_warehouse: Readback) -> None:
    warehouse = sql_warehouse
    load(warehouse, api)
    last_seen = max(instant(i["updated_at"]) for i in api.issues)
    first_run_requests = len(api.requests)

    later = github_time(last_seen + datetime.timedelta(days=1))
    edited = next(i for i in api.issues if i["number"] == 1348)
    edited.update(title="Docs: typo in README (reopened)", state="open", closed_at=None, updated_at=later)
    commented = next(i for i in api.issues if i["number"] == 1347)
    new_comment = {**copy.deepcopy(api.comments_of(1347)[-1]), "id": 2074999999, "body": "Still happening",
                   "created_at": later, "updated_at": later}
    api.comments.append(new_comment)
    commented.update(comments=commented["comments"] + 1, updated_at=later)
    new_issue = {**copy.deepcopy(edited), "id": 1001354, "number": 1354, "title": "A new issue",
                 "created_at": later, "updated_at": later, "comments": 1,
                 "url": edited["url"].replace("/1348", "/1354")}
    api.issues.append(new_issue)
    api.comments.append({**copy.deepcopy(new_comment), "id": 2075000000, "body": "First!",
                         "issue_url": new_issue["url"]})
    load(warehouse, api)

    second_run = api.requests[first_run_requests:]
    first_issue_request = next(seen for seen in second_run if seen.path.endswith("/issues"))
    assert instant(first_issue_request.params["since"]) == last_seen
    read_comments_of = {int(seen.path.split("/")[-2]) for seen in second_run if seen.path.endswith("/comments")}
    assert {1347, 1354} <= read_comments_of <= {1347, 1354, 1349}  # 1349: updated at the old cursor; 1348 has none
    assert warehouse.query(ISSUES_SQL) == [_issue_row(i) for i in sorted(api.issues, key=lambda i: i["id"])]
    assert warehouse.query(COMMENTS_SQL) == [_comment_row(c) for c in sorted(api.comments, key=lambda c: c["id"])]
    assert warehouse.query("SELECT count(*), count(DISTINCT id) FROM reactions") == [
        (sum(map(len, api.reactions.values())),) * 2]


def test_an_issue_gone_before_its_comments_are_read_is_skipped(api: GitHubAPI, warehouse: Readback) -> None:
    api.gone.add(1349)  # listed, then deleted or transferred: its comments and reactions answer 404

    load(warehouse, api)

    assert [seen.params.get("page") for seen in api.seen("/issues/1349/comments")] == [None]
    assert warehouse.query(COMMENTS_SQL) == [_comment_row(c) for c in sorted(api.comments, key=lambda c: c["id"])
                                             if not c["issue_url"].endswith("/1349")]
    assert warehouse.query("SELECT DISTINCT _issues_number FROM reactions ORDER BY 1") == [
        (n,) for n in sorted(api.reactions) if api.reactions[n] and n != 1349]
    assert warehouse.query("SELECT count(*) FROM issues WHERE number = 1349") == [(1,)]


def test_token_goes_to_the_api_host_only(httpserver: HTTPServer, warehouse: Readback,
                                         caplog: pytest.LogCaptureFixture) -> None:
    elsewhere = HTTPServer(host="127.0.0.2", port=0)
    elsewhere.start()
    try:
        other = GitHubAPI(token=TOKEN).serve(elsewhere)
        api = GitHubAPI(token=TOKEN, next_link_host=f"127.0.0.2:{elsewhere.port}").serve(httpserver)
        with caplog.at_level(logging.DEBUG):
            load(warehouse, api, items=("issues",), per_page=3)
    finally:
        elsewhere.stop()

    assert api.requests and {seen.headers.get("Authorization") for seen in api.requests} == {f"Bearer {TOKEN}"}
    assert len(other.requests) == 2  # issue pages 2 and 3, linked on another host
    assert [seen.headers.get("Authorization") for seen in other.requests] == [None, None]
    assert warehouse.query("SELECT count(*) FROM issues") == [(len(api.issues),)]
    assert TOKEN not in caplog.text
    assert TOKEN not in str(warehouse.pipe.last_trace)


def test_without_a_token_no_authorization_is_sent(api: GitHubAPI, warehouse: Readback) -> None:
    load(warehouse, api, access_token=None, items=("issues",))

    assert [seen.headers.get("Authorization") for seen in api.requests] == [None] * len(api.requests)
    assert warehouse.query("SELECT count(*) FROM issues") == [(len(api.issues),)]


def test_a_rejected_token_is_an_error_naming_the_url_and_status_not_the_token(api: GitHubAPI,
                                                                              warehouse: Readback) -> None:
    with pytest.raises(dataload.ResourceError) as raised:
        load(warehouse, api, access_token="ghp_wrongToken000000000000")

    assert raised.value.resource == "repos"
    message = str(raised.value)
    assert "401" in message and f"/repos/{OWNER}/{REPO}" in message and "Bad credentials" in message
    assert "ghp_wrongToken000000000000" not in message


def test_owner_repo_and_token_resolve_under_sources_github(api: GitHubAPI, warehouse: Readback,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__GITHUB__OWNER", OWNER)
    monkeypatch.setenv("SOURCES__GITHUB__REPO", REPO)
    monkeypatch.setenv("SOURCES__GITHUB__ACCESS_TOKEN", TOKEN)

    warehouse.pipe.run(github_repo(base_url=api.base_url, items=("issues",)))

    assert {seen.headers.get("Authorization") for seen in api.requests} == {f"Bearer {TOKEN}"}
    assert warehouse.query("SELECT full_name FROM repos") == [(f"{OWNER}/{REPO}",)]


def test_items_pick_the_tables(api: GitHubAPI, warehouse: Readback) -> None:
    load(warehouse, api, items=("issues", "reactions"))

    assert warehouse.tables() == {"repos", "repos__topics", "issues", "issues__labels", "reactions"}
    assert api.seen("/comments") == []


@pytest.mark.parametrize("items, problem", [
    (("issues", "pulls"), r"unknown items \['pulls'\]: choose from issues, comments, reactions"),
    (("comments",), "comments and reactions are read per issue: add 'issues' to items"),
])
def test_wrong_items_are_refused_before_any_request(items: tuple[str, ...], problem: str) -> None:
    with pytest.raises(dataload.InvalidConfig, match=problem):
        github_config(OWNER, REPO, items=items)
