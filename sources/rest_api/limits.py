"""Limits on what one response may hold: body bytes on the wire, bytes once decompressed, JSON nesting depth.

The body is read as a stream and counted as it comes, so a response over a limit stops with a
:class:`~sources.rest_api.errors.ResponseLimitError` naming the URL and the limit after at most
the limit (and one network chunk) is in memory: a gzip bomb, small on the wire and huge expanded,
never expands in full. httpx decodes ``gzip`` and ``deflate`` (``br`` and ``zstd`` too when the
``brotli`` / ``zstandard`` packages are installed); the decompressed count covers all of them.

>>> ResponseLimits().max_bytes // 2**20, ResponseLimits().max_decompressed_bytes // 2**20
(100, 100)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from sources.rest_api.errors import ResponseLimitError

_MiB = 2 ** 20


@dataclass(frozen=True)
class ResponseLimits:
    """The most one response may hold; a limit of None is no limit.

    ``max_bytes`` counts the body as it comes over the wire (compressed or not),
    ``max_decompressed_bytes`` the body after its ``Content-Encoding`` is undone (what is held in
    memory), and ``max_json_depth`` the nesting of lists and objects in a JSON page (``[[1]]`` is 2).
    JSON deeper than Python's recursion limit (1,000) is always an error, as it is for the items
    of any resource; ``max_json_depth`` is a stricter limit of your own, off by default because
    checking it walks every page (about the cost of parsing it again).

    >>> ResponseLimits(max_bytes=10 * 2**20).max_decompressed_bytes == 100 * 2**20
    True
    """

    max_bytes: int | None = 100 * _MiB
    max_decompressed_bytes: int | None = 100 * _MiB
    max_json_depth: int | None = None


class BodyCounter:
    """Counts a streamed body's chunks against ``limits``; :meth:`response` is the answer with the body read."""

    def __init__(self, response: httpx.Response, limits: ResponseLimits, url: Callable[[], str]) -> None:
        self.streamed, self.limits, self.url = response, limits, url
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        """Keep ``chunk``; an error when the body so far is over a limit."""
        wire, limits = self.streamed.num_bytes_downloaded, self.limits
        if limits.max_bytes is not None and wire > limits.max_bytes:
            raise ResponseLimitError(f"the body of {self.url()} is larger than max_bytes ({limits.max_bytes} bytes)",
                                     self.url(), "max_bytes", limits.max_bytes)
        self.size += len(chunk)
        if limits.max_decompressed_bytes is not None and self.size > limits.max_decompressed_bytes:
            encoding = self.streamed.headers.get("Content-Encoding", "identity")
            raise ResponseLimitError(
                f"the body of {self.url()} expands beyond max_decompressed_bytes "
                f"({limits.max_decompressed_bytes} bytes) from {wire} bytes on the wire ({encoding})",
                self.url(), "max_decompressed_bytes", limits.max_decompressed_bytes)
        self.chunks.append(chunk)

    def response(self) -> httpx.Response:
        """The answer with its decoded body: the same status, headers (but the wire's encoding) and request."""
        headers = [(name, value) for name, value in self.streamed.headers.multi_items()
                   if name.lower() not in ("content-encoding", "content-length")]
        body = b"".join(self.chunks)
        self.chunks = []
        read = httpx.Response(self.streamed.status_code, headers=headers, content=body,
                              request=self.streamed.request, extensions=self.streamed.extensions)
        read.next_request = self.streamed.next_request  # where a redirect points (set by httpx's client)
        return read


def read_body(response: httpx.Response, limits: ResponseLimits, url: Callable[[], str]) -> httpx.Response:
    """``response`` (opened with ``stream=True``) read within ``limits``, then closed."""
    counter = BodyCounter(response, limits, url)
    try:
        for chunk in response.iter_bytes():
            counter.add(chunk)
    finally:
        response.close()
    return counter.response()


async def aread_body(response: httpx.Response, limits: ResponseLimits, url: Callable[[], str]) -> httpx.Response:
    """:func:`read_body` of a response of the async client."""
    counter = BodyCounter(response, limits, url)
    try:
        async for chunk in response.aiter_bytes():
            counter.add(chunk)
    finally:
        await response.aclose()
    return counter.response()
