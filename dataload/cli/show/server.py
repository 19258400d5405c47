"""The local web server of ``dataload pipeline NAME show``: read-only pages on 127.0.0.1.

:class:`ShowServer` binds when it is made (``port=0`` takes a free port; :attr:`ShowServer.url`
says which), then serves until ``shutdown()`` or Ctrl-C, each request in its own thread:

    server = ShowServer(dataload.attach("github"), port=0)
    print(server.url)
    server.serve_forever()

Only ``GET`` and ``HEAD`` are answered (anything else is 405), only for a ``Host`` of this machine
(a page elsewhere that points a DNS name at 127.0.0.1 gets 400), and each page is sent with a
Content-Security-Policy that runs no script at all, on top of the escaping of every value.
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from dataload.cli.show import pages
from dataload.cli.show.reader import PipelineReader

if TYPE_CHECKING:
    from dataload.facade import Pipeline

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class ShowServer(ThreadingHTTPServer):
    """Serves the pages of one pipeline on ``127.0.0.1:port``, bound as soon as it is made."""

    daemon_threads = True

    def __init__(self, pipe: Pipeline, *, port: int = 0) -> None:
        self.reader = PipelineReader(pipe)
        super().__init__((HOST, port), _Handler)

    @property
    def port(self) -> int:
        """The port it is bound to (the one the system chose for ``port=0``)."""
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """Where the pages are: ``http://127.0.0.1:PORT/``."""
        return f"http://{HOST}:{self.port}/"


def route(reader: PipelineReader, target: str) -> pages.Response:
    """The page for a request target (path and query), or a 404 page.

    A table's name is one path segment, percent-quoted whole (``/`` included), and must name a
    table of the schema exactly.
    """
    parts = urlsplit(target)
    segments = parts.path.split("/")[1:]  # split before unquoting: a quoted "/" belongs to the name
    query = parse_qs(parts.query, keep_blank_values=True)
    if segments == [""]:
        return pages.index(reader)
    if segments == ["loads"]:
        return pages.loads_page(reader)
    if segments == ["trace"]:
        return pages.trace_page(reader)
    if len(segments) == 2 and segments[0] == "tables" and segments[1]:
        try:
            name = unquote(segments[1], errors="strict")
        except UnicodeDecodeError:
            return pages.not_found(reader, f"no table is called {segments[1]!r}: it is not UTF-8 once unquoted")
        return pages.table_page(reader, name, query.get("limit", [None])[-1])
    return pages.not_found(reader, f"there is no page {parts.path!r}")


class _Handler(BaseHTTPRequestHandler):
    server: ShowServer
    server_version = "dataload-show"

    def do_GET(self) -> None:  # noqa: N802  (the name http.server calls)
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def _refuse(self) -> None:
        status, body = pages.error_page(self.server.reader, 405, f"{self.command} is not allowed: the pages are "
                                                                 "read-only (GET and HEAD only)")
        self._send(status, body.encode(), send_body=True, extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # noqa: N815

    def _answer(self, *, send_body: bool) -> None:
        reader = self.server.reader
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host not in (HOST, "localhost"):
            status, body = pages.error_page(reader, 400, f"unexpected Host {host!r}: open {self.server.url}")
        else:
            try:
                status, body = route(reader, self.path)
            except Exception as error:  # noqa: BLE001  (a page says what went wrong; the server keeps serving)
                logger.exception("show: %s failed", self.path)
                status, body = pages.error_page(reader, 500, f"{type(error).__name__}: {pages.describe_error(error)}")
        self._send(status, body.encode(), send_body=send_body)

    def _send(self, status: int, body: bytes, *, send_body: bool, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {**_HEADERS, **(extra or {}), "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the signature http.server calls)
        logger.info("%s %s", self.address_string(), format % args)
