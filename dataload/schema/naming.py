"""Identifier normalization: the snake_case naming convention.

Rules, in order:

* lowercase;
* every run of characters that are not letters, digits or ``_`` becomes one ``_``;
* a name that starts with a digit gets a ``_`` prefix;
* an empty name becomes ``_empty``;
* nesting levels are joined with ``__`` (``address.geo.lat`` -> ``address__geo__lat``);
* a name longer than the destination's limit (counted in UTF-8 bytes) keeps a prefix and gets an
  ``_`` plus an 8-character hash of the whole name, so shortening is deterministic and two long
  names with the same prefix stay distinct.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

NESTING_SEPARATOR = "__"
_NOT_WORD = re.compile(r"[^\w]+")
_HASH_LENGTH = 8


@lru_cache(maxsize=65536)
def normalize_identifier(name: str) -> str:
    """Turn any key into a snake_case identifier.

    >>> normalize_identifier("Signed Up!")
    'signed_up_'
    >>> normalize_identifier("2fa")
    '_2fa'
    """
    normalized = _NOT_WORD.sub("_", str(name).lower())
    if not normalized:
        return "_empty"
    if normalized[0].isdigit():
        normalized = "_" + normalized
    return normalized


def join_path(*parts: str) -> str:
    """Join already normalized identifiers into one nested name.

    >>> join_path("address", "geo", "lat")
    'address__geo__lat'
    """
    return NESTING_SEPARATOR.join(part for part in parts if part)


def shorten(name: str, max_length: int | None) -> str:
    """Shorten ``name`` to at most ``max_length`` UTF-8 bytes, deterministically.

    >>> shorten("a" * 70, 63)[-9:] == "_" + hashlib.sha256(("a" * 70).encode()).hexdigest()[:8]
    True
    """
    if max_length is None or len(name.encode("utf-8")) <= max_length:
        return name
    suffix = "_" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH_LENGTH]
    budget = max_length - len(suffix)
    prefix = name.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return prefix + suffix


def table_name(name: str, max_length: int | None = None) -> str:
    """Normalize a user-given table name (dots and slashes are not nesting).

    >>> table_name("Users/Active")
    'users_active'
    """
    return shorten(normalize_identifier(name), max_length)


VARIANT_MARK = "__v_"


def variant_name(column: str, data_type: str, max_length: int | None = None) -> str:
    """The variant column that holds ``data_type`` values arriving in ``column``.

    >>> variant_name("price", "text")
    'price__v_text'
    """
    return shorten(f"{column}{VARIANT_MARK}{data_type}", max_length)
