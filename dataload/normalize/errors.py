"""Any error raised while normalizing a package's content becomes a :class:`NormalizeError`.

Whatever a value does to the code that converts it (a lone surrogate in a string, a type with no
column form, a schema type nobody knows), the error names the table, the column where known, the
extracted file and the value, shortened, so the pipeline can set the package aside as failed.
Errors that are not about the content pass unchanged: running out of memory, the file system
(``OSError``), and everything that is not an ``Exception`` (``KeyboardInterrupt``, ``SystemExit``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dataload.exceptions import DataloadError, NormalizeError

NOT_ABOUT_CONTENT: tuple[type[BaseException], ...] = (DataloadError, MemoryError, OSError)
"""Exceptions that pass through :func:`content_errors` unchanged (a ``DataloadError`` already says where)."""

MAX_VALUE_CHARS = 40
MAX_MESSAGE_CHARS = 300


@contextmanager
def content_errors(table: str, column: str | None = None, file: str | None = None, *,
                   find_value: Callable[[], object] | None = None) -> Iterator[None]:
    """Turn an error about content raised in the block into a :class:`NormalizeError` naming the place.

    ``find_value`` (called only after an error) returns the offending value, or None if it cannot tell.

    >>> with content_errors("users", "name"):
    ...     "a\\ud800".encode()
    Traceback (most recent call last):
    dataload.exceptions.NormalizeError: table 'users', column 'name': cannot normalize the value 'a\\ud800' ...
    """
    try:
        yield
    except NOT_ABOUT_CONTENT:
        raise
    except Exception as error:
        value = _value_of(error)
        if value is None and find_value is not None:
            value = _found(find_value)
        raise NormalizeError(describe(error, table, column, file, value), table=table, column=column) from error


def describe(error: Exception, table: str, column: str | None, file: str | None, value: object = None) -> str:
    """``table 't', column 'c': cannot normalize the value '…' (UnicodeEncodeError: …)``, shortened."""
    where = f"table {table!r}" + (f", column {column!r}" if column else "") + (f" (file {file})" if file else "")
    what = f"the value {shorten(value)}" if value is not None else "a value"
    return f"{where}: cannot normalize {what} ({type(error).__name__}: {_clip(str(error), MAX_MESSAGE_CHARS)})"


def shorten(value: object) -> str:
    """``repr(value)``, cut to :data:`MAX_VALUE_CHARS` characters (values may be long or private).

    >>> shorten("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…"
    """
    return _clip(repr(value), MAX_VALUE_CHARS)


def _value_of(error: Exception) -> object | None:
    """The offending value where the error carries it: around the bad character of a ``UnicodeError``."""
    value = getattr(error, "object", None)
    if not isinstance(error, UnicodeError) or not isinstance(value, (str, bytes)):
        return None
    start = max(0, getattr(error, "start", 0) - MAX_VALUE_CHARS // 2)
    return value[start:start + MAX_VALUE_CHARS]


def _found(find_value: Callable[[], object]) -> object:
    try:
        return find_value()
    except Exception:  # looking for the value must not hide the error being reported
        return None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
