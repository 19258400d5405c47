"""Schema files users read and edit: export the live schema as YAML, import an edited copy.

An imported file wins over inference: a column's ``data_type`` pins its type, key and
nullability hints are applied, and a column removed from a table of the file is dropped (from
the schema and the destination). A pinned type that contradicts the type of a column that
already holds data is refused before anything is loaded. Nothing is ever renamed.

An imported file is checked before it is used: it must be plain YAML (no tags) and match
:data:`SCHEMA_FILE_FORMAT`, a JSON Schema of the file format (known keys only, known data types
and write dispositions). A file that does not is refused with an :class:`InvalidConfig` naming
the file and the key path of each problem (``tables[0].columns[2].data_type``), and nothing of it
is saved, so fixing the file is enough.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dataload.exceptions import InvalidConfig, SchemaError
from dataload.hints import UNIQUE_REFUSED
from dataload.schema.model import DATA_TYPES, LOAD_ID, MERGE_STRATEGIES, WRITE_DISPOSITIONS, Column, Schema, Table

_HINTS = ("data_type", "nullable", "primary_key", "merge_key", "precision", "scale")
_NAME = {"type": "string", "minLength": 1}
_FLAG = {"type": "boolean"}
_SIZE = {"type": ["integer", "null"], "minimum": 0}
_SOURCE_KEY = {"type": ["array", "null"], "items": {"type": "string"}, "minItems": 1}
_COLUMN = {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {"name": _NAME, "data_type": {"enum": [*DATA_TYPES, None]}, "nullable": _FLAG,
                   "primary_key": _FLAG, "merge_key": _FLAG, "precision": _SIZE, "scale": _SIZE,
                   "variant_of": {"type": ["string", "null"]}, "source_key": _SOURCE_KEY},
}
_TABLE = {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {"name": _NAME, "columns": {"type": "array", "items": _COLUMN},
                   "write_disposition": {"enum": list(WRITE_DISPOSITIONS)},
                   "merge_strategy": {"enum": list(MERGE_STRATEGIES)},
                   "parent": {"type": ["string", "null"]}, "resource": {"type": ["string", "null"]},
                   "source_key": _SOURCE_KEY,
                   "schema_contract": {"type": ["object", "null"], "additionalProperties": {"type": "string"}}},
}
SCHEMA_FILE_FORMAT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "dataload schema file",
    "type": "object", "required": ["name", "tables"], "additionalProperties": False,
    "properties": {"name": _NAME, "version": {"type": "integer"}, "version_hash": {"type": "string"},
                   "tables": {"type": "array", "items": _TABLE}},
}
"""JSON Schema (draft 2020-12) of a schema file, as :meth:`Schema.to_dict` writes it."""


class SchemaFiles:
    """Where a pipeline exports its schema and reads an edited one from (either may be None)."""

    def __init__(self, name: str, export_dir: Path | None, import_dir: Path | None, marker: Path) -> None:
        self.file_name = f"{name}.schema.yaml"
        self.export_dir = export_dir
        self.import_dir = import_dir
        self.marker = marker
        self._pending_hash: str | None = None

    def export(self, schema: Schema) -> Path | None:
        """Write ``schema`` as YAML into the export folder."""
        if self.export_dir is None:
            return None
        import yaml  # only here: a pipeline that exports nothing does not pay for importing it (17 ms)

        self.export_dir.mkdir(parents=True, exist_ok=True)
        path = self.export_dir / self.file_name
        path.write_text(yaml.safe_dump(schema.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path

    def read_import(self, live: Schema) -> tuple[Schema, dict[str, list[str]]] | None:
        """The live schema with a changed import file applied, and the columns it drops; None if unchanged."""
        if self.import_dir is None or not (self.import_dir / self.file_name).exists():
            return None
        path = self.import_dir / self.file_name
        text = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode()).hexdigest()
        if self.marker.exists() and self.marker.read_text() == digest:
            return None
        imported = Schema.from_dict(read_schema_file(path, text))
        self._pending_hash = digest
        merged = live.copy()
        dropped = {t.name: _apply_table(merged, t) for t in imported.tables.values()}
        return merged, {t: cols for t, cols in dropped.items() if cols}

    def mark_imported(self) -> None:
        """Remember the applied file so it is applied once."""
        if self._pending_hash is not None:
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            self.marker.write_text(self._pending_hash)


def read_schema_file(path: Path, text: str) -> dict[str, Any]:
    """The document of a schema file, checked against :data:`SCHEMA_FILE_FORMAT`.

    >>> read_schema_file(Path("crm.schema.yaml"), "{name: crm, tables: 5}")
    Traceback (most recent call last):
    dataload.exceptions.InvalidConfig: schema file crm.schema.yaml: tables: 5 is not of type 'array'
    """
    import yaml

    from dataload.safe_yaml import safe_load

    try:
        document = safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(unknown place)"
        kind = "not a plain YAML document (tags are not allowed)" if isinstance(
            exc, yaml.constructor.ConstructorError) else "not valid YAML"
        problem = f"schema file {path}: {where}: {kind}: {exc.problem or exc}"
    except yaml.YAMLError as exc:
        problem = f"schema file {path}: not valid YAML: {exc}"
    else:
        problems = _format_problems(document)
        if not problems:
            return document  # type: ignore[no-any-return]
        problem = f"schema file {path}: " + "; ".join(problems)
        raise InvalidConfig(problem, [f"schema file {path}: {p}" for p in problems])
    raise InvalidConfig(problem)  # outside the handler: the parser's traceback adds nothing


def _format_problems(document: Any) -> list[str]:
    """``key.path: message`` for every way ``document`` breaks the file format."""
    from jsonschema import Draft202012Validator

    problems = []
    for error in sorted(Draft202012Validator(SCHEMA_FILE_FORMAT).iter_errors(document), key=lambda e: list(e.path)):
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        refused = error.validator == "additionalProperties" and "'unique'" in error.message
        problems.append(f"{key or '(top level)'}: {UNIQUE_REFUSED if refused else error.message}")
    return problems


def _apply_table(schema: Schema, imported: Table) -> list[str]:
    table = schema.tables.setdefault(imported.name, Table(imported.name, parent=imported.parent))
    table.write_disposition = imported.write_disposition
    table.merge_strategy = imported.merge_strategy
    has_data = LOAD_ID in table.columns
    for column in imported.columns.values():
        current = table.columns.get(column.name)
        if current is None:
            table.columns[column.name] = Column(**column.to_dict())
            continue
        if has_data and column.data_type and current.data_type and column.data_type != current.data_type:
            raise SchemaError(
                f"schema file: table {table.name!r}, column {column.name!r} is pinned to {column.data_type!r} but "
                f"already holds {current.data_type!r} data; drop the column first (pipe.drop_columns) or "
                "keep its type", table=table.name, column=column.name)
        for hint in _HINTS:
            setattr(current, hint, getattr(column, hint))
    removed = [c for c in table.columns if c not in imported.columns and not c.startswith("_dl_")]
    for name in removed:
        del table.columns[name]
    return removed if has_data else []
