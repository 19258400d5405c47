"""RESTClient pages in a ``@dataload.resource`` with ``dataload.incremental``: two runs, the stored cursor sent back."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import dataload
from sources.rest_api import Page, RESTClient, RetryConfig, page_number

ISSUES = [{"id": i, "title": f"issue {i}", "updated_at": f"2024-03-0{i}T10:00:00+00:00"} for i in range(1, 6)]


class IssuesAPI:
    """``GET /issues?since=...&page=N``: issues updated at or after ``since``, two per page, with ``total_pages``."""

    def __init__(self) -> None:
        self.rows = list(ISSUES)
        self.since: list[str] = []

    def handle(self, request: Request) -> Response:
        since, page = request.args["since"], int(request.args["page"])
        if page == 1:
            self.since.append(since)
        matching = [row for row in self.rows if _instant(row["updated_at"]) >= _instant(since)]
        body = {"issues": matching[(page - 1) * 2:page * 2], "total_pages": (len(matching) + 1) // 2}
        return Response(json.dumps(body), content_type="application/json")


def _instant(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _issues_resource(client: RESTClient) -> Any:
    @dataload.resource(name="issues", primary_key="id", write_disposition="merge")
    def issues(updated_at: Any = dataload.incremental("updated_at", initial_value="2024-01-01T00:00:00Z")
               ) -> Iterator[Page]:
        yield from client.paginate("issues", params={"since": updated_at.start_value},
                                   paginator=page_number(total_path="total_pages"), data_selector="issues")

    return issues


def _loaded(pipe: dataload.Pipeline) -> dict[int, tuple[str, datetime.datetime]]:
    rows = pipe.dataset().table("issues").rows()
    return {row["id"]: (row["title"], _as_utc(row["updated_at"])) for row in rows}


def _as_utc(value: Any) -> datetime.datetime:
    value = _instant(value) if isinstance(value, str) else value
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def _expected(rows: list[dict[str, Any]]) -> dict[int, tuple[str, datetime.datetime]]:
    return {row["id"]: (row["title"], _instant(row["updated_at"])) for row in rows}


def test_incremental_cursor_is_sent_back_on_the_second_run(httpserver: HTTPServer,
                                                          sql_pipeline: Callable[..., dataload.Pipeline]) -> None:
    api = IssuesAPI()
    httpserver.expect_request("/issues").respond_with_handler(api.handle)
    client = RESTClient(httpserver.url_for("/"))
    pipe = sql_pipeline("rest_incremental")

    pipe.run(_issues_resource(client))
    assert _loaded(pipe) == _expected(ISSUES)

    api.rows[1] = {**api.rows[1], "title": "issue 2, edited", "updated_at": "2024-04-01T00:00:00+00:00"}
    api.rows.append({"id": 6, "title": "issue 6", "updated_at": "2024-04-02T00:00:00+00:00"})
    pipe.run(_issues_resource(client))

    stored_cursor = ISSUES[-1]["updated_at"]  # the highest updated_at of the first run
    assert [_instant(value) for value in api.since] == [_instant("2024-01-01T00:00:00Z"), _instant(stored_cursor)]
    assert _loaded(pipe) == _expected(api.rows)


def test_retries_are_counted_in_the_trace(httpserver: HTTPServer,
                                          make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    answers = iter([Response("busy", status=503), Response("busy", status=503)])
    httpserver.expect_request("/items").respond_with_handler(
        lambda request: next(answers, None) or Response('[{"id": 1}, {"id": 2}]', content_type="application/json"))
    client = RESTClient(httpserver.url_for("/"), retry=RetryConfig(first_wait=0.01))

    @dataload.resource
    def items() -> Iterator[Page]:
        yield from client.paginate("items")

    pipe = make_pipeline()
    pipe.run(items)
    [extract] = [step for step in pipe.last_trace.steps if step.step == "extract"]
    assert extract.counts == {"items": {"http_retries": 2}}
    assert sorted(row["id"] for row in pipe.dataset().table("items").rows()) == [1, 2]
