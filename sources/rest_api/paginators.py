"""Paginators: how :meth:`~sources.rest_api.RESTClient.paginate` gets from one page to the next.

A paginator is a small state machine with four hooks, called in this order by the client::

    paginator.init_request(request)              # once, before the first request
    # loop: send request, select the page's data, then
    paginator.update_state(response, data)       # read the next link/cursor/offset; may set has_next_page = False
    if paginator.has_next_page:
        paginator.update_request(request)        # edit the PageRequest for the next page

A custom paginator subclasses :class:`BasePaginator` and implements ``update_state`` and
``update_request`` (``init_request`` is optional). Every built-in one also stops when the JSON
value at ``has_more_path`` (if given) is false. The client, not the paginator, enforces
``maximum_pages``/``maximum_items`` and stops with a :class:`~sources.rest_api.errors.PaginatorError`
when a paginator would request the same page twice.

>>> pager = offset(limit=2, total_path="total")
>>> request = PageRequest("GET", "http://h/items")
>>> pager.init_request(request); request.params
{'offset': 0, 'limit': 2}
>>> pager.update_state(httpx.Response(200, json={"total": 3}), [1, 2]); pager.update_request(request); request.params
{'offset': 2, 'limit': 2}
>>> pager.update_state(httpx.Response(200, json={"total": 3}), [3]); pager.has_next_page
False
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx
from jsonpath_ng.parser import parse as parse_jsonpath

logger = logging.getLogger(__name__)


@dataclass
class PageRequest:
    """The request for the next page, as paginators edit it: method, absolute URL, query params, JSON body, headers."""

    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def find_value(body: Any, path: str) -> Any:
    """The first value at JSONPath ``path`` in ``body``, or None when there is none.

    >>> find_value({"paging": {"next": "/p2"}}, "paging.next")
    '/p2'
    """
    matches = _parse(path).find(body)
    return matches[0].value if matches else None


def find_values(body: Any, path: str) -> list[Any]:
    """Every value at JSONPath ``path`` in ``body``.

    >>> find_values({"results": [{"id": 1}, {"id": 2}]}, "results[*].id")
    [1, 2]
    """
    return [match.value for match in _parse(path).find(body)]


@functools.lru_cache(maxsize=256)
def _parse(path: str) -> Any:
    """A compiled JSONPath, cached: paginators look up the same path on every page."""
    return parse_jsonpath(path)


_PARSED = "_dataload_json"  # where the client keeps the body it parsed, so a paginator does not parse it again


def remember_json(response: httpx.Response, body: Any) -> None:
    """Keep ``body``, the parsed JSON of ``response``, for :func:`json_body`."""
    setattr(response, _PARSED, body)


def json_body(response: httpx.Response) -> Any:
    """The response's JSON (parsed once, see :func:`remember_json`), or None when it has none (empty, not JSON)."""
    if hasattr(response, _PARSED):
        return getattr(response, _PARSED)
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    remember_json(response, body)
    return body


class BasePaginator:
    """Base of every paginator; ``has_next_page`` starts True. See the module docstring for the protocol."""

    def __init__(self, *, has_more_path: str | None = None) -> None:
        self.has_next_page = True
        self.has_more_path = has_more_path

    def init_request(self, request: PageRequest) -> None:
        """Set up the first request (e.g. the first offset); nothing by default."""

    def update_state(self, response: httpx.Response, data: list[Any]) -> None:
        """Read where the next page is from ``response`` and ``data`` (the page's items)."""
        raise NotImplementedError

    def update_request(self, request: PageRequest) -> None:
        """Edit ``request`` to ask for the next page."""
        raise NotImplementedError

    def _stop_unless_more(self, response: httpx.Response) -> None:
        """Stop when the value at ``has_more_path`` is false (``False``, ``0``, ``"false"``)."""
        if self.has_more_path is not None and self.has_next_page:
            flag = find_value(json_body(response), self.has_more_path)
            if flag is not None and str(flag).lower() in ("false", "0", ""):
                self.has_next_page = False

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_")
                            and k not in ("has_next_page",) and v is not None)
        return f"{type(self).__name__}({options})"


class SinglePagePaginator(BasePaginator):
    """One request, one page."""

    def update_state(self, response: httpx.Response, data: list[Any]) -> None:
        self.has_next_page = False

    def update_request(self, request: PageRequest) -> None:
        """Never called: there is no next page."""


class _LinkPaginator(BasePaginator):
    """A next URL found in the response; the next request goes to it with no params of its own."""

    _next: str | None = None

    def update_request(self, request: PageRequest) -> None:
        assert self._next is not None
        request.url = urljoin(request.url, self._next)
        request.params = {}

    def _follow(self, response: httpx.Response, link: Any) -> None:
        self._next = str(link) if link else None
        self.has_next_page = self._next is not None
        self._stop_unless_more(response)


class JSONLinkPaginator(_LinkPaginator):
    """The next page's URL (absolute or relative) is at JSONPath ``next_url_path``; stops when missing."""

    def __init__(self, next_url_path: str = "next", *, has_more_path: str | None = None) -> None:
        super().__init__(has_more_path=has_more_path)
        self.next_url_path = next_url_path

    def update_state(self, response: httpx.Response, data: list[Any]) -> None:
        self._follow(response, find_value(json_body(response), self.next_url_path))


class HeaderLinkPaginator(_LinkPaginator):
    """The next page's URL is in the RFC 8288 ``Link`` header, ``rel="next"`` (or ``rel``); stops when it is missing."""

    def __init__(self, rel: str = "next", *, has_more_path: str | None = None) -> None:
        super().__init__(has_more_path=has_more_path)
        self.rel = rel

    def update_state(self, response: httpx.Response, data: list[Any]) -> None:
        self._follow(response, response.links.get(self.rel, {}).get("url"))


class _CursorPaginator(BasePaginator):
    """A cursor read from the response and sent back as the query param ``cursor_param``."""

    _cursor: Any = None

    def __init__(self, cursor_param: str, *, has_more_path: str | None) -> None:
        super().__init__(has_more_path=has_more_path)
        self.cursor_param = cursor_param

    def _take(self, response: httpx.Response, cursor: Any) -> None:
        self._cursor = cursor
        self.has_next_page = cursor not in (None, "")
        self._stop_unless_more(response)

    def update_request(self, request: PageRequest) -> None:
        request.params[self.cursor_param] = self._cursor


class CursorPaginator(_CursorPaginator):
    """The cursor is in the body at JSONPath ``cursor_path`` and goes back as ``cursor_param``; stops when missing."""

    def __init__(self, cursor_path: str = "next_cursor", cursor_param: str = "cursor", *,
                 has_more_path: str | None = None) -> None:
        super().__init__(cursor_param, has_more_path=has_more_path)
        self.cursor_path = cursor_path

    def update_state(self, response: httpx.Response, data: list[Any]) -> None:
        self._take(response, find_value(json_body(response), self.cursor_path))


class HeaderCursorPaginator(_CursorPaginator):
    """The cursor is in the response header ``cursor_header`` and goes back as ``cursor_param``; stops when missing."""

    def __init__(self, cursor_header: str = "X-Next-Cursor", cursor_param: str = "cursor", *,
                 has_more_path: str | None = None) -> None:
        super().__init__(cursor_param, has_more_path=has_more_path)
        self.cursor_header = cursor_header

    def update_state(self, response: httpx.Response, data: list[Any]) -> None:
        self._take(response, response.headers.get(self.cursor_header))


class _CountingPaginator(BasePaginator):
    """A number sent as a query param, advanced after each page; stops on an empty page or a reached total."""

    def __init__(self, value: int, param: str, total_path: str | None, *,
                 stop_after_empty_page: bool, has_more_path: str | None) -> None:
        if not stop_after_empty_page and total_path is None and has_more_path is None:
            raise ValueError(f"{type(self).__name__} would never stop: give total_path or has_more_path, "
                             "or keep stop_after_empty_page=True")
        super().__init__(has_more_path=has_more_path)
        self.value = value
        self.param = param
        self.total_path = total_path
        self.stop_after_empty_page = stop_after_empty_page

    def _advance(self, response: httpx.Response, data: list[Any], step: int) -> None:
        self.value += step
        if self.stop_after_empty_page and not data:
            self.has_next_page = False
        elif self.total_path is not None:
            total = find_value(json_body(response), self.total_path)
            if total is not None and self.value >= self._end(int(total)):
                self.has_next_page = False
        self._stop_unless_more(response)

    def _end(self, total: int) -> int:
        return total

    def init_request(self, request: PageRequest) -> None:
        request.params[self.param] = self.value

    def update_request(self, request: PageRequest) -> None:
        request.params[self.param] = self.value


class OffsetPaginator(_CountingPaginator):
    """``offset``/``limit`` params; ``total_path`` (optional) is the JSONPath of the total number of items."""

    def __init__(self, limit: int, offset: int = 0, *, offset_param: str = "offset", limit_param: str = "limit",
                 total_path: str | None = None, stop_after_empty_page: bool = True,
                 has_more_path: str | None = None) -> None:
        super().__init__(offset, offset_param, total_path, stop_after_empty_page=stop_after_empty_page,
                         has_more_path=has_more_path)
        self.limit = limit
        self.limit_param = limit_param

    def init_request(self, request: PageRequest) -> None:
        super().init_request(request)
        request.params[self.limit_param] = self.limit

    def update_state(self, response: httpx.Response, data: list[Any]) -> None:
        self._advance(response, data, self.limit)


class PageNumberPaginator(_CountingPaginator):
    """A page number param starting at ``base_page``; ``total_path``: JSONPath of the page count."""

    def __init__(self, base_page: int = 1, page: int | None = None, *, page_param: str = "page",
                 total_path: str | None = None, stop_after_empty_page: bool = True,
                 has_more_path: str | None = None) -> None:
        super().__init__(base_page if page is None else page, page_param, total_path,
                         stop_after_empty_page=stop_after_empty_page, has_more_path=has_more_path)
        self.base_page = base_page

    def _end(self, total: int) -> int:
        return total + self.base_page  # pages base_page .. base_page + total - 1

    def update_state(self, response: httpx.Response, data: list[Any]) -> None:
        self._advance(response, data, 1)


json_link = JSONLinkPaginator
header_link = HeaderLinkPaginator
header_cursor = HeaderCursorPaginator
offset = OffsetPaginator
page_number = PageNumberPaginator
cursor = CursorPaginator
single_page = SinglePagePaginator

_NEXT_URL_PATHS = ("next", "next_url", "nextUrl", "links.next", "paging.next", "pagination.next",
                   "_links.next.href", "meta.next")
_CURSOR_PATHS = {"next_cursor": "cursor", "cursor.next": "cursor", "cursors.next": "cursor",
                 "meta.next_cursor": "cursor", "next_page_token": "page_token", "nextPageToken": "pageToken"}
_TOTAL_PAGES_PATHS = ("total_pages", "totalPages", "page_count", "meta.total_pages", "pagination.total_pages")
_PAGE_PATHS = ("page", "meta.page", "pagination.page", "current_page")


def detect_paginator(response: httpx.Response, data: list[Any]) -> BasePaginator:
    """Guess the paginator from the first response; :class:`SinglePagePaginator` when nothing matches.

    In this order: a ``Link: rel="next"`` header; a next URL in the body (``next``, ``links.next``,
    ``paging.next``, ...: an absolute URL, or one starting with ``/`` or ``?``); a cursor
    (``next_cursor``, ``cursors.next``, ``next_page_token``, ...); a page number with a page count
    (``page`` + ``total_pages``); an offset with a total (``offset`` + ``total``). The returned paginator
    continues after the response given.

    >>> detect_paginator(httpx.Response(200, json={"items": [1], "page": 1, "total_pages": 3}), [1])
    PageNumberPaginator(value=1, param='page', total_path='total_pages', stop_after_empty_page=True, base_page=1)
    """
    if "next" in response.links:
        return HeaderLinkPaginator()
    body = json_body(response)
    if not isinstance(body, dict):
        return SinglePagePaginator()
    for path in _NEXT_URL_PATHS:
        link = find_value(body, path)
        if isinstance(link, str) and link.startswith(("http://", "https://", "/", "?")):  # not a bare token
            return JSONLinkPaginator(path)
    for path, param in _CURSOR_PATHS.items():
        if find_value(body, path) not in (None, ""):
            return CursorPaginator(path, param)
    for total_path in _TOTAL_PAGES_PATHS:
        if isinstance(find_value(body, total_path), int):
            page = next((v for p in _PAGE_PATHS if isinstance(v := find_value(body, p), int)), 1)
            return PageNumberPaginator(page=page, total_path=total_path)
    if isinstance(body.get("total"), int) and isinstance(body.get("offset"), int):
        return OffsetPaginator(limit=int(body.get("limit") or len(data) or 1), offset=body["offset"],
                               total_path="total")
    return SinglePagePaginator()
