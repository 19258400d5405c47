"""Reading an OpenAPI 3 document: loading it, resolving ``$ref`` s, and the shapes of its JSON schemas.

``$ref`` s are resolved with ``referencing`` (the JSON-reference library of ``jsonschema``): local
pointers (``#/components/schemas/Pet``) and, for a document read from a file, other files next to
it (``common.yaml#/components/schemas/Error``).

>>> doc = Document({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
...     "Named": {"properties": {"name": {"type": "string"}}},
...     "Pet": {"allOf": [{"$ref": "#/components/schemas/Named"},
...                       {"type": "object", "properties": {"id": {"type": "integer"}}}]}}}})
>>> sorted(doc.schema({"$ref": "#/components/schemas/Pet"})["properties"])
['id', 'name']
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import yaml
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

from dataload.exceptions import InvalidConfig
from dataload.safe_yaml import safe_load

if TYPE_CHECKING:
    from referencing._core import Resolver  # not re-exported by referencing, only its type is needed

_SPEC_URI = "urn:dataload:openapi-spec"
_MAX_DEPTH = 3  # how deep response fields are looked for (``_links.next.href``)
_MAX_MERGES = 32  # allOf inside allOf: deeper is a schema that includes itself


def load_spec(spec: Mapping[str, Any] | str | Path) -> tuple[dict[str, Any], str]:
    """The document as a dict and its base URI; ``spec`` is a dict or the path of a JSON or YAML file."""
    if isinstance(spec, Mapping):
        document, uri = dict(spec), _SPEC_URI
    else:
        path = Path(spec)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidConfig(f"cannot read the OpenAPI document {str(path)!r}: {error.strerror}") from None
        document, uri = _parse(text, str(path)), path.resolve().as_uri()
    version = str(document.get("openapi", ""))
    if not version.startswith("3."):
        found = f"Swagger {document['swagger']}" if "swagger" in document else f"openapi: {version or 'missing'}"
        raise InvalidConfig(f"openapi_config reads OpenAPI 3 documents, this one is {found}: convert it first "
                            "(for example with swagger2openapi)")
    if not isinstance(document.get("paths"), Mapping):
        raise InvalidConfig("the OpenAPI document has no 'paths' object: there is no endpoint to make resources of")
    return document, uri


def _parse(text: str, name: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text) if name.endswith(".json") else safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        kind = "JSON" if name.endswith(".json") else "YAML"
        raise InvalidConfig(f"the OpenAPI document {name!r} is not valid {kind}: {error}") from None
    if not isinstance(parsed, dict):
        raise InvalidConfig(f"the OpenAPI document {name!r} is not an object (found {type(parsed).__name__})")
    return parsed


def _retrieve(uri: str) -> Resource[Any]:
    """Another file an external ``$ref`` names (only ``file:`` URIs: no test or build reaches the network)."""
    if not uri.startswith("file:"):
        raise InvalidConfig(f"$ref to {uri!r}: only references inside the document or to local files are followed")
    path = unquote(urlparse(uri).path)
    return Resource.opaque(_parse(Path(path).read_text(encoding="utf-8"), path))


class Document:
    """An OpenAPI 3 document with its ``$ref`` s resolvable; schemas are read through :meth:`schema`."""

    def __init__(self, document: dict[str, Any], uri: str = _SPEC_URI) -> None:
        self.document = document
        registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]  # attrs alias of _retrieve
        registry = registry.with_resource(uri, Resource.opaque(document))
        self.resolver: Resolver[Any] = registry.resolver(base_uri=uri)

    def resolve(self, node: Any, where: str, resolver: Resolver[Any] | None = None) -> tuple[Any, Resolver[Any]]:
        """``node`` with its ``$ref`` chain followed, and the resolver for the refs inside it."""
        resolver = resolver or self.resolver
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise InvalidConfig(f"$ref {ref!r} at {where} refers to itself")
            seen.add(ref)
            try:
                resolved = resolver.lookup(ref)
            except Unresolvable:
                raise InvalidConfig(f"$ref {ref!r} at {where} points to nothing in the OpenAPI document") from None
            node, resolver = resolved.contents, resolved.resolver
        return node, resolver

    def schema(self, node: Any, where: str = "a schema", resolver: Resolver[Any] | None = None,
               depth: int = 0, merges: int = 0) -> dict[str, Any]:
        """A schema resolved and flattened: ``allOf`` merged; properties/items resolved down to :data:`_MAX_DEPTH`.

        The result has ``type`` (one name or None), ``properties`` (name -> flattened schema),
        ``items`` (for arrays) and the schema's own keys (``format``, ``default``, ...).
        """
        node, resolver = self.resolve(node, where, resolver)
        if merges > _MAX_MERGES:
            raise InvalidConfig(f"allOf/anyOf nest more than {_MAX_MERGES} levels at {where}: "
                                "does a schema include itself?")
        if not isinstance(node, Mapping):
            return {"type": None, "properties": {}}
        result: dict[str, Any] = {key: value for key, value in node.items()
                                  if key not in ("allOf", "anyOf", "oneOf", "properties", "items", "type")}
        result["type"], result["properties"] = _type_of(node), {}
        parts = [node, *node.get("allOf", ())]
        variants = [part for key in ("anyOf", "oneOf") for part in node.get(key, ())]
        non_null = [v for v in variants if not (isinstance(v, Mapping) and v.get("type") == "null")]
        if len(non_null) == 1:  # `anyOf: [X, {type: null}]` is X that may be null
            parts.append(non_null[0])
        for part in parts[1:]:
            merged = self.schema(part, where, resolver, depth, merges + 1)
            result["type"] = result["type"] or merged["type"]
            result["properties"].update(merged["properties"])
            result.setdefault("items", merged.get("items"))
        if depth < _MAX_DEPTH:
            for name, prop in (node.get("properties") or {}).items():
                result["properties"][name] = self.schema(prop, f"{where}.{name}", resolver, depth + 1)
            if "items" in node:
                result["items"] = self.schema(node["items"], f"{where}[]", resolver, depth + 1)
        if result["type"] is None and result["properties"]:
            result["type"] = "object"
        if result["type"] is None and result.get("items") is not None:
            result["type"] = "array"
        return result


def _type_of(node: Mapping[str, Any]) -> str | None:
    """The one type name of a schema node (OpenAPI 3.1 ``["array", "null"]`` counts as ``array``)."""
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return str(kinds[0]) if len(kinds) == 1 else None
    return str(kind) if kind else None


def field_paths(schema: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every field of a flattened object schema as ``(dotted path, schema)``, nested objects included.

    >>> [path for path, _ in field_paths({"properties": {"meta": {"properties": {"total": {}}}, "data": {}}})]
    ['meta', 'meta.total', 'data']
    """
    for name, prop in (schema.get("properties") or {}).items():
        path = f"{prefix}{name}"
        yield path, prop
        yield from field_paths(prop, f"{path}.")
