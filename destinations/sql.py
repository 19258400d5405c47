"""SQL shared by SQL destinations: quoting, placeholders, DDL from the schema, and the write dispositions.

Every identifier goes through :func:`quote`; values are always bound parameters. The write
statements read each table's new rows from a *staged* relation that the destination provides
(DuckDB: ``read_parquet``; others: a temporary table) with two extra columns: ``_dl_chunk`` and
``_dl_row``, the position of the row in the package (later rows win in a merge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dataload.protocol import LoadPackage
from dataload.schema.model import LOAD_ID, ROOT_ID, ROW_ID, Column, Schema, Table

TypeMapper = Callable[[Column], str]


def quote(identifier: str) -> str:
    """Quote an identifier for SQL (double quotes, inner quotes doubled).

    >>> quote('we"ird')
    '"we""ird"'
    """
    return '"' + identifier.replace('"', '""') + '"'


def qualified(dataset: str, table: str) -> str:
    """``"dataset"."table"``."""
    return f"{quote(dataset)}.{quote(table)}"


def qmark_to_pyformat(sql: str) -> str:
    """Turn ``?`` placeholders outside quotes into ``%s`` (and ``%`` into ``%%``) for psycopg, PyMySQL...

    >>> qmark_to_pyformat("SELECT '?', a % 2 FROM t WHERE b = ?")
    "SELECT '?', a %% 2 FROM t WHERE b = %s"
    """
    out, quoted_by = [], ""
    for char in sql:
        if quoted_by:
            quoted_by = "" if char == quoted_by else quoted_by
        elif char in "'\"":
            quoted_by = char
        elif char == "?":
            char = "%s"
        out.append("%%" if char == "%" else char)
    return "".join(out)


@dataclass(frozen=True)
class SqlDialect:
    """Where a destination's SQL differs from the default (DuckDB, PostgreSQL).

    ``quote`` quotes one identifier; ``delete_alias`` False writes ``DELETE d FROM t AS d`` (MySQL,
    MariaDB) instead of ``DELETE FROM t AS d``; ``temp_table`` is the word(s) after ``CREATE`` for a
    temporary table and ``drop_temp_table`` the statement that drops one (MariaDB needs
    ``DROP TEMPORARY TABLE``, which does not end the transaction); without ``drop_column_if_exists``
    (SQLite) the caller drops only columns that exist. ``temp_indexes(table, keys)`` returns what
    follows the name of the merge's temporary table, e.g. `` (INDEX (`id`))`` (MariaDB builds
    indexes only inline without ending the transaction, and needs them to merge in linear time).
    ``match_by_in`` matches keys with ``(a, b) IN (SELECT ...)`` instead of a correlated
    ``EXISTS``, which SQLite runs once per outer row.

    >>> SqlDialect(quote=lambda name: f"`{name}`").qualified("ds", "t")
    '`ds`.`t`'
    """

    quote: Callable[[str], str] = field(default=quote)
    delete_alias: bool = True
    temp_table: str = "TEMP TABLE"
    drop_temp_table: str = "DROP TABLE"
    drop_column_if_exists: bool = True
    temp_indexes: Callable[[Table, list[str]], str] | None = None
    match_by_in: bool = False

    def qualified(self, dataset: str, table: str) -> str:
        """``dataset.table``, both quoted."""
        return f"{self.quote(dataset)}.{self.quote(table)}"

    def delete(self, target: str, alias: str | None = None) -> str:
        """The head of a ``DELETE`` of ``target`` (whose rows are called ``alias``, if given)."""
        if self.delete_alias:
            return f"DELETE FROM {target}" + (f" AS {alias}" if alias else "")
        return f"DELETE {alias or 't'} FROM {target} AS {alias or 't'}"


DEFAULT_DIALECT = SqlDialect()


def count_rows(tables: list[str], relation: Callable[[str], str],
               run: Callable[[str], Iterable[Sequence[Any]]]) -> dict[str, int]:
    """Rows of each of ``tables``, counted by one ``count(*)`` query.

    ``relation(table)`` is what to count from (a quoted qualified name, a subquery); ``run(sql)``
    returns the result rows.

    >>> count_rows(["a", "b"], quote, lambda sql: [(0, 2), (1, 5)] if "UNION ALL" in sql else [])
    {'a': 2, 'b': 5}
    """
    if not tables:
        return {}
    sql = " UNION ALL ".join(f"SELECT {i} AS position, count(*) AS n FROM {relation(table)}"
                             for i, table in enumerate(tables))
    counts = {int(position): int(n) for position, n in run(sql)}
    return {table: counts[i] for i, table in enumerate(tables)}


def create_table_sql(dataset: str, table: Table, type_of: TypeMapper, dialect: SqlDialect = DEFAULT_DIALECT) -> str:
    """``CREATE TABLE`` for the typed columns of ``table``."""
    columns = [f"{dialect.quote(c.name)} {type_of(c)}{_not_null(c)}" for c in table.columns.values() if c.data_type]
    return f"CREATE TABLE IF NOT EXISTS {dialect.qualified(dataset, table.name)} ({', '.join(columns)})"


def _not_null(column: Column) -> str:
    return " NOT NULL" if not column.nullable and column.name != LOAD_ID else ""


def add_column_sql(dataset: str, table: str, column: Column, type_of: TypeMapper,
                   dialect: SqlDialect = DEFAULT_DIALECT) -> str:
    """``ALTER TABLE ... ADD COLUMN`` (always nullable: the table may already have rows)."""
    return f"ALTER TABLE {dialect.qualified(dataset, table)} ADD COLUMN {dialect.quote(column.name)} {type_of(column)}"


def drop_column_sql(dataset: str, table: str, column: str, dialect: SqlDialect = DEFAULT_DIALECT) -> str:
    """``ALTER TABLE ... DROP COLUMN``."""
    if_exists = " IF EXISTS" if dialect.drop_column_if_exists else ""
    return f"ALTER TABLE {dialect.qualified(dataset, table)} DROP COLUMN{if_exists} {dialect.quote(column)}"


def schema_changes_sql(dataset: str, tables: list[Table], existing: Mapping[str, set[str]],
                       type_of: TypeMapper, dialect: SqlDialect = DEFAULT_DIALECT) -> list[str]:
    """DDL that brings the destination to ``tables``: new tables and added columns."""
    statements = []
    for table in tables:
        present = existing.get(table.name)
        if present is None:
            statements.append(create_table_sql(dataset, table, type_of, dialect))
            continue
        for column in table.columns.values():
            if column.data_type and column.name not in present:
                statements.append(add_column_sql(dataset, table.name, column, type_of, dialect))
    return statements


@dataclass
class Staged:
    """A relation holding a table's new rows plus ``_dl_chunk``/``_dl_row``, and its columns."""

    relation: str
    columns: list[str]


def write_sql(dataset: str, package: LoadPackage, root: str, staged: Mapping[str, Staged],
              stage_table: str, dialect: SqlDialect = DEFAULT_DIALECT) -> list[str]:
    """Statements that write ``root`` and its child tables by the root's write disposition.

    ``stage_table`` is a free (temporary) table name the merge may use.
    """
    schema = package.schema
    table = schema.tables[root]
    family = [root] + schema.children_of(root)
    keys = table.key_columns("primary_key")
    merge_keys = table.key_columns("merge_key")
    disposition = table.write_disposition
    if disposition == "merge" and not table.merges_on_keys():
        disposition = "append"
    if disposition == "replace":
        deletes = [f"DELETE FROM {dialect.qualified(dataset, name)}" for name in reversed(family)
                   if _exists(schema, name)]
        return deletes + [_insert(dataset, name, staged[name], dialect) for name in family if name in staged]
    if disposition == "append":
        return [_insert(dataset, name, staged[name], dialect) for name in family if name in staged]
    return _merge_sql(dataset, schema, family, keys, merge_keys, staged, stage_table, dialect)


def _exists(schema: Schema, table: str) -> bool:
    return any(c.data_type for c in schema.tables[table].columns.values())


def _insert(dataset: str, table: str, staged: Staged, dialect: SqlDialect, where: str = "") -> str:
    columns = ", ".join(dialect.quote(c) for c in staged.columns)
    return (f"INSERT INTO {dialect.qualified(dataset, table)} ({columns}) "
            f"SELECT {columns} FROM {staged.relation} AS s{where}")


def _merge_sql(dataset: str, schema: Schema, family: list[str], keys: list[str], merge_keys: list[str],
               staged: Mapping[str, Staged], stage_table: str, dialect: SqlDialect) -> list[str]:
    root, children = family[0], [c for c in family[1:] if _exists(schema, c)]
    if root not in staged:
        return []
    q, target = dialect.quote, dialect.qualified(dataset, root)
    source = staged[root]
    if keys:
        partition = ", ".join(q(k) for k in keys)
        indexes = dialect.temp_indexes(schema.tables[root], keys) if dialect.temp_indexes else ""
        statements = [
            f"CREATE {dialect.temp_table} {q(stage_table)}{indexes} AS SELECT * FROM (SELECT *, row_number() OVER "
            f"(PARTITION BY {partition} ORDER BY _dl_chunk DESC, _dl_row DESC) AS _dl_rank "
            f"FROM {source.relation} AS r) AS ranked WHERE _dl_rank = 1"]
        deduped = Staged(q(stage_table), source.columns)
    else:
        statements, deduped = [], source
    matched = _matched(keys, merge_keys, deduped.relation, dialect)
    old_roots = f"SELECT d.{q(ROW_ID)} FROM {target} AS d WHERE {matched}"
    statements += [f"{dialect.delete(dialect.qualified(dataset, c))} WHERE {q(ROOT_ID)} IN ({old_roots})"
                   for c in reversed(children)]
    statements.append(f"{dialect.delete(target, 'd')} WHERE {matched}")
    statements.append(_insert(dataset, root, deduped, dialect))
    for child in family[1:]:
        if child in staged:
            survivor = (f" WHERE (s.{q(ROOT_ID)}, s._dl_chunk) IN (SELECT k.{q(ROW_ID)}, k._dl_chunk FROM "
                        f"{deduped.relation} AS k)" if dialect.match_by_in else
                        f" WHERE EXISTS (SELECT 1 FROM {deduped.relation} AS k WHERE k.{q(ROW_ID)} = "
                        f"s.{q(ROOT_ID)} AND k._dl_chunk = s._dl_chunk)") if keys else ""
            statements.append(_insert(dataset, child, staged[child], dialect, survivor))
    if keys:
        statements.append(f"{dialect.drop_temp_table} {q(stage_table)}")
    return statements


def _matched(keys: list[str], merge_keys: list[str], relation: str, dialect: SqlDialect) -> str:
    """A condition on rows ``d`` whose primary key or merge key is among the rows of ``relation``."""
    q = dialect.quote
    if not dialect.match_by_in:
        return f"EXISTS (SELECT 1 FROM {relation} AS s WHERE {_match(keys, merge_keys, 'd', 's', q)})"
    clauses = [f"({', '.join(f'd.{q(k)}' for k in group)}) IN (SELECT {', '.join(f's.{q(k)}' for k in group)} "
               f"FROM {relation} AS s)" for group in (keys, merge_keys) if group]
    return "(" + " OR ".join(clauses) + ")"


def _match(keys: list[str], merge_keys: list[str], left: str, right: str, q: Callable[[str], str]) -> str:
    clauses = []
    for group in (keys, merge_keys):
        if group:
            clauses.append("(" + " AND ".join(f"{left}.{q(k)} = {right}.{q(k)}" for k in group) + ")")
    return " OR ".join(clauses)
