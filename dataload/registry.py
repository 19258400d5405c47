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
from dataload.protocol import Capabilities, Destination, ProjectSetup, missing_members

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
    return _factory(value)(**options)  # type: ignore[no-any-return]


def project_setup(name: str) -> ProjectSetup:
    """What ``dataload init`` writes for the destination ``name``: its factory's ``project_setup``
    attribute, else its docstring's first line as the description (nothing is configured).

    >>> project_setup("postgres").extras
    ('postgres',)
    """
    factory = _factory(name)
    declared = getattr(factory, "project_setup", None)
    if isinstance(declared, ProjectSetup):
        return declared
    summary = (factory.__doc__ or "").strip().splitlines()
    return ProjectSetup(summary[0].rstrip(".") if summary else f"the {name} destination")


def declared_capabilities(name: str) -> Capabilities | None:
    """The capabilities the destination ``name`` declares on its factory (a class), None when it declares none.

    >>> declared_capabilities("filesystem").merge_strategies
    ()
    """
    declared = getattr(_factory(name), "capabilities", None)
    return declared if isinstance(declared, Capabilities) else None


def _factory(name: str) -> Any:
    """The class or function that builds the destination ``name`` (its module imported now)."""
    known = available()
    if name not in known:
        raise InvalidConfig(f"unknown destination {name!r}; available: {', '.join(sorted(known))}")
    module_name, _, attribute = known[name].partition(":")
    import importlib

    return getattr(importlib.import_module(module_name), attribute)
