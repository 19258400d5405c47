"""Every paginator against a real local server, auto-detection on the common shapes, stop rules, no-progress guard."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.rest_api import (
    BasePaginator,
    PageRequest,
    PaginatorError,
    RESTClient,
    cursor,
    header_cursor,
    header_link,
    json_link,
    offset,
    page_number,
    single_page,
)

ROWS = [{"id": i, "name": f"row {i}"} for i in range(1, 8)]  # 7 rows, pages of 3: 3 + 3 + 1


def _json(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), content_type="application/json", headers=headers)


def _serve(httpserver: HTTPServer, handler: Callable[[Request], Response]) -> RESTClient:
    httpserver.expect_request("/items").respond_with_handler(handler)
    return RESTClient(httpserver.url_for("/"))


def _chunk(index: int) -> list[dict[str, Any]]:
    return ROWS[index * 3:index * 3 + 3]


def _link_body(request: Request) -> Response:
    page = int(request.args.get("p", 0))
    nxt = f"/items?p={page + 1}" if _chunk(page + 1) else None
    return _json({"data": _chunk(page), "paging": {"next": nxt}})


def _link_header(request: Request) -> Response:
    page = int(request.args.get("p", 0))
    headers = {"Link": f'<{request.host_url}items?p={page + 1}>; rel="next"'} if _chunk(page + 1) else {}
    return _json(_chunk(page), headers)


def _header_cursor(request: Request) -> Response:
    page = int(request.args.get("cursor", 0))
    return _json(_chunk(page), {"X-Next-Cursor": str(page + 1)} if _chunk(page + 1) else {})


def _body_cursor(request: Request) -> Response:
    page = int(request.args.get("cursor", 0))
    return _json({"items": _chunk(page), "next_cursor": str(page + 1) if _chunk(page + 1) else None})


def _offset(request: Request) -> Response:
    start, limit = int(request.args.get("offset", 0)), int(request.args.get("limit", 3))
    return _json({"items": ROWS[start:start + limit], "total": len(ROWS), "offset": start, "limit": limit})


def _offset_no_total(request: Request) -> Response:
    start, limit = int(request.args["offset"]), int(request.args["limit"])
    return _json({"items": ROWS[start:start + limit]})


def _page_number(request: Request) -> Response:
    page = int(request.args.get("page", 1))
    return _json({"results": _chunk(page - 1), "page": page, "total_pages": 3})


def _has_more(request: Request) -> Response:
    page = int(request.args.get("page", 1))
    return _json({"items": _chunk(page - 1), "meta": {"has_more": page < 3}})


CASES = [
    ("json_link", _link_body, json_link("paging.next")),
    ("header_link", _link_header, header_link()),
    ("header_cursor", _header_cursor, header_cursor("X-Next-Cursor", "cursor")),
    ("cursor", _body_cursor, cursor("next_cursor", "cursor")),
    ("offset_total", _offset, offset(limit=3, total_path="total")),
    ("offset_empty_page", _offset_no_total, offset(limit=3)),
    ("page_number_total", _page_number, page_number(total_path="total_pages")),
    ("has_more_flag", _has_more, page_number(has_more_path="meta.has_more", stop_after_empty_page=False)),
]


@pytest.mark.parametrize("handler, paginator", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_paginator_returns_every_row_once(httpserver: HTTPServer, handler: Any, paginator: BasePaginator) -> None:
    client = _serve(httpserver, handler)
    pages = list(client.paginate("items", paginator=paginator))
    assert [row for page in pages for row in page] == ROWS
    assert [page.response.status_code for page in pages] == [200] * len(pages)
    assert pages[0].request.url.path == "/items"


DETECTED = [
    ("next_url_in_body", _link_body, "JSONLinkPaginator"),
    ("link_header", _link_header, "HeaderLinkPaginator"),
    ("cursor_in_body", _body_cursor, "CursorPaginator"),
    ("offset_total", _offset, "OffsetPaginator"),
    ("page_total_pages", _page_number, "PageNumberPaginator"),
]


@pytest.mark.parametrize("handler, name", [c[1:] for c in DETECTED], ids=[c[0] for c in DETECTED])
def test_auto_detection_on_common_shapes(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture,
                                         handler: Any, name: str) -> None:
    client = _serve(httpserver, handler)
    with caplog.at_level(logging.INFO, logger="sources.rest_api"):
        rows = [row for page in client.paginate("items") for row in page]
    assert rows == ROWS
    assert any(f"detected {name}(" in record.getMessage() for record in caplog.records)


def test_a_bare_token_in_next_is_not_taken_for_a_link(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items").respond_with_json({"items": [1, 2], "next": "c2VjcmV0"})
    assert list(RESTClient(httpserver.url_for("/")).paginate("items")) == [[1, 2]]
    assert len(httpserver.log) == 1


def test_no_pagination_detected_is_one_page(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/user").respond_with_json({"id": 1, "login": "me"})
    pages = list(RESTClient(httpserver.url_for("/")).paginate("user"))
    assert pages == [[{"id": 1, "login": "me"}]]


def test_single_page_paginator_makes_one_request(httpserver: HTTPServer) -> None:
    client = _serve(httpserver, _link_body)
    assert list(client.paginate("items", paginator=single_page())) == [ROWS[:3]]
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("limits, expected_rows, expected_requests", [
    ({"maximum_pages": 2}, ROWS[:6], 2),
    ({"maximum_items": 4}, ROWS[:4], 2),
    ({"maximum_items": 3}, ROWS[:3], 1),
])
def test_maximum_pages_and_items_win(httpserver: HTTPServer, limits: dict[str, int], expected_rows: list[Any],
                                     expected_requests: int) -> None:
    client = _serve(httpserver, _link_body)
    rows = [row for page in client.paginate("items", paginator=json_link("paging.next"), **limits) for row in page]
    assert rows == expected_rows
    assert len(httpserver.log) == expected_requests


@pytest.mark.parametrize("make", [lambda: offset(limit=3, stop_after_empty_page=False),
                                  lambda: page_number(stop_after_empty_page=False)])
def test_a_counting_paginator_that_could_never_stop_is_refused(make: Callable[[], BasePaginator]) -> None:
    with pytest.raises(ValueError, match="would never stop"):
        make()


def test_same_next_link_twice_raises_naming_the_url(httpserver: HTTPServer) -> None:
    client = _serve(httpserver, lambda request: _json({"items": [1], "next": "/items?p=1"}))
    with pytest.raises(PaginatorError, match=r"made no progress.*http://.*/items\?p=1"):
        list(client.paginate("items", paginator=json_link("next"), params={"key": "v"}))
    assert len(httpserver.log) == 2


def test_same_cursor_twice_raises(httpserver: HTTPServer) -> None:
    client = _serve(httpserver, lambda request: _json({"items": [1], "next_cursor": "abc"}))
    with pytest.raises(PaginatorError, match="CursorPaginator made no progress"):
        list(client.paginate("items"))  # detected, then stuck
    assert len(httpserver.log) == 2


class EveryOtherId(BasePaginator):
    """A custom paginator: the next page starts after the last id seen (``?after=<id>``)."""

    def init_request(self, request: PageRequest) -> None:
        request.params["after"] = 0

    def update_state(self, response: Any, data: list[Any]) -> None:
        self.last = data[-1]["id"] if data else None
        self.has_next_page = self.last is not None

    def update_request(self, request: PageRequest) -> None:
        request.params["after"] = self.last


def test_custom_paginator(httpserver: HTTPServer) -> None:
    client = _serve(httpserver, lambda r: _json([row for row in ROWS if row["id"] > int(r.args["after"])][:3]))
    assert [row for page in client.paginate("items", paginator=EveryOtherId()) for row in page] == ROWS


def test_client_paginator_is_copied_per_call(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items").respond_with_handler(_offset)
    client = RESTClient(httpserver.url_for("/"), paginator=offset(limit=3, total_path="total"))
    first = [row for page in client.paginate("items") for row in page]
    assert first == [row for page in client.paginate("items") for row in page] == ROWS
