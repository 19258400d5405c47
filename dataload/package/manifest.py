"""The manifest of a load package (``package.json``): what each stage records for the next one.

Extract writes it with the table hints of every resource, the extracted files, the item counts and
the state the package commits; normalize adds the load files, the rows per table, the schema
changes and the contract discards; load reads it. It is written and read only here, so a package
left pending across an upgrade is either read as the format it was written in or refused with a
message naming the package (:class:`PackageFormatError`).

Format 1 is the shape packages had before ``format_version`` was recorded, so such packages read
as format 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataload.exceptions import PackageFormatError
from dataload.package.storage import read_json, write_json
from dataload.schema.model import Column

FORMAT_VERSION = 1
"""The manifest format this version of dataload writes and reads."""

MANIFEST = "package.json"


@dataclass(frozen=True)
class TableHintsRecord:
    """The hints one resource gave a table it wrote, as the package carries them to normalize.

    >>> record = TableHintsRecord("users", "merge", "delete-insert", ["id"], [])
    >>> TableHintsRecord.from_dict(record.to_dict()) == record
    True
    """

    resource: str
    write_disposition: str
    merge_strategy: str
    primary_key: list[str]
    merge_key: list[str]
    columns: list[Column] = field(default_factory=list)
    schema_contract: dict[str, str] | None = None
    max_table_nesting: int | None = None
    json_schema: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON data."""
        return {"resource": self.resource, "write_disposition": self.write_disposition,
                "merge_strategy": self.merge_strategy, "primary_key": list(self.primary_key),
                "merge_key": list(self.merge_key), "columns": [c.to_dict() for c in self.columns],
                "schema_contract": self.schema_contract, "max_table_nesting": self.max_table_nesting,
                "json_schema": self.json_schema}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableHintsRecord:
        """Read a record written by :meth:`to_dict`."""
        return cls(data["resource"], data["write_disposition"], data["merge_strategy"], list(data["primary_key"]),
                   list(data["merge_key"]), [Column(**c) for c in data["columns"]], data.get("schema_contract"),
                   data.get("max_table_nesting"), data.get("json_schema"))

    def differing(self, other: TableHintsRecord) -> list[str]:
        """The hints that define a table (write disposition and keys) on which ``other`` differs."""
        return [name for name in _TABLE_DEFINING_HINTS if getattr(self, name) != getattr(other, name)]


_TABLE_DEFINING_HINTS = ("write_disposition", "merge_strategy", "primary_key", "merge_key")


@dataclass
class Manifest:
    """The contents of ``package.json``.

    ``extracted_files`` are (file name, table) pairs in the order they were written (one chunk
    each); ``files`` are the load files normalize wrote (entries of
    :meth:`dataload.destination.PackageFile.from_entry`); ``state`` is the encoded pipeline state
    the package commits. ``stream_part``: the package is a part of a streamed run
    (:mod:`dataload.streaming`), recorded as unfinished in ``_dl_loads`` until ``completes`` of the
    run's last package lists it.
    """

    load_id: str
    table_hints: dict[str, TableHintsRecord]
    extracted_files: list[tuple[str, str]]
    state: dict[str, Any]
    items: dict[str, int]
    files: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    schema_changes: list[str] = field(default_factory=list)
    discarded_rows: dict[str, int] = field(default_factory=dict)
    discarded_values: dict[str, int] = field(default_factory=dict)
    stream_part: bool = False
    completes: list[str] = field(default_factory=list)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The manifest as plain JSON data."""
        return {"format_version": self.format_version, "load_id": self.load_id,
                "table_hints": {name: hints.to_dict() for name, hints in self.table_hints.items()},
                "extracted_files": [list(pair) for pair in self.extracted_files], "state": self.state,
                "items": self.items, "files": self.files, "rows": self.rows, "schema_changes": self.schema_changes,
                "discarded_rows": self.discarded_rows, "discarded_values": self.discarded_values,
                "stream_part": self.stream_part, "completes": self.completes}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: Path) -> Manifest:
        """Read a manifest written by :meth:`to_dict` (or before ``format_version`` was recorded).

        Raises :class:`PackageFormatError`, naming the package at ``where``, for another format.
        """
        version = data.get("format_version", 1)
        if version != FORMAT_VERSION:
            raise PackageFormatError(
                f"load package {data.get('load_id', where.name)} in {where} was written in package format "
                f"{version!r}, but this version of dataload reads format {FORMAT_VERSION}; finish it with the "
                f"dataload version that wrote it, or delete the folder {where} to discard it (its data is then "
                "not loaded, and the state stays as before it)", load_id=str(data.get("load_id", where.name)))
        return cls(data["load_id"], {name: TableHintsRecord.from_dict(hints)
                                     for name, hints in data["table_hints"].items()},
                   [(name, table) for name, table in data["extracted_files"]], data["state"], data.get("items", {}),
                   data.get("files", []), data.get("rows", {}), data.get("schema_changes", []),
                   data.get("discarded_rows", {}), data.get("discarded_values", {}),
                   data.get("stream_part", False), data.get("completes", []))


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write ``manifest`` as the ``package.json`` of the package in ``folder`` (atomically)."""
    write_json(folder / MANIFEST, manifest.to_dict())


def read_manifest(folder: Path) -> Manifest:
    """Read the ``package.json`` of the package in ``folder``; refuses a format this version cannot read."""
    return Manifest.from_dict(read_json(folder / MANIFEST), where=folder)
