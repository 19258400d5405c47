"""DuckDB destination: one schema per dataset, Parquet loaded by DuckDB's own reader, Arrow files scanned in place.

A package is loaded in one transaction: schema changes, every table's rows, the ``_dl_loads``
row, a new ``_dl_version`` row when the schema changed, and the pipeline state; a package of only
appended big rows loads chunk by chunk instead (see :meth:`DuckDB.load_package`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataload.exceptions import InvalidConfig, TransientLoadError
from dataload.protocol import Capabilities, LoadPackage, PackageFile, ProjectSetup, arrow_stream
from dataload.schema.model import LOAD_ID, Column, decimal_size, integer_bits
from destinations.errors import load_error, read_error
from destinations.records import SCHEMA, STATE, SqlRecords
from destinations.sql import Staged, count_rows, drop_column_sql, qualified, quote, schema_changes_sql, write_sql

CATALOG = "dataload_db"
_RESERVED_SCHEMAS = ("information_schema", "pg_catalog", "temp", "system", "memory", CATALOG)  # ambiguous or system
STEPWISE_BYTES = 256 * 1024 * 1024  # packages bigger than this ...
STEPWISE_ROW_BYTES = 64 * 1024      # ... with rows bigger than this on average load chunk by chunk
LOAD_MEMORY_BASE = 128 * 2**20  # DuckDB's memory while loading ordinary rows into a file dataload opened, plus
ROW_GROUP_ROWS = 122_880         # ... room for the row group each DuckDB thread builds (DuckDB's row group size)
VECTOR_ROWS = 2_048              # ... a row group is a whole number of DuckDB's vectors
BLOCK_BYTES = 256 * 1024         # ... of at least one block per column
ONE_THREAD_ROW_GROUP = 256 * 2**20  # a row group bigger than this gets fewer rows, or (past 1,024 columns) one thread
_TYPES = {"bigint": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN", "text": "VARCHAR",
          "timestamp": "TIMESTAMPTZ", "date": "DATE", "time": "TIME", "binary": "BLOB", "json": "JSON"}
_INTEGER_TYPES = {8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}


def duckdb_type(column: Column) -> str:
    """The DuckDB type of a column."""
    if column.data_type == "decimal":
        return "DECIMAL({}, {})".format(*decimal_size(column))
    if column.data_type == "bigint":
        return _INTEGER_TYPES[integer_bits(column)]
    return _TYPES[column.data_type or "text"]


class DuckDB:
    """The DuckDB destination (the default).

    ``credentials``: a database file path, ``":memory:"`` (kept for the life of this object), an
    open ``duckdb`` connection, or None for ``<pipeline_name>.duckdb`` in the current directory.
    ``memory_limit`` caps DuckDB's memory (it evicts cached blocks and spills to disk beyond it).
    None: while a database file dataload opened loads a package of ordinary rows, DuckDB is capped
    (see :func:`load_settings`) -- the cache of newly written blocks is what grows with the data,
    and evicting it costs nothing -- and otherwise (queries, packages of big rows, whose checkpoint
    must pin many large blocks at once) runs with its own default, 80 % of RAM.
    """

    name = "duckdb"
    project_setup = ProjectSetup("DuckDB: a database file <pipeline_name>.duckdb in the project folder "
                                 "(the default; no server)")
    # "upsert" runs as delete-insert in one transaction: the same rows result (whole rows replaced by key)
    capabilities = Capabilities(max_identifier_length=None, file_formats=("arrow", "parquet"),
                                merge_strategies=("delete-insert", "upsert"), deletes_loads=True)

    def __init__(self, credentials: Any = None, *, memory_limit: str | None = None) -> None:
        self.credentials = credentials
        self.memory_limit = memory_limit
        self._shared: Any = None
        self._lock = threading.Lock()

    def client(self, *, dataset_name: str, pipeline_name: str, local_dir: Path) -> DuckDBClient:
        """Open the database and return a client for ``dataset_name``."""
        import duckdb

        self.check_dataset_name(dataset_name)
        credentials = self.credentials
        if credentials is None:
            credentials = str(local_dir / f"{pipeline_name}.duckdb")
        if isinstance(credentials, duckdb.DuckDBPyConnection):
            return DuckDBClient(credentials.cursor(), dataset_name, owned=False)
        if str(credentials) == ":memory:":
            with self._lock:
                if self._shared is None:
                    self._shared = duckdb.connect(":memory:")
            return DuckDBClient(self._shared.cursor(), dataset_name, owned=True, memory_limit=self.memory_limit)
        Path(credentials).parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect()
        try:
            _attach(connection, str(credentials))
        except duckdb.IOException as exc:  # another process holds the file: worth waiting for
            connection.close()
            raise TransientLoadError(f"cannot open DuckDB file {credentials}: {exc}") from exc
        return DuckDBClient(connection, dataset_name, owned=True, memory_limit=self.memory_limit,
                            database=str(credentials))

    def check_dataset_name(self, dataset_name: str) -> None:
        """Refuse a dataset (schema) name DuckDB reserves: its system schemas and catalog names.

        >>> DuckDB(":memory:").check_dataset_name("temp")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        dataload.exceptions.InvalidConfig: dataset_name 'temp' is reserved by DuckDB; choose another ...
        """
        if dataset_name.lower() in _RESERVED_SCHEMAS:
            raise InvalidConfig(f"dataset_name {dataset_name!r} is reserved by DuckDB; choose another dataset_name "
                                f"(reserved: {', '.join(_RESERVED_SCHEMAS)})")

    def attach_spec(self) -> dict[str, Any]:
        """Options that rebuild this destination in ``dataload.attach`` (a file path; nothing secret)."""
        if isinstance(self.credentials, (str, Path)) and str(self.credentials) != ":memory:":
            return {"credentials": str(Path(self.credentials).resolve())}
        return {}

    def __repr__(self) -> str:
        return f"DuckDB({self.credentials!r})"


class DuckDBClient:
    """A connection to one dataset (schema) of a DuckDB database."""

    def __init__(self, connection: Any, dataset: str, *, owned: bool, memory_limit: str | None = None,
                 database: str | None = None) -> None:
        """``database``: the file this client attached itself as ``CATALOG`` (its settings are ours to change)."""
        self.connection = connection
        self.dataset = dataset
        self._owned = owned
        self._database = database
        self._cap_loads = database is not None and not memory_limit
        self.records = SqlRecords(dataset, self._execute, duckdb_type, _driver_errors())
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET preserve_insertion_order = false")  # merge orders by itself; lets DuckDB stream
        if memory_limit:  # DuckDB otherwise caches up to 80 % of RAM
            connection.execute("SET memory_limit = ?", [memory_limit])

    @property
    def _own_database(self) -> bool:
        return self._database is not None

    def _execute(self, sql: str, parameters: list[Any]) -> Sequence[Sequence[Any]]:
        # fetchall: an unfinished result would block registering Arrow data
        return self.connection.execute(sql, parameters).fetchall()  # type: ignore[no-any-return]

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
        """Load the package in one transaction; False if it was loaded before.

        A package of only appended tables bigger than ``STEPWISE_BYTES`` made of big rows (large
        texts or blobs, which DuckDB keeps in memory until the transaction ends; ordinary rows
        are written out in row groups) is loaded chunk by chunk: its rows may be visible before the
        load finishes, a retry first removes rows of this load id, and ``_dl_loads`` and the state
        are committed last, so the package still counts once.

        After a package that only appended rows, a database this client attached is checkpointed
        at once, without DuckDB's vacuum (see :meth:`_checkpoint_appended`).
        """
        rows = sum(f.rows for f in package.files)
        size = _data_bytes(package)
        big_rows = bool(rows) and size / rows > STEPWISE_ROW_BYTES
        append_only = _append_only(package)
        if big_rows and size > STEPWISE_BYTES and append_only:
            return self._load_stepwise(package)
        settings = {}
        if self._cap_loads and rows and not big_rows:
            group_rows = row_group_rows(size / rows)
            if group_rows != ROW_GROUP_ROWS:
                self._attach_with_row_groups(group_rows)
            threads = int(self.connection.execute("SELECT current_setting('threads')").fetchall()[0][0])
            settings = load_settings(package, size / rows, threads, group_rows)
        with self._settings(settings):
            loaded = self._transaction(package, lambda: self._write_all(package, package.tables), final=True)
        if loaded and append_only and self._own_database:
            self._checkpoint_appended()
        return loaded

    def _attach_with_row_groups(self, rows: int) -> None:
        """Attach this client's database again, its writes made in row groups of ``rows`` rows.

        DuckDB takes the row group size per attachment (it is not stored in the file): tables
        written later by other connections get the default again.
        """
        assert self._database is not None
        self.connection.execute("USE memory")
        self.connection.execute(f"DETACH {CATALOG}")
        _attach(self.connection, self._database, f" (ROW_GROUP_SIZE {rows})")

    @contextlib.contextmanager
    def _settings(self, settings: dict[str, str]) -> Iterator[None]:
        """DuckDB settings changed for the duration of a load, then reset to their defaults."""
        for name, value in settings.items():
            self.connection.execute(f"SET {name} = '{value}'")
        try:
            yield
        finally:
            for name in settings:
                self.connection.execute(f"RESET {name}")

    def _transaction(self, package: LoadPackage, work: Callable[[], None], *, final: bool) -> bool:
        import duckdb

        con = self.connection
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.dataset)}")
            for statement in self.records.create_sql():
                con.execute(statement)
            if self.records.loaded(package):
                con.execute("ROLLBACK")
                return False
            work()
            if final:
                self.records.commit(package)
            con.execute("COMMIT")
            return True
        except duckdb.Error as exc:
            _rollback(con)
            raise load_error(exc, package, None, None, []) from exc
        except BaseException:
            _rollback(con)
            raise

    def _write_all(self, package: LoadPackage, roots: list[str], chunk: int | None = None) -> None:
        import duckdb

        if chunk is None:
            self._prepare(package)
        for root in roots:
            try:
                self._write_table(package, root, chunk)
            except duckdb.Error as exc:
                raise load_error(exc, package, root, None, []) from exc
            package.job_done(package.family_files(root, chunk))

    def _prepare(self, package: LoadPackage) -> None:
        self.drop_tables(package.dropped_tables)
        for table, columns in package.dropped_columns.items():
            for column in columns:
                self.connection.execute(drop_column_sql(self.dataset, table, column))
        self._apply_schema(package)

    def _load_stepwise(self, package: LoadPackage) -> bool:
        def prepare() -> None:  # rows an earlier attempt of this package left go first
            self._prepare(package)
            self.records.delete_loads([package.load_id], self.existing_columns())

        if not self._transaction(package, prepare, final=False):
            return False
        with self._one_checkpoint():
            for chunk in sorted({f.chunk for f in package.files}):
                self._transaction(package, lambda: self._write_all(package, package.tables, chunk), final=False)
            return self._transaction(package, lambda: None, final=True)

    @contextlib.contextmanager
    def _one_checkpoint(self) -> Iterator[None]:
        """No automatic checkpoints inside, one after (in a database this client attached itself).

        DuckDB checkpoints after each commit that wrote enough, rewriting the table's open row group;
        with big values that made time and memory grow with every chunk (60 x 20 MB: 31.7 s and
        2.9 GB against 15.2 s and 1.7 GB with one checkpoint).
        """
        with self._settings({"checkpoint_threshold": "1TB"} if self._own_database else {}):
            yield
        if self._own_database:
            self._checkpoint_appended()

    def _checkpoint_appended(self) -> None:
        """Checkpoint after rows were only appended, without vacuuming.

        Threads appending in parallel each leave a partly filled row group; the checkpoint's vacuum
        would merge them by rewriting whole row groups, which for 300,000 rows of 20 columns took as
        long as the insert itself (0.17-0.35 s) and left a bigger file (34 MB, a third of it free
        blocks, against 21.5 MB). Without it the rows stay as written, in one more row group per
        thread at most. Loads that delete rows (merge, replace) keep DuckDB's vacuuming checkpoint.
        """
        with self._settings({"max_vacuum_tasks": "0"}):
            self.connection.execute("CHECKPOINT")

    def _apply_schema(self, package: LoadPackage) -> None:
        tables = package.schema.data_tables()
        for statement in schema_changes_sql(self.dataset, tables, self.existing_columns(), duckdb_type):
            self.connection.execute(statement)

    def _write_table(self, package: LoadPackage, root: str, chunk: int | None = None) -> None:
        import duckdb

        family = [root] + package.schema.children_of(root)
        ordered = package.schema.tables[root].write_disposition == "merge"
        registered: list[str] = []
        try:
            staged = {t: self._stage(package, t, ordered, chunk, registered) for t in family
                      if package.files_of(t, chunk)}
            for statement in write_sql(self.dataset, package, root, staged, f"_dl_stage_{root}"):
                self.connection.execute(statement)
        finally:  # after a failed statement the transaction is aborted: the data stays registered until close
            with contextlib.suppress(duckdb.Error):
                for name in registered:
                    self.connection.unregister(name)

    def _stage(self, package: LoadPackage, table: str, ordered: bool, chunk: int | None,
               registered: list[str]) -> Staged:
        """The package's rows of ``table`` (of one chunk, if given), read where they lie.

        Parquet files through ``read_parquet``; Arrow files memory-mapped and registered with the
        connection (their names are appended to ``registered``), ``_dl_load_id`` added as a literal.
        ``_dl_chunk`` and ``_dl_row`` (the position in the package) are added only for a merge,
        whose files are always Parquet (a merge reads its rows more than once; a stream is read once).
        """
        files = package.files_of(table, chunk)
        order = list(package.schema.tables[table].columns)
        columns = sorted({c for f in files for c in f.columns}, key=order.index)
        parquet = [f for f in files if f.file_format == "parquet"]
        arrow = [f for f in files if f.file_format == "arrow"]
        parts = [_parquet_relation(parquet, ordered)] if parquet else []
        if arrow:
            registered.append(f"_dl_arrow_{len(registered)}")
            self.connection.register(registered[-1], arrow_stream(arrow))  # read once, by the one INSERT
            parts.append(f"(SELECT *, {_literal(package.load_id)} AS {quote(LOAD_ID)} FROM {registered[-1]})")
        if len(parts) == 1:
            return Staged(parts[0], columns)
        return Staged("(" + " UNION ALL BY NAME ".join(f"SELECT * FROM {p}" for p in parts) + ")", columns)

    def stored_schema(self, schema_name: str) -> dict[str, Any] | None:
        """The newest schema of ``schema_name`` stored in the dataset."""
        return self.records.newest(SCHEMA, schema_name)

    def stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        """The newest state of ``pipeline_name`` stored in the dataset."""
        return self.records.newest(STATE, pipeline_name)

    def query(self, sql: str, parameters: list[Any] | None = None) -> pa.Table:
        """Run SQL (the dataset is the default schema) and return Arrow."""
        self._use_dataset()
        return duckdb_arrow(self.connection.sql(sql, params=parameters or None))

    def read_table(self, table: str) -> pa.Table:
        """All rows of ``table``."""
        return duckdb_arrow(self.connection.sql(f"SELECT * FROM {qualified(self.dataset, table)}"))

    def row_counts(self, tables: list[str]) -> dict[str, int]:
        """``count(*)`` of each table."""
        return count_rows(tables, lambda table: qualified(self.dataset, table),
                          lambda sql: self.connection.execute(sql).fetchall())

    def drop_tables(self, tables: list[str]) -> None:
        """Drop tables of the dataset."""
        for table in tables:
            self.connection.execute(f"DROP TABLE IF EXISTS {qualified(self.dataset, table)}")

    def unfinished_parts(self) -> list[str]:
        """Load ids of parts of streamed runs that their run's last package never completed."""
        return self.records.unfinished_parts()

    def delete_loads(self, load_ids: list[str]) -> None:
        """Delete what the packages ``load_ids`` loaded (their rows and system rows), in one transaction."""
        import duckdb

        con = self.connection
        try:
            con.execute("BEGIN TRANSACTION")
            self.records.delete_loads(load_ids, self.existing_columns())
            con.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(con)
            raise read_error(exc, f"deleting the rows of loads {', '.join(load_ids)} from {self.dataset}", []) from exc

    def _use_dataset(self) -> None:
        found = self.connection.execute(
            "SELECT count(*) FROM information_schema.schemata "
            "WHERE schema_name = ? AND catalog_name = current_database()",
            [self.dataset]).fetchall()
        if found[0][0]:
            self.connection.execute(f"USE {quote(self.dataset)}")


def row_group_rows(row_bytes: float) -> int:
    """Rows per row group for loading rows of ``row_bytes``: DuckDB's own, or fewer for rows so wide
    that its row group would pass ``ONE_THREAD_ROW_GROUP`` (a multiple of DuckDB's 2,048-row vector).

    1,000 columns x 200,000 rows (8.4 KB a row, a default row group of 1 GB, so one thread): 30,720
    rows a group on both threads, load 15.3 -> 10.4 s, DuckDB's own memory 1.7 -> 1.2 GB, the
    run's peak 1,730 -> 1,396 MB.

    >>> row_group_rows(200), row_group_rows(8_400)
    (122880, 30720)
    """
    if ROW_GROUP_ROWS * row_bytes <= ONE_THREAD_ROW_GROUP:
        return ROW_GROUP_ROWS
    return max(VECTOR_ROWS, int(ONE_THREAD_ROW_GROUP / row_bytes) // VECTOR_ROWS * VECTOR_ROWS)


def load_settings(package: LoadPackage, row_bytes: float, threads: int, group_rows: int = ROW_GROUP_ROWS
                  ) -> dict[str, str]:
    """DuckDB settings for loading ``package``: ``memory_limit``, and ``threads`` for wide tables.

    A thread appending rows fills a row group of up to ``group_rows`` rows, at least one block per
    column, before it is written out; beyond that, what DuckDB holds is its cache of blocks
    already written, which the limit lets it evict. The limit is a base plus twice the row group
    of each thread, so it follows the package's shape (its widest table, its row size), never its
    number of rows beyond one row group. Row groups still over ``ONE_THREAD_ROW_GROUP`` (more
    than 1,024 columns, each a block) are built by one thread.
    """
    widest = max((len(f.columns) for f in package.files), default=0)
    rows = min(sum(f.rows for f in package.files), group_rows)
    row_group = max(widest * BLOCK_BYTES, int(rows * row_bytes))
    if row_group > ONE_THREAD_ROW_GROUP and threads > 1:
        return {"memory_limit": f"{(LOAD_MEMORY_BASE + 2 * row_group) // 2**20}MiB", "threads": "1"}
    return {"memory_limit": f"{(LOAD_MEMORY_BASE + 2 * threads * row_group) // 2**20}MiB"}


def _attach(connection: Any, database: str, options: str = "") -> None:
    """Attach the file ``database`` as ``CATALOG`` (a fixed name, so a dataset named like the file stem is
    not ambiguous) with ATTACH ``options``, and make it the connection's default."""
    connection.execute(f"ATTACH {_literal(database)} AS {CATALOG}{options}")
    connection.execute(f"USE {CATALOG}")


def _rollback(connection: Any) -> None:
    """Roll back, if a transaction is still open (a failed COMMIT may have ended it)."""
    import duckdb

    with contextlib.suppress(duckdb.Error):
        connection.execute("ROLLBACK")


def _parquet_relation(files: list[PackageFile], ordered: bool) -> str:
    """``read_parquet`` of ``files``; ``ordered``: with each row's ``_dl_chunk`` (the file's) and ``_dl_row``."""
    if not ordered:
        return _read_parquet(files)
    chunks = sorted({f.chunk for f in files})
    parts = [f"SELECT * EXCLUDE (file_row_number), CAST({int(chunk)} AS BIGINT) AS _dl_chunk, "
             f"file_row_number AS _dl_row FROM {_read_parquet([f for f in files if f.chunk == chunk], True)}"
             for chunk in chunks]
    return "(" + " UNION ALL BY NAME ".join(parts) + ")"


def _read_parquet(files: list[PackageFile], row_numbers: bool = False) -> str:
    paths = "[" + ", ".join(_literal(str(f.path)) for f in files) + "]"
    union = ", union_by_name = true" if len({tuple(f.columns) for f in files}) > 1 else ""
    return f"read_parquet({paths}{union}{', file_row_number = true' if row_numbers else ''})"


def _data_bytes(package: LoadPackage) -> int:
    """Uncompressed size of the package's rows: from the Parquet footers, or the Arrow files' sizes."""
    import pyarrow.parquet as pq

    total = 0
    for file in package.files:
        if file.file_format != "parquet":
            total += sum(path.stat().st_size for path in file.paths)
            continue
        metadata = pq.read_metadata(file.path)
        total += sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    return total


def _append_only(package: LoadPackage) -> bool:
    tables = package.schema.tables
    return bool(package.files) and not package.dropped_tables and not package.dropped_columns and all(
        tables[root].write_disposition in ("append", "merge") and not tables[root].merges_on_keys()
        for root in package.tables)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _driver_errors() -> tuple[type[BaseException], ...]:
    import duckdb

    return (duckdb.Error,)


def duckdb_arrow(result: Any) -> pa.Table:
    """A DuckDB relation or result as an Arrow table (``to_arrow_table``, ``fetch_arrow_table`` before DuckDB 1.1)."""
    to_arrow = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    return to_arrow()
