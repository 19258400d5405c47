"""Resource: a named, iterable producer of items plus the hints for the table(s) it fills."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from dataload._incremental import Incremental
from dataload.configuration.markers import _Marker
from dataload.exceptions import InvalidConfig, ResourceError
from dataload.hints import TableHints
from dataload.partition import Partition, PartitionPlan

if TYPE_CHECKING:
    from dataload.configuration.resolve import ArgumentResolver

Step = tuple[str, Any]


class TableItem:
    """An item marked for a table other than the resource's own (see :func:`with_table_name`)."""

    __slots__ = ("item", "table_name")

    def __init__(self, item: Any, table_name: str) -> None:
        self.item = item
        self.table_name = table_name


def with_table_name(item: Any, table_name: str) -> TableItem:
    """Mark one yielded item (a dict, a page or an Arrow table) for table ``table_name``.

    >>> with_table_name({"id": 1}, "archived").table_name
    'archived'
    """
    return TableItem(item, table_name)


class Resource:
    """A named source of items with table hints; iterate it to get its items.

    >>> r = Resource([{"a": 1}, {"a": 2}], name="numbers")
    >>> [row["a"] for row in r.add_map(lambda row: {"a": row["a"] * 10})]
    [10, 20]
    """

    def __init__(
        self,
        data: Any,
        *,
        name: str,
        hints: TableHints | None = None,
        selected: bool = True,
        data_from: Resource | None = None,
        section: tuple[str, ...] = ("sources",),
        parallelized: bool = False,
        takes_parent: bool = False,
    ) -> None:
        self.name = name
        self.takes_parent = takes_parent  # a transformer: called with each item of ``data_from``
        self.hints = hints or TableHints()
        self.selected = selected
        self.data_from = data_from
        self.section = section
        self.parallelized = parallelized
        self._data = data
        self._bound = not callable(data) or isinstance(data, Resource)
        self._steps: list[Step] = []
        self._unbound_call: _Call | None = None
        self._plan: PartitionPlan | None = None

    # -- building -------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Resource:
        """Bind arguments to the resource function (config/secrets fill the ones not given)."""
        if self._bound:
            raise InvalidConfig(f"resource {self.name!r} is already bound to its data; it cannot be called")
        func = self._data
        clone = self._copy()
        clone._data = _Call(func, args, kwargs, (*self.section, self.name))
        clone._bound = True
        return clone

    def _copy(self) -> Resource:
        clone = Resource.__new__(Resource)
        clone.__dict__.update(self.__dict__)
        clone._steps = list(self._steps)
        return clone

    def _within(self, section: tuple[str, ...]) -> Resource:
        """A copy of this resource as a member of a source: config is resolved under ``section``
        (``("sources", <source>)``) plus its name, and a resource function not yet called is bound."""
        clone = self._copy()
        clone.section = section
        if isinstance(clone._data, _Call):
            call = clone._data
            clone._data = _Call(call.func, call.args, call.kwargs, (*section, clone.name))
        elif not clone._bound and clone.data_from is None:
            clone = clone()
        return clone

    def __or__(self, transformer: Resource) -> Resource:
        """``parent | transformer``: a copy of ``transformer`` fed by this resource's items.

        >>> import dataload
        >>> @dataload.resource
        ... def issues():
        ...     yield [{"id": 1}, {"id": 2}]
        >>> @dataload.transformer
        ... def comments(issue):
        ...     yield {"issue_id": issue["id"]}
        >>> [c["issue_id"] for c in issues | comments]
        [1, 2]
        """
        if not isinstance(transformer, Resource):
            return NotImplemented
        if not transformer.takes_parent:
            raise InvalidConfig(f"cannot pipe resource {self.name!r} into {transformer.name!r}: "
                                f"{transformer.name!r} is not a transformer (make it with @dataload.transformer)")
        if transformer.data_from is not None:
            raise InvalidConfig(f"cannot pipe resource {self.name!r} into {transformer.name!r}: "
                                f"{transformer.name!r} is already fed by {transformer.data_from.name!r}")
        fed = transformer._copy()
        fed.data_from = self
        return fed

    def check_fed(self) -> None:
        """Refuse a transformer that was given no parent (neither ``data_from=`` nor ``parent | it``)."""
        if self.takes_parent and self.data_from is None:
            raise InvalidConfig(f"transformer {self.name!r} has no parent: give it data_from=<resource>, "
                                f"or pipe a resource into it (issues | {self.name})")

    def with_name(self, name: str) -> Resource:
        """A copy under another name (and table name, unless a table name was given)."""
        clone = self._copy()
        clone.name = name
        return clone

    def add_map(self, func: Callable[[Any], Any]) -> Resource:
        """Transform every item with ``func`` (each record of a page; an Arrow table as a whole).

        Like every builder here, it changes this resource in place and returns it.
        """
        self._steps.append(("map", func))
        return self

    def add_filter(self, func: Callable[[Any], bool]) -> Resource:
        """Keep only the items for which ``func`` returns true."""
        self._steps.append(("filter", func))
        return self

    def add_limit(self, max_items: int) -> Resource:
        """Stop the resource after ``max_items`` yields (the generator is closed, not drained).

        On a transformer the limit counts the yields for each parent item.
        """
        if max_items < 0:
            raise InvalidConfig(f"add_limit of resource {self.name!r} needs a number >= 0, not {max_items}")
        self._steps.append(("limit", max_items))
        return self

    def apply_hints(self, **hints: Any) -> Resource:
        """Change table hints in place: table_name, write_disposition, primary_key, merge_key, columns, ...

        >>> Resource([], name="r").apply_hints(primary_key="id").hints.primary_key
        ('id',)
        """
        try:
            self.hints = self.hints.merged(**hints)
        except InvalidConfig as error:
            where = f"resource {self.name!r}"
            raise InvalidConfig(f"{where}: {error}", [f"{where}: {problem}" for problem in error.errors]) from None
        return self

    # -- partitions (see dataload.partition) -------------------------------------------------
    def partition_by(self, plan: PartitionPlan) -> Resource:
        """Declare how this resource splits: ``plan()`` returns the keyword arguments of each partition.

        Only a resource made from a function can be split (the arguments are passed to it).
        """
        if not isinstance(self._data, _Call):
            raise InvalidConfig(f"resource {self.name!r} cannot be partitioned: only a resource made with "
                                "@dataload.resource from a function (and called) takes partition arguments")
        self._plan = plan
        return self

    def partitions(self) -> list[Partition]:
        """The partitions of this resource, in order: those of its plan, else those of the resource
        feeding it (a transformer), else one partition that is the whole resource."""
        if self._plan is not None:
            return [Partition(self.name, index, dict(arguments)) for index, arguments in enumerate(self._plan())]
        if self.data_from is not None and self.data_from.is_partitioned:
            return self.data_from.partitions()
        return [Partition(self.name, 0)]

    @property
    def is_partitioned(self) -> bool:
        """True when this resource, or the resource feeding it, declared a partition plan."""
        return self._plan is not None or (self.data_from is not None and self.data_from.is_partitioned)

    def for_partition(self, partition: Partition) -> Resource:
        """A copy of this resource restricted to ``partition`` (one of :meth:`partitions`)."""
        clone = self._copy()
        if not partition.arguments:
            return clone
        if partition.resource != self.name:
            if self.data_from is None:
                raise InvalidConfig(f"resource {self.name!r} has no partition of resource {partition.resource!r}")
            clone.data_from = self.data_from.for_partition(partition)
            return clone
        call = self._data
        if not isinstance(call, _Call):
            raise InvalidConfig(f"resource {self.name!r} cannot be restricted to partition {partition.label}")
        clone._data = _Call(call.func, call.args, {**call.kwargs, **partition.arguments}, call.section)
        return clone

    @property
    def table_name(self) -> Any:
        """The table this resource fills (a name, or a callable that picks one per item)."""
        return self.hints.table_name or self.name

    # -- evaluating ------------------------------------------------------------------------
    def pages(self, parent_item: Any = None) -> Iterator[Any]:
        """Yield what the resource produces, pages kept whole, with map/filter/limit applied.

        A ``None`` (yielded, or returned by a map) is passed on; empty pages are not.
        """
        try:
            yield from self._apply_steps(self._produce(parent_item))
        except ResourceError:
            raise
        except Exception as exc:  # every failure is wrapped so the resource is named
            raise ResourceError(self.name, f"{type(exc).__name__}: {exc}") from exc

    def _produce(self, parent_item: Any) -> Iterator[Any]:
        data = self._data
        cursors: list[Incremental] = []
        if isinstance(data, Resource):
            produced: Any = data.pages()
        elif isinstance(data, _Call) or callable(data):
            call = data if isinstance(data, _Call) else self._call_without_arguments()
            leading = (parent_item,) if self.data_from is not None else ()
            produced, cursors = call.invoke(leading, self.name, self.hints.primary_key)
        else:
            produced = data
        items = _as_iterator(produced)
        for cursor in cursors:
            items = cursor.apply(items)
        yield from items

    def _call_without_arguments(self) -> _Call:
        """The call of a resource function used without calling it (a transformer named in a source),
        kept across parent items so its signature is read once."""
        section = (*self.section, self.name)
        call = self._unbound_call
        if call is None or call.func is not self._data or call.section != section:
            call = self._unbound_call = _Call(self._data, (), {}, section)
        return call

    def _apply_steps(self, items: Iterator[Any]) -> Iterator[Any]:
        limit = next((n for kind, n in self._steps if kind == "limit"), None)
        count = 0
        try:
            for item in items if limit != 0 else ():
                count += 1
                for kind, func in self._steps:
                    if kind == "limit" or item is None or item is _FILTERED:
                        continue
                    item = _apply_step(kind, func, item)
                if item is not _FILTERED and not (isinstance(item, list) and not item):
                    yield item  # None too: the extraction skips and counts it
                if limit is not None and count >= limit:
                    break
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[Any]:
        """Iterate single items: pages are unpacked, Arrow tables are yielded as they are."""
        self.check_fed()
        if self.data_from is not None:
            for parent in self.data_from:
                yield from _unpack(self.pages(parent))
        else:
            yield from _unpack(self.pages())

    def __repr__(self) -> str:
        return f"<Resource {self.name!r} table={self.table_name!r}>"


class _Call:
    """A resource function with its bound arguments; config is resolved when it is invoked."""

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 section: tuple[str, ...]) -> None:
        self.func, self.args, self.kwargs, self.section = func, args, kwargs, section
        self._resolver: ArgumentResolver | None = None
        self._direct = False

    def invoke(self, leading: tuple[Any, ...], resource: str,
               primary_key: tuple[str, ...]) -> tuple[Any, list[Incremental]]:
        """Call the function; incremental cursors among its arguments are bound to their state.

        A transformer is invoked once per parent item: its signature is read on the first call only,
        and a function with no config, secret or incremental parameter is then called directly.
        """
        if self._resolver is None:
            from dataload.configuration.resolve import ArgumentResolver

            self._resolver = ArgumentResolver(self.func)
            defaults = (p.default for p in self._resolver.signature.parameters.values())
            given = (*self.args, *self.kwargs.values(), *defaults)
            self._direct = not any(isinstance(value, (Incremental, _Marker)) for value in given)
        if self._direct:
            return self.func(*leading, *self.args, **self.kwargs), []
        bound = self._resolver.resolve((*leading, *self.args), self.kwargs, sections=self.section)
        cursors = []
        for name, value in bound.arguments.items():
            if isinstance(value, Incremental):
                bound.arguments[name] = value.bind(resource, primary_key)
                cursors.append(bound.arguments[name])
        return self.func(*bound.args, **bound.kwargs), cursors


def _as_iterator(produced: Any) -> Iterator[Any]:
    if produced is None:
        return iter(())
    if inspect.iscoroutine(produced):  # an async def that returns: its result is the data
        from dataload.async_pages import await_result

        return _as_iterator(await_result(produced))
    if isinstance(produced, AsyncIterable):  # an async generator: pages awaited one by one
        from dataload.async_pages import iterate_async

        return iterate_async(produced)
    if isinstance(produced, (dict, TableItem)) or _is_columnar(produced):
        return iter((produced,))
    if isinstance(produced, list):
        return iter((produced,)) if produced and isinstance(produced[0], dict) else iter(produced)
    if isinstance(produced, Iterable) and not isinstance(produced, (str, bytes)):
        return iter(produced)
    return iter(({"value": produced},))


def _is_columnar(item: Any) -> bool:
    module = type(item).__module__
    return module.startswith("pyarrow") or module.startswith("pandas")


def _apply_step(kind: str, func: Callable[[Any], Any], item: Any) -> Any:
    if isinstance(item, list):
        if kind == "map":  # a None item is passed on untouched, to be skipped and counted
            return [None if i is None else func(i) for i in item]
        return [i for i in item if i is None or func(i)]
    if kind == "map":
        return func(item)
    return item if func(item) else _FILTERED


_FILTERED = object()  # an item a filter dropped (not a None the resource yielded)


def _unpack(pages: Iterator[Any]) -> Iterator[Any]:
    """Single items of ``pages``; ``None`` items are skipped, as the extraction skips them."""
    for page in pages:
        if isinstance(page, list):
            yield from (item for item in page if item is not None)
        elif page is not None:
            yield page

