"""Errors of the REST client; every one names the URL at fault (secrets redacted) and pickles.

::

    DataloadError
    └── RESTError                  any failure talking to a REST API
        ├── HTTPStatusError        the server answered 4xx/5xx (after retries): .url, .status, .snippet
        ├── RESTConnectionError    no answer: connection refused, timeout (after retries): .url
        ├── ResponseFormatError    an answer that is not the JSON expected: .url, .snippet
        ├── ResponseLimitError     an answer over a ResponseLimits limit (size, expanded size, depth): .limit
        └── PaginatorError         a paginator made no progress or cannot continue: .url
"""

from __future__ import annotations

from dataload.exceptions import DataloadError


class RESTError(DataloadError):
    """Root of the REST client's errors; ``.url`` is the request's URL with secrets redacted."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url
        self._remember(message, url)


class HTTPStatusError(RESTError):
    """The server answered with an error status.

    >>> err = HTTPStatusError("http://h/x?api_key=***", 404, '{"error": "no"}')
    >>> str(err)
    'GET http://h/x?api_key=*** failed with HTTP 404: {"error": "no"}'
    """

    def __init__(self, url: str, status: int, snippet: str, method: str = "GET") -> None:
        super().__init__(f"{method} {url} failed with HTTP {status}: {snippet}", url)
        self.status = status
        self.snippet = snippet
        self.method = method
        self._remember(url, status, snippet, method)


class RESTConnectionError(RESTError):
    """The server did not answer (connection error or timeout), also after the retries."""


class ResponseFormatError(RESTError):
    """The answer is not JSON (invalid JSON, an HTML page, another content type) or has no data where expected."""

    def __init__(self, message: str, url: str, snippet: str = "") -> None:
        super().__init__(f"{message} from {url}" + (f": {snippet}" if snippet else ""), url)
        self.snippet = snippet
        self._remember(message, url, snippet)


class ResponseLimitError(RESTError):
    """An answer over one of the client's :class:`~sources.rest_api.ResponseLimits`; ``.limit`` names it.

    >>> str(ResponseLimitError("the body of http://h/x is larger than max_bytes (10 bytes)", "http://h/x",
    ...                        "max_bytes", 10))
    'the body of http://h/x is larger than max_bytes (10 bytes)'
    """

    def __init__(self, message: str, url: str, limit: str, value: int) -> None:
        super().__init__(message, url)
        self.limit, self.value = limit, value
        self._remember(message, url, limit, value)


class PaginatorError(RESTError):
    """A paginator cannot go on: it would request the same page twice, or the response lacks what it needs."""
