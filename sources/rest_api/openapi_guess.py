"""Guesses :func:`~sources.rest_api.openapi_config` makes from an OpenAPI operation: paginator, primary key, auth.

Names are compared normalized (lower case, ``_`` and ``-`` dropped), so ``per_page``, ``perPage``
and ``page-size`` style spellings all count.

>>> guess_paginator({"page": {}, "per_page": {"maximum": 100}}, {"properties": {"total_pages": {"type": "integer"}}},
...                 headers=())
({'type': 'page_number', 'page_param': 'page', 'base_page': 1, 'total_path': 'total_pages'}, {'per_page': 100})
>>> primary_key({"pet_id": {"type": "integer"}, "name": {"type": "string"}}, "pet")
'pet_id'
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from sources.rest_api.openapi_schema import field_paths

_PAGE_PARAMS = ("page", "pagenumber", "pageno", "pagenum")
_SIZE_PARAMS = ("perpage", "pagesize", "limit", "size", "pagelimit", "maxresults", "count", "top")
_OFFSET_PARAMS = ("offset", "skip", "start")
_CURSOR_PARAMS = ("cursor", "pagetoken", "nextpagetoken", "nexttoken", "continuationtoken", "continuation",
                  "after", "pagecursor")
_NEXT_LINK_FIELDS = ("next", "nexturl", "nextlink", "nexthref", "nextpageurl")
_CURSOR_FIELDS = ("nextcursor", "cursor", "nextpagetoken", "pagetoken", "nexttoken", "continuationtoken",
                  "endcursor", "after")
_TOTAL_FIELDS = ("total", "totalcount", "totalitems", "totalresults", "totalrecords", "totalelements", "count")
_TOTAL_PAGES_FIELDS = ("totalpages", "pagecount", "pages", "numpages", "lastpage")
_HAS_MORE_FIELDS = ("hasmore", "hasnext", "hasnextpage", "more", "moreavailable")
_KEY_FIELDS = ("id", "uuid", "guid")
_DEFAULT_LIMIT = 100


def normalized(name: str) -> str:
    """``name`` lower case without ``_``/``-``: the form names are compared in.

    >>> normalized("Per_Page"), normalized("pageSize")
    ('perpage', 'pagesize')
    """
    return re.sub(r"[_\-]", "", name).lower()


def _find(names: Collection[str], wanted: tuple[str, ...]) -> str | None:
    """The first of ``names`` whose normalized form is in ``wanted``, in the order of ``wanted``."""
    by_form = {normalized(name): name for name in sorted(names)}
    return next((by_form[form] for form in wanted if form in by_form), None)


def _field(body: Mapping[str, Any], wanted: tuple[str, ...], kind: str) -> str | None:
    """The dotted path of the shallowest response field of type ``kind`` named as in ``wanted``."""
    found = [(path.count("."), wanted.index(normalized(path.rsplit(".", 1)[-1])), path)
             for path, schema in field_paths(body)
             if schema.get("type") == kind and normalized(path.rsplit(".", 1)[-1]) in wanted]
    return min(found)[2] if found else None


def _next_link(body: Mapping[str, Any]) -> str | None:
    """A string field holding the next page's URL: ``next``, ``links.next``, ``_links.next.href``, ..."""
    found = [(path.count("."), path) for path, schema in field_paths(body) if schema.get("type") == "string"
             and (normalized(path.rsplit(".", 1)[-1]) in _NEXT_LINK_FIELDS
                  or (path.endswith(".href") and normalized(path.split(".")[-2]) == "next"))]
    return min(found)[1] if found else None


def _page_size(param: Mapping[str, Any]) -> int | None:
    """The page size to ask for: the parameter's maximum (fewest requests), else its default."""
    value = param.get("maximum", param.get("default"))
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def guess_paginator(params: Mapping[str, Mapping[str, Any]], body: Mapping[str, Any],
                    headers: Collection[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The paginator config for an endpoint and the query params to send with it.

    ``params`` are the operation's query parameters (name -> schema), ``body`` the flattened
    response schema, ``headers`` the response headers the spec documents. In this order: a
    ``Link`` header; a cursor param with a cursor in a header or the body; a next link in the
    body; offset + limit params; a page param; otherwise one page. A page size param is sent at
    its maximum (or default) and a ``has_more``-style flag in the body becomes ``has_more_path``.
    """
    size = _find(params, _SIZE_PARAMS)
    sized = {size: value} if size is not None and (value := _page_size(params[size])) is not None else {}
    has_more = _field(body, _HAS_MORE_FIELDS, "boolean")
    more = {"has_more_path": has_more} if has_more else {}
    cursor_param = _find(params, _CURSOR_PARAMS)
    if any(normalized(name) == "link" for name in headers):
        return {"type": "header_link"}, sized
    if cursor_param is not None:
        header = next((name for name in sorted(headers) if "cursor" in normalized(name)), None)
        if header is not None:
            return {"type": "header_cursor", "cursor_header": header, "cursor_param": cursor_param}, sized
        path = _field(body, _CURSOR_FIELDS, "string") or _field(body, ("next",), "string")
        if path is not None:
            return {"type": "cursor", "cursor_path": path, "cursor_param": cursor_param, **more}, sized
    link = _next_link(body)
    if link is not None:
        return {"type": "json_link", "next_url_path": link, **more}, sized
    offset = _find(params, _OFFSET_PARAMS)
    if offset is not None and size is not None:
        paginator = {"type": "offset", "limit": sized.get(size, _DEFAULT_LIMIT), "offset_param": offset,
                     "limit_param": size}
        total = _field(body, _TOTAL_FIELDS, "integer")
        return {**paginator, **({"total_path": total} if total else {}), **more}, {}
    page = _find(params, _PAGE_PARAMS)
    if page is not None:
        first = params[page].get("minimum", params[page].get("default", 1))
        paginator = {"type": "page_number", "page_param": page, "base_page": int(first) if first in (0, 1) else 1}
        total = _field(body, _TOTAL_PAGES_FIELDS, "integer")
        return {**paginator, **({"total_path": total} if total else {}), **more}, sized
    return {"type": "single_page"}, {}


def pagination_params(params: Collection[str]) -> set[str]:
    """The names among ``params`` a paginator sets (page, offset, limit, cursor, ...): never sent as fixed values."""
    forms = set(_PAGE_PARAMS + _SIZE_PARAMS + _OFFSET_PARAMS + _CURSOR_PARAMS)
    return {name for name in params if normalized(name) in forms}


def primary_key(fields: Mapping[str, Mapping[str, Any]], singular: str) -> str | None:
    """The ``id``-like scalar field of an item: ``id``, ``uuid``, ``guid``, ``<singular>_id``, ``<singular>Id``."""
    scalars = [name for name, schema in fields.items() if schema.get("type") not in ("object", "array")]
    wanted = (*_KEY_FIELDS, *(normalized(singular) + key for key in _KEY_FIELDS))
    return _find(scalars, wanted)


def auth_config(document: Mapping[str, Any], section: str) -> dict[str, Any] | None:
    """The ``client.auth`` block for the document's security scheme, secrets as ``<sources.api.key>`` placeholders.

    The scheme is the first the document's ``security`` requires, else the first defined.

    >>> auth_config({"components": {"securitySchemes": {"key": {"type": "apiKey", "in": "query", "name": "k"}}}},
    ...             "sources.shop")
    {'type': 'api_key', 'name': 'k', 'value': '<sources.shop.api_key>', 'location': 'query'}
    """
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    required = [name for requirement in document.get("security") or () for name in requirement if name in schemes]
    chosen = required[0] if required else next(iter(sorted(schemes)), None)
    if chosen is None:
        return None
    scheme = schemes[chosen]
    kind, http = scheme.get("type"), str(scheme.get("scheme", "")).lower()
    if kind == "apiKey":
        return {"type": "api_key", "name": scheme.get("name", chosen), "value": f"<{section}.api_key>",
                "location": scheme.get("in", "header")}
    if kind == "http" and http == "basic":
        return {"type": "http_basic", "username": f"<{section}.username>", "password": f"<{section}.password>"}
    flow = ((scheme.get("flows") or {}).get("clientCredentials") or {}) if kind == "oauth2" else {}
    if flow.get("tokenUrl"):
        return {"type": "oauth2_client_credentials", "token_url": flow["tokenUrl"],
                "client_id": f"<{section}.client_id>", "client_secret": f"<{section}.client_secret>",
                **({"scopes": sorted(flow["scopes"])} if flow.get("scopes") else {})}
    return {"type": "bearer", "token": f"<{section}.token>"}  # http bearer, other OAuth2 flows, OpenID Connect
