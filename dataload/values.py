"""Python values on their way from extract to normalize: how deep nested data goes, nested data already
serialized as JSON, the plain data a well-known object stands for, and the stand-in for an object with no
table form."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Final

MAX_NESTING_DEPTH = 32
"""Nesting (dicts and lists) below this depth is unnested; deeper data lands as one JSON column."""


def nested_deeper(value: Any, levels: int, *, list_items: int | None = None) -> bool:
    """True when dicts and lists in ``value`` go more than ``levels`` deep (``value`` itself, if a
    container, is level 0; no recursion). Every item is looked at, or only the first ``list_items``
    of each list: a cheaper guess for records whose lists are alike.

    >>> nested_deeper({"a": [{"b": 1}]}, 2), nested_deeper({"a": [{"b": 1}]}, 3), nested_deeper(1, 0)
    (True, False, False)
    >>> nested_deeper([1] * 8 + [[1]], 1, list_items=8), nested_deeper([1] * 8 + [[1]], 1)
    (False, True)
    """
    level = [value] if isinstance(value, (dict, list)) else []
    for _ in range(levels):
        level = [child for item in level
                 for child in (item.values() if isinstance(item, dict) else item[:list_items])
                 if isinstance(child, (dict, list))]
        if not level:
            return False
    return bool(level)


class JsonText(str):
    """Nested data already serialized to JSON (too deep to keep as Python objects)."""


class NoTableForm:
    """Stands for an object extract could not keep (it has no table form), so normalize can name it.

    >>> NoTableForm("Opaque") == NoTableForm("Opaque")
    True
    """

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoTableForm) and other.type_name == self.type_name

    def __hash__(self) -> int:
        return hash(self.type_name)

    def __repr__(self) -> str:
        return f"NoTableForm({self.type_name!r})"


NO_FORM: Final = NoTableForm("")
"""What :func:`table_form` returns for an object with no table form."""


def table_form(value: Any) -> Any:
    """The plain data a well-known object stands for: an enum's value, a dataclass or pydantic model
    as a dict, a numpy scalar as the Python one; :data:`NO_FORM` for any other object.

    >>> table_form(enum.Enum("Color", "RED").RED), table_form(object()) is NO_FORM
    (1, True)
    """
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return NO_FORM


def is_missing(value: Any) -> bool:
    """True for pandas' missing timestamp or timedelta (``NaT``), which stands for None."""
    return type(value).__name__ == "NaTType"


def type_name(value: Any) -> str:
    """The name of ``value``'s type (for a :class:`NoTableForm`, that of the object it stands for)."""
    return value.type_name if isinstance(value, NoTableForm) else type(value).__name__
