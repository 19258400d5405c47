"""``openapi_config(spec)``: a starting ``rest_api_source`` config from an OpenAPI 3 document.

One resource per GET endpoint that answers a JSON list (the top-level array, or the one array
field of an object, which becomes ``data_selector``), in path order. For each: the paginator
guessed from the query parameters, response fields and documented headers
(:func:`~sources.rest_api.openapi_guess.guess_paginator`), the primary key from an ``id``-like
field (``write_disposition`` ``merge``; ``replace`` without one), and for a path parameter that
names a field of the list one level up (``/users/{user_id}/posts`` and ``/users`` with ``id``) a
dependent resource (``{resources.users.id}``, the field copied into the child rows with
``include_from_parent``). Other path parameters and required query parameters take the spec's
``example``, ``default`` or first ``enum`` value; an endpoint without one is left out (logged at
INFO, as is every other endpoint left out and why). ``client.auth`` comes from the security
scheme, its secrets as ``<sources.<api>.<key>>`` placeholders to replace.

>>> spec = {"openapi": "3.0.3", "servers": [{"url": "https://api.example.com/v1"}], "paths": {
...     "/users": {"get": {"parameters": [{"name": "page", "in": "query", "schema": {"type": "integer"}}],
...                        "responses": {"200": {"description": "users", "content": {"application/json": {
...                            "schema": {"type": "array", "items": {"properties": {"id": {"type": "integer"}}}}}}}}}}}}
>>> openapi_config(spec)["resources"]  # doctest: +NORMALIZE_WHITESPACE
[{'name': 'users', 'endpoint': {'path': 'users', 'paginator': {'type': 'page_number', 'page_param': 'page',
  'base_page': 1}}, 'primary_key': 'id', 'write_disposition': 'merge'}]
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dataload.exceptions import InvalidConfig
from sources.rest_api.openapi_guess import auth_config, guess_paginator, pagination_params, primary_key
from sources.rest_api.openapi_schema import Document, field_paths, load_spec

logger = logging.getLogger(__name__)

_LIST_FIELDS = ("data", "items", "results", "records", "entries", "values", "objects")
_KEY_SUFFIXES = ("id", "uuid", "guid", "number", "no", "key", "slug", "code", "sha")  # user_id, issue_number
_PARAM = re.compile(r"\{([^}]+)\}")
_PLACEHOLDER = re.compile(r"\{resources\.([^.}]+)\.([^}]+)\}")


@dataclass
class _Endpoint:
    """A GET operation that answers a list: what a resource is made of."""

    path: str
    query: dict[str, dict[str, Any]]
    path_params: dict[str, dict[str, Any]]
    body: dict[str, Any]
    headers: tuple[str, ...]
    data_selector: str | None
    item: dict[str, Any]


@dataclass
class _Built:
    """A resource already made, as dependents see it: its name, bound path and item fields."""

    name: str
    segments: list[str]
    fields: dict[str, dict[str, Any]]
    singular: str
    config: dict[str, Any] = field(default_factory=dict)


def openapi_config(spec: Mapping[str, Any] | str | Path, base_url: str | None = None) -> dict[str, Any]:
    """A ``rest_api_source`` config dict for the list endpoints of the OpenAPI 3 document ``spec``.

    ``spec`` is the document as a dict, or the path of a JSON or YAML file. ``base_url`` wins over
    the document's first ``servers`` URL (needed when that is relative or missing). The result is a
    plain dict to edit (replace the ``<...>`` secret placeholders, drop resources) and runs as it is
    against a server that implements the spec. See the module docstring for what is guessed how.
    """
    document, uri = load_spec(spec)
    doc = Document(document, uri)
    endpoints = sorted((e for path in document["paths"] if (e := _endpoint(doc, str(path))) is not None),
                       key=lambda e: e.path.strip("/").split("/"))
    names = _names([e.path for e in endpoints])
    built: dict[str, _Built] = {}
    for endpoint in endpoints:
        made = _resource(endpoint, names[endpoint.path], built)
        if made is not None:
            built[endpoint.path] = made
    title = str((document.get("info") or {}).get("title", ""))
    section = "sources." + (re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "api")
    client: dict[str, Any] = {"base_url": base_url or _server_url(document)}
    auth = auth_config(document, section)
    if auth is not None:
        client["auth"] = auth
    return {"client": client, "resources": [made.config for made in built.values()]}


def _server_url(document: Mapping[str, Any]) -> str:
    servers = document.get("servers") or []
    server = servers[0] if servers and isinstance(servers[0], Mapping) else {}
    url = str(server.get("url", ""))
    for name, variable in (server.get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(variable.get("default", "")))
    if not url.startswith(("http://", "https://")):
        raise InvalidConfig(f"the OpenAPI document's server URL is {url or 'missing'!r}, not an absolute URL: "
                            "pass base_url= to openapi_config")
    return url


def _endpoint(doc: Document, path: str) -> _Endpoint | None:
    """The GET operation of ``path`` if it answers a JSON list; None (logged) otherwise."""
    where = f"paths.{path}"
    item, _ = doc.resolve(doc.document["paths"][path], where)
    operation = item.get("get") if isinstance(item, Mapping) else None
    if not isinstance(operation, Mapping):
        return None
    params: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*item.get("parameters", ()), *operation.get("parameters", ())]:
        param, resolver = doc.resolve(raw, f"{where}.get.parameters")
        schema = doc.schema(param.get("schema", {}), f"{where}.get.parameters.{param.get('name')}", resolver)
        params[(str(param.get("in")), str(param.get("name")))] = {**schema, "required": bool(param.get("required")),
                                                                  **_example(param)}
    response, resolver = _success_response(doc, operation, where)
    content = (response or {}).get("content") or {}
    media = "application/json" if "application/json" in content else next((m for m in content if "json" in m), None)
    if media is None:
        logger.info("GET %s left out: no JSON response documented", path)
        return None
    body = doc.schema(content[media].get("schema", {}), f"{where}.get.responses", resolver)
    found = _list_in(body, single=_PARAM.fullmatch(path.rstrip("/").rsplit("/", 1)[-1]) is not None)
    if found is None:
        logger.info("GET %s left out: the response is not a list (no single array in it)", path)
        return None
    selector, item_schema = found
    return _Endpoint(path, {n: p for (kind, n), p in params.items() if kind == "query"},
                     {n: p for (kind, n), p in params.items() if kind == "path"}, body,
                     tuple(sorted((response or {}).get("headers") or {})), selector, item_schema)


def _example(param: Mapping[str, Any]) -> dict[str, Any]:
    """The parameter's own ``example`` (it wins over its schema's)."""
    return {"example": param["example"]} if "example" in param else {}


def _success_response(doc: Document, operation: Mapping[str, Any], where: str) -> tuple[Any, Any]:
    responses = operation.get("responses") or {}
    codes = sorted(str(code) for code in responses if str(code).startswith("2"))
    code = "200" if "200" in responses else (codes[0] if codes else ("default" if "default" in responses else None))
    if code is None:
        return None, None
    return doc.resolve(responses.get(code, responses.get(int(code)) if code.isdigit() else None),
                       f"{where}.get.responses.{code}")


def _list_in(body: Mapping[str, Any], *, single: bool) -> tuple[str | None, dict[str, Any]] | None:
    """Where the list is in a response: ``(None, items)`` for an array, ``(path, items)`` for its one array field.

    An object is a list's envelope (``{"items": [...], "total": 3}``) only when it is not an item
    itself: it has no ``id``-like field and its path (when ``single``) does not end with a parameter.
    """
    if body.get("type") == "array":
        return None, body.get("items") or {}
    if single or primary_key(body.get("properties") or {}, "") is not None:
        return None
    arrays = [(path, schema) for path, schema in field_paths(body) if schema.get("type") == "array"]
    for depth in (0, 1):
        level = [(path, schema) for path, schema in arrays if path.count(".") == depth]
        known = [(path, schema) for path, schema in level if path.rsplit(".", 1)[-1] in _LIST_FIELDS]
        chosen = level if len(level) == 1 else known if len(known) == 1 else []
        if chosen:
            return chosen[0][0], chosen[0][1].get("items") or {}
        if level:
            return None  # several lists and none of them the obvious one
    return None


def _resource(endpoint: _Endpoint, name: str, built: Mapping[str, _Built]) -> _Built | None:
    """The resource config of ``endpoint``; None (logged) when a parameter has no value to send."""
    bound = _bind_path(endpoint, built)
    if bound is None:
        return None
    segments, parent = bound
    paginator, params = guess_paginator(endpoint.query, endpoint.body, endpoint.headers)
    paged = pagination_params(endpoint.query)
    for param_name, param in endpoint.query.items():
        if param["required"] and param_name not in paged:
            value = _value(param)
            if value is None:
                logger.info("GET %s left out: the required query parameter %r has no example, default or enum "
                            "value to send", endpoint.path, param_name)
                return None
            params[param_name] = value
    fields = endpoint.item.get("properties") or {}
    singular = _singular(_segments_named(endpoint.path)[-1])
    key = primary_key(fields, singular)
    config: dict[str, Any] = {"name": name, "endpoint": {
        "path": "/".join(segments), **({"params": dict(sorted(params.items()))} if params else {}),
        "paginator": paginator, **({"data_selector": endpoint.data_selector} if endpoint.data_selector else {})}}
    if key is not None:
        config["primary_key"] = key
    config["write_disposition"] = "merge" if key is not None else "replace"
    if parent is not None:
        config["include_from_parent"] = [parent[1]]
    return _Built(name, segments, fields, singular, config)


def _bind_path(endpoint: _Endpoint, built: Mapping[str, _Built]) -> tuple[list[str], tuple[str, str] | None] | None:
    """The path's segments with each parameter bound, and the (parent, field) it depends on, if any.

    A parameter right after the path of a resource already made, naming one of its fields, is a
    placeholder of that parent; the parameters before it are then the parent's own (its
    placeholders become fields it copied from its parent: ``{resources.posts._users_id}``).
    """
    raw = endpoint.path.strip("/").split("/")
    segments: list[str] = []
    parent: tuple[str, str] | None = None
    for index, segment in enumerate(raw):
        match = _PARAM.fullmatch(segment)
        if match is None:
            segments.append(segment)
            continue
        param = match.group(1)
        owner = built.get("/" + "/".join(raw[:index]))
        owner_field = _parent_field(param, owner) if owner is not None else None
        if owner is not None and owner_field is not None:
            segments = [_PLACEHOLDER.sub(lambda m: f"{{resources.{owner.name}._{m[1]}_{m[2]}}}", part)
                        for part in owner.segments] + [f"{{resources.{owner.name}.{owner_field}}}"]
            parent = (owner.name, owner_field)
            continue
        value = _value(endpoint.path_params.get(param, {}))
        if value is None:
            logger.info("GET %s left out: the path parameter %r is no field of a list above it and has no example, "
                        "default or enum value", endpoint.path, param)
            return None
        segments.append(quote(str(value), safe=""))
    return segments, parent


def _parent_field(param: str, owner: _Built) -> str | None:
    """The owner's field a path parameter names: itself (``id``), or a key after the owner's singular (``user_id``).

    Only key-like rests count (``issue_number`` -> ``number``), never ``username`` -> ``name``.
    """
    wanted = re.sub(r"[_\-]", "", param).lower()
    forms = {re.sub(r"[_\-]", "", name).lower(): name for name in sorted(owner.fields)
             if owner.fields[name].get("type") not in ("object", "array")}
    if wanted in forms:
        return forms[wanted]
    stem = re.sub(r"[_\-]", "", owner.singular).lower()
    rest = wanted[len(stem):] if wanted.startswith(stem) else ""
    return forms.get(rest) if rest in _KEY_SUFFIXES else None


def _value(param: Mapping[str, Any]) -> Any:
    """The value to send for a parameter: its example, default or first enum value; None when it has none."""
    for key in ("example", "default"):
        if param.get(key) is not None:
            return param[key]
    enum = param.get("enum") or []
    return enum[0] if enum else None


def _names(paths: list[str]) -> dict[str, str]:
    """Resource names: the last plain segment of each path, the whole path where that is not unique."""
    short = {path: _snake(_segments_named(path)[-1]) for path in paths}
    longer = {path: _snake("_".join(_segments_named(path))) for path in paths}
    full = {path: _snake(path.replace("{", "").replace("}", "")) for path in paths}
    names: dict[str, str] = {}
    for path in paths:
        for candidates in (short, longer, full):
            if list(candidates.values()).count(candidates[path]) == 1:
                names[path] = candidates[path]
                break
        else:
            names[path] = full[path] + f"_{paths.index(path)}"
    return names


def _segments_named(path: str) -> list[str]:
    """The plain (non-parameter) segments of ``path``, or ``["root"]`` for ``/``."""
    return [s for s in path.strip("/").split("/") if s and not _PARAM.fullmatch(s)] or ["root"]


def _singular(word: str) -> str:
    return word[:-3] + "y" if word.endswith("ies") else word[:-1] if word.endswith("s") else word


def _snake(text: str) -> str:
    """``text`` in snake_case: ``Swagger Petstore`` -> ``swagger_petstore``, ``pullRequests`` -> ``pull_requests``."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
