"""The REST client: requests with auth, retries and clear errors; pages of data from paginated endpoints.

>>> from sources.rest_api import json_link
>>> client = RESTClient("https://api.example.com/v1", paginator=json_link("next"))
>>> for page in client.paginate("issues", params={"state": "open"}):  # doctest: +SKIP
...     print(page.response.status_code, len(page))
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import Any

import httpx
import tenacity

from dataload.configuration import redact, redact_url
from dataload.helpers.retry import RetryableStatus, RetryConfig, retry_policy
from sources.rest_api.auth import as_auth, secrets_of
from sources.rest_api.errors import (
    HTTPStatusError,
    RESTConnectionError,
    RESTError,
)
from sources.rest_api.http_log import redact_in_httpx_logs
from sources.rest_api.limits import ResponseLimits, aread_body, read_body
from sources.rest_api.pages import SNIPPET, Page, Pagination, Redacted, full_url
from sources.rest_api.paginators import BasePaginator, PageRequest

logger = logging.getLogger(__name__)

_MAX_REDIRECTS = 20
ResponseHook = Callable[[httpx.Response], "httpx.Response | None"]
"""Sees each final response before its status is checked: the response to use, or None to stop there."""


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or {"http": 80, "https": 443}.get(url.scheme)


class _OriginBoundAuth(httpx.Auth):
    """Apply ``inner`` only to requests for ``origin``: other hosts never see the credentials."""

    def __init__(self, inner: httpx.Auth, origin: tuple[str, str, int | None], redacted: Callable[[Any], str]) -> None:
        self.inner = inner
        self.origin = origin
        self.redacted = redacted
        self.requires_request_body = inner.requires_request_body
        self.requires_response_body = inner.requires_response_body

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _origin(request.url) == self.origin:
            yield from self.inner.auth_flow(request)
        else:
            logger.info("%s is not on the base URL's host: sent without credentials", self.redacted(request.url))
            yield request


class RESTClient:
    """An HTTP client for one REST API at ``base_url``: auth, retries, clear errors and pagination.

    ``auth`` is one of :mod:`sources.rest_api.auth`, any :class:`httpx.Auth`, or a callable that
    edits an :class:`httpx.Request`; it is applied only to ``base_url``'s host. ``paginator`` and
    ``data_selector`` are the defaults of :meth:`paginate` (a copy of the paginator is used per
    call, so the client can be shared). ``timeout`` is in seconds (or an :class:`httpx.Timeout`).
    Redirects are followed, each hop checked against the host like any request. Every body is
    read as a stream within ``limits`` (:class:`~sources.rest_api.ResponseLimits`: bytes on the
    wire, bytes decompressed, JSON depth of a page); a response over one raises
    :class:`~sources.rest_api.errors.ResponseLimitError` and is not retried.

    >>> with RESTClient("https://api.example.com/v1", headers={"Accept": "application/json"}) as client:
    ...     client.base_url
    'https://api.example.com/v1'
    """

    def __init__(self, base_url: str, *,
                 auth: httpx.Auth | Callable[[httpx.Request], httpx.Request | None] | None = None,
                 paginator: BasePaginator | None = None, headers: Mapping[str, str] | None = None,
                 data_selector: str | None = None, retry: RetryConfig = RetryConfig(),
                 timeout: float | httpx.Timeout = 30.0, limits: ResponseLimits = ResponseLimits()) -> None:
        self.base_url = base_url
        self.limits = limits
        self.auth = as_auth(auth)
        self.paginator = paginator
        self.data_selector = data_selector
        self.retry = retry
        self._http = httpx.Client(headers=dict(headers or {}), timeout=timeout, follow_redirects=False)
        self._async_http: httpx.AsyncClient | None = None
        self._bound_auth = (None if self.auth is None
                            else _OriginBoundAuth(self.auth, _origin(httpx.URL(base_url)), self.redacted))
        if self.auth is not None:
            redact_in_httpx_logs(self)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> RESTClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def redacted(self, text: Any) -> str:
        """``text`` (a URL, a message) with the auth's secrets and every credential-like query value hidden."""
        return redact(redact_url(str(text)), secrets_of(self.auth))

    def url(self, path: str = "") -> str:
        """The absolute URL of ``path``: relative to ``base_url`` (a leading ``/`` too), or ``path`` if absolute.

        >>> RESTClient("http://h/v1/").url("/users"), RESTClient("http://h/v1").url("http://o/x")
        ('http://h/v1/users', 'http://o/x')
        """
        if httpx.URL(path).is_absolute_url:
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/") if path else self.base_url

    def request(self, method: str, path: str = "", *, params: Mapping[str, Any] | None = None, json: Any = None,
                headers: Mapping[str, str] | None = None) -> httpx.Response:
        """Send one request (with auth, retries and redirects); the response, or an error for a 4xx/5xx status."""
        response = self._send(PageRequest(method.upper(), self.url(path), dict(params or {}), json,
                                          dict(headers or {})))
        assert response is not None  # only a response_hook ends with no response
        return response

    def get(self, path: str = "", *, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None) -> httpx.Response:
        """``request("GET", path, ...)``."""
        return self.request("GET", path, params=params, headers=headers)

    def paginate(self, path: str = "", *, method: str = "GET", params: Mapping[str, Any] | None = None,
                 json: Any = None, headers: Mapping[str, str] | None = None, paginator: BasePaginator | None = None,
                 data_selector: str | None = None, maximum_pages: int | None = None,
                 maximum_items: int | None = None, response_hook: ResponseHook | None = None) -> Iterator[Page]:
        """Yield the pages of ``path``, each a :class:`Page` (a list of the items, with its request and response).

        With no ``paginator`` (here or on the client) one is detected from the first response and
        logged. It stops when the paginator says so, after ``maximum_pages`` pages or
        ``maximum_items`` items (the last page cut to fit), and with a
        :class:`~sources.rest_api.errors.PaginatorError` when the next request would repeat one
        already sent. ``response_hook`` sees every final response (after retries) before its
        status is checked: it returns the response to use (the same or another), or None to end
        the pages there without an error (a 404 to ignore, say).
        """
        walk = self._walk(path, method, params, json, headers, paginator, data_selector, maximum_pages,
                          maximum_items)
        while walk.request is not None:
            response = self._send(walk.request, response_hook)
            if response is None:
                return
            yield walk.page(response)
            walk.advance()

    async def apaginate(self, path: str = "", *, method: str = "GET", params: Mapping[str, Any] | None = None,
                        json: Any = None, headers: Mapping[str, str] | None = None,
                        paginator: BasePaginator | None = None, data_selector: str | None = None,
                        maximum_pages: int | None = None, maximum_items: int | None = None,
                        response_hook: ResponseHook | None = None) -> AsyncIterator[Page]:
        """:meth:`paginate` on httpx's async client: the same pages, auth, retries and errors, awaited.

        The async client is opened on first use, on the running event loop; close it on that loop
        with :meth:`aclose`.
        """
        walk = self._walk(path, method, params, json, headers, paginator, data_selector, maximum_pages,
                          maximum_items)
        while walk.request is not None:
            response = await self._asend(walk.request, response_hook)
            if response is None:
                return
            yield walk.page(response)
            walk.advance()

    async def aclose(self) -> None:
        """Close the async client's connections (a later :meth:`apaginate` opens a new one)."""
        if self._async_http is not None:
            http, self._async_http = self._async_http, None
            await http.aclose()

    def _walk(self, path: str, method: str, params: Mapping[str, Any] | None, json: Any,
              headers: Mapping[str, str] | None, paginator: BasePaginator | None, data_selector: str | None,
              maximum_pages: int | None, maximum_items: int | None) -> Pagination:
        request = PageRequest(method.upper(), self.url(path), dict(params or {}), json, dict(headers or {}))
        chosen = paginator or self.paginator
        return Pagination(self.redacted, request, copy.deepcopy(chosen) if chosen is not None else None,
                          data_selector or self.data_selector, maximum_pages, maximum_items,
                          self.limits.max_json_depth)

    # -- sending --------------------------------------------------------------------------------

    def _send(self, request: PageRequest, hook: ResponseHook | None = None) -> httpx.Response | None:
        """Send with retries; the final response, checked (an error for 4xx/5xx or no answer)."""
        url = Redacted(self.redacted, full_url(request))  # redacted only when shown
        try:
            response = tenacity.Retrying(**self._retry_policy(request.method, url))(self._send_once, request)
        except RetryableStatus as last:
            response = last.response
        except httpx.TransportError as error:
            raise self._connection_error(request.method, url, error) from None
        return self._checked(response, hook)

    async def _asend(self, request: PageRequest, hook: ResponseHook | None = None) -> httpx.Response | None:
        """:meth:`_send` on the async client."""
        url = Redacted(self.redacted, full_url(request))
        try:
            retrying = tenacity.AsyncRetrying(**self._retry_policy(request.method, url))
            response: httpx.Response = await retrying(self._asend_once, request)
        except RetryableStatus as last:
            response = last.response
        except httpx.TransportError as error:
            raise self._connection_error(request.method, url, error) from None
        return self._checked(response, hook)

    def _retry_policy(self, method: str, url: object) -> dict[str, Any]:
        return retry_policy(self.retry, transient=(httpx.TransportError,), method=method, url=url, logger=logger,
                            redacted=self.redacted)

    def _connection_error(self, method: str, url: object, error: httpx.TransportError) -> RESTConnectionError:
        # a timeout's own text is empty (async) or a bare "timed out" (sync): say which limit ran out
        detail = ("no answer within the timeout" if isinstance(error, httpx.TimeoutException)
                  else self.redacted(error) or "the connection failed")
        return RESTConnectionError(f"{method} {url} failed: {type(error).__name__}: {detail}", str(url))

    def _checked(self, response: httpx.Response, hook: ResponseHook | None) -> httpx.Response | None:
        if hook is not None:
            hooked = hook(response)
            if hooked is None:
                logger.info("%s %s: HTTP %d ignored", response.request.method,
                            self.redacted(response.request.url), response.status_code)
                return None
            if hooked is not response and not _has_request(hooked):
                hooked.request = response.request  # a new response made by the hook: it answers the same request
            response = hooked
        if response.status_code >= 400:
            raise HTTPStatusError(self.redacted(response.request.url), response.status_code,
                                  self.redacted(response.text[:SNIPPET]), response.request.method)
        return response

    def _send_once(self, request: PageRequest) -> httpx.Response:
        """One try: the request and its redirects (credentials only for the base URL's host)."""
        sent: httpx.Request | None = self._build(self._http, request)
        for _ in range(_MAX_REDIRECTS):
            assert sent is not None
            logger.debug("%s %s", sent.method, Redacted(self.redacted, sent.url))
            response = read_body(self._http.send(sent, auth=self._bound_auth, stream=True), self.limits,
                                 self._shown(sent.url))
            sent = self._next_hop(self._http, request, response)
            if sent is None:
                return response
        raise self._too_many_redirects(request)

    async def _asend_once(self, request: PageRequest) -> httpx.Response:
        """:meth:`_send_once` on the async client."""
        if self._async_http is None:
            self._async_http = httpx.AsyncClient(headers=self._http.headers, timeout=self._http.timeout,
                                                 follow_redirects=False)
        http = self._async_http
        sent: httpx.Request | None = self._build(http, request)
        for _ in range(_MAX_REDIRECTS):
            assert sent is not None
            logger.debug("%s %s", sent.method, Redacted(self.redacted, sent.url))
            response = await aread_body(await http.send(sent, auth=self._bound_auth, stream=True), self.limits,
                                        self._shown(sent.url))
            sent = self._next_hop(http, request, response)
            if sent is None:
                return response
        raise self._too_many_redirects(request)

    def _shown(self, url: httpx.URL) -> Callable[[], str]:
        return lambda: self.redacted(url)

    @staticmethod
    def _build(http: httpx.Client | httpx.AsyncClient, request: PageRequest) -> httpx.Request:
        return http.build_request(request.method, request.url, params=request.params or None, json=request.json,
                                  headers=request.headers)

    def _next_hop(self, http: httpx.Client | httpx.AsyncClient, request: PageRequest,
                  response: httpx.Response) -> httpx.Request | None:
        """The redirect to follow (None: ``response`` is the answer); a retryable status raises."""
        if response.status_code in self.retry.statuses:
            raise RetryableStatus(response, response.status_code, response.headers.get("Retry-After"))
        if not response.is_redirect or response.next_request is None:
            return None
        hop = response.next_request  # rebuilt, not reused: it carries the headers the auth added
        return http.build_request(hop.method, hop.url, headers=request.headers,
                                  json=request.json if hop.method == request.method else None)

    def _too_many_redirects(self, request: PageRequest) -> RESTError:
        url = self.redacted(request.url)
        return RESTError(f"{request.method} {url}: more than {_MAX_REDIRECTS} redirects", url)


def _has_request(response: httpx.Response) -> bool:
    try:
        return response.request is not None
    except RuntimeError:  # httpx: "The request instance has not been set on this response."
        return False
