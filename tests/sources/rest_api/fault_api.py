"""A local REST API on 127.0.0.1 that misbehaves on purpose, below HTTP too (for the fault tests).

``GET /items?since=...`` pages the items (10 a page, the next link in ``next``, the API key in
the query); ``GET /items/<id>/notes`` lists an item's notes. Which request misbehaves, and how,
is a pure function of the seed, the request line and how often that request line was seen, so a
run is the same whatever order the client's threads send in. It is a stdlib server rather than
pytest-httpserver because a connection reset or a body cut short needs the socket itself.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "canary-api-key-8d1f"
PAGE_SIZE = 10

Fault = str
"""What a request gets instead of its answer: ``"503"``, ``"reset"``, ``"slow"`` or ``"truncate"``."""
FaultRule = Callable[[str, int], "Fault | None"]
"""Given the request line (path and query) and the attempt number (1 = first), the fault to inject or None."""


def item(n: int) -> dict[str, Any]:
    """Item ``n`` as the API holds it; ``updated_at`` grows with ``n``."""
    return {"id": n, "name": f"item {n} ✓", "updated_at": f"2025-01-01T00:{n // 60:02d}:{n % 60:02d}Z"}


def notes_of(n: int) -> list[dict[str, Any]]:
    """The notes of item ``n`` (0 to 2 of them)."""
    return [{"note_id": n * 10 + k, "text": f"note {k} of {n}"} for k in range(n % 3)]


def random_fault(seed: int, fault: Fault, rate: float) -> FaultRule:
    """``fault`` on a first attempt with probability ``rate``, decided by a hash of the seed and the request."""
    def rule(request_line: str, attempt: int) -> Fault | None:
        digest = hashlib.sha256(f"{seed}:{request_line}".encode()).digest()
        return fault if attempt == 1 and struct.unpack(">Q", digest[:8])[0] / 2 ** 64 < rate else None
    return rule


class FaultAPI:
    """The API and its fault rule; ``faults`` counts the faults injected, ``seen`` the requests per line."""

    def __init__(self, items: int, rule: FaultRule | None = None, *, slow_seconds: float = 1.0) -> None:
        self.items = [item(n) for n in range(1, items + 1)]
        self.rule = rule
        self.slow_seconds = slow_seconds
        self.faults: Counter[Fault] = Counter()
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def __enter__(self) -> FaultAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def fault_for(self, request_line: str) -> Fault | None:
        """Count the request and decide its fault."""
        with self.lock:
            self.seen[request_line] += 1
            fault = self.rule(request_line, self.seen[request_line]) if self.rule else None
            if fault:
                self.faults[fault] += 1
        return fault

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """The status and JSON body of a healthy answer."""
        if query.get("api_key") != [API_KEY]:
            return 401, {"error": "bad api key"}
        parts = path.strip("/").split("/")
        if parts == ["items"]:
            since = query.get("since", [""])[0]
            page = int(query.get("page", ["1"])[0])
            newer = [row for row in self.items if row["updated_at"] > since]
            rows = newer[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
            more = page * PAGE_SIZE < len(newer)
            next_url = f"{self.base_url}items?since={since}&page={page + 1}&api_key={API_KEY}" if more else None
            return 200, {"items": rows, "next": next_url}
        if len(parts) == 3 and parts[0] == "items" and parts[2] == "notes":
            return 200, notes_of(int(parts[1]))
        return 404, {"error": f"no {path}"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the stdlib's 5 drops connections the client opens at once: timeouts of our own


def _handler(api: FaultAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: faults also hit connections the client reuses

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            fault = api.fault_for(self.path)
            if fault == "reset":
                self._reset()
                return
            if fault == "slow":
                time.sleep(api.slow_seconds)  # the fault itself: longer than the client's timeout
            split = urlsplit(self.path)
            status, body = (503, {"error": "busy"}) if fault == "503" else api.answer(split.path,
                                                                                       parse_qs(split.query))
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) + 1000 if fault == "truncate" else len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2] if fault == "truncate" else data)
                self.wfile.flush()
            except OSError:  # the client gave up on a slow answer
                self.close_connection = True
                return
            if fault == "truncate":
                self._reset()

        def _reset(self) -> None:
            """Close the socket without (the rest of) an answer: an RST, not a graceful FIN."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
            pass

    return Handler

