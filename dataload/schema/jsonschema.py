"""JSON Schema (draft 2020-12) in both directions.

* :func:`columns_from_json_schema` turns a document given as ``columns=`` into column hints.
* (:meth:`dataload.schema.model.Schema.json_schema` describes a loaded table for consumers of the data.)
* :func:`row_errors` validates rows with ``jsonschema`` and says which row, field and rule failed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dataload.schema.model import Column

_FROM_JSON = {"integer": "bigint", "number": "double", "boolean": "bool", "string": "text"}
_FORMATS = {"date-time": "timestamp", "date": "date", "time": "time"}


def is_json_schema(value: Any) -> bool:
    """True for a JSON Schema object document (as opposed to a dict of column hints)."""
    return isinstance(value, Mapping) and ("$schema" in value or (value.get("type") == "object"
                                                                 and "properties" in value))


def columns_from_json_schema(document: Mapping[str, Any]) -> dict[str, Column]:
    """Column hints from the top-level properties of a JSON Schema.

    >>> doc = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"},
    ...        "at": {"type": "string", "format": "date-time"}}}
    >>> {n: (c.data_type, c.nullable) for n, c in columns_from_json_schema(doc).items()}
    {'id': ('bigint', False), 'at': ('timestamp', True)}
    """
    required = set(document.get("required", []))
    columns = {}
    for name, spec in document.get("properties", {}).items():
        data_type = _data_type(spec)
        if data_type is None and name not in required:
            continue
        columns[name] = Column(name, data_type, nullable=name not in required)
    return columns


def _data_type(spec: Mapping[str, Any]) -> str | None:
    kinds = spec.get("type")
    if isinstance(kinds, list):
        kinds = [k for k in kinds if k != "null"]
        kinds = kinds[0] if len(kinds) == 1 else None
    if kinds == "string" and spec.get("format") in _FORMATS:
        return _FORMATS[spec["format"]]
    return _FROM_JSON.get(kinds) if isinstance(kinds, str) else None


def row_errors(document: Mapping[str, Any], rows: list[Any]) -> Iterator[tuple[int, str, str, str]]:
    """``(row position, field, rule, message)`` for every row that breaks the schema.

    A top-level ``None`` counts as an absent field (Arrow input cannot tell the two apart).
    """
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for position, row in enumerate(rows):
        present = {k: v for k, v in row.items() if v is not None} if isinstance(row, Mapping) else row
        for error in validator.iter_errors(present):
            field = ".".join(str(p) for p in error.absolute_path) or _missing_field(error)
            yield position, field, str(error.validator), error.message


def _missing_field(error: Any) -> str:
    if error.validator == "required" and isinstance(error.validator_value, list):
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        missing = [k for k in error.validator_value if k not in instance]
        return ",".join(missing) or "(row)"
    return "(row)"
