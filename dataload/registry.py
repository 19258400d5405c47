"""Find destinations by name: entry points of the group ``dataload.destinations``.

Our own destinations are declared in the same group (see ``pyproject.toml``), so dataload never
imports ``destinations`` at module level and a third-party package adds one with no change here.
Entry points are read on the first lookup, not at import.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Union

from dataload.exceptions import InvalidConfig
from dataload.protocol import Destination

DestinationArg = Union[str, Destination]
_BUILT_IN = {
    "duckdb": "destinations._duckdb:DuckDB",
    "postgres": "destinations._postgres:Postgres",
    "filesystem": "destinations._filesystem:Filesystem",
    "sqlalchemy": "destinations._sqlalchemy:SqlAlchemy",
}


def available() -> dict[str, str]:
    """Destination names with the ``module:attribute`` that builds each."""
    found = dict(_BUILT_IN)
    for point in entry_points(group="dataload.destinations"):
        found[point.name] = point.value
    return found


def resolve_destination(value: DestinationArg, **options: Any) -> Destination:
    """A destination object from a name or an object (objects are returned as they are).

    >>> resolve_destination("duckdb").name
    'duckdb'
    """
    if not isinstance(value, str):
        if not isinstance(value, Destination):
            raise InvalidConfig(f"{value!r} is not a destination: it needs name, capabilities and client()")
        return value
    known = available()
    if value not in known:
        raise InvalidConfig(f"unknown destination {value!r}; available: {', '.join(sorted(known))}")
    module_name, _, attribute = known[value].partition(":")
    import importlib

    factory = getattr(importlib.import_module(module_name), attribute)
    return factory(**options)  # type: ignore[no-any-return]
