"""Reading pages: the items of a response (JSON checked, ``data_selector`` or the list found) and where a
pagination stands (next request, limits, the no-progress guard).
"""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from collections.abc import Callable
from typing import Any

import httpx

from dataload.values import nested_deeper
from sources import json_decoding
from sources.rest_api.errors import PaginatorError, ResponseFormatError, ResponseLimitError
from sources.rest_api.paginators import BasePaginator, PageRequest, detect_paginator, find_values, remember_json

logger = logging.getLogger(__name__)

SNIPPET = 200
"""Characters of a body shown in an error."""
_LIST_FIELDS = ("data", "items", "results", "records", "entries", "values", "objects")
Redact = Callable[[Any], str]


class Page(list[Any]):
    """The items of one page, with the :class:`httpx.Response` and :class:`httpx.Request` they came with."""

    def __init__(self, items: list[Any], *, request: httpx.Request, response: httpx.Response) -> None:
        super().__init__(items)
        self.request = request
        self.response = response


class Pagination:
    """Where a pagination stands: the next request (None when done), pages and items so far, requests sent.

    Shared by ``RESTClient.paginate`` and ``RESTClient.apaginate``, which only send.
    """

    def __init__(self, redacted: Redact, request: PageRequest, pager: BasePaginator | None,
                 selector: str | None, maximum_pages: int | None, maximum_items: int | None,
                 max_json_depth: int | None = None) -> None:
        if pager is not None:
            pager.init_request(request)
        self.redacted, self.pager, self.selector = redacted, pager, selector
        self.request: PageRequest | None = request
        self.maximum_pages, self.maximum_items = maximum_pages, maximum_items
        self.max_json_depth = max_json_depth
        self.seen = {fingerprint(request)}
        self.pages = self.items = 0

    def page(self, response: httpx.Response) -> Page:
        """The page of ``response``; the paginator reads where the next one is."""
        data = items_of(response, self.selector, self.redacted, self.max_json_depth)
        if self.maximum_items is not None:
            data = data[:self.maximum_items - self.items]
        if self.pager is None:
            self.pager = detect_paginator(response, data)
            logger.info("no paginator given for %s: detected %r", self.redacted(response.request.url),
                        self.pager)
        self.pager.update_state(response, data)
        self.pages, self.items = self.pages + 1, self.items + len(data)
        return Page(data, request=response.request, response=response)

    def advance(self) -> None:
        """Move to the next request, or set it to None at the end; a request already sent is an error."""
        request, pager = self.request, self.pager
        assert request is not None and pager is not None
        if (not pager.has_next_page or (self.maximum_pages is not None and self.pages >= self.maximum_pages)
                or (self.maximum_items is not None and self.items >= self.maximum_items)):
            self.request = None
            return
        pager.update_request(request)
        key = fingerprint(request)
        if key in self.seen:
            url = self.redacted(full_url(request))
            raise PaginatorError(f"{type(pager).__name__} made no progress: the next request would repeat "
                                 f"{request.method} {url}", url)
        self.seen.add(key)


class Redacted:
    """``redacted(value)`` computed when shown: a log line that is not emitted costs no redaction."""

    __slots__ = ("redacted", "value")

    def __init__(self, redacted: Redact, value: Any) -> None:
        self.redacted, self.value = redacted, value

    def __str__(self) -> str:
        return self.redacted(self.value)


def items_of(response: httpx.Response, selector: str | None, redacted: Redact,
             max_depth: int | None = None) -> list[Any]:
    """The items of a response: at ``selector`` (JSONPath), else the list found in the body."""
    url = Redacted(redacted, response.request.url)
    body = json_of(response, url, redacted, max_depth)
    if body is None:
        return []
    if selector is not None:
        found = find_values(body, selector)
        if not found:
            raise ResponseFormatError(f"data_selector {selector!r} matches nothing in the response", str(url),
                                      redacted(response.text[:SNIPPET]))
        if len(found) == 1:
            return found[0] if isinstance(found[0], list) else found
        return found
    return _find_list(body, url)

def json_of(response: httpx.Response, url: object, redacted: Redact, max_depth: int | None = None) -> Any:
    """The body as JSON (None when empty); a clear error for an HTML page, another content type, bad JSON or
    JSON nested deeper than ``max_depth``."""
    if not response.content:
        return None

    def error(message: str) -> ResponseFormatError:  # the body is decoded and redacted only for an error
        return ResponseFormatError(message, str(url), redacted(response.text[:SNIPPET]))

    content_type = response.headers.get("Content-Type", "").lower()
    if "html" in content_type or (not content_type and response.content.lstrip().startswith(b"<")):
        raise error("expected JSON, got an HTML page")
    if content_type and "json" not in content_type:
        raise error(f"expected JSON, got content type {content_type!r}")
    try:
        body = json_decoding.loads(response.content)
    except ValueError as problem:
        raise error(f"invalid JSON ({problem})") from None
    except RecursionError:  # deeper than Python's recursion limit: no depth limit lets that through
        raise _too_deep(url, None) from None
    if max_depth is not None and _openers(response.content) > max_depth and nested_deeper(body, max_depth):
        raise _too_deep(url, max_depth)
    remember_json(response, body)
    return body


def _too_deep(url: object, max_depth: int | None) -> ResponseLimitError:
    limit = (f"max_json_depth ({max_depth})" if max_depth is not None
             else f"Python's recursion limit ({sys.getrecursionlimit()})")
    return ResponseLimitError(f"the JSON of {url} is nested deeper than {limit}", str(url), "max_json_depth",
                              max_depth or sys.getrecursionlimit())


def _openers(content: bytes) -> int:
    """How many lists and objects a JSON text opens at most (in strings too): a bound on its depth, fast."""
    return content.count(b"[") + content.count(b"{")


def _find_list(body: Any, url: object) -> list[Any]:
    """The list in a body: the body itself, its only list field, a well-known list field, or ``[body]``."""
    if isinstance(body, list):
        logger.debug("%s: the data is the top-level list", url)
        return body
    if not isinstance(body, dict):
        return [body]
    lists = [key for key, value in body.items() if isinstance(value, list)]
    key = lists[0] if len(lists) == 1 else next((name for name in _LIST_FIELDS if name in lists), None)
    if key is None:
        logger.debug("%s: no single list field in the response (%s): the body is one item", url, lists or "none")
        return [body]
    logger.debug("%s: the data is the list field %r", url, key)
    result: list[Any] = body[key]
    return result


def full_url(request: PageRequest) -> httpx.URL:
    """The URL the request goes to: its URL with its params merged in."""
    return httpx.URL(request.url).copy_merge_params(request.params) if request.params else httpx.URL(request.url)


def fingerprint(request: PageRequest) -> str:
    """What makes two requests the same one (method, URL, params and body)."""
    return jsonlib.dumps([request.method, request.url, request.params, request.json], sort_keys=True, default=str)
