"""Resources marked ``parallelized=True`` produce their pages in threads of their own.

Each resource's generator runs in a worker thread (I/O such as HTTP requests or database reads
overlaps); pages come back through a bounded queue and are written by the calling thread, so
buffers and files need no locks and memory stays bounded. A resource that raises stops the
extraction with its error; the other threads are told to stop.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from dataload._resource import Resource

MAX_PENDING_PAGES = 16
_DONE = object()


def produce_concurrently(resources: list[Resource], pages_of: Callable[[Resource], Iterable[Any]],
                         max_pending: int = MAX_PENDING_PAGES) -> Iterator[tuple[Resource, Any]]:
    """Yield ``(resource, page)`` as threads iterate ``pages_of(resource)`` for each resource."""
    pages: queue.Queue[tuple[Resource, Any]] = queue.Queue(maxsize=max_pending)
    stop = threading.Event()

    def produce(resource: Resource) -> None:
        try:
            for page in pages_of(resource):
                while not stop.is_set():
                    try:
                        pages.put((resource, page), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            pages.put((resource, _DONE))
        except BaseException as error:  # handed to the consumer, which raises it
            pages.put((resource, error))

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(produce, r), name=f"dataload-{r.name}",
                                daemon=True) for r in resources]  # the caller's context: its config snapshot
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            resource, page = pages.get()
            if page is _DONE:
                running -= 1
            elif isinstance(page, BaseException):
                raise page
            else:
                yield resource, page
    finally:
        stop.set()
        while any(t.is_alive() for t in threads):  # let blocked producers see the stop
            try:
                pages.get(timeout=0.05)
            except queue.Empty:
                pass
