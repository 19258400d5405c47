"""Identifier normalization: the snake_case naming convention.

Rules, in order:

* lowercase;
* ``+`` (anywhere) and ``-`` (leading, before a digit) are spelled ``plus`` and ``minus`` as words
  of their own (``+1`` -> ``plus_1``, ``-1`` -> ``minus_1``, ``c++`` -> ``c_plus_plus``): they
  carry meaning, and GitHub's ``+1`` and ``-1`` reactions must not become one ``_1``;
* every run of characters that are not letters, digits or ``_`` becomes one ``_``;
* a name that starts with a digit gets a ``_`` prefix;
* an empty name becomes ``_empty``;
* nesting levels are joined with ``__`` (``address.geo.lat`` -> ``address__geo__lat``);
* a name longer than the destination's limit (counted in UTF-8 bytes) keeps a prefix and gets an
  ``_`` plus an 8-character hash of the whole name, so shortening is deterministic and two long
  names with the same prefix stay distinct;
* a column name that would start with ``_dl_`` (the prefix of dataload's own columns) gets ``user``
  in front (``_dl_id`` -> ``user_dl_id``).

Two different source keys never share a column: :class:`ColumnNames` gives the first key that
reaches a name the plain name (within one batch: a key already in normal form, else the first in
sorted order), and every later key the plain name plus ``_`` and 8 characters of a
hash of the key's path (:func:`disambiguated_name`). The schema records the path of each column
(``Column.source_key``), so later runs resolve every known key to its recorded column. Child tables
follow the same rules among the lists of one parent (``Table.source_key``, :func:`child_table_path`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from functools import lru_cache

NESTING_SEPARATOR = "__"
_NOT_WORD = re.compile(r"[^\w]+")
_HASH_LENGTH = 8
_SIGNS = re.compile(r"\+|^-(?=\d)")
_SPELLED = {"+": "plus", "-": "minus"}
RESERVED_PREFIX = "_dl_"
"""Column names with this prefix belong to dataload's own columns (``_dl_id``, ``_dl_load_id``, ...)."""
SourceKey = tuple[str, ...]
"""The keys from a record's top level down to a value: ``("reactions", "+1")``."""


@lru_cache(maxsize=65536)
def normalize_identifier(name: str) -> str:
    """Turn any key into a snake_case identifier.

    >>> normalize_identifier("Signed Up!")
    'signed_up_'
    >>> normalize_identifier("2fa")
    '_2fa'
    """
    normalized = _NOT_WORD.sub("_", _spell_signs(str(name)).lower())
    if not normalized:
        return "_empty"
    if normalized[0].isdigit():
        normalized = "_" + normalized
    return normalized


def _spell_signs(name: str) -> str:
    """``+`` and a leading ``-`` before a digit as words: ``"+1"`` -> ``"plus 1"``, ``"a+b"`` -> ``"a plus b"``."""
    if "+" not in name and not name.startswith("-"):
        return name
    pieces = _SIGNS.split(name)
    signs = _SIGNS.findall(name)
    words = [pieces[0]]
    for sign, piece in zip(signs, pieces[1:]):
        words += [_SPELLED[sign], piece]
    return " ".join(word for word in words if word)


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


@lru_cache(maxsize=65536)
def path_name(source_key: SourceKey) -> str:
    """The keys of ``source_key`` normalized and joined (a child table's part of the name).

    >>> path_name(("Labels", "+1"))
    'labels__plus_1'
    """
    return join_path(*(normalize_identifier(key) for key in source_key))


@lru_cache(maxsize=65536)
def column_name(source_key: SourceKey, max_length: int | None = None) -> str:
    """The plain column name of a value at ``source_key`` (before any collision is resolved).

    >>> column_name(("reactions", "+1"))
    'reactions__plus_1'
    >>> column_name(("_dl_id",))
    'user_dl_id'
    """
    name = path_name(source_key)
    if name.startswith(RESERVED_PREFIX):
        name = "user" + name
    return shorten(name, max_length)


def disambiguated_name(source_key: SourceKey, max_length: int | None = None) -> str:
    """The column of ``source_key`` when another key already has its plain name: the plain name
    plus ``_`` and 8 characters of a hash of the path, the same in every run and process.

    >>> disambiguated_name(("a_b",))
    'a_b_f202b0fd'
    """
    return shorten(f"{column_name(source_key)}_{_key_hash(source_key)}", max_length)


def _key_hash(source_key: SourceKey) -> str:
    return hashlib.sha256(json.dumps(list(source_key)).encode("utf-8")).hexdigest()[:_HASH_LENGTH]


def child_table_path(parent_path: str, source_key: SourceKey, *, disambiguate: bool = False) -> str:
    """The (unshortened) name of the child table made from the list at ``source_key`` in rows of
    ``parent_path``; with ``disambiguate``, for when another list already has that name.

    >>> child_table_path("issues", ("Labels",)), child_table_path("t", ("A b",), disambiguate=True)
    ('issues__labels', 't__a_b_868c07dc')
    """
    path = join_path(parent_path, path_name(source_key))
    return f"{path}_{_key_hash(source_key)}" if disambiguate else path


class ColumnNames:
    """Resolves the source keys of one table to column names, so two keys never share a column.

    Seeded with the table's columns: ``(name, source_key, free)`` where ``free`` says whether a key
    may still claim a column recorded without a source key (a hinted column, a column of an older
    schema); a variant column is not free. New keys of one batch claim names in a fixed order (keys
    already in normal form first, then sorted), so the names do not depend on the order of keys or
    records within a batch.

    >>> ColumnNames([], None).resolve([("A b",), ("a_b",), ("A b",)])
    ['a_b_868c07dc', 'a_b', 'a_b_868c07dc']
    """

    def __init__(self, columns: Iterable[tuple[str, SourceKey | None, bool]], max_length: int | None) -> None:
        self.max_length = max_length
        self.names: dict[SourceKey, str] = {}
        self.taken: set[str] = set()
        for name, source_key, free in columns:
            if source_key is not None:
                self.names.setdefault(source_key, name)
            if source_key is not None or not free:
                self.taken.add(name)

    def planned(self, source_key: SourceKey) -> str:
        """The recorded column of ``source_key``, else its plain name (claims nothing)."""
        return self.names.get(source_key) or column_name(source_key, self.max_length)

    def resolve(self, source_keys: list[SourceKey]) -> list[str]:
        """The column of each key: recorded, else the plain name if free, else the disambiguated one."""
        for source_key in sorted(set(source_keys) - self.names.keys(), key=claim_order):
            self._claim(source_key)
        return [self.names[source_key] for source_key in source_keys]

    def _claim(self, source_key: SourceKey) -> None:
        name = column_name(source_key, self.max_length)
        if name in self.taken:
            name = disambiguated_name(source_key, self.max_length)
            while name in self.taken:  # only if a user key looks exactly like another key's hashed name
                name = disambiguated_name(source_key + (name,), self.max_length)
        self.taken.add(name)
        self.names[source_key] = name


def claim_order(source_key: SourceKey) -> tuple[bool, SourceKey]:
    """Keys already in normal form (``a_b``) before others (``A b``), then sorted."""
    return path_name(source_key) != NESTING_SEPARATOR.join(source_key), source_key
