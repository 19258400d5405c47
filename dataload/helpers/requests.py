"""A drop-in for ``requests`` that retries and always has a timeout.

``get``, ``post``, ``put``, ``patch``, ``delete``, ``head``, ``request`` and ``Session`` work as in
``requests`` (same arguments, a plain ``requests.Response`` back, any ``requests`` auth), and in
addition retry connection errors, timeouts, 429 and 5xx answers with the policy of
:mod:`dataload.helpers.retry` (``Retry-After`` honoured), and send every request with a timeout
(:data:`DEFAULT_TIMEOUT` seconds unless one is given). A status that is still an error after the
retries is returned like any answer (``response.raise_for_status()`` raises it); a connection error
or timeout that does not recover is raised as the ``requests`` exception.

>>> from dataload.helpers import requests
>>> response = requests.get("https://api.example.com/items", params={"page": 1})  # doctest: +SKIP
>>> with requests.Session(retry=requests.RetryConfig(attempts=8), timeout=10) as session:  # doctest: +SKIP
...     session.headers["Authorization"] = "Bearer ..."
...     session.get("https://api.example.com/me").json()
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from requests import PreparedRequest, Response
from requests.exceptions import ChunkedEncodingError, ConnectionError, HTTPError, RequestException, Timeout

from dataload.configuration import redact_url
from dataload.helpers.retry import RetryableStatus, RetryConfig, retrying

__all__ = [
    "DEFAULT_TIMEOUT", "ConnectionError", "HTTPError", "RequestException", "Response", "RetryConfig", "Session",
    "Timeout", "delete", "get", "head", "patch", "post", "put", "request",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
"""Seconds a request may take to connect, and then between two bytes of the answer, when no timeout is given."""

_TRANSIENT = (ConnectionError, Timeout, ChunkedEncodingError)


class Session(requests.Session):
    """A :class:`requests.Session` (headers, cookies, auth, adapters kept across requests) that retries.

    Every request made through it (``session.get``, ``session.request``, ...) is retried as
    ``retry`` says, auth and cookies applied afresh on each attempt, and is sent with ``timeout``
    (seconds, or a ``(connect, read)`` pair) when the call gives none.

    >>> with Session(retry=RetryConfig(attempts=3), timeout=5.0) as session:
    ...     session.retry.attempts, session.timeout
    (3, 5.0)
    """

    def __init__(self, *, retry: RetryConfig = RetryConfig(),
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.retry = retry
        self.timeout = timeout
        _redact_in_urllib3_logs()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Response:
        """Like :meth:`requests.Session.request`, retried; the final answer (also an error status) or the error."""
        method = method.decode() if isinstance(method, bytes) else method
        url = url.decode() if isinstance(url, bytes) else url
        shown = redact_url(requests.Request(method, url, params=kwargs.get("params")).prepare().url or url)
        attempts = retrying(self.retry, transient=_TRANSIENT, method=method.upper(), url=shown,
                            logger=logger, redacted=lambda error: redact_url(str(error)))
        try:
            response: Response = attempts(self._request_once, method, url, *args, **kwargs)
        except RetryableStatus as last:
            response = last.response
        return response

    def _request_once(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Response:
        response = super().request(method, url, *args, **kwargs)
        if response.status_code in self.retry.statuses:
            raise RetryableStatus(response, response.status_code, response.headers.get("Retry-After"))
        return response

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        """Like :meth:`requests.Session.send`, with this session's ``timeout`` when none is given (no retries here)."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class _RedactedUrls(logging.Filter):
    """Passes each record's text through :func:`~dataload.configuration.redact_url`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_url(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _redact_in_urllib3_logs() -> None:
    """urllib3 logs each request line at DEBUG with its query string (``"GET /items?api_key=KEY HTTP/1.1" 200``):
    its logger gets a filter hiding credential query values (once)."""
    urllib3_logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(added, _RedactedUrls) for added in urllib3_logger.filters):
        urllib3_logger.addFilter(_RedactedUrls())


def request(method: str, url: str, *, retry: RetryConfig = RetryConfig(),
            timeout: float | tuple[float, float] | None = None, **kwargs: Any) -> Response:
    """Send one request in a fresh :class:`Session`, as :func:`requests.request` does, retried as ``retry`` says."""
    with Session(retry=retry) as session:
        return session.request(method, url, timeout=timeout, **kwargs)


def get(url: str, params: Any = None, **kwargs: Any) -> Response:
    """``GET``, as :func:`requests.get`; also takes ``retry=``."""
    return request("GET", url, params=params, **kwargs)


def post(url: str, data: Any = None, json: Any = None, **kwargs: Any) -> Response:
    """``POST``, as :func:`requests.post`; also takes ``retry=``. A POST is retried like any request."""
    return request("POST", url, data=data, json=json, **kwargs)


def put(url: str, data: Any = None, **kwargs: Any) -> Response:
    """``PUT``, as :func:`requests.put`; also takes ``retry=``."""
    return request("PUT", url, data=data, **kwargs)


def patch(url: str, data: Any = None, **kwargs: Any) -> Response:
    """``PATCH``, as :func:`requests.patch`; also takes ``retry=``."""
    return request("PATCH", url, data=data, **kwargs)


def delete(url: str, **kwargs: Any) -> Response:
    """``DELETE``, as :func:`requests.delete`; also takes ``retry=``."""
    return request("DELETE", url, **kwargs)


def head(url: str, **kwargs: Any) -> Response:
    """``HEAD``, as :func:`requests.head` (no redirects followed unless ``allow_redirects=True``)."""
    kwargs.setdefault("allow_redirects", False)
    return request("HEAD", url, **kwargs)
