"""Async resources: what an ``async def`` function returns becomes ordinary pages.

An async generator runs on an event loop of its own, in the thread that extracts it: pages are
fetched one ``await`` at a time, and tasks the generator starts (``asyncio.gather`` of several
requests, say) run concurrently while a page is awaited. Async resources marked
``parallelized=True`` each get a thread, so several of them run at once. A coroutine (an
``async def`` that returns instead of yielding) is awaited and its result used like a return value.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Coroutine, Iterator
from typing import Any


def await_result(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """The result of ``coroutine``, run on a private event loop."""
    return asyncio.run(coroutine)


def iterate_async(items: AsyncIterable[Any]) -> Iterator[Any]:
    """The items of an async iterable, on a private event loop.

    The async generator is finalized and the loop closed when the iterator is exhausted or
    closed early (``add_limit``, an error elsewhere).

    >>> async def pages():
    ...     for n in range(3):
    ...         await asyncio.sleep(0)
    ...         yield [{"n": n}]
    >>> list(iterate_async(pages()))
    [[{'n': 0}], [{'n': 1}], [{'n': 2}]]
    """
    loop = asyncio.new_event_loop()  # asyncio.Runner would do this on Python 3.11+
    iterator = aiter(items)
    try:
        while True:
            try:
                yield loop.run_until_complete(anext(iterator))
            except StopAsyncIteration:
                return
    finally:
        try:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                loop.run_until_complete(close())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
