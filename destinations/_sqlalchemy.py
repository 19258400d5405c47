"""Any database SQLAlchemy reaches (tested: SQLite and MariaDB), loaded with batched executemany.

A dataset is a MariaDB/MySQL database (``utf8mb4``, binary no-pad collation, so keys compare
exactly as on other destinations), a SQLite file ``<folder of the main database>/<dataset>.db``
attached as schema ``<dataset>`` while a client is open (the dataset ``main`` is the main file),
or a schema on other dialects. Load files (Parquet, or Arrow read in place) go in batches of
``batch_size`` rows (``executemany`` of Arrow record batches) into temporary staging tables with
``_dl_chunk``/``_dl_row``; the statements of :mod:`destinations.sql` append, replace or merge (delete-insert), then
``_dl_loads``, ``_dl_version`` and the state are written and everything commits at once. On SQLite
that transaction (``BEGIN IMMEDIATE``) holds the schema changes too. **MariaDB DDL is not
transactional**: schema changes (new tables, added or dropped columns, dropped tables) commit
before the data transaction starts, so a load that fails later leaves them in place, without a
row of the package. The load stays idempotent: a retry finds the schema done, and ``_dl_loads``
alone says whether a package was loaded. Types: BigInteger, Double, Numeric(p, s), Boolean, Text
(LONGTEXT), DateTime (DATETIME(6) holding UTC, read back as UTC), Date, Time(6), LargeBinary
(LONGBLOB), JSON as text (MariaDB's JSON). SQLite keeps decimals exact to 15 significant digits.

>>> SqlAlchemy("mysql+pymysql://loader:s3cret@db.internal/analytics")
SqlAlchemy('mysql+pymysql://loader:***@db.internal/analytics')
"""

from __future__ import annotations

import datetime
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataload.configuration import NOT_FOUND, Secret, is_credential_key, lookup, redact, redact_url
from dataload.exceptions import InvalidConfig, MissingConfig, MissingDependencyError
from dataload.protocol import Capabilities, LoadPackage, PackageFile, ProjectSetup
from dataload.schema.model import ROW_ID, Column, Table, decimal_size, integer_bits
from destinations._sqlalchemy_results import arrow_array
from destinations.errors import connect_error, load_error, read_error
from destinations.records import SCHEMA, STATE, SqlRecords
from destinations.sql import (
    SqlDialect,
    Staged,
    count_rows,
    drop_column_sql,
    qmark_to_pyformat,
    schema_changes_sql,
    write_sql,
)

sa: Any
try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql
except ImportError:  # SqlAlchemy() says what to install
    sa = None

_MYSQL = ("mysql", "mariadb")
_PREFIXED = (None, "text", "json", "binary")  # LONGTEXT / LONGBLOB: MariaDB indexes a prefix of them
_PREFIX_CHARS = 64  # several text columns of one key still fit MariaDB's 3072-byte index limit
_UTC = datetime.timezone.utc
_MYSQL_SYSTEM_DATABASES = ("information_schema", "mysql", "performance_schema", "sys")


# how the commit time is stored where columns keep no zone: naive UTC (SQLite as SQLAlchemy writes DateTime)
_STORED_TIME: dict[str, Callable[[datetime.datetime], Any]] = {
    "mysql": lambda now: now.astimezone(_UTC).replace(tzinfo=None),
    "sqlite": lambda now: now.astimezone(_UTC).replace(tzinfo=None).isoformat(" ", "microseconds"),
}


def sa_type(column: Column) -> Any:
    """The SQLAlchemy type of a column (with MariaDB variants that hold any length).

    >>> sa_type(Column("at", "timestamp")).compile(dialect=mysql.dialect())
    'DATETIME(6)'
    """
    kind = column.data_type or "text"
    if kind == "decimal":
        return sa.Numeric(*decimal_size(column))
    if kind == "bigint" and integer_bits(column) < 64:
        return sa.Integer() if integer_bits(column) == 32 else sa.SmallInteger()
    types = {"bigint": sa.BigInteger(), "double": sa.Double(), "bool": sa.Boolean(),
             "timestamp": sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), *_MYSQL),
             "date": sa.Date(), "time": sa.Time().with_variant(mysql.TIME(fsp=6), *_MYSQL),
             "binary": sa.LargeBinary().with_variant(mysql.LONGBLOB(), *_MYSQL)}
    return types.get(kind, sa.Text().with_variant(mysql.LONGTEXT(), *_MYSQL))


class SqlAlchemy:
    """The SQLAlchemy destination.

    ``credentials``: a URL (``sqlite:///path/main.db``, ``mysql+pymysql://user:password@host/db``),
    a dict of URL parts (``drivername``, ``username``, ``password``, ``host``, ``port``,
    ``database``), an ``Engine``, or None to read ``DESTINATION__SQLALCHEMY__CREDENTIALS`` or
    ``[destination.sqlalchemy] credentials`` in ``.dataload/secrets.toml``. ``batch_size``: rows per
    ``executemany``. The password never shows in ``repr`` or error messages.
    """

    name = "sqlalchemy"
    # a SQLite file runs as it is; for a server: mysql+pymysql://loader:<password>@localhost:3306/analytics
    project_setup = ProjectSetup("any SQLAlchemy database: SQLite, MySQL/MariaDB, ... (install its driver too)",
                                 extras=("sqlalchemy",), secrets={"credentials": "sqlite:///warehouse.db"})

    def __init__(self, credentials: Any = None, *, batch_size: int = 10_000) -> None:
        if sa is None:
            raise MissingDependencyError("the sqlalchemy destination", "sqlalchemy", "sqlalchemy")
        if credentials is None:
            trace: list[str] = []
            credentials = lookup(("destination", "sqlalchemy"), "credentials", secret=True, trace=trace)
            if credentials is NOT_FOUND:
                raise MissingConfig("destination.sqlalchemy.credentials", trace)
        self._engine: Any = credentials if isinstance(credentials, sa.engine.Engine) else None
        self.url = self._engine.url if self._engine is not None else _url(credentials)
        self._secrets = _url_secrets(self.url)
        self.display = redact(redact_url(self.url.render_as_string(hide_password=True)), self._secrets)
        self.batch_size, self._lock = batch_size, threading.Lock()
        self.kind = "mysql" if self.url.get_backend_name() in _MYSQL else self.url.get_backend_name()
        limit = 64 if self.kind == "mysql" else self.url.get_dialect().max_identifier_length  # 255 until connected
        # "upsert" runs as delete-insert in the transaction, as on DuckDB: the same rows result
        self.capabilities = Capabilities(max_identifier_length=limit if limit < 9999 else None,
                                         file_formats=("arrow", "parquet"),
                                         merge_strategies=("delete-insert", "upsert"), deletes_loads=True)

    def client(self, *, dataset_name: str, pipeline_name: str, local_dir: Path) -> SqlAlchemyClient:
        """Connect and return a client for ``dataset_name``."""
        self.check_dataset_name(dataset_name)
        try:
            connection = self.engine().connect()
        except sa.exc.DBAPIError as exc:
            error = connect_error(exc, self.display, self._secrets)
        else:
            return SqlAlchemyClient(connection, dataset_name, self)
        raise error  # outside the handler: no chained driver error to leak from

    def check_dataset_name(self, dataset_name: str) -> None:
        """Refuse a dataset name the database would refuse or that belongs to the system.

        >>> SqlAlchemy("sqlite:///main.db").check_dataset_name("temp")
        Traceback (most recent call last):
        dataload.exceptions.InvalidConfig: dataset_name 'temp' is reserved by SQLite; choose another dataset_name
        """
        limit = self.capabilities.max_identifier_length
        if (limit and len(dataset_name.encode()) > limit) or any(c in dataset_name for c in "/\\\x00"):
            raise InvalidConfig(f"dataset_name {dataset_name!r} is not a valid database name here "
                                f"(at most {limit} bytes, no slashes)")
        reserved = {"mysql": _MYSQL_SYSTEM_DATABASES, "sqlite": ("temp",)}.get(self.kind, ())
        if dataset_name.lower() in reserved:
            owner = "MariaDB/MySQL" if self.kind == "mysql" else "SQLite"
            raise InvalidConfig(f"dataset_name {dataset_name!r} is reserved by {owner}; choose another dataset_name")

    def engine(self) -> Any:
        """The SQLAlchemy engine, made on first use (the driver is imported then)."""
        with self._lock:
            if self._engine is None:
                if self.kind == "sqlite" and self.url.database not in (None, "", ":memory:"):
                    Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._engine = sa.create_engine(self.url, pool_pre_ping=True)
                except ImportError as exc:
                    raise MissingDependencyError(f"the sqlalchemy destination ({self.url.drivername})",
                                                 "sqlalchemy", exc.name or self.url.drivername) from None
            return self._engine

    def attach_spec(self) -> dict[str, Any]:
        """Options that rebuild this destination in ``dataload.attach`` (never a password)."""
        url, file = self.url, self.url.database if self.kind == "sqlite" else None
        url = url.set(database=str(Path(file).resolve())) if file and file != ":memory:" else url
        spec: dict[str, Any] = {} if self._secrets else {"credentials": url.render_as_string(hide_password=False)}
        return spec | ({"batch_size": self.batch_size} if self.batch_size != 10_000 else {})

    def __repr__(self) -> str:
        return f"SqlAlchemy({self.display!r})"


def _url_secrets(url: Any) -> list[Secret]:
    """The password and every credential option of the query string (``?password=``, ``?passwd=``, ...)."""
    values = [url.password, *(v for k, v in url.query.items() if is_credential_key(k))]
    flat = [v for value in values for v in ((value,) if isinstance(value, str) else value or ())]
    return [Secret(str(v)) for v in flat if v]


def _url(credentials: Any) -> Any:
    """A SQLAlchemy URL from text or a dict of parts; errors never quote the credentials."""
    try:
        if isinstance(credentials, Mapping):
            return sa.engine.URL.create(**{k: str(v) if isinstance(v, Secret) else v for k, v in credentials.items()})
        return sa.engine.make_url(str(credentials))
    except Exception:  # the parser's message may quote the string, password included
        pass
    raise InvalidConfig("sqlalchemy credentials must be a URL like mysql+pymysql://user:password@host:3306/db "
                        "or sqlite:///path/to/file.db, a dict of URL parts, or an Engine")


class SqlAlchemyClient:
    """A connection to one dataset; statements run in autocommit, transactions are explicit."""

    def __init__(self, connection: Any, dataset: str, destination: SqlAlchemy) -> None:
        self.connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        self.dataset, self.kind, self.batch_size = dataset, destination.kind, destination.batch_size
        self._secrets, self._attached = destination._secrets, False
        self._percent = connection.dialect.paramstyle in ("format", "pyformat")  # '%' must be doubled
        on_mysql, quote = self.kind == "mysql", connection.dialect.identifier_preparer.quote_identifier
        self.dialect = SqlDialect(
            quote=quote, delete_alias=not on_mysql, drop_column_if_exists=self.kind != "sqlite",
            temp_table="TEMPORARY TABLE" if on_mysql else "TEMP TABLE", match_by_in=self.kind == "sqlite",
            drop_temp_table="DROP TEMPORARY TABLE" if on_mysql else "DROP TABLE",
            temp_indexes=self._merge_indexes if on_mysql else None)
        self.records = SqlRecords(dataset, self._execute, self._ddl_type, (sa.exc.DBAPIError,), self.dialect,
                                  self._secrets, _STORED_TIME.get(self.kind))
        try:
            if self.kind == "sqlite":
                self._attach(destination.url.database)
            elif on_mysql:
                self._run("SET time_zone = '+00:00'")
                self._run("SET SESSION sql_mode = TRIM(BOTH ',' FROM CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'))")
                if dataset in sa.inspect(self.connection).get_schema_names():
                    self._run(f"USE {quote(dataset)}")  # unqualified names in query() find the dataset
        except BaseException:
            connection.close()
            raise

    def _attach(self, main: str | None) -> None:
        if self.dataset not in [row[1] for row in self._run("PRAGMA database_list")]:
            self._attached = main not in (None, "", ":memory:")  # in memory: kept while the connection lives
            path = str(Path(str(main)).parent / f"{self.dataset}.db") if self._attached else ":memory:"
            self._run(f"ATTACH DATABASE ? AS {self.dialect.quote(self.dataset)}", (path,))

    def close(self) -> None:
        """Detach the dataset (SQLite) and give the connection back."""
        try:
            if self._attached:
                self._run(f"DETACH DATABASE {self.dialect.quote(self.dataset)}")
        finally:
            self.connection.close()

    def _run(self, sql: str, parameters: Any = None) -> Any:
        return self.connection.exec_driver_sql(sql.replace("%", "%%") if self._percent and parameters is None
                                               else sql, parameters)

    def _execute(self, sql: str, parameters: list[Any]) -> Sequence[Sequence[Any]]:
        result = self.connection.exec_driver_sql(qmark_to_pyformat(sql) if self._percent else sql, tuple(parameters))
        return result.fetchall() if result.returns_rows else []

    def existing_columns(self) -> dict[str, set[str]]:
        """Tables of the dataset with their column names."""
        inspector = sa.inspect(self.connection)
        if self.dataset not in inspector.get_schema_names():
            return {}
        found = inspector.get_multi_columns(schema=self.dataset)
        return {table: {c["name"] for c in columns} for (_, table), columns in found.items()}

    def load_package(self, package: LoadPackage) -> bool:
        """Load the whole package (see the module docstring); False if it was loaded before."""
        try:
            return self._load(package)
        except BaseException as exc:
            self._abort()
            if isinstance(exc, sa.exc.DBAPIError):  # not chained: the driver's text quotes rows and parameters
                raise load_error(exc, package, None, None, self._secrets) from None
            raise

    def _load(self, package: LoadPackage) -> bool:
        quote, ddl_in_transaction = self.dialect.quote, self.kind != "mysql"
        if self.kind == "mysql":
            collation = "utf8mb4_nopad_bin" if self.connection.dialect.is_mariadb else "utf8mb4_bin"
            self._run(f"CREATE DATABASE IF NOT EXISTS {quote(self.dataset)} CHARACTER SET utf8mb4 COLLATE {collation}")
            self._run(f"USE {quote(self.dataset)}")
        elif self.kind != "sqlite":
            self._run(f"CREATE SCHEMA IF NOT EXISTS {quote(self.dataset)}")
        if ddl_in_transaction:
            self._begin()
        for statement in self.records.create_sql():
            self._run(statement)
        if self.records.loaded(package):
            if ddl_in_transaction:
                self._run("ROLLBACK")
            return False
        self.drop_tables(package.dropped_tables)
        existing = self.existing_columns()
        for table, columns in package.dropped_columns.items():
            for column in columns:
                if self.dialect.drop_column_if_exists or column in existing.get(table, ()):
                    self._run(drop_column_sql(self.dataset, table, column, self.dialect))
        for statement in schema_changes_sql(self.dataset, package.schema.data_tables(), self.existing_columns(),
                                            self._ddl_type, self.dialect):
            self._run(statement)
        if not ddl_in_transaction:
            self._begin()
        names = (f"_dl_stage_{n}" for n in itertools.count())
        for root in package.tables:
            self._write_table(package, root, names)
            package.job_done(package.family_files(root))
        self.records.commit(package)
        self._run("COMMIT")
        return True

    def _begin(self) -> None:
        self._run({"sqlite": "BEGIN IMMEDIATE", "mysql": "START TRANSACTION"}.get(self.kind, "BEGIN"))

    def _abort(self) -> None:
        """Roll back; on MariaDB also drop the connection, with any temporary tables left on it."""
        try:
            self._run("ROLLBACK")
        except sa.exc.SQLAlchemyError:
            pass  # the connection is gone, or there was no transaction
        if self.kind == "mysql":
            self.connection.invalidate()

    def _ddl_type(self, column: Column) -> str:
        if column.data_type == "json" and self.kind == "mysql":
            return "JSON"
        return str(sa_type(column).compile(dialect=self.connection.dialect))

    def _merge_indexes(self, table: Table, keys: list[str]) -> str:
        """Inline indexes of the merge's deduplicated rows (MariaDB: on the keys and ``_dl_id``)."""
        return f" ({', '.join(self._indexes(table, [keys, table.key_columns('merge_key'), [ROW_ID]]))})"

    def _indexes(self, table: Table, groups: list[list[str]]) -> list[str]:
        """``INDEX (...)`` over each non-empty group of columns, on a prefix of long text."""
        def part(name: str) -> str:
            prefix = name not in table.columns or table.columns[name].data_type in _PREFIXED
            return self.dialect.quote(name) + (f"({_PREFIX_CHARS})" if prefix else "")
        return [f"INDEX ({', '.join(part(c) for c in group)})" for group in groups if group]

    def _write_table(self, package: LoadPackage, root: str, names: Iterator[str]) -> None:
        family = [root] + package.schema.children_of(root)
        staged = {t: self._stage(package, t, next(names)) for t in family if package.files_of(t)}
        try:
            for statement in write_sql(self.dataset, package, root, staged, next(names), self.dialect):
                self._run(statement)
            for stage in staged.values():
                self._run(f"{self.dialect.drop_temp_table} {stage.relation}")
        except sa.exc.DBAPIError as exc:
            raise load_error(exc, package, root, None, self._secrets) from None

    def _stage(self, package: LoadPackage, table: str, name: str) -> Staged:
        """A temporary table with the rows of ``table``'s load files, inserted in batches."""
        files, schema_table = package.files_of(table), package.schema.tables[table]
        columns = sorted({c for f in files for c in f.columns}, key=list(schema_table.columns).index)
        types = {c: sa_type(schema_table.columns[c]) for c in columns}
        keys = {c: f"c{i}" for i, c in enumerate(columns)}  # bind names free of the characters in c
        stage = sa.Table(name, sa.MetaData(), *(sa.Column(c, types[c], key=keys[c]) for c in columns),
                         sa.Column("_dl_chunk", sa.BigInteger()), sa.Column("_dl_row", sa.BigInteger()))
        definitions = [f"{self.dialect.quote(c)} {types[c].compile(dialect=self.connection.dialect)}"
                       for c in columns] + ["_dl_chunk BIGINT", "_dl_row BIGINT"]
        if self.kind == "mysql" and schema_table.is_root and schema_table.write_disposition == "merge":
            groups = [schema_table.key_columns(hint) for hint in ("primary_key", "merge_key")]
            definitions += self._indexes(schema_table, groups)
        try:
            self._run(f"CREATE {self.dialect.temp_table} {self.dialect.quote(name)} ({', '.join(definitions)})")
        except sa.exc.DBAPIError as exc:
            raise load_error(exc, package, table, None, self._secrets) from None
        for file in files:
            try:
                self._insert_file(stage.insert(), file, package.load_id, keys)
            except sa.exc.DBAPIError as exc:
                raise load_error(exc, package, table, str(file.path), self._secrets) from None
        return Staged(self.dialect.quote(name), columns)

    def _insert_file(self, insert: Any, file: PackageFile, load_id: str, keys: dict[str, str]) -> None:
        """``executemany`` per record batch; timestamps go as naive UTC where columns keep no zone."""
        first_row, naive, chunk = 0, self.kind in ("sqlite", "mysql"), file.chunk
        for batch in file.batches(load_id, self.batch_size):
            if not batch.num_rows:
                continue  # an empty executemany would insert one row of defaults
            arrays = [a.cast(pa.timestamp(a.type.unit)) if naive and pa.types.is_timestamp(a.type) and a.type.tz
                      else a for a in batch.columns]
            arrays += [pa.array([chunk] * batch.num_rows, pa.int64()),
                       pa.array(range(first_row, first_row + batch.num_rows), pa.int64())]
            names = [keys[n] for n in batch.schema.names] + ["_dl_chunk", "_dl_row"]
            self.connection.execute(insert, pa.RecordBatch.from_arrays(arrays, names).to_pylist())
            first_row += batch.num_rows

    def stored_schema(self, schema_name: str) -> dict[str, Any] | None:
        """The newest schema of ``schema_name`` stored in the dataset."""
        return self.records.newest(SCHEMA, schema_name)

    def stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        """The newest state of ``pipeline_name`` stored in the dataset."""
        return self.records.newest(STATE, pipeline_name)

    def query(self, sql: str, parameters: list[Any] | None = None) -> pa.Table:
        """Run SQL (``?`` placeholders; unqualified names find the dataset's tables) and return Arrow."""
        if self._percent:
            sql = qmark_to_pyformat(sql)
        result = self.connection.exec_driver_sql(sql, tuple(parameters or ()))
        if not result.returns_rows:
            return pa.table({})
        names, rows = list(result.keys()), result.fetchall()
        return pa.Table.from_arrays([arrow_array([r[i] for r in rows], None) for i in range(len(names))], names=names)

    def read_table(self, table: str) -> pa.Table:
        """All rows of ``table``, typed by the table's declared column types."""
        columns = sa.inspect(self.connection).get_columns(table, schema=self.dataset)
        relation = sa.table(table, *(sa.column(c["name"]) for c in columns), schema=self.dataset)
        rows = self.connection.execute(sa.select(relation)).fetchall()
        arrays = [arrow_array([r[i] for r in rows], c["type"]) for i, c in enumerate(columns)]
        return pa.Table.from_arrays(arrays, names=[c["name"] for c in columns])

    def row_counts(self, tables: list[str]) -> dict[str, int]:
        """``count(*)`` of each table."""
        return count_rows(tables, lambda table: self.dialect.qualified(self.dataset, table),
                          lambda sql: self.connection.exec_driver_sql(sql).fetchall())

    def drop_tables(self, tables: list[str]) -> None:
        """Drop tables of the dataset."""
        for table in tables:
            self._run(f"DROP TABLE IF EXISTS {self.dialect.qualified(self.dataset, table)}")

    def unfinished_parts(self) -> list[str]:
        """Load ids of parts of streamed runs that their run's last package never completed."""
        return self.records.unfinished_parts()

    def delete_loads(self, load_ids: list[str]) -> None:
        """Delete what the packages ``load_ids`` loaded (their rows and system rows), in one transaction."""
        columns = self.existing_columns()
        try:
            self._begin()
            self.records.delete_loads(load_ids, columns)
            self._run("COMMIT")
        except BaseException as exc:
            self._abort()
            if isinstance(exc, sa.exc.DBAPIError):  # not chained: the driver's text quotes parameters
                raise read_error(exc, f"deleting the rows of loads {', '.join(load_ids)} from {self.dataset}",
                                 self._secrets) from None
            raise
