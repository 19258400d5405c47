"""DuckDB destination: one schema per dataset, Parquet loaded by DuckDB's own reader.

A package is loaded in one transaction: schema changes, every table's rows, the ``_dl_loads``
row, a new ``_dl_version`` row when the schema changed, and the pipeline state.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataload.destination import ENGINE_VERSION, Capabilities, LoadPackage
from dataload.exceptions import TerminalLoadError, TransientLoadError
from dataload.schema.model import Column
from destinations.sql import (Staged, drop_column_sql, qualified, quote, schema_changes_sql, system_table,
                             write_sql)

CATALOG = "dataload_db"
_TYPES = {"bigint": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN", "text": "VARCHAR",
          "timestamp": "TIMESTAMPTZ", "date": "DATE", "time": "TIME", "binary": "BLOB", "json": "JSON"}


def duckdb_type(column: Column) -> str:
    """The DuckDB type of a column."""
    if column.data_type == "decimal":
        return f"DECIMAL({column.precision or 38}, {9 if column.scale is None else column.scale})"
    return _TYPES[column.data_type or "text"]


class DuckDB:
    """The DuckDB destination (the default).

    ``credentials``: a database file path, ``":memory:"`` (kept for the life of this object), an
    open ``duckdb`` connection, or None for ``<pipeline_name>.duckdb`` in the current directory.
    """

    name = "duckdb"
    # "upsert" runs as delete-insert in one transaction: the same rows result (whole rows replaced by key)
    capabilities = Capabilities(max_identifier_length=None, file_formats=("parquet",),
                                merge_strategies=("delete-insert", "upsert"))

    def __init__(self, credentials: Any = None) -> None:
        self.credentials = credentials
        self._shared: Any = None
        self._lock = threading.Lock()

    def client(self, *, dataset_name: str, pipeline_name: str, local_dir: Path) -> DuckDBClient:
        """Open the database and return a client for ``dataset_name``."""
        import duckdb

        credentials = self.credentials
        if credentials is None:
            credentials = str(local_dir / f"{pipeline_name}.duckdb")
        if isinstance(credentials, duckdb.DuckDBPyConnection):
            return DuckDBClient(credentials.cursor(), dataset_name, owned=False)
        if str(credentials) == ":memory:":
            with self._lock:
                if self._shared is None:
                    self._shared = duckdb.connect(":memory:")
            return DuckDBClient(self._shared.cursor(), dataset_name, owned=True)
        Path(credentials).parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect()
        try:  # attached under a fixed name, so a dataset named like the file stem is not ambiguous
            connection.execute(f"ATTACH {_literal(str(credentials))} AS {CATALOG}")
        except duckdb.IOException as exc:  # another process holds the file: worth waiting for
            connection.close()
            raise TransientLoadError(f"cannot open DuckDB file {credentials}: {exc}") from exc
        connection.execute(f"USE {CATALOG}")
        return DuckDBClient(connection, dataset_name, owned=True)

    def attach_spec(self) -> dict[str, Any]:
        """Options that rebuild this destination in ``dataload.attach`` (a file path; nothing secret)."""
        if isinstance(self.credentials, (str, Path)) and str(self.credentials) != ":memory:":
            return {"credentials": str(Path(self.credentials).resolve())}
        return {}

    def __repr__(self) -> str:
        return f"DuckDB({self.credentials!r})"


class DuckDBClient:
    """A connection to one dataset (schema) of a DuckDB database."""

    def __init__(self, connection: Any, dataset: str, *, owned: bool) -> None:
        self.connection = connection
        self.dataset = dataset
        self._owned = owned
        connection.execute("SET TimeZone = 'UTC'")

    def close(self) -> None:
        """Close the connection (or the cursor of a shared one)."""
        if self._owned:
            self.connection.close()

    def existing_columns(self) -> dict[str, set[str]]:
        """Tables of the dataset with their column names."""
        rows = self.connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ? "
            "AND table_catalog = current_database()", [self.dataset]).fetchall()
        found: dict[str, set[str]] = {}
        for table, column in rows:
            found.setdefault(table, set()).add(column)
        return found

    def load_package(self, package: LoadPackage) -> bool:
        """Load the whole package in one transaction; False if it was loaded before."""
        import duckdb

        con = self.connection
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.dataset)}")
            self._create_system_tables()
            if self._already_loaded(package.load_id):
                con.execute("ROLLBACK")
                return False
            self.drop_tables(package.dropped_tables)
            for table, columns in package.dropped_columns.items():
                for column in columns:
                    con.execute(drop_column_sql(self.dataset, table, column))
            self._apply_schema(package)
            for root in package.tables:
                try:
                    self._write_table(package, root)
                except duckdb.Error as exc:
                    raise _load_error(exc, package, root) from exc
            self._commit_records(package)
            con.execute("COMMIT")
            return True
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise _load_error(exc, package, None) from exc
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _create_system_tables(self) -> None:
        for name in ("_dl_loads", "_dl_version", "_dl_pipeline_state"):
            self.connection.execute(schema_changes_sql(self.dataset, [system_table(name)], {}, duckdb_type)[0])

    def _already_loaded(self, load_id: str) -> bool:
        found = self.connection.execute(
            f"SELECT count(*) FROM {qualified(self.dataset, '_dl_loads')} WHERE load_id = ?", [load_id]).fetchone()
        return bool(found and found[0])

    def _apply_schema(self, package: LoadPackage) -> None:
        tables = package.schema.data_tables()
        for statement in schema_changes_sql(self.dataset, tables, self.existing_columns(), duckdb_type):
            self.connection.execute(statement)

    def _write_table(self, package: LoadPackage, root: str) -> None:
        family = [root] + package.schema.children_of(root)
        ordered = package.schema.tables[root].write_disposition == "merge"
        staged = {t: self._stage(package, t, ordered) for t in family if package.files_of(t)}
        for statement in write_sql(self.dataset, package, root, staged, f"_dl_stage_{root}"):
            self.connection.execute(statement)

    def _stage(self, package: LoadPackage, table: str, ordered: bool) -> Staged:
        """The package's rows of ``table`` read straight from its Parquet files.

        ``_dl_chunk`` and ``_dl_row`` (the position in the package) are added only for a merge.
        """
        files = package.files_of(table)
        paths = "[" + ", ".join(_literal(str(f.path)) for f in files) + "]"
        order = list(package.schema.tables[table].columns)
        columns = sorted({c for f in files for c in f.columns}, key=order.index)
        union = ", union_by_name = true" if len({tuple(f.columns) for f in files}) > 1 else ""
        if not ordered:
            return Staged(f"read_parquet({paths}{union})", columns)
        relation = (f"(SELECT * EXCLUDE (filename, file_row_number), "
                    f"CAST(regexp_extract(filename, '([0-9]+)[/\\\\][^/\\\\]*$', 1) AS BIGINT) AS _dl_chunk, "
                    f"file_row_number AS _dl_row FROM read_parquet({paths}{union}, "
                    f"filename = true, file_row_number = true))")
        return Staged(relation, columns)

    def _commit_records(self, package: LoadPackage) -> None:
        now = datetime.now(timezone.utc)
        schema = package.schema
        con = self.connection
        stored = con.execute(f"SELECT count(*) FROM {qualified(self.dataset, '_dl_version')} "
                             "WHERE version_hash = ? AND version = ?", [schema.version_hash, schema.version]).fetchone()
        if not (stored and stored[0]):
            con.execute(f"INSERT INTO {qualified(self.dataset, '_dl_version')} VALUES (?, ?, ?, ?, ?, ?)",
                        [schema.version, ENGINE_VERSION, now, schema.name, schema.version_hash, schema.to_json()])
        if package.state is not None and not self._state_stored(package.state.get("_state_hash", "")):
            con.execute(f"INSERT INTO {qualified(self.dataset, '_dl_pipeline_state')} VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [package.state.get("_state_version", 0), ENGINE_VERSION, package.pipeline_name,
                         json.dumps(package.state), now, package.state.get("_state_hash", ""), package.load_id])
        con.execute(f"INSERT INTO {qualified(self.dataset, '_dl_loads')} VALUES (?, ?, 0, ?, ?)",
                    [package.load_id, schema.name, now, schema.version_hash])

    def _state_stored(self, version_hash: str) -> bool:
        found = self.connection.execute(
            f"SELECT count(*) FROM {qualified(self.dataset, '_dl_pipeline_state')} WHERE version_hash = ?",
            [version_hash]).fetchone()
        return bool(found and found[0])

    def stored_schema(self, schema_name: str) -> dict[str, Any] | None:
        """The newest schema of ``schema_name`` stored in the dataset."""
        row = self._newest(f"SELECT schema FROM {qualified(self.dataset, '_dl_version')} "
                           "WHERE schema_name = ? ORDER BY version DESC, inserted_at DESC LIMIT 1", [schema_name])
        return json.loads(row) if row else None

    def stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        """The newest state of ``pipeline_name`` stored in the dataset."""
        row = self._newest(f"SELECT state FROM {qualified(self.dataset, '_dl_pipeline_state')} "
                           "WHERE pipeline_name = ? ORDER BY version DESC, created_at DESC LIMIT 1", [pipeline_name])
        return json.loads(row) if row else None

    def _newest(self, sql: str, parameters: list[Any]) -> Any:
        import duckdb

        try:
            row = self.connection.execute(sql, parameters).fetchone()
        except duckdb.CatalogException:
            return None
        return row[0] if row else None

    def query(self, sql: str, parameters: list[Any] | None = None) -> pa.Table:
        """Run SQL (the dataset is the default schema) and return Arrow."""
        self._use_dataset()
        return _arrow(self.connection.sql(sql, params=parameters or None))

    def read_table(self, table: str) -> pa.Table:
        """All rows of ``table``."""
        return _arrow(self.connection.sql(f"SELECT * FROM {qualified(self.dataset, table)}"))

    def drop_tables(self, tables: list[str]) -> None:
        """Drop tables of the dataset."""
        for table in tables:
            self.connection.execute(f"DROP TABLE IF EXISTS {qualified(self.dataset, table)}")

    def _use_dataset(self) -> None:
        found = self.connection.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ? AND catalog_name = current_database()",
            [self.dataset]).fetchall()
        if found[0][0]:
            self.connection.execute(f"USE {quote(self.dataset)}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _load_error(exc: Exception, package: LoadPackage, table: str | None) -> Exception:
    import duckdb

    where = f"package {package.load_id}" + (f", table {table!r}" if table else "")
    if isinstance(exc, (duckdb.IOException, duckdb.TransactionException)):
        return TransientLoadError(f"{where}: {exc}")
    files = ", ".join(str(f.path) for f in package.files_of(table)) if table else None
    return TerminalLoadError(f"{where} (files {files}): {type(exc).__name__}: {exc}", table=table, file=files)


def _arrow(result: Any) -> pa.Table:
    to_arrow = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    return to_arrow()
