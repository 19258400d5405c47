"""SQL shared by SQL destinations: quoting, DDL from the schema, and the write dispositions.

Every identifier goes through :func:`quote`; values are always bound parameters. The write
statements read each table's new rows from a *staged* relation that the destination provides
(DuckDB: ``read_parquet``; others: a temporary table) with two extra columns: ``_dl_chunk`` and
``_dl_row``, the position of the row in the package (later rows win in a merge).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dataload.destination import LoadPackage
from dataload.schema.model import LOAD_ID, ROOT_ID, ROW_ID, Column, Schema, Table

TypeMapper = Callable[[Column], str]
SYSTEM_TABLES: dict[str, list[tuple[str, str]]] = {
    "_dl_loads": [("load_id", "text"), ("schema_name", "text"), ("status", "bigint"),
                  ("inserted_at", "timestamp"), ("schema_version_hash", "text")],
    "_dl_version": [("version", "bigint"), ("engine_version", "bigint"), ("inserted_at", "timestamp"),
                    ("schema_name", "text"), ("version_hash", "text"), ("schema", "text")],
    "_dl_pipeline_state": [("version", "bigint"), ("engine_version", "bigint"), ("pipeline_name", "text"),
                           ("state", "text"), ("created_at", "timestamp"), ("version_hash", "text"),
                           ("_dl_load_id", "text")],
}


def quote(identifier: str) -> str:
    """Quote an identifier for SQL (double quotes, inner quotes doubled).

    >>> quote('we"ird')
    '"we""ird"'
    """
    return '"' + identifier.replace('"', '""') + '"'


def qualified(dataset: str, table: str) -> str:
    """``"dataset"."table"``."""
    return f"{quote(dataset)}.{quote(table)}"


def system_table(name: str) -> Table:
    """The schema of a system table (``_dl_loads``, ``_dl_version``, ``_dl_pipeline_state``)."""
    return Table(name, {c: Column(c, t) for c, t in SYSTEM_TABLES[name]})


def create_table_sql(dataset: str, table: Table, type_of: TypeMapper) -> str:
    """``CREATE TABLE`` for the typed columns of ``table``."""
    columns = [f"{quote(c.name)} {type_of(c)}{_not_null(c)}" for c in table.columns.values() if c.data_type]
    return f"CREATE TABLE IF NOT EXISTS {qualified(dataset, table.name)} ({', '.join(columns)})"


def _not_null(column: Column) -> str:
    return " NOT NULL" if not column.nullable and column.name != LOAD_ID else ""


def add_column_sql(dataset: str, table: str, column: Column, type_of: TypeMapper) -> str:
    """``ALTER TABLE ... ADD COLUMN`` (always nullable: the table may already have rows)."""
    return f"ALTER TABLE {qualified(dataset, table)} ADD COLUMN {quote(column.name)} {type_of(column)}"


def drop_column_sql(dataset: str, table: str, column: str) -> str:
    """``ALTER TABLE ... DROP COLUMN``."""
    return f"ALTER TABLE {qualified(dataset, table)} DROP COLUMN IF EXISTS {quote(column)}"


def schema_changes_sql(dataset: str, tables: list[Table], existing: Mapping[str, set[str]],
                       type_of: TypeMapper) -> list[str]:
    """DDL that brings the destination to ``tables``: new tables and added columns."""
    statements = []
    for table in tables:
        present = existing.get(table.name)
        if present is None:
            statements.append(create_table_sql(dataset, table, type_of))
            continue
        for column in table.columns.values():
            if column.data_type and column.name not in present:
                statements.append(add_column_sql(dataset, table.name, column, type_of))
    return statements


@dataclass
class Staged:
    """A relation holding a table's new rows plus ``_dl_chunk``/``_dl_row``, and its columns."""

    relation: str
    columns: list[str]


def write_sql(dataset: str, package: LoadPackage, root: str, staged: Mapping[str, Staged],
              stage_table: str) -> list[str]:
    """Statements that write ``root`` and its child tables by the root's write disposition.

    ``stage_table`` is a free (temporary) table name the merge may use.
    """
    schema = package.schema
    table = schema.tables[root]
    family = [root] + schema.children_of(root)
    keys = table.key_columns("primary_key")
    merge_keys = table.key_columns("merge_key")
    disposition = table.write_disposition
    if disposition == "merge" and not keys and not merge_keys:
        disposition = "append"
    if disposition == "replace":
        deletes = [f"DELETE FROM {qualified(dataset, name)}" for name in reversed(family) if _exists(schema, name)]
        return deletes + [_insert(dataset, name, staged[name]) for name in family if name in staged]
    if disposition == "append":
        return [_insert(dataset, name, staged[name]) for name in family if name in staged]
    return _merge_sql(dataset, schema, family, keys, merge_keys, staged, stage_table)


def _exists(schema: Schema, table: str) -> bool:
    return any(c.data_type for c in schema.tables[table].columns.values())


def _insert(dataset: str, table: str, staged: Staged, where: str = "") -> str:
    columns = ", ".join(quote(c) for c in staged.columns)
    return (f"INSERT INTO {qualified(dataset, table)} ({columns}) "
            f"SELECT {columns} FROM {staged.relation} AS s{where}")


def _merge_sql(dataset: str, schema: Schema, family: list[str], keys: list[str], merge_keys: list[str],
               staged: Mapping[str, Staged], stage_table: str) -> list[str]:
    root, children = family[0], [c for c in family[1:] if _exists(schema, c)]
    if root not in staged:
        return []
    target = qualified(dataset, root)
    source = staged[root]
    if keys:
        partition = ", ".join(quote(k) for k in keys)
        statements = [
            f"CREATE TEMP TABLE {quote(stage_table)} AS SELECT * FROM (SELECT *, row_number() OVER "
            f"(PARTITION BY {partition} ORDER BY _dl_chunk DESC, _dl_row DESC) AS _dl_rank "
            f"FROM {source.relation} AS r) AS ranked WHERE _dl_rank = 1"]
        deduped = Staged(quote(stage_table), source.columns)
    else:
        statements, deduped = [], source
    match = _match(keys, merge_keys, "d", "s")
    old_roots = f"SELECT d.{quote(ROW_ID)} FROM {target} AS d WHERE EXISTS (SELECT 1 FROM {deduped.relation} AS s WHERE {match})"
    statements += [f"DELETE FROM {qualified(dataset, c)} WHERE {quote(ROOT_ID)} IN ({old_roots})" for c in reversed(children)]
    statements.append(f"DELETE FROM {target} AS d WHERE EXISTS (SELECT 1 FROM {deduped.relation} AS s WHERE {match})")
    statements.append(_insert(dataset, root, deduped))
    for child in family[1:]:
        if child in staged:
            survivor = (f" WHERE EXISTS (SELECT 1 FROM {deduped.relation} AS k WHERE k.{quote(ROW_ID)} = "
                        f"s.{quote(ROOT_ID)} AND k._dl_chunk = s._dl_chunk)") if keys else ""
            statements.append(_insert(dataset, child, staged[child], survivor))
    if keys:
        statements.append(f"DROP TABLE {quote(stage_table)}")
    return statements


def _match(keys: list[str], merge_keys: list[str], left: str, right: str) -> str:
    clauses = []
    for group in (keys, merge_keys):
        if group:
            clauses.append("(" + " AND ".join(f"{left}.{quote(k)} = {right}.{quote(k)}" for k in group) + ")")
    return " OR ".join(clauses)
