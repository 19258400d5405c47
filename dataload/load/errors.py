"""The one boundary where an error from a destination call becomes transient or terminal.

Every call into a destination (a client's load, a read of the stored schema or state, a function
sink's function) goes through :func:`destination_call`. A :class:`DataloadError` passes unchanged:
the destination already said what it means (``TransientLoadError``, ``TerminalLoadError``,
``InvalidConfig`` for bad credentials). Anything else is classified by :func:`classify`:

* transient, worth a retry: ``OSError`` (so ``ConnectionError`` and ``TimeoutError``);
* terminal, retrying will not help: everything else — a plain bug (``KeyError``, ``TypeError``)
  is reported once and its package is set aside in ``failed/``, not retried.

Destinations classify their drivers' errors themselves (``destinations/errors.py``), so a driver
error that reaches this boundary unclassified is treated as terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from dataload.configuration import redact_url
from dataload.exceptions import DataloadError, TerminalLoadError, TransientLoadError

T = TypeVar("T")

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OSError,)
"""Errors that are not a :class:`DataloadError` but are worth retrying (``ConnectionError`` and
``TimeoutError`` are ``OSError`` subclasses)."""


def classify(error: Exception, what: str, *, table: str | None = None) -> DataloadError:
    """``error`` as the load stage treats it; ``what`` names the call (destination, table, package).

    >>> type(classify(ConnectionError("reset"), "destination 'api'")).__name__
    'TransientLoadError'
    >>> type(classify(KeyError("id"), "destination 'api'")).__name__
    'TerminalLoadError'
    """
    if isinstance(error, DataloadError):
        return error
    text = redact_url(f"{what}: {type(error).__name__}: {error}")
    if isinstance(error, TRANSIENT_ERRORS):
        return TransientLoadError(text)
    return TerminalLoadError(text, table=table)


def destination_call(work: Callable[[], T], what: str, *, table: str | None = None) -> T:
    """Run ``work`` (a call into a destination); any error it raises comes out classified (see :func:`classify`)."""
    try:
        return work()
    except DataloadError:
        raise
    except Exception as exc:
        raise classify(exc, what, table=table) from exc
