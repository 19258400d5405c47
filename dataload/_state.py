"""Pipeline state: a JSON document that persists between runs (incremental cursors live here).

Shape::

    {"_state_version": 3, "_state_hash": "...", "sources": {"<source>": {..., "resources": {"<res>": {...}}}}}

During extraction :func:`state` and :func:`resource_state` give the part of the document that
belongs to the source and resource being extracted. The document is stored in each load package
and committed to ``_dl_pipeline_state`` in the same transaction as the data it describes.
"""

from __future__ import annotations

import contextvars
import datetime
import decimal
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dataload.exceptions import PipelineError


@dataclass
class _ExtractContext:
    document: dict[str, Any]
    source: str
    resource: str | None = None
    counts: dict[str, dict[str, int]] | None = None  # per resource, per event: see count()


_COUNTS_LOCK = threading.Lock()  # parallelized resources count from threads of their own


_CURRENT: contextvars.ContextVar[_ExtractContext | None] = contextvars.ContextVar("dataload_state", default=None)


def new_state() -> dict[str, Any]:
    """An empty state document."""
    return {"_state_version": 0, "_state_hash": "", "sources": {}}


def state() -> dict[str, Any]:
    """The persistent state dict of the source being extracted (call it inside a source/resource).

    >>> import dataload
    >>> @dataload.resource
    ... def numbers():
    ...     seen = dataload.state().setdefault("runs", 0)
    ...     yield {"run": seen}
    """
    context = _require()
    return context.document.setdefault("sources", {}).setdefault(context.source, {})  # type: ignore[no-any-return]


def resource_state() -> dict[str, Any]:
    """The persistent state dict of the resource being extracted (call it inside a resource)."""
    context = _require()
    if context.resource is None:
        raise PipelineError("resource_state() is only available while a resource is being extracted")
    return state().setdefault("resources", {}).setdefault(context.resource, {})  # type: ignore[no-any-return]


def count(event: str, n: int = 1) -> None:
    """Count ``n`` occurrences of ``event`` (``"http_retries"``, ``"skipped_rows"``, ...) for the
    resource being extracted; the totals are in the run's trace (``pipe.last_trace``).

    Outside an extraction (a client used on its own) it does nothing, so library code can call it
    unconditionally.

    >>> import dataload
    >>> @dataload.resource
    ... def rows():
    ...     dataload.count("pages")
    ...     yield {"n": 1}
    >>> dataload.count("pages")  # not extracting: ignored
    """
    context = _CURRENT.get()
    if context is None or context.counts is None:
        return
    with _COUNTS_LOCK:
        events = context.counts.setdefault(context.resource or context.source, {})
        events[event] = events.get(event, 0) + n


def _require() -> _ExtractContext:
    context = _CURRENT.get()
    if context is None:
        raise PipelineError("state() and resource_state() can only be used while a pipeline extracts data")
    return context


@contextmanager
def extracting(document: dict[str, Any], source: str, resource: str | None = None,
               counts: dict[str, dict[str, int]] | None = None) -> Iterator[None]:
    """Make ``document`` the state that :func:`state` / :func:`resource_state` return, and
    ``counts`` where :func:`count` adds up events."""
    token = _CURRENT.set(_ExtractContext(document, source, resource, counts))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def content_hash(document: dict[str, Any]) -> str:
    """Hash of the document without its version fields."""
    body = {k: v for k, v in document.items() if not k.startswith("_state_")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:24]


def bump_version(document: dict[str, Any]) -> bool:
    """Increase the version when the content changed; True when it did."""
    current = content_hash(document)
    if current == document.get("_state_hash"):
        return False
    document["_state_version"] = int(document.get("_state_version", 0)) + 1
    document["_state_hash"] = current
    return True


_TAG = "__dl_type"


def encode(document: Any) -> Any:
    """The state as JSON-safe data; datetimes, dates, times and decimals are tagged to come back typed.

    >>> encode({"at": datetime.date(2024, 1, 2)})
    {'at': {'__dl_type': 'date', 'value': '2024-01-02'}}
    """
    if isinstance(document, dict):
        return {k: encode(v) for k, v in document.items()}
    if isinstance(document, (list, tuple)):
        return [encode(v) for v in document]
    for kind, cls in _TYPED:
        if isinstance(document, cls):
            value = str(document) if isinstance(document, decimal.Decimal) else document.isoformat()
            return {_TAG: kind, "value": value}
    return document


def decode(document: Any) -> Any:
    """Reverse :func:`encode`."""
    if isinstance(document, dict):
        if _TAG in document and len(document) == 2:
            return _PARSERS[document[_TAG]](document["value"])
        return {k: decode(v) for k, v in document.items()}
    if isinstance(document, list):
        return [decode(v) for v in document]
    return document


_TYPED: tuple[tuple[str, type[datetime.date | datetime.time | decimal.Decimal]], ...] = (
    ("datetime", datetime.datetime), ("date", datetime.date), ("time", datetime.time), ("decimal", decimal.Decimal))
_PARSERS = {"datetime": datetime.datetime.fromisoformat, "date": datetime.date.fromisoformat,
            "time": datetime.time.fromisoformat, "decimal": decimal.Decimal}
