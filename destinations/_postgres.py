"""PostgreSQL destination (psycopg 3): one PG schema per dataset, load files bulk-loaded with COPY.

A package is loaded in one transaction: schema changes, every table's rows, the ``_dl_loads`` row, a
new ``_dl_version`` row when the schema changed, and the pipeline state. Each load file (Parquet, or
Arrow read in place) is encoded in PostgreSQL's binary ``COPY`` format
(:mod:`destinations._postgres_binary`; as CSV by pyarrow with ``copy_format="csv"`` or where a
column's Arrow type has no binary encoder, e.g. ``decimal256``), the next files on
``package.workers`` threads while one is sent, and streamed through ``COPY ... FROM STDIN`` into its
table or, for a merge on keys, into a temporary staging table that carries
``_dl_chunk``/``_dl_row``, so the shared statements of :mod:`destinations.sql` run unchanged;
``merge`` with the ``upsert`` strategy uses ``INSERT ... ON CONFLICT`` on a unique index over the
primary key.

>>> Postgres("postgresql://loader:s3cret@db.internal/analytics")
Postgres('postgresql://loader:***@db.internal/analytics')
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pyarrow as pa

from dataload.configuration import NOT_FOUND, Secret, is_credential_key, lookup, redact, redact_url
from dataload.exceptions import InvalidConfig, MissingConfig, MissingDependencyError
from dataload.protocol import Capabilities, LoadPackage, PackageFile, ProjectSetup, in_threads
from dataload.schema.model import ROOT_ID, ROW_ID, Column, Schema, Table, decimal_size, integer_bits
from destinations._postgres_arrow import POSITION_COLUMNS, csv_chunk, result_to_arrow
from destinations._postgres_binary import SIGNATURE, TRAILER, binary_chunk, binary_kinds
from destinations.errors import connect_error, load_error, read_error
from destinations.records import SCHEMA, STATE, SqlRecords
from destinations.sql import (
    Staged,
    count_rows,
    drop_column_sql,
    qmark_to_pyformat,
    qualified,
    quote,
    schema_changes_sql,
    write_sql,
)

_TYPES = {"bigint": "bigint", "double": "double precision", "bool": "boolean", "text": "text",
          "timestamp": "timestamp with time zone", "date": "date", "time": "time without time zone",
          "binary": "bytea", "json": "jsonb"}
_MAX_NAME_BYTES = 63
_COPY_BATCH_ROWS = 50_000
CopyFormat = Literal["binary", "csv"]
COPY_FORMATS: tuple[CopyFormat, ...] = ("binary", "csv")


def postgres_type(column: Column) -> str:
    """The PostgreSQL type of a column.

    >>> postgres_type(Column("amount", "decimal", precision=18, scale=2))
    'numeric(18, 2)'
    """
    if column.data_type == "decimal":
        return "numeric({}, {})".format(*decimal_size(column))
    if column.data_type == "bigint":
        return _INTEGER_TYPES[integer_bits(column)]
    return _TYPES[column.data_type or "text"]


_INTEGER_TYPES = {8: "smallint", 16: "smallint", 32: "integer", 64: "bigint"}  # no one-byte integer


class Postgres:
    """The PostgreSQL destination.

    ``credentials``: a URL (``postgresql://user:password@host:5432/dbname``), a dict of parts
    (``host``, ``port``, ``user``, ``password``, ``dbname``), or None to read
    ``DESTINATION__POSTGRES__CREDENTIALS`` or ``[destination.postgres] credentials`` in
    ``.dataload/secrets.toml``. The password never shows in ``repr`` or error messages.
    ``copy_format``: ``"binary"`` (default) sends load files in PostgreSQL's binary ``COPY`` format
    (a file with a ``decimal256`` column, precision over 38, as CSV); ``"csv"`` sends every file as CSV.
    """

    name = "postgres"
    project_setup = ProjectSetup("PostgreSQL, a server (merge by upsert or delete-insert)",
                                 extras=("postgres",),
                                 secrets={"credentials": "postgresql://loader:<password>@localhost:5432/analytics"})
    capabilities = Capabilities(max_identifier_length=_MAX_NAME_BYTES, file_formats=("arrow", "parquet"),
                                merge_strategies=("delete-insert", "upsert"), concurrent_loads=True,
                                deletes_loads=True)

    def __init__(self, credentials: str | Mapping[str, Any] | None = None, *, connect_timeout: int = 10,
                 copy_format: CopyFormat = "binary") -> None:
        if copy_format not in COPY_FORMATS:
            raise InvalidConfig(f"postgres copy_format must be one of {', '.join(COPY_FORMATS)}, not {copy_format!r}")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise MissingDependencyError("the postgres destination", "postgres", "psycopg") from None
        if credentials is None:
            trace: list[str] = []
            credentials = lookup(("destination", "postgres"), "credentials", secret=True, trace=trace)
            if credentials is NOT_FOUND:
                raise MissingConfig("destination.postgres.credentials", trace)
        self._conninfo, self._secrets = _conninfo(credentials)
        self.connect_timeout, self.copy_format = connect_timeout, copy_format

    def client(self, *, dataset_name: str, pipeline_name: str, local_dir: Path) -> PostgresClient:
        """Connect and return a client for the schema ``dataset_name``."""
        import psycopg

        self.check_dataset_name(dataset_name)
        try:
            connection = psycopg.connect(str(self._conninfo), autocommit=True, connect_timeout=self.connect_timeout,
                                         prepare_threshold=None)  # no server-side prepares: poolers stay happy
        except psycopg.Error as exc:
            error = connect_error(exc, f"PostgreSQL at {self.display}", self._secrets)
        else:
            return PostgresClient(connection, dataset_name, self._secrets, self.copy_format)
        raise error  # outside the handler: no chained driver error to leak from

    def check_dataset_name(self, dataset_name: str) -> None:
        """Refuse a dataset (schema) name PostgreSQL would refuse or that belongs to the system.

        >>> Postgres("postgresql://localhost/db").check_dataset_name("pg_stats")
        Traceback (most recent call last):
        dataload.exceptions.InvalidConfig: dataset_name 'pg_stats' is reserved by PostgreSQL (names starting ...
        """
        if len(dataset_name.encode()) > _MAX_NAME_BYTES:
            raise InvalidConfig(f"dataset_name {dataset_name!r} is longer than PostgreSQL's {_MAX_NAME_BYTES}-byte "
                                "limit for names")
        if dataset_name.startswith("pg_") or dataset_name == "information_schema":
            raise InvalidConfig(f"dataset_name {dataset_name!r} is reserved by PostgreSQL (names starting with pg_ "
                                "and information_schema belong to the system); choose another dataset_name")

    @property
    def display(self) -> str:
        """The connection target with the password hidden."""
        return redact(redact_url(str(self._conninfo)), self._secrets)

    def attach_spec(self) -> dict[str, Any]:
        """Options that rebuild this destination in ``dataload.attach``: never a credential.

        Credentials that hold a secret are left out, so ``attach`` looks them up again where
        they came from (``DESTINATION__POSTGRES__CREDENTIALS`` or ``secrets.toml``).
        """
        spec: dict[str, Any] = {} if self._secrets else {"credentials": str(self._conninfo)}
        spec |= {"connect_timeout": self.connect_timeout} if self.connect_timeout != 10 else {}
        return spec | ({"copy_format": self.copy_format} if self.copy_format != "binary" else {})

    def __repr__(self) -> str:
        return f"Postgres({self.display!r})"


class Encoded(NamedTuple):
    """A load file ready for ``COPY``: one or more statements' worth of ``(columns, pieces)`` in ``format``."""

    format: CopyFormat
    copies: list[tuple[list[str], list[memoryview | bytes]]]


def _encode(file: PackageFile, columns: Mapping[str, Column], positions: bool, copy_format: CopyFormat,
            load_id: str) -> Encoded:
    """A load file's rows (Parquet, or Arrow read in place: :meth:`~dataload.protocol.PackageFile.batches`;
    with ``_dl_chunk``/``_dl_row`` if ``positions``) encoded for ``COPY``; ``load_id``, the package's,
    fills ``_dl_load_id`` of an Arrow file (a Parquet file holds it).

    Binary where every column has a binary form (:func:`binary_kinds`), else CSV. A binary ``COPY``
    lists the columns in the order :func:`binary_chunk` packs them, which depends on which columns hold
    NULLs in a batch: batches in the same order share one ``COPY``.
    """
    batches = file.batches(load_id, _COPY_BATCH_ROWS)
    first = next(batches, None)
    schema = first.schema if first is not None else pa.schema([])
    names = [*schema.names, *(POSITION_COLUMNS if positions else ())]
    kinds = binary_kinds(schema, [columns[n] for n in schema.names]) if copy_format == "binary" else None
    copies: list[tuple[list[str], list[memoryview | bytes]]] = [] if kinds is not None else [(names, [])]
    first_row = 0
    for batch in itertools.chain([first] if first is not None else [], batches):  # encoded one batch at a time
        position = (file.chunk, first_row) if positions else None
        first_row += batch.num_rows
        if kinds is None:
            copies[0][1].append(csv_chunk(batch, position))
            continue
        chunk = binary_chunk(batch, kinds, position)
        ordered = [names[i] for i in chunk.order]
        if not copies or copies[-1][0] != ordered:
            copies.append((ordered, []))
        copies[-1][1].append(chunk.data)
    if kinds is None:
        return Encoded("csv", copies)
    return Encoded("binary", [(ordered, [SIGNATURE, *pieces, TRAILER]) for ordered, pieces in copies])


def _conninfo(credentials: str | Mapping[str, Any]) -> tuple[Secret, list[Secret]]:
    """A libpq connection string (kept as a Secret) and the secret values to hide in messages."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    aliases = {"database": "dbname", "username": "user"}
    try:
        if isinstance(credentials, Mapping):
            text = make_conninfo(**{aliases.get(k, k): str(v) for k, v in credentials.items() if v is not None})
        elif isinstance(credentials, str):
            text = str(credentials)
        else:
            raise TypeError
        secrets = [Secret(v) for k, v in conninfo_to_dict(text).items() if v and is_credential_key(k)]
    except Exception:  # the driver's message may quote the string, password included
        pass
    else:
        return Secret(text), secrets
    raise InvalidConfig("postgres credentials must be a URL like postgresql://user:password@host:5432/dbname "
                        "or a dict with host, port, user, password and dbname")


class PostgresClient:
    """A connection to one dataset (a PostgreSQL schema)."""

    def __init__(self, connection: Any, dataset: str, secrets: list[Secret],
                 copy_format: CopyFormat = "binary") -> None:
        import psycopg
        from psycopg.types.string import TextLoader

        self.connection, self.dataset, self._secrets, self.copy_format = connection, dataset, secrets, copy_format
        self.records = SqlRecords(dataset, self._execute, postgres_type, (psycopg.Error,), secrets=secrets)
        for json_type in ("json", "jsonb"):  # read JSON back as text, like the other destinations
            connection.adapters.register_loader(json_type, TextLoader)
        connection.execute("SET TimeZone TO 'UTC'")
        connection.execute(f"SET search_path TO {quote(dataset)}, public")

    def _execute(self, sql: str, parameters: list[Any]) -> Sequence[Sequence[Any]]:
        cursor = self.connection.execute(qmark_to_pyformat(sql), parameters)
        return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def existing_columns(self) -> dict[str, set[str]]:
        """Tables of the dataset with their column names."""
        found: dict[str, set[str]] = {}
        for table, column in self.connection.execute("SELECT table_name, column_name FROM information_schema.columns"
                                                     " WHERE table_schema = %s", [self.dataset]):
            found.setdefault(table, set()).add(column)
        return found

    def load_package(self, package: LoadPackage) -> bool:
        """Load the whole package in one transaction; False if it was loaded before."""
        import psycopg

        try:
            with self.connection.transaction():
                self.connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.dataset)}")
                for statement in self.records.create_sql():
                    self.connection.execute(statement)
                if self.records.loaded(package):
                    return False
                self.drop_tables(package.dropped_tables)
                for table, columns in package.dropped_columns.items():
                    for column in columns:
                        self.connection.execute(drop_column_sql(self.dataset, table, column))
                self._apply_schema(package)
                names = (f"_dl_stage_{n}" for n in itertools.count())
                for root in package.tables:
                    self._write_table(package, root, names)
                    package.job_done(package.family_files(root))
                self.records.commit(package)
            return True
        except psycopg.Error as exc:  # not chained: the driver's text may quote rows
            raise load_error(exc, package, None, None, self._secrets) from None

    def _apply_schema(self, package: LoadPackage) -> None:
        import psycopg

        schema, existing = package.schema, self.existing_columns()
        for data_table in schema.data_tables():
            try:
                for statement in schema_changes_sql(self.dataset, [data_table], existing, postgres_type):
                    self.connection.execute(statement)
            except psycopg.Error as exc:  # e.g. more than 1,600 columns: name the table
                raise load_error(exc, package, data_table.name, None, self._secrets) from None
        wanted: set[str] = set()
        for table in schema.tables.values():
            if table.is_root and _is_upsert(table):
                wanted.add(self._unique_index(table.name, table.key_columns("primary_key")))
                for child in (c for c in schema.children_of(table.name) if _typed(schema, c)):
                    wanted.add(self._unique_index(child, [ROW_ID]))
        self._drop_unique_indexes(schema, keep=wanted)

    def _unique_index(self, table: str, columns: list[str]) -> str:
        """The unique index ``ON CONFLICT`` needs; named by a hash of table and columns (< 63 bytes)."""
        name = UNIQUE_INDEX_PREFIX + hashlib.sha256("\x1f".join([table, *columns]).encode()).hexdigest()[:20]
        # CREATE INDEX IF NOT EXISTS takes a share lock even when the index exists: two packages loading at
        # once would each hold it and wait on the other's inserts (a deadlock), so look first
        if self.connection.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                                   [self.dataset, name]).fetchone():
            return name
        self.connection.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {quote(name)} ON "
                                f"{qualified(self.dataset, table)} ({', '.join(quote(c) for c in columns)})")
        return name

    def _drop_unique_indexes(self, schema: Schema, *, keep: set[str]) -> None:
        """Drop upsert indexes of the schema's tables that it no longer needs: an old primary key would
        otherwise still refuse rows the new key lets in."""
        found = self.connection.execute(
            "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = %s AND left(indexname, %s) = %s",
            [self.dataset, len(UNIQUE_INDEX_PREFIX), UNIQUE_INDEX_PREFIX]).fetchall()
        for table, name in found:
            if table in schema.tables and name not in keep:
                self.connection.execute(f"DROP INDEX {qualified(self.dataset, name)}")

    def _write_table(self, package: LoadPackage, root: str, names: Iterator[str]) -> None:
        import psycopg

        family = [root] + package.schema.children_of(root)
        # only a merge on keys reads its new rows more than once: the others go straight into their tables
        if not package.schema.tables[root].merges_on_keys():
            for statement in write_sql(self.dataset, package, root, {}, ""):  # replace: the old rows go first
                self.connection.execute(statement)
            for table in family:
                self._copy_files(package, table, qualified(self.dataset, table), positions=False)
            return
        staged = {t: self._stage(package, t, next(names)) for t in family if package.files_of(t)}
        if _is_upsert(package.schema.tables[root]):
            statements = upsert_sql(self.dataset, package.schema, root, staged, next(names))
        else:
            statements = write_sql(self.dataset, package, root, staged, next(names))
        for statement in statements:
            try:
                self.connection.execute(statement)
            except psycopg.Error as exc:
                raise load_error(exc, package, root, None, self._secrets) from None

    def _stage(self, package: LoadPackage, table: str, name: str) -> Staged:
        """A temporary table with the rows of ``table``'s load files, filled by COPY."""
        files, schema_columns = package.files_of(table), package.schema.tables[table].columns
        columns = sorted({c for f in files for c in f.columns}, key=list(schema_columns).index)
        definitions = [f"{quote(c)} {postgres_type(schema_columns[c])}" for c in columns]
        definitions += [f"{c} bigint" for c in POSITION_COLUMNS]
        self.connection.execute(f"CREATE TEMP TABLE {quote(name)} ({', '.join(definitions)}) ON COMMIT DROP")
        self._copy_files(package, table, quote(name), positions=True)
        return Staged(f"pg_temp.{quote(name)}", columns)

    def _copy_files(self, package: LoadPackage, table: str, target: str, *, positions: bool) -> None:
        """COPY the load files of ``table`` into ``target`` (with ``_dl_chunk``/``_dl_row`` if ``positions``).

        Files are read and encoded (:func:`_encode`) on ``package.workers`` threads (pyarrow releases
        the GIL; the encoding is column at a time) while this thread sends the one before to the server:
        one connection, one transaction.
        """
        import psycopg

        columns = package.schema.tables[table].columns

        def encode(file: PackageFile) -> tuple[PackageFile, Encoded]:
            try:
                return file, _encode(file, columns, positions, self.copy_format, package.load_id)
            except pa.ArrowException as exc:  # e.g. a damaged load file: name the table and the file
                raise load_error(exc, package, table, str(file.path), self._secrets) from None

        for file, encoded in in_threads(encode, package.files_of(table), package.workers):
            try:
                for names, pieces in encoded.copies:
                    with self.connection.cursor() as cursor, cursor.copy(
                            f"COPY {target} ({', '.join(map(quote, names))}) FROM STDIN (FORMAT {encoded.format})"
                    ) as copy:
                        for piece in pieces:
                            copy.write(piece)
            except psycopg.Error as exc:
                raise load_error(exc, package, table, str(file.path), self._secrets) from None

    def stored_schema(self, schema_name: str) -> dict[str, Any] | None:
        """The newest schema of ``schema_name`` stored in the dataset."""
        return self.records.newest(SCHEMA, schema_name)

    def stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        """The newest state of ``pipeline_name`` stored in the dataset."""
        return self.records.newest(STATE, pipeline_name)

    def query(self, sql: str, parameters: list[Any] | None = None) -> pa.Table:
        """Run SQL (the dataset first on the search path; ``?`` placeholders) and return Arrow."""
        with self.connection.cursor() as cursor:
            cursor.execute(qmark_to_pyformat(sql) if parameters else sql, parameters or None)
            return result_to_arrow(cursor)

    def read_table(self, table: str) -> pa.Table:
        """All rows of ``table``."""
        return self.query(f"SELECT * FROM {qualified(self.dataset, table)}")

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
        import psycopg

        try:
            with self.connection.transaction():
                self.records.delete_loads(load_ids, self.existing_columns())
        except psycopg.Error as exc:  # not chained: the driver's text may quote rows
            raise read_error(exc, f"deleting the rows of loads {', '.join(load_ids)} from {self.dataset}",
                             self._secrets) from None


UNIQUE_INDEX_PREFIX = "_dl_uq_"


def _is_upsert(table: Table) -> bool:
    return table.write_disposition == "merge" and table.merge_strategy == "upsert" and bool(
        table.key_columns("primary_key"))


def _typed(schema: Schema, table: str) -> bool:
    return any(c.data_type for c in schema.tables[table].columns.values())


def upsert_sql(dataset: str, schema: Schema, root: str, staged: Mapping[str, Staged], stage_table: str) -> list[str]:
    """``merge`` with the ``upsert`` strategy: ``INSERT ... ON CONFLICT`` on the primary key.

    The latest row of each key in the package wins. Child rows are upserted on ``_dl_id`` (derived
    from the root's key and the list position); children of an upserted root that are not in the
    package any more are deleted.
    """
    if root not in staged:
        return []
    keys = schema.tables[root].key_columns("primary_key")
    part, merged = ", ".join(quote(k) for k in keys), quote(stage_table)
    statements = [f"CREATE TEMP TABLE {merged} ON COMMIT DROP AS SELECT DISTINCT ON ({part}) * FROM "
                  f"{staged[root].relation} AS s ORDER BY {part}, _dl_chunk DESC, _dl_row DESC",
                  _on_conflict(dataset, schema.tables[root], Staged(merged, staged[root].columns), keys)]
    for child in (c for c in schema.children_of(root) if _typed(schema, c)):
        orphans = (f"DELETE FROM {qualified(dataset, child)} AS c "
                   f"WHERE c.{quote(ROOT_ID)} IN (SELECT {quote(ROW_ID)} FROM {merged})")
        if child in staged:
            survivors = Staged(f"(SELECT s.* FROM {staged[child].relation} AS s JOIN {merged} AS k ON "
                               f"k.{quote(ROW_ID)} = s.{quote(ROOT_ID)} AND k._dl_chunk = s._dl_chunk)",
                               staged[child].columns)
            statements.append(_on_conflict(dataset, schema.tables[child], survivors, [ROW_ID]))
            orphans += (f" AND NOT EXISTS (SELECT 1 FROM {survivors.relation} AS n "
                        f"WHERE n.{quote(ROW_ID)} = c.{quote(ROW_ID)})")
        statements.append(orphans)
    return statements


def _on_conflict(dataset: str, table: Table, source: Staged, keys: list[str]) -> str:
    """Insert ``source`` into ``table``; a row whose key exists replaces the stored row (all columns)."""
    columns = ", ".join(quote(c) for c in source.columns)
    updates = [f"{quote(c)} = EXCLUDED.{quote(c)}" for c in source.columns if c not in keys]
    updates += [f"{quote(c.name)} = NULL" for c in table.columns.values()
                if c.data_type and c.nullable and c.name not in source.columns and c.name not in keys]
    action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
    return (f"INSERT INTO {qualified(dataset, table.name)} ({columns}) SELECT {columns} FROM {source.relation} "
            f"AS s ON CONFLICT ({', '.join(quote(k) for k in keys)}) {action}")

