"""Turn whatever a user passes to ``pipe.run()`` into a :class:`Source`."""

from __future__ import annotations

from typing import Any

from dataload.exceptions import InvalidConfig
from dataload.resource import Resource
from dataload.source import Source

_RESOURCE_HINTS = ("table_name", "write_disposition", "primary_key", "merge_key", "columns", "schema_contract")


def as_source(data: Any, *, default_name: str, **hints: Any) -> Source:
    """Wrap ``data`` (source, resource, list, iterable, Arrow table, data frame) into a source.

    >>> as_source([{"a": 1}], default_name="p", table_name="t").resources["t"].table_name
    't'
    """
    unknown = set(hints) - set(_RESOURCE_HINTS)
    if unknown:
        raise InvalidConfig(f"run() got unknown argument(s) {sorted(unknown)}; it accepts {', '.join(_RESOURCE_HINTS)}")
    given = {k: v for k, v in hints.items() if v is not None}
    if isinstance(data, Source):
        return _with_hints_on_source(data, given)
    if isinstance(data, Resource):
        resource = data if data._bound or data.data_from is not None else data()
        return Source(default_name, [resource.apply_hints(**given) if given else resource])
    name = given.get("table_name") or getattr(data, "__name__", None)
    if not isinstance(name, str):
        raise InvalidConfig("run() needs table_name=... to know where plain data (a list, an iterable, "
                            "an Arrow table) goes")
    return Source(default_name, [Resource(data, name=name).apply_hints(**given)])


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
