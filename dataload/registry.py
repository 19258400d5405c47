"""Find destinations by name: the built-ins below, plus entry points of the group ``dataload.destinations``.

The built-ins are ``module:attribute`` strings, imported only when looked up, so dataload never
imports ``destinations`` at module level (and they work without an installed distribution); a
third-party package adds a destination through the entry-point group with no change here, and one
with a built-in's name takes its place. Entry points are read at each lookup by name, never at import.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Union

from dataload.exceptions import InvalidConfig
from dataload.protocol import Destination, missing_members

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
            raise InvalidConfig(f"{value!r} is not a destination: it lacks {', '.join(missing_members(value))} "
                                "(see the Destination protocol in dataload.protocol)")
        return value
    known = available()
    if value not in known:
        raise InvalidConfig(f"unknown destination {value!r}; available: {', '.join(sorted(known))}")
    module_name, _, attribute = known[value].partition(":")
    import importlib

    factory = getattr(importlib.import_module(module_name), attribute)
    return factory(**options)  # type: ignore[no-any-return]
