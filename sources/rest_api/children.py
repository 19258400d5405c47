"""Requests of dependent resources sent ahead, concurrently, on a bounded pool of threads.

The engine feeds a transformer one parent row at a time and waits for its pages before the next
row. So that the requests of a dependent resource overlap, the parent's last step (a map that
returns each row unchanged) *offers* every row that will be fed to the children; when a child is
called with a row, the requests for the next rows offered are sent too (up to ``2 × concurrency``
ahead, at most ``concurrency`` in flight), each on a thread of the child's pool with the
client's (thread-safe) httpx connection pool. Each child call then takes its row's pages, already
fetched or still coming, in the order the engine feeds the rows.

Threads, not httpx's async client: measured on the W8 benchmark's local server, a request costs
about 0.8 ms of CPU on the sync client from a pool of 8 threads against 2.2-2.7 ms on
``httpx.AsyncClient`` with 8 tasks on one event loop (httpcore's async stack on anyio), and the
threads finish sooner. :meth:`RESTClient.apaginate` stays for resources written as ``async def``.

The pools run while a root resource of the source is being extracted (see
:meth:`RequestPool.session`). A row that was not offered (a step after the offer replaced it) or
that comes when no pool runs is fetched directly, without sending ahead: never lost, only slower.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
"""Requests of one dependent resource in flight at once, unless its config says ``concurrency``."""

THREAD_NAME = "dataload-rest-children"
"""The prefix of the names of the pools' threads."""

_REMEMBERED_ROWS = 10_000  # parent rows offered and not yet fed to the child (a child not extracted never takes them)

Fetch = Callable[[Any], Any]


class RequestPool:
    """Thread pools (one per child, ``concurrency`` threads) open while at least one :meth:`session`
    is. After a session of a parallelized resource (which ends before the extraction has fed all
    its rows to the children) they stay open until the children have taken the rows offered to them.

    A request runs in the context (``contextvars``) of the thread that submits it, so what it
    counts with ``dataload.count`` goes to the resource that sent it. When the pools stop, the
    requests not started are cancelled, those running finish (waited for, unless the session
    ended with an error), and the children forget what they were offered.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._open = False
        self._pools: dict[int, concurrent.futures.ThreadPoolExecutor] = {}
        self._children: list[ChildRequests] = []

    def add_child(self, child: ChildRequests) -> None:
        """Keep the pools while ``child`` has rows to take; make it forget them when they stop."""
        self._children.append(child)

    @contextlib.contextmanager
    def session(self, *, parallelized: bool = False) -> Iterator[None]:
        """Keep the pools open for the ``with`` block (sessions nest and may overlap in threads)."""
        with self._lock:
            self._users += 1
            self._open = True
        ended = False
        try:
            yield
            ended = True
        finally:
            with self._lock:
                self._users -= 1
            self.stop_when_done(wait_for_children=parallelized, wait_for_requests=ended)

    def stop_when_done(self, *, wait_for_children: bool, wait_for_requests: bool = True) -> None:
        """Stop the pools if no session is open (and, ``wait_for_children``, no child has rows to take).

        Requests not started are cancelled; those running are waited for unless ``wait_for_requests``
        is false (a failed or interrupted extraction, which must not wait for their retries).
        """
        with self._lock:
            if self._users or not self._open:
                return
            if wait_for_children and any(child.waiting for child in self._children):
                return
            pools, self._pools, self._open = self._pools, {}, False
        for pool in pools.values():  # outside the lock: forget() takes the children's
            pool.shutdown(wait=wait_for_requests, cancel_futures=True)
        for child in self._children:
            child.forget()

    def submit(self, fetch: Fetch, argument: Any, *, limit_key: int,
               limit: int) -> concurrent.futures.Future[Any] | None:
        """Start ``fetch(argument)`` on the pool of ``limit_key`` (``limit`` threads); None when no pool runs."""
        with self._lock:
            if not self._open:
                return None
            pool = self._pools.get(limit_key)
            if pool is None:
                pool = self._pools[limit_key] = concurrent.futures.ThreadPoolExecutor(
                    limit, thread_name_prefix=THREAD_NAME)
            return pool.submit(contextvars.copy_context().run, fetch, argument)


class ChildRequests:
    """The requests of one dependent resource, sent ahead for the parent rows offered to it."""

    def __init__(self, runner: RequestPool, fetch: Fetch, concurrency: int,
                 accepts: Callable[[Any], bool] | None = None) -> None:
        self.runner = runner
        self.fetch = fetch
        self.accepts = accepts
        self.concurrency = concurrency
        self._lock = threading.Lock()
        self._offered: OrderedDict[int, Any] = OrderedDict()
        self._sent: dict[int, concurrent.futures.Future[Any]] = {}
        runner.add_child(self)

    @property
    def waiting(self) -> bool:
        """Rows were offered and not taken yet (read without the lock: the runner only needs a hint)."""
        return bool(self._offered)

    def offer(self, row: Any) -> Any:
        """Remember ``row`` as one the child will be called with (the parent's last map step); returns it.

        A row ``accepts`` refuses is not remembered: the child requests nothing for it.
        """
        if self.accepts is not None and not self.accepts(row):
            return row
        with self._lock:
            self._offered[id(row)] = row
            if len(self._offered) > _REMEMBERED_ROWS:
                key, _ = self._offered.popitem(last=False)
                self._cancel(key)
        return row

    def take(self, row: Any) -> Any:
        """What ``fetch(row)`` returned (waiting for it, sending the next rows' requests ahead); None when
        ``row`` was not offered or no pool runs: the caller then fetches it directly."""
        with self._lock:
            if self._offered.get(id(row)) is not row:
                return None
            while True:  # rows offered before it never came (filtered after the offer): drop them
                key, older = self._offered.popitem(last=False)
                if older is row:
                    break
                self._cancel(key)
            future = self._sent.pop(id(row), None) or self._send(row)
            for later in itertools.islice(self._offered.values(), 2 * self.concurrency):
                if id(later) not in self._sent:
                    sent = self._send(later)
                    if sent is not None:
                        self._sent[id(later)] = sent
        if future is None:
            return None
        try:
            result = future.result()
        except concurrent.futures.CancelledError:  # the pools stopped before it was sent
            result = None
        if not self._offered:
            self.runner.stop_when_done(wait_for_children=True)  # a parallelized parent may be done
        return result

    def forget(self) -> None:
        """Drop the rows offered and the answers not taken (the run is over)."""
        with self._lock:
            self._offered.clear()
            for key in list(self._sent):
                self._cancel(key)

    def _send(self, row: Any) -> concurrent.futures.Future[Any] | None:
        return self.runner.submit(self.fetch, row, limit_key=id(self), limit=self.concurrency)

    def _cancel(self, key: int) -> None:
        future = self._sent.pop(key, None)
        if future is not None:
            future.cancel()
