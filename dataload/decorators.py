"""The decorators users write pipelines with: ``@source``, ``@resource`` and ``@transformer``.

They validate their arguments when the function is decorated, so a typo fails at import time
with a message naming the resource, not in the middle of a run.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, overload

from dataload._resource import Resource
from dataload._source import Source
from dataload.exceptions import InvalidConfig
from dataload.hints import ColumnsArg, ContractArg, KeyArg, TableHints, TableNameArg, WriteDispositionArg

P = ParamSpec("P")
SourceFunction = Callable[P, Resource | Iterable[Resource]]
"""What ``@source`` decorates: a function returning a resource or an iterable of resources."""


@overload
def resource(
    data: None = None,
    *,
    name: str | None = None,
    table_name: TableNameArg = None,
    write_disposition: WriteDispositionArg = "append",
    primary_key: KeyArg = None,
    merge_key: KeyArg = None,
    columns: ColumnsArg = None,
    schema_contract: ContractArg = None,
    max_table_nesting: int | None = None,
    parallelized: bool = False,
    selected: bool = True,
) -> Callable[[Any], Resource]: ...
@overload
def resource(
    data: Any,
    *,
    name: str | None = None,
    table_name: TableNameArg = None,
    write_disposition: WriteDispositionArg = "append",
    primary_key: KeyArg = None,
    merge_key: KeyArg = None,
    columns: ColumnsArg = None,
    schema_contract: ContractArg = None,
    max_table_nesting: int | None = None,
    parallelized: bool = False,
    selected: bool = True,
) -> Resource: ...


def resource(
    data: Any = None,
    *,
    name: str | None = None,
    table_name: TableNameArg = None,
    write_disposition: WriteDispositionArg = "append",
    primary_key: KeyArg = None,
    merge_key: KeyArg = None,
    columns: ColumnsArg = None,
    schema_contract: ContractArg = None,
    max_table_nesting: int | None = None,
    parallelized: bool = False,
    selected: bool = True,
) -> Resource | Callable[[Any], Resource]:
    """Make a resource from a generator function (as a decorator) or from data (a list, iterable).

    >>> @resource(primary_key="id", write_disposition="merge")
    ... def users():
    ...     yield [{"id": 1, "name": "Ann"}]
    >>> list(users())
    [{'id': 1, 'name': 'Ann'}]
    """
    hints = TableHints.build(table_name=table_name, write_disposition=write_disposition,
                             primary_key=primary_key, merge_key=merge_key, columns=columns,
                             schema_contract=schema_contract, max_table_nesting=max_table_nesting)

    def make(target: Any) -> Resource:
        resource_name = name or _name_of(target, table_name)
        hints.require_merge_key(resource_name)
        made = Resource(target, name=resource_name, hints=hints, selected=selected, parallelized=parallelized)
        if callable(target):
            functools.update_wrapper(made, target, updated=())
        return made

    return make if data is None else make(data)


@overload
def transformer(
    func: None = None,
    *,
    data_from: Resource | None = None,
    name: str | None = None,
    table_name: TableNameArg = None,
    write_disposition: WriteDispositionArg = "append",
    primary_key: KeyArg = None,
    merge_key: KeyArg = None,
    columns: ColumnsArg = None,
    schema_contract: ContractArg = None,
    max_table_nesting: int | None = None,
    parallelized: bool = False,
    selected: bool = True,
) -> Callable[[Callable[..., Any]], Resource]: ...
@overload
def transformer(
    func: Callable[..., Any],
    *,
    data_from: Resource | None = None,
    name: str | None = None,
    table_name: TableNameArg = None,
    write_disposition: WriteDispositionArg = "append",
    primary_key: KeyArg = None,
    merge_key: KeyArg = None,
    columns: ColumnsArg = None,
    schema_contract: ContractArg = None,
    max_table_nesting: int | None = None,
    parallelized: bool = False,
    selected: bool = True,
) -> Resource: ...


def transformer(
    func: Callable[..., Any] | None = None,
    *,
    data_from: Resource | None = None,
    name: str | None = None,
    table_name: TableNameArg = None,
    write_disposition: WriteDispositionArg = "append",
    primary_key: KeyArg = None,
    merge_key: KeyArg = None,
    columns: ColumnsArg = None,
    schema_contract: ContractArg = None,
    max_table_nesting: int | None = None,
    parallelized: bool = False,
    selected: bool = True,
) -> Resource | Callable[[Callable[..., Any]], Resource]:
    """Make a resource that receives every item of ``data_from`` and yields new items.

    ``parallelized=True``: as for :func:`resource`, the transformer runs in a thread of its own when
    it is extracted as a root (its ``data_from`` resource is not in the same run); fed by a parent
    in the same run, it runs in the thread that extracts the parent.

    >>> @resource
    ... def issues():
    ...     yield [{"id": 1}, {"id": 2}]
    >>> @transformer(data_from=issues)
    ... def comments(issue):
    ...     yield {"issue_id": issue["id"], "text": "hi"}
    >>> [c["issue_id"] for c in comments]
    [1, 2]
    """
    hints = TableHints.build(table_name=table_name, write_disposition=write_disposition,
                             primary_key=primary_key, merge_key=merge_key, columns=columns,
                             schema_contract=schema_contract, max_table_nesting=max_table_nesting)

    def make(target: Callable[..., Any]) -> Resource:
        resource_name = name or target.__name__
        hints.require_merge_key(resource_name)
        positional = [p for p in inspect.signature(target).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
        if not positional:
            raise InvalidConfig(f"transformer {resource_name!r} must take the parent item as its first parameter")
        if data_from is not None and not isinstance(data_from, Resource):
            raise InvalidConfig(f"transformer {resource_name!r}: data_from must be a resource, not {data_from!r}")
        made = Resource(target, name=resource_name, hints=hints, selected=selected, data_from=data_from,
                        parallelized=parallelized, takes_parent=True)
        functools.update_wrapper(made, target, updated=())
        return made

    return make if func is None else make(func)


@overload
def source(func: SourceFunction[P], *, name: str | None = None, max_table_nesting: int | None = None,
           schema_contract: ContractArg = None) -> Callable[P, Source]: ...
@overload
def source(func: None = None, *, name: str | None = None, max_table_nesting: int | None = None,
           schema_contract: ContractArg = None) -> Callable[[SourceFunction[P]], Callable[P, Source]]: ...


def source(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    max_table_nesting: int | None = None,
    schema_contract: ContractArg = None,
) -> Callable[..., Source] | Callable[[Callable[..., Any]], Callable[..., Source]]:
    """Make a source: a function returning resources; calling it gives a :class:`Source`.

    Arguments marked ``dataload.config.value`` / ``dataload.secrets.value`` are filled from
    ``SOURCES__<NAME>__<ARG>`` environment variables or the ``.dataload`` TOML files.

    >>> @source
    ... def shop():
    ...     return resource([{"id": 1}], name="orders")
    >>> list(shop().resources)
    ['orders']
    """
    TableHints.build(schema_contract=schema_contract, max_table_nesting=max_table_nesting)

    def make(target: Callable[..., Any]) -> Callable[..., Source]:
        source_name = name or target.__name__

        @functools.wraps(target)
        def build(*args: Any, **kwargs: Any) -> Source:
            from dataload.configuration import resolve_arguments

            bound = resolve_arguments(target, args, kwargs, sections=("sources", source_name))
            returned = target(*bound.args, **bound.kwargs)
            return Source(source_name, _resources_of(source_name, returned),
                          max_table_nesting=max_table_nesting, schema_contract=schema_contract)

        return build

    return make if func is None else make(func)


def _resources_of(source_name: str, returned: Any) -> list[Resource]:
    if isinstance(returned, Resource):
        return [returned]
    if isinstance(returned, Iterable) and not isinstance(returned, (str, bytes, dict)):
        items = list(returned)
        bad = [i for i in items if not isinstance(i, Resource)]
        if not bad:
            # every source gets its own copies: selecting or hinting them never leaks into the next call
            return [r._within(("sources", source_name)) for r in items]
    raise InvalidConfig(f"source {source_name!r} must return resources (or a list of them), "
                        f"got {type(returned).__name__}")


def _name_of(target: Any, table_name: TableNameArg) -> str:
    if isinstance(table_name, str):
        return table_name
    return str(getattr(target, "__name__", None) or "data")
