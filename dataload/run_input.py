"""Turn whatever a user passes to ``pipe.run()`` into a :class:`Source`.

The rule for the caller's objects: builder methods (``add_map``, ``add_filter``, ``add_limit``,
``apply_hints``, ``Source.with_resources``) change the resource or source in place and return it,
so ``source.users.add_map(f)`` changes the source; whatever *receives* a resource or source
(``pipe.run``, ``pipe.extract``) works on copies and never changes it, so ``run(res, table_name=...)``
leaves ``res`` as it was.
"""

from __future__ import annotations

from typing import Any

from dataload._resource import Resource
from dataload._source import Source
from dataload.decorators import _name_of
from dataload.exceptions import InvalidConfig

_RESOURCE_HINTS = ("table_name", "write_disposition", "primary_key", "merge_key", "columns", "schema_contract")


def as_source(data: Any, *, default_name: str, **hints: Any) -> Source:
    """Wrap ``data`` (source, resource, list of resources, list, iterable, Arrow table, data frame) into a source
    of copies: the caller's source and resources are not changed by ``hints``.

    >>> as_source([{"a": 1}], default_name="p", table_name="t").resources["t"].table_name
    't'
    """
    unknown = set(hints) - set(_RESOURCE_HINTS)
    if unknown:
        raise InvalidConfig(f"run() got unknown argument(s) {sorted(unknown)}; it accepts {', '.join(_RESOURCE_HINTS)}")
    given = {k: v for k, v in hints.items() if v is not None}
    if isinstance(data, Source):
        copied = Source(data.name, [_ready(r) for r in data.resources.values()],
                        max_table_nesting=data.max_table_nesting, schema_contract=data.schema_contract)
        return _with_hints_on_source(copied, given)
    if isinstance(data, Resource):
        resource = _ready(data)
        return Source(default_name, [resource.apply_hints(**given) if given else resource])
    if isinstance(data, (list, tuple)) and data and all(isinstance(item, Resource) for item in data):
        return _with_hints_on_source(Source(default_name, [_ready(item) for item in data]), given)
    table_name = given.get("table_name")
    if table_name is None and not isinstance(getattr(data, "__name__", None), str):
        raise InvalidConfig("run() needs table_name=... (a name, or a callable that picks one per item) to know "
                            "where plain data (a list, an iterable, an Arrow table) goes")
    name = _name_of(data, table_name)  # as @dataload.resource names it, also for a callable table_name
    return Source(default_name, [Resource(data, name=name).apply_hints(**given)])


def _ready(resource: Resource) -> Resource:
    """A copy of the resource, called if it is a generator function still waiting for its arguments."""
    return resource._copy() if resource._bound or resource.data_from is not None else resource()


def _with_hints_on_source(source: Source, hints: dict[str, Any]) -> Source:
    contract = hints.pop("schema_contract", None)
    if contract is not None:
        for resource in source.resources.values():
            resource.apply_hints(schema_contract=contract)
    if hints:
        selected = list(source.selected_resources.values())
        if len(selected) != 1:
            raise InvalidConfig(f"run() hints {sorted(hints)} apply to one resource, but source {source.name!r} "
                                f"has {len(selected)} selected; use resource.apply_hints() instead")
        selected[0].apply_hints(**hints)
    return source
