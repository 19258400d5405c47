"""``rest_api_source`` / ``rest_api_resources``: dataload resources from a declarative config, one per entry.

A resource whose endpoint has ``{resources.<parent>.<field>}`` placeholders is a transformer of
that parent: one paginated request per parent row, the rows' requests sent concurrently (see
:mod:`sources.rest_api.children`). Everything else is the :class:`~sources.rest_api.RESTClient`'s:
auth, paginators, retries and errors. See docs/rest_api.md for every option.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

import dataload
from dataload.helpers.retry import RetryConfig
from sources.rest_api.children import DEFAULT_CONCURRENCY, ChildRequests, RequestPool
from sources.rest_api.client import ResponseHook, RESTClient
from sources.rest_api.config import endpoint_of, name_of, resource_entries, validate
from sources.rest_api.config_schema import AUTH_TYPES, PAGINATOR_TYPES, RESOURCE_HINTS
from sources.rest_api.limits import ResponseLimits
from sources.rest_api.pages import Page
from sources.rest_api.paginators import BasePaginator
from sources.rest_api.placeholders import field_of, fill, parents_named
from sources.rest_api.response_actions import response_hook


def rest_api_source(config: Mapping[str, Any], name: str | None = None, *, max_table_nesting: int | None = None,
                    schema_contract: Any = None) -> dataload.Source:
    """A source with one resource per entry of ``config["resources"]`` (see :func:`rest_api_resources`).

    >>> source = rest_api_source({"client": {"base_url": "https://api.example.com/v1/"},
    ...                           "resources": ["users", {"name": "orders", "primary_key": "id"}]})
    >>> list(source.resources)
    ['users', 'orders']
    """
    resources = rest_api_resources(config)
    return dataload.source(name=name or "rest_api", max_table_nesting=max_table_nesting,
                           schema_contract=schema_contract)(lambda: resources)()


def rest_api_resources(config: Mapping[str, Any]) -> list[dataload.Resource]:
    """The resources of ``config``, in its order; the config is checked first (before any request).

    A bad config raises :class:`dataload.InvalidConfig` naming the key path at fault.

    >>> [r.name for r in rest_api_resources({"client": {"base_url": "http://h"}, "resources": ["a", "b"]})]
    ['a', 'b']
    """
    validate(config)
    return _Builder(config).build()


@dataclass
class _Endpoint:
    """One endpoint's requests: the templates of its parts and what :meth:`RESTClient.paginate` is given."""

    client: RESTClient
    template: dict[str, Any]
    paginator: BasePaginator | None
    hook: ResponseHook | None
    start_param: str | None
    end_param: str | None

    def arguments(self, parent: tuple[str, Mapping[str, Any]] | None = None, cursor: Any = None) -> dict[str, Any]:
        """``paginate`` keyword arguments for one request: placeholders filled, cursor params added."""
        filled = fill(self.template, parent=parent, cursor=cursor)
        params = dict(filled.get("params") or {})
        for param, value in ((self.start_param, "start_value"), (self.end_param, "end_value")):
            if param and cursor is not None:
                params[param] = getattr(cursor, value)
        params = {name: value for name, value in params.items() if value is not None}  # None: not sent
        return {"path": filled["path"], "method": filled.get("method", "GET"), "params": params,
                "json": filled.get("json"), "headers": filled.get("headers"), "paginator": self.paginator,
                "data_selector": filled.get("data_selector"), "maximum_pages": filled.get("maximum_pages"),
                "maximum_items": filled.get("maximum_items"), "response_hook": self.hook}

    def pages(self, parent: tuple[str, Mapping[str, Any]] | None = None, cursor: Any = None) -> Iterator[Page]:
        return self.client.paginate(**self.arguments(parent, cursor))

    def all_pages(self, parent: tuple[str, Mapping[str, Any]]) -> list[Page]:
        return list(self.pages(parent))


class _Builder:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.client_config = dict(config["client"])
        self.entries = resource_entries(config)
        self.by_name = {name_of(entry): entry for entry in self.entries}
        self.requests = RequestPool()
        self.default_client = self._client(self.client_config.get("auth"), "client.auth")
        self.built: dict[str, dataload.Resource] = {}
        self.offers: dict[str, list[ChildRequests]] = {}

    def build(self) -> list[dataload.Resource]:
        for index in _parents_first(self.entries):
            entry = self.entries[index]
            self.built[name_of(entry)] = entry if isinstance(entry, dataload.Resource) else self._resource(index, entry)
        for parent, children in self.offers.items():
            self.built[parent].add_map(_offer_to(children))  # the last step: rows as the children get them
        return [self.built[name_of(entry)] for entry in self.entries]

    def _client(self, auth: Any, where: str) -> RESTClient:
        config = self.client_config
        retry_options: dict[str, Any] = dict(config.get("retry") or {})
        if "statuses" in retry_options:
            retry_options["statuses"] = tuple(retry_options["statuses"])
        client = RESTClient(config["base_url"], auth=_auth(auth, where), headers=config.get("headers"),
                            paginator=_paginator(config.get("paginator"), "client.paginator"),
                            data_selector=config.get("data_selector"), retry=RetryConfig(**retry_options),
                            timeout=config.get("timeout", 30.0), limits=ResponseLimits(**config.get("limits") or {}))
        return client

    def _resource(self, index: int, entry: dict[str, Any]) -> dataload.Resource:
        where = f"resources[{index}]"
        template = endpoint_of(entry)
        cursor_config = dict(template.pop("incremental", None) or {})
        own_auth = "auth" in template  # per endpoint, it wins over the client's (even None: no auth)
        auth = template.pop("auth", None)
        client = self._client(auth, f"{where}.endpoint.auth") if own_auth else self.default_client
        paginator = _paginator(template.pop("paginator", None), f"{where}.endpoint.paginator")
        endpoint = _Endpoint(client, template, paginator, response_hook(template.pop("response_actions", None) or []),
                             cursor_config.pop("start_param", None), cursor_config.pop("end_param", None))
        cursor = _incremental(cursor_config, f"{where}.endpoint.incremental") if cursor_config else None
        hints = {key: entry[key] for key in RESOURCE_HINTS if key in entry}
        parents = parents_named(template)
        try:
            if parents:
                resource = self._child(entry, endpoint, cursor, parents[0][1], hints)
            else:
                pages = _root_pages(endpoint, cursor, self.requests, parallelized=bool(entry.get("parallelized")))
                resource = dataload.resource(pages, name=entry["name"], **hints)
        except dataload.InvalidConfig as error:
            raise dataload.InvalidConfig(f"invalid rest_api config: {where}: {error}",
                                         [f"{where}: {problem}" for problem in error.errors]) from None
        for step in entry.get("processing_steps") or []:
            if "filter" in step:
                resource.add_filter(step["filter"])
            else:
                resource.add_map(step["map"])
        return resource

    def _child(self, entry: dict[str, Any], endpoint: _Endpoint, cursor: Any, parent: str,
               hints: dict[str, Any]) -> dataload.Resource:
        requests = None
        accepts = entry.get("parent_filter")
        concurrency = entry.get("concurrency") or self.client_config.get("concurrency") or DEFAULT_CONCURRENCY
        if cursor is None and concurrency > 1 and not isinstance(self.by_name[parent], dataload.Resource):
            requests = ChildRequests(self.requests, lambda row: endpoint.all_pages((parent, row)), concurrency, accepts)
            self.offers.setdefault(parent, []).append(requests)
        pages = _child_pages(endpoint, cursor, parent, entry.get("include_from_parent") or [], requests, accepts)
        return dataload.transformer(pages, data_from=self.built[parent], name=entry["name"], **hints)


def _root_pages(endpoint: _Endpoint, cursor: Any, pool: RequestPool, *,
                parallelized: bool) -> Callable[..., Iterator[Page]]:
    def pages(incremental: Any = cursor) -> Iterator[Page]:
        with pool.session(parallelized=parallelized):  # the dependent resources' requests run meanwhile
            yield from endpoint.pages(cursor=incremental)

    return pages


def _child_pages(endpoint: _Endpoint, cursor: Any, parent: str, include: list[str], requests: ChildRequests | None,
                 accepts: Callable[[Any], bool] | None) -> Callable[..., Iterator[Page]]:
    def pages(row: Any, incremental: Any = cursor) -> Iterator[Page]:
        if accepts is not None and not accepts(row):
            return
        fetched: Iterable[Page] | None = requests.take(row) if requests is not None else None
        if fetched is None:
            fetched = endpoint.pages(parent=(parent, row), cursor=incremental)
        copied = {f"_{parent}_{field}": field_of(row, field, parent) for field in include}
        for page in fetched:
            if copied:
                for item in page:
                    if isinstance(item, dict):
                        item.update(copied)
            yield page

    return pages


def _offer_to(children: list[ChildRequests]) -> Callable[[Any], Any]:
    if len(children) == 1:
        return children[0].offer

    def offer(row: Any) -> Any:
        for child in children:
            child.offer(row)
        return row

    return offer


def _parents_first(entries: list[Any]) -> list[int]:
    """Indexes of ``entries`` with every parent before its children (the config has no cycles)."""
    index = {name_of(entry): i for i, entry in enumerate(entries)}
    ordered: list[int] = []

    def visit(i: int) -> None:
        if i in ordered:
            return
        entry = entries[i]
        if not isinstance(entry, dataload.Resource):
            for _, parent in parents_named(endpoint_of(entry))[:1]:
                visit(index[parent])
        ordered.append(i)

    for i in range(len(entries)):
        visit(i)
    return ordered


def _auth(spec: Any, where: str) -> httpx.Auth | Callable[[httpx.Request], httpx.Request | None] | None:
    if not isinstance(spec, Mapping):
        return spec  # type: ignore[no-any-return]  # None, an httpx.Auth or a callable: the client takes it as it is
    options = dict(spec)
    made: httpx.Auth = _made(AUTH_TYPES[options.pop("type")], options, where)
    return made


def _paginator(spec: Any, where: str) -> BasePaginator | None:
    if spec is None or isinstance(spec, BasePaginator):
        return spec
    options = {"type": spec} if isinstance(spec, str) else dict(spec)
    kind = PAGINATOR_TYPES[options.pop("type")]
    made: BasePaginator | None = None if kind is None else _made(kind, options, where)
    return made


def _incremental(options: dict[str, Any], where: str) -> dataload.Incremental:
    func = options.pop("last_value_func", max)
    options["last_value_func"] = {"max": max, "min": min}.get(func, func) if isinstance(func, str) else func
    made: dataload.Incremental = _made(dataload.incremental, options, where)
    return made


def _made(make: Callable[..., Any], options: dict[str, Any], where: str) -> Any:
    """``make(**options)``; what it refuses is an error naming ``where``."""
    try:
        return make(**options)
    except (TypeError, ValueError, dataload.InvalidConfig) as error:
        raise dataload.InvalidConfig(f"invalid rest_api config: {where}: {error}", [f"{where}: {error}"]) from None
