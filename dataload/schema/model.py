"""Schema, Table and Column: plain data describing what lands in the destination."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal, get_args

DataType = Literal["bigint", "double", "decimal", "bool", "text", "timestamp", "date", "time", "binary", "json"]
DATA_TYPES: tuple[str, ...] = get_args(DataType)
WriteDispositionName = Literal["append", "replace", "merge"]
WRITE_DISPOSITIONS: tuple[str, ...] = get_args(WriteDispositionName)
MergeStrategy = Literal["delete-insert", "upsert"]
MERGE_STRATEGIES: tuple[str, ...] = get_args(MergeStrategy)

# Columns dataload adds to every table; users' data never gets these names.
LOAD_ID = "_dl_load_id"
ROW_ID = "_dl_id"
PARENT_ID = "_dl_parent_id"
LIST_INDEX = "_dl_list_idx"
ROOT_ID = "_dl_root_id"
VALUE_COLUMN = "value"
_DROPPED_HINTS = ("unique",)  # in schemas stored before it was refused (never enforced): read without it


@dataclass
class Column:
    """One column: name, data type and hints.

    ``source_key`` is the path of keys the column's values come from (``("reactions", "+1")``),
    recorded when data first fills the column, so later runs put that key in the same column.

    >>> Column("amount", "decimal", precision=18, scale=2).data_type
    'decimal'
    """

    name: str
    data_type: str | None = None
    nullable: bool = True
    primary_key: bool = False
    merge_key: bool = False
    precision: int | None = None
    scale: int | None = None
    variant_of: str | None = None
    source_key: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.source_key is not None:  # a list when read back from JSON
            self.source_key = tuple(self.source_key)

    def to_dict(self) -> dict[str, Any]:
        """The column as a dict, leaving out hints that have their default value."""
        defaults = Column(self.name)
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name == "name" or getattr(self, f.name) != getattr(defaults, f.name)}
        if self.source_key is not None:  # a list: plain data for JSON and YAML alike
            data["source_key"] = list(self.source_key)
        return data


def integer_bits(column: Column) -> int:
    """The width in bits of a ``bigint`` column: its ``precision`` hint (8, 16 or 32), else 64.

    Destinations map it to their narrowest integer type that holds it (SMALLINT, INTEGER, ...).

    >>> integer_bits(Column("n", "bigint", precision=32)), integer_bits(Column("n", "bigint"))
    (32, 64)
    """
    return column.precision if column.precision in (8, 16, 32) else 64


DEFAULT_PRECISION, DEFAULT_SCALE = 38, 9
"""The size of a ``decimal`` column without precision or scale hints."""


def decimal_size(column: Column) -> tuple[int, int]:
    """``(precision, scale)`` of a ``decimal`` column: its hints, else ``DEFAULT_PRECISION``/``DEFAULT_SCALE``.

    >>> decimal_size(Column("x", "decimal", precision=18)), decimal_size(Column("x", "decimal", scale=0))
    ((18, 9), (38, 0))
    """
    return column.precision or DEFAULT_PRECISION, DEFAULT_SCALE if column.scale is None else column.scale


@dataclass
class Table:
    """One table: its columns in order plus how it is written.

    A child table's ``source_key`` is the path of keys, in its parent's rows, of the list it is made from.

    >>> Table("users", write_disposition="merge").is_root
    True
    """

    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    write_disposition: str = "append"
    merge_strategy: str = "delete-insert"
    parent: str | None = None
    resource: str | None = None
    schema_contract: dict[str, str] | None = None
    source_key: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.source_key is not None:  # a list when read back from JSON
            self.source_key = tuple(self.source_key)

    @property
    def is_root(self) -> bool:
        """True for a table filled by a resource, False for a child table made from lists."""
        return self.parent is None

    def key_columns(self, hint: str) -> list[str]:
        """Names of the columns carrying ``hint`` (``primary_key`` or ``merge_key``)."""
        return [c.name for c in self.columns.values() if getattr(c, hint)]

    def merges_on_keys(self) -> bool:
        """A merge with a primary or merge key (extraction refuses a merge without; one in a package
        made before that rule appends)."""
        return self.write_disposition == "merge" and any(c.primary_key or c.merge_key for c in self.columns.values())

    def to_dict(self) -> dict[str, Any]:
        """The table as a dict that :meth:`from_dict` reads back."""
        data = {k: v for k, v in asdict(self).items() if k != "columns" and v is not None}
        data["columns"] = [c.to_dict() for c in self.columns.values()]
        if self.source_key is not None:  # a list: plain data for JSON and YAML alike
            data["source_key"] = list(self.source_key)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        """Read a table written by :meth:`to_dict`."""
        values = dict(data)
        columns = {c["name"]: Column(**{k: v for k, v in c.items() if k not in _DROPPED_HINTS})
                   for c in values.pop("columns", [])}
        return cls(columns=columns, **values)


@dataclass
class Schema:
    """All tables of a pipeline with a version number and a content hash.

    ``version`` goes up by one each time the content changes; ``version_hash`` is a hash of the
    content, so two machines that reach the same schema agree on it.

    >>> s = Schema("crm"); s.tables["users"] = Table("users")
    >>> s.bump_version(), s.version
    (True, 1)
    """

    name: str
    tables: dict[str, Table] = field(default_factory=dict)
    version: int = 0
    version_hash: str = ""

    def content_hash(self) -> str:
        """Hash of the tables, independent of the version number."""
        body = json.dumps([t.to_dict() for t in self.tables.values()], sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:24]

    def bump_version(self) -> bool:
        """Start a new version if the content changed since the last one; True when it did."""
        current = self.content_hash()
        if current == self.version_hash:
            return False
        self.version += 1
        self.version_hash = current
        return True

    def root_of(self, table: str) -> str:
        """The top-level table a (child) table belongs to."""
        while self.tables[table].parent is not None:
            table = self.tables[table].parent  # type: ignore[assignment]
        return table

    def children_of(self, table: str) -> list[str]:
        """All descendant tables of ``table``, parents before children."""
        found: list[str] = []
        frontier = [table]
        while frontier:
            parent = frontier.pop(0)
            kids = [t.name for t in self.tables.values() if t.parent == parent]
            found.extend(kids)
            frontier.extend(kids)
        return found

    def data_tables(self) -> list[Table]:
        """Tables that hold at least one typed column (tables seen only with nulls are left out)."""
        return [t for t in self.tables.values() if any(c.data_type for c in t.columns.values())]

    def copy(self) -> Schema:
        """A deep copy that can be changed without touching this schema."""
        return Schema.from_dict(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The schema as plain data (what is stored in ``_dl_version`` and schema files)."""
        return {
            "name": self.name,
            "version": self.version,
            "version_hash": self.version_hash,
            "tables": [t.to_dict() for t in self.tables.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        """Read a schema written by :meth:`to_dict`."""
        tables = {t["name"]: Table.from_dict(t) for t in data.get("tables", [])}
        return cls(data["name"], tables, data.get("version", 0), data.get("version_hash", ""))

    def json_schema(self, table: str) -> dict[str, Any]:
        """A JSON Schema (draft 2020-12) of ``table`` for consumers of the data."""
        return table_json_schema(self.tables[table])

    def to_json(self) -> str:
        """The schema as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    def __str__(self) -> str:
        lines = [f"schema {self.name} (version {self.version}, hash {self.version_hash})"]
        for table in self.tables.values():
            extra = f" child of {table.parent}" if table.parent else f" [{table.write_disposition}]"
            lines.append(f"  {table.name}{extra}")
            for col in table.columns.values():
                flags = [k for k in ("primary_key", "merge_key") if getattr(col, k)]
                if not col.nullable:
                    flags.append("not null")
                suffix = f" ({', '.join(flags)})" if flags else ""
                lines.append(f"    {col.name}: {col.data_type or 'unknown'}{suffix}")
        return "\n".join(lines)


def with_hints(column: Column, **hints: Any) -> Column:
    """A copy of ``column`` with ``hints`` applied."""
    return replace(column, **hints)


_TO_JSON: dict[str, dict[str, Any]] = {
    "bigint": {"type": "integer"}, "double": {"type": "number"}, "decimal": {"type": "number"},
    "bool": {"type": "boolean"}, "text": {"type": "string"}, "timestamp": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"}, "time": {"type": "string", "format": "time"},
    "binary": {"type": "string", "contentEncoding": "base64"}, "json": {},
}


def table_json_schema(table: Table) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) describing the rows of ``table``.

    >>> table_json_schema(Table("t", {"id": Column("id", "bigint", nullable=False)}))["required"]
    ['id']
    """
    properties: dict[str, Any] = {}
    for column in table.columns.values():
        if column.data_type is None:
            continue
        spec = dict(_TO_JSON[column.data_type])
        if column.nullable and spec:
            spec["type"] = [spec["type"], "null"]
        properties[column.name] = spec
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": table.name,
        "type": "object",
        "properties": properties,
        "required": [c.name for c in table.columns.values() if c.data_type and not c.nullable],
    }
