"""Requests of dependent resources sent ahead, concurrently, on httpx's async client.

The engine feeds a transformer one parent row at a time and waits for its pages before the next
row. So that the requests of a dependent resource overlap, the parent's last step (a map that
returns each row unchanged) *offers* every row that will be fed to the children; when a child is
called with a row, the requests for the next rows offered are sent too (up to ``2 × concurrency``
ahead, at most ``concurrency`` in flight), on an event loop in a thread of its own. Each child call
then takes its row's pages, already fetched or still coming, in the order the engine feeds the rows.

The event loop runs while a root resource of the source is being extracted (see
:meth:`AsyncRunner.session`). A row that was not offered (a step after the offer replaced it) or
that comes when no loop runs is fetched directly, without sending ahead: never lost, only slower.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
"""Requests of one dependent resource in flight at once, unless its config says ``concurrency``."""

_REMEMBERED_ROWS = 10_000  # parent rows offered and not yet fed to the child (a child not extracted never takes them)

Fetch = Callable[[Any], Coroutine[Any, Any, Any]]


class AsyncRunner:
    """An event loop in a daemon thread, open while at least one :meth:`session` is. After a
    session of a parallelized resource (which ends before the extraction has fed all its rows to
    the children) it stays open until the children have taken the rows offered to them.

    Coroutines run in the context (``contextvars``) of the thread that submits them, so what they
    count with ``dataload.count`` goes to the resource that sent them. When the loop stops, the
    tasks still running are cancelled, ``on_close`` coroutines run (closing async clients), and the
    children forget what they were offered.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._limits: dict[int, asyncio.Semaphore] = {}
        self._on_close: list[Callable[[], Coroutine[Any, Any, Any]]] = []
        self._children: list[ChildRequests] = []

    def add_cleanup(self, on_close: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run ``on_close()`` on the loop before it stops."""
        self._on_close.append(on_close)

    def add_child(self, child: ChildRequests) -> None:
        """Keep the loop while ``child`` has rows to take; make it forget them when the loop stops."""
        self._children.append(child)

    @contextlib.contextmanager
    def session(self, *, parallelized: bool = False) -> Iterator[None]:
        """Keep the loop running for the ``with`` block (sessions nest and may overlap in threads)."""
        with self._lock:
            self._users += 1
            if self._loop is None:
                self._start()
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
            self.stop_when_done(wait_for_children=parallelized)

    def stop_when_done(self, *, wait_for_children: bool) -> None:
        """Stop the loop if no session is open (and, ``wait_for_children``, no child has rows to take)."""
        with self._lock:
            if self._users or self._loop is None:
                return
            if wait_for_children and any(child.waiting for child in self._children):
                return
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        assert thread is not None
        self._stop(loop, thread)  # outside the lock: forget() takes the children's

    def submit(self, fetch: Fetch, argument: Any, *, limit_key: int,
               limit: int) -> concurrent.futures.Future[Any] | None:
        """Start ``fetch(argument)``, at most ``limit`` running at once per ``limit_key``; None when no loop runs."""
        with self._lock:
            loop = self._loop
            if loop is None:
                return None
            context = contextvars.copy_context()
            return asyncio.run_coroutine_threadsafe(self._bounded(fetch, argument, limit_key, limit, context), loop)

    async def _bounded(self, fetch: Fetch, argument: Any, key: int, limit: int,
                       context: contextvars.Context) -> Any:
        semaphore = self._limits.setdefault(key, asyncio.Semaphore(limit))
        async with semaphore:
            # a task copies the context it is created in (create_task(context=) is Python 3.11+)
            return await context.run(asyncio.create_task, fetch(argument))

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="dataload-rest-children", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop = loop
        self._limits = {}

    def _stop(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        asyncio.run_coroutine_threadsafe(self._wind_down(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        for child in self._children:
            child.forget()

    async def _wind_down(self) -> None:
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for on_close in self._on_close:
            await on_close()


class ChildRequests:
    """The requests of one dependent resource, sent ahead for the parent rows offered to it."""

    def __init__(self, runner: AsyncRunner, fetch: Fetch, concurrency: int,
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
        ``row`` was not offered or no loop runs: the caller then fetches it directly."""
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
        except concurrent.futures.CancelledError:  # the loop stopped before the answer came
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
