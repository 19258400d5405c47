"""Checking a ``rest_api_source`` config before any request, and filling each resource from the defaults.

Every problem is reported with the key path of the value at fault, as the user wrote it
(``resources[2].endpoint.paginator.type``), and what is allowed there.

>>> endpoint_of(resource_entries({"client": {"base_url": "http://h"}, "resources": ["users"]})[0])
{'path': 'users'}
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jsonschema

import dataload
from sources.rest_api.config_schema import CONFIG, Validator
from sources.rest_api.placeholders import cursor_problems, parents_named

_VALIDATOR = Validator(CONFIG)
_SECRET_KEYS = {"auth", "headers"}  # values under them may be credentials: errors do not show them


def key_path(parts: Iterable[Any]) -> str:
    """``["resources", 2, "endpoint"]`` as ``resources[2].endpoint``.

    >>> key_path(["resources", 2, "endpoint", "paginator", "type"])
    'resources[2].endpoint.paginator.type'
    """
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "config"


def validate(config: Any) -> None:
    """Raise :class:`dataload.InvalidConfig` listing every problem of ``config`` (its shape, then its references)."""
    if not isinstance(config, Mapping):
        raise dataload.InvalidConfig(f"a rest_api config is a dict with 'client' and 'resources', "
                                     f"not {type(config).__name__}")
    problems = sorted((_describe(error) for error in _VALIDATOR.iter_errors(config)), key=_by_position)
    if not problems:
        problems = _reference_problems(resource_entries(config))
    if problems:
        heading = problems[0] if len(problems) == 1 else f"{len(problems)} problems, first: {problems[0]}"
        raise dataload.InvalidConfig(f"invalid rest_api config: {heading}", problems)


def _by_position(problem: str) -> tuple[int, str]:
    return (0 if problem.startswith("client") else 1 if problem.startswith("resource_defaults") else 2), problem


def _describe(error: jsonschema.ValidationError) -> str:
    """One schema error as ``<key path>: <what is wrong and what is allowed>``."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        return _describe(jsonschema.exceptions.best_match(error.context))
    path = list(error.absolute_path)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    value: Any = error.instance
    expected: Any = error.validator_value
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties", {})))
        unknown = sorted(set(value) - set(schema.get("properties", {})))
        return f"{key_path([*path, unknown[0]])}: unknown key; allowed here: {allowed}"
    if error.validator == "required":
        missing = next(name for name in expected if name not in value)
        return f"{key_path([*path, missing])}: missing (required)"
    if error.validator == "enum":
        allowed = ", ".join(repr(option) for option in expected)
        return f"{key_path(path)}: {value!r} is not allowed; use one of {allowed}"
    if error.validator == "const":
        return f"{key_path(path)}: {value!r} is not allowed; use {expected!r}"
    if error.validator == "type":
        shown = "a value" if _SECRET_KEYS & {str(part) for part in path} else _short(value)  # no token in errors
        names = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{key_path(path)}: expected {names}, got {type(value).__name__} {shown}"
    if error.validator in ("minProperties", "maxProperties"):
        return f"{key_path(path)}: give exactly one of {', '.join(sorted(schema.get('properties', {})))}"
    return f"{key_path(path)}: {error.message}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- resource entries, filled from the defaults --------------------------------------------------


def resource_entries(config: Mapping[str, Any]) -> list[Any]:
    """The ``resources`` entries as dicts with the ``resource_defaults`` deep-merged under them; a
    built ``dataload.Resource`` stays as it is. A string entry is ``{"name": s, "endpoint": {"path": s}}``."""
    defaults = config.get("resource_defaults") or {}
    entries: list[Any] = []
    for entry in config.get("resources") or []:
        if isinstance(entry, dataload.Resource):
            entries.append(entry)
            continue
        if isinstance(entry, str):
            entry = {"name": entry}
        own = dict(entry)
        if isinstance(own.get("endpoint"), str):
            own["endpoint"] = {"path": own["endpoint"]}
        entries.append(deep_merge(defaults, own))
    return entries


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` merged in: dicts key by key, anything else replaced; the inputs are not changed.

    >>> deep_merge({"endpoint": {"params": {"per_page": 100}}}, {"endpoint": {"params": {"q": 1}}})
    {'endpoint': {'params': {'per_page': 100, 'q': 1}}}
    """
    merged = copy.copy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return {key: _copied(value) for key, value in merged.items()}


def _copied(value: Any) -> Any:
    """Dicts and lists copied (so a resource never shares them with the defaults); objects kept."""
    if isinstance(value, Mapping):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def endpoint_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The endpoint of a (merged) entry; the path defaults to the resource's name."""
    endpoint = dict(entry.get("endpoint") or {})
    endpoint.setdefault("path", entry["name"])
    return endpoint


def name_of(entry: Any) -> str:
    """The resource name of an entry (a merged dict or a built resource)."""
    return entry.name if isinstance(entry, dataload.Resource) else str(entry["name"])


def _reference_problems(entries: Sequence[Any]) -> list[str]:
    """Names used twice, placeholders naming a resource that does not exist, dependency cycles."""
    names = [name_of(entry) for entry in entries]
    problems = [f"resources[{i}].name: {name!r} is used by an earlier resource too; names must be unique"
                for i, name in enumerate(names) if name in names[:i]]
    parents: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if isinstance(entry, dataload.Resource):
            continue
        endpoint = endpoint_of(entry)
        problems.extend(f"resources[{i}].endpoint.{problem}" for problem in cursor_problems(endpoint))
        found = parents_named(endpoint)
        for where, parent in found:
            if parent not in names:
                problems.append(f"resources[{i}].endpoint.{where}: the placeholder names resource {parent!r}, which "
                                f"is not in the config; resources: {', '.join(names)}")
        distinct = sorted({parent for _, parent in found})
        if len(distinct) > 1:
            problems.append(f"resources[{i}].endpoint: placeholders name {distinct}; a resource depends on one parent")
        elif distinct:
            parents[names[i]] = distinct[0]
        else:
            problems.extend(f"resources[{i}].{key}: the resource has no parent (no {{resources.<parent>.<field>}} "
                            "placeholder in its endpoint)" for key in ("include_from_parent", "parent_filter")
                            if entry.get(key))
    problems.extend(_cycles(parents, names))
    return problems


def _cycles(parents: Mapping[str, str], names: Sequence[str]) -> list[str]:
    problems = []
    reported: set[str] = set()
    for start in parents:
        chain = [start]
        while chain[-1] in parents and parents[chain[-1]] not in chain:
            chain.append(parents[chain[-1]])
        if chain[-1] in parents and not reported & set(chain):
            cycle = chain[chain.index(parents[chain[-1]]):]
            reported.update(cycle)
            problems.append(f"resources[{names.index(cycle[0])}]: dependency cycle "
                            f"{' -> '.join([*cycle, cycle[0]])}; a resource cannot depend on itself")
    return problems
