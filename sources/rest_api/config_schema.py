"""The JSON schema of a ``rest_api_source`` config, and the names of its paginator and auth types.

The options of each paginator and auth ``type`` are read from the class's constructor, so the
schema never drifts from what the class accepts. Python objects have types of their own in the
schema: ``callable``, ``auth`` (an :class:`httpx.Auth` or a callable), ``paginator`` (a
:class:`~sources.rest_api.paginators.BasePaginator`) and ``resource`` (a built ``dataload.Resource``).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Sequence
from typing import Any

import httpx
import jsonschema

import dataload
from sources.rest_api.auth import APIKeyAuth, BearerAuth, HTTPBasicAuth, OAuth2ClientCredentials
from sources.rest_api.paginators import (
    BasePaginator,
    CursorPaginator,
    HeaderCursorPaginator,
    HeaderLinkPaginator,
    JSONLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    SinglePagePaginator,
)

PAGINATOR_TYPES: dict[str, type[BasePaginator] | None] = {
    "json_link": JSONLinkPaginator, "header_link": HeaderLinkPaginator, "header_cursor": HeaderCursorPaginator,
    "offset": OffsetPaginator, "page_number": PageNumberPaginator, "cursor": CursorPaginator,
    "single_page": SinglePagePaginator, "auto": None,
}
"""Paginator ``type`` names; ``auto`` (or no paginator) detects one from the first response."""

AUTH_TYPES: dict[str, type[httpx.Auth]] = {
    "bearer": BearerAuth, "api_key": APIKeyAuth, "http_basic": HTTPBasicAuth,
    "oauth2_client_credentials": OAuth2ClientCredentials,
}
"""Auth ``type`` names."""

RESOURCE_HINTS = ("table_name", "write_disposition", "primary_key", "merge_key", "columns", "schema_contract",
                  "max_table_nesting", "selected", "parallelized")
"""The ``@dataload.resource`` options a resource entry takes as they are."""

_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many({
    "callable": lambda _, value: callable(value),
    "auth": lambda _, value: isinstance(value, httpx.Auth) or callable(value),
    "paginator": lambda _, value: isinstance(value, BasePaginator),
    "resource": lambda _, value: isinstance(value, dataload.Resource),
})
Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, type_checker=_TYPES)
"""A Draft 2020-12 validator that knows the Python object types above."""

_STRINGS = {"type": "array", "items": {"type": "string"}}
_KEY = {"type": ["string", "array"], "items": {"type": "string"}}
_POSITIVE = {"type": "integer", "minimum": 1}


def _of_type(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a constructor parameter's annotation (``int | None``, ``Literal[...]``, ...)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_of_type(arg) for arg in typing.get_args(annotation)]}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(annotation))}
    simple = {int: "integer", float: "number", bool: "boolean", str: "string", type(None): "null", dict: "object",
              list: "array", Sequence: "array"}
    base = origin or annotation
    if isinstance(base, type) and issubclass(base, str):  # str and Secret
        return {"type": "string"}
    return {"type": simple[base]} if base in simple else {}


def _options(kind: str, cls: type[Any] | None) -> dict[str, Any]:
    """``if type == kind then`` only the constructor's keyword options, required ones required."""
    properties: dict[str, Any] = {"type": {"const": kind}}
    required = ["type"]
    if cls is not None:
        hints = typing.get_type_hints(cls.__init__)
        for name, parameter in list(inspect.signature(cls.__init__).parameters.items())[1:]:
            properties[name] = _of_type(hints.get(name, Any))
            if parameter.default is inspect.Parameter.empty:
                required.append(name)
    return {"if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": {"properties": properties, "required": required, "additionalProperties": False}}


def _typed(types_: dict[str, Any], python_type: str, *, by_name: bool) -> dict[str, Any]:
    """A dict with a ``type`` and that type's options, a Python object, and a type name alone (``by_name``)
    or else None."""
    names = sorted(types_)
    return {"type": ["string", "object", python_type] if by_name else ["null", "object", python_type],
            "allOf": [*([{"if": {"type": "string"}, "then": {"enum": names}}] if by_name else []),
                      {"if": {"type": "object"},
                       "then": {"required": ["type"], "properties": {"type": {"enum": names}}}},
                      *(_options(kind, cls) for kind, cls in types_.items())]}


def _object(properties: dict[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


PAGINATOR = _typed(PAGINATOR_TYPES, "paginator", by_name=True)
AUTH = _typed(AUTH_TYPES, "auth", by_name=False)

INCREMENTAL = _object({
    "cursor_path": {"type": "string"}, "initial_value": {}, "end_value": {},
    "start_param": {"type": "string"}, "end_param": {"type": "string"},
    "lag": {"type": "number"}, "row_order": {"enum": ["asc", "desc", None]},
    "on_cursor_value_missing": {"enum": ["raise", "include", "exclude"]},
    "last_value_func": {"type": ["string", "callable"], "allOf": [{"if": {"type": "string"},
                                                                   "then": {"enum": ["max", "min"]}}]},
    "primary_key": _KEY,
}, required=["cursor_path"])

RESPONSE_ACTION = {**_object({
    "status_code": {"type": ["integer", "array"], "items": {"type": "integer"}},
    "content": {"type": "string"},
    "action": {"type": ["string", "callable"], "allOf": [{"if": {"type": "string"}, "then": {"enum": ["ignore"]}}]},
}, required=["action"]), "anyOf": [{"required": ["status_code"]}, {"required": ["content"]}]}

ENDPOINT = _object({
    "path": {"type": "string"},
    "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "get", "post", "put", "patch", "delete"]},
    "params": {"type": "object"}, "json": {}, "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    "paginator": PAGINATOR, "data_selector": {"type": "string"}, "incremental": INCREMENTAL,
    "response_actions": {"type": "array", "items": RESPONSE_ACTION}, "auth": AUTH,
    "maximum_pages": _POSITIVE, "maximum_items": _POSITIVE,
})

PROCESSING_STEP = {**_object({"filter": {"type": "callable"}, "map": {"type": "callable"}}),
                   "minProperties": 1, "maxProperties": 1}


def _resource(required: Sequence[str]) -> dict[str, Any]:
    return _object({
        "name": {"type": "string", "minLength": 1},
        "endpoint": {"type": ["string", "object"], "allOf": [{"if": {"type": "object"}, "then": ENDPOINT}]},
        "table_name": {"type": ["string", "callable"]},
        "write_disposition": {"type": ["string", "object"],
                              "allOf": [{"if": {"type": "string"}, "then": {"enum": ["append", "replace", "merge"]}}]},
        "primary_key": _KEY, "merge_key": _KEY, "columns": {},
        "schema_contract": {"type": ["string", "object"]},
        "max_table_nesting": {"type": ["integer", "null"], "minimum": 0},
        "selected": {"type": "boolean"}, "parallelized": {"type": "boolean"},
        "processing_steps": {"type": "array", "items": PROCESSING_STEP},
        "include_from_parent": _STRINGS, "parent_filter": {"type": "callable"}, "concurrency": _POSITIVE,
    }, required)


CLIENT = _object({
    "base_url": {"type": "string", "minLength": 1}, "auth": AUTH, "paginator": PAGINATOR,
    "headers": {"type": "object", "additionalProperties": {"type": "string"}}, "data_selector": {"type": "string"},
    "timeout": {"type": "number", "exclusiveMinimum": 0},
    "retry": _object({"attempts": _POSITIVE, "first_wait": {"type": "number", "minimum": 0},
                      "max_wait": {"type": "number", "minimum": 0}, "max_retry_after": {"type": "number", "minimum": 0},
                      "statuses": {"type": "array", "items": {"type": "integer"}}}),
    "limits": _object({name: {"type": ["integer", "null"], "minimum": 1}
                       for name in ("max_bytes", "max_decompressed_bytes", "max_json_depth")}),
    "concurrency": _POSITIVE,
}, required=["base_url"])

CONFIG = _object({
    "client": CLIENT,
    "resource_defaults": _resource(()),
    "resources": {"type": "array", "minItems": 1, "items": {
        "type": ["string", "object", "resource"],
        "allOf": [{"if": {"type": "string"}, "then": {"minLength": 1}},
                  {"if": {"type": "object"}, "then": _resource(["name"])}]}},
}, required=["client", "resources"])
"""The whole config: ``client``, ``resource_defaults`` (optional) and ``resources``."""
