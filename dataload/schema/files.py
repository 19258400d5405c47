"""Schema files users read and edit: export the live schema as YAML, import an edited copy.

An imported file wins over inference: a column's ``data_type`` pins its type, key and
nullability hints are applied, and a column removed from a table of the file is dropped (from
the schema and the destination). A pinned type that contradicts the type of a column that
already holds data is refused before anything is loaded. Nothing is ever renamed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from dataload.exceptions import SchemaError
from dataload.schema.model import LOAD_ID, Column, Schema, Table

_HINTS = ("data_type", "nullable", "primary_key", "merge_key", "unique", "precision", "scale")


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
        import yaml

        if self.export_dir is None:
            return None
        self.export_dir.mkdir(parents=True, exist_ok=True)
        path = self.export_dir / self.file_name
        path.write_text(yaml.safe_dump(schema.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path

    def read_import(self, live: Schema) -> tuple[Schema, dict[str, list[str]]] | None:
        """The live schema with a changed import file applied, and the columns it drops; None if unchanged."""
        import yaml

        if self.import_dir is None or not (self.import_dir / self.file_name).exists():
            return None
        text = (self.import_dir / self.file_name).read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode()).hexdigest()
        if self.marker.exists() and self.marker.read_text() == digest:
            return None
        self._pending_hash = digest
        imported = Schema.from_dict(yaml.safe_load(text))
        merged = live.copy()
        dropped = {t.name: _apply_table(merged, t) for t in imported.tables.values()}
        return merged, {t: cols for t, cols in dropped.items() if cols}

    def mark_imported(self) -> None:
        """Remember the applied file so it is applied once."""
        if self._pending_hash is not None:
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            self.marker.write_text(self._pending_hash)


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
