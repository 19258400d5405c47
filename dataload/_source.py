"""Source: an ordered, selectable set of resources that share one schema and one state section."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dataload._resource import Resource
from dataload.exceptions import InvalidConfig
from dataload.hints import parse_contract


class Source:
    """Resources returned by a ``@dataload.source`` function.

    >>> s = Source("shop", [Resource([{"a": 1}], name="orders"), Resource([], name="users")])
    >>> list(s.with_resources("orders").selected_resources)
    ['orders']
    """

    def __init__(
        self,
        name: str,
        resources: list[Resource],
        *,
        max_table_nesting: int | None = None,
        schema_contract: Any = None,
    ) -> None:
        self.name = name
        self.resources: dict[str, Resource] = {}
        self.max_table_nesting = max_table_nesting
        self.schema_contract = parse_contract(schema_contract)
        for resource in resources:
            if resource.name in self.resources:
                raise InvalidConfig(f"source {name!r} has two resources named {resource.name!r}; use with_name()")
            self.resources[resource.name] = resource

    @property
    def selected_resources(self) -> dict[str, Resource]:
        """The resources that will be extracted, by name."""
        return {n: r for n, r in self.resources.items() if r.selected}

    def with_resources(self, *names: str) -> Source:
        """Select only the named resources (the others stay in the source, unselected)."""
        unknown = [n for n in names if n not in self.resources]
        if unknown:
            raise InvalidConfig(f"source {self.name!r} has no resource {unknown[0]!r}; it has {list(self.resources)}")
        for name, resource in self.resources.items():
            resource.selected = name in names
        return self

    def __getattr__(self, name: str) -> Resource:
        resources = self.__dict__.get("resources", {})
        if name in resources:
            return resources[name]  # type: ignore[no-any-return]
        raise AttributeError(f"source {self.__dict__.get('name')!r} has no resource {name!r}")

    def __iter__(self) -> Iterator[Any]:
        """Items of every selected resource, one resource after the other."""
        for resource in self.selected_resources.values():
            yield from resource

    def __repr__(self) -> str:
        return f"<Source {self.name!r} resources={list(self.resources)}>"
