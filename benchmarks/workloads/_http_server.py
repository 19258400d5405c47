"""A local HTTP server in a process of its own, serving pre-rendered JSON bodies (W8).

    python benchmarks/workloads/_http_server.py BODIES

``BODIES`` is a pickle of ``{request target: JSON body}`` (e.g. ``"/items?page=3": b'{...}'``).
The server renders each body into a complete HTTP/1.1 response once, at start, so a request
costs parsing its request line and headers and one ``sendall``: no JSON encoding, no routing
beyond a dict lookup. It listens on a free port of 127.0.0.1 (port 0, chosen by the kernel),
prints ``listening on PORT`` once it accepts connections, and keeps connections alive
(HTTP/1.1, ``Content-Length`` on every response, Nagle's algorithm off). It exits when told
to (SIGTERM) and also when its stdin reaches end of file, which happens when the process that
started it closes the pipe or dies in any way, so it cannot outlive that process.

:func:`http_server` is the other end: a context manager that starts this script, waits for
its port and stops it on the way out, also when the block raises.
"""

from __future__ import annotations

import os
import pickle
import select
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

HOST = "127.0.0.1"
READY = "listening on "
START_TIMEOUT = 60.0  # seconds to load the bodies and listen (a few at the largest size)
STOP_TIMEOUT = 5.0


# -- the server process ---------------------------------------------------------------------------
class _Server(socketserver.ThreadingTCPServer):
    """One thread per connection; ``responses`` maps a request target to its complete response.

    (``http.server.ThreadingHTTPServer`` is this plus a reverse DNS lookup of the host at bind.)
    """

    daemon_threads = True

    def __init__(self, responses: dict[str, bytes]) -> None:
        super().__init__((HOST, 0), _Handler)
        self.responses = responses


class _Handler(BaseHTTPRequestHandler):
    """Answers ``GET`` with the pre-rendered response of its target, or 404."""

    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        response = self.server.responses.get(self.path)
        if response is None:
            self.send_error(404)
        else:
            self.wfile.write(response)


def _response(body: bytes) -> bytes:
    """A complete ``200 OK`` response carrying the JSON ``body``."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("ascii") + body


def _exit_with_parent() -> None:
    """Block until stdin ends (the parent closed it or died), then end the process."""
    sys.stdin.buffer.read()
    os._exit(0)


def main(argv: list[str]) -> None:
    """Load the bodies, listen, report the port on stdout, serve until stopped."""
    with open(argv[0], "rb") as f:
        bodies: dict[str, bytes] = pickle.load(f)
    server = _Server({target: _response(body) for target, body in bodies.items()})
    del bodies
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    print(f"{READY}{server.server_address[1]}", flush=True)
    server.serve_forever()


# -- the process that starts it -------------------------------------------------------------------
@contextmanager
def http_server(bodies: Path) -> Iterator[str]:
    """Run the server for the pickled ``bodies`` in a new process; yield its base URL; stop it."""
    proc = subprocess.Popen([sys.executable, __file__, str(bodies)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        yield f"http://{HOST}:{_port_of(proc)}"
    finally:
        _stop(proc)


def _port_of(proc: subprocess.Popen[bytes]) -> int:
    """Wait for the server's ``listening on PORT`` line; raise if it exits or takes too long."""
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        readable, _, _ = select.select([proc.stdout], [], [], 0.1)
        if readable:
            line = proc.stdout.readline().decode()
            if line.startswith(READY):
                return int(line[len(READY):])
            raise RuntimeError(f"HTTP server exited (code {proc.poll()}) before listening: {line!r}")
    raise RuntimeError(f"HTTP server did not listen within {START_TIMEOUT:.0f}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the server process and reap it (SIGTERM, then SIGKILL if it does not go)."""
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
