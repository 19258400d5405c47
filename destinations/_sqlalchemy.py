"""Any database SQLAlchemy reaches (tested on SQLite and MariaDB), loaded with batched executemany.

Where a dataset lives:

* MariaDB / MySQL: a database, ``CREATE DATABASE IF NOT EXISTS`` with ``utf8mb4`` and the binary
  collation ``utf8mb4_bin``, so merge keys compare exactly ('a' != 'A' != 'a ') as elsewhere.
* SQLite: a database file ``<folder of the main file>/<dataset>.db`` attached as schema
  ``<dataset>`` (``ATTACH DATABASE``) while a client is open, so tables keep their plain names
  and ``"dataset"."table"`` works as on other destinations; dropping a dataset is deleting its
  file. An in-memory main database gets an in-memory dataset that lives as long as SQLAlchemy's
  connection (one per thread). The dataset ``main`` is the main file itself.
* any other dialect: a schema (``CREATE SCHEMA IF NOT EXISTS``).

A package is loaded like on DuckDB: rows of each load file are inserted in batches of
``batch_size`` (``executemany`` over Arrow record batches) into a temporary staging table with
``_dl_chunk``/``_dl_row``, and the shared statements of :mod:`destinations.sql` write them
(append, replace by delete-and-insert, merge by delete-insert); then ``_dl_loads``,
``_dl_version`` and the state, then one COMMIT. On SQLite that transaction (``BEGIN IMMEDIATE``)
covers the schema changes too. **MariaDB DDL is not transactional**: schema changes (new tables,
added and dropped columns, dropped tables) are committed before the data transaction starts, so
a load that fails afterwards leaves the new (empty) columns and tables in place while no row of
the package is visible. That is harmless: the retry finds them and changes nothing, and
``_dl_loads`` decides whether a package was loaded, so the load stays idempotent.

Types go through SQLAlchemy's type system: BigInteger, Double, Numeric(p, s), Boolean,
Text (LONGTEXT on MariaDB), DateTime (DATETIME(6) on MariaDB; timestamps are stored as UTC and
read back as UTC), Date, Time, LargeBinary (LONGBLOB), and JSON as text (MariaDB's JSON type).
SQLite keeps decimals as REAL, exact to 15 significant digits.

>>> SqlAlchemy("mysql+pymysql://loader:s3cret@db.internal/analytics")  # doctest: +SKIP
SqlAlchemy('mysql+pymysql://loader:***@db.internal/analytics')
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataload.config import NOT_FOUND, Secret, lookup, redact
from dataload.destination import ENGINE_VERSION, Capabilities, LoadPackage
from dataload.exceptions import InvalidConfig, MissingConfig, MissingDependencyError, TerminalLoadError, \
    TransientLoadError
from dataload.schema.model import Column
from destinations.sql import SqlDialect, Staged, create_table_sql, drop_column_sql, schema_changes_sql, \
    system_table, write_sql

_MYSQL = ("mysql", "mariadb")
_SYSTEM_TABLES = ("_dl_loads", "_dl_version", "_dl_pipeline_state")
# MariaDB errors worth a retry: lock wait timeout, deadlock, server gone away / lost / unreachable,
# connection killed, server shutting down, too many connections, query interrupted.
_MYSQL_TRANSIENT = {1205, 1213, 2002, 2003, 2006, 2013, 2055, 1927, 1053, 1040, 1317}
_UTC = datetime.timezone.utc


def sa_type(column: Column) -> Any:
    """The SQLAlchemy type of a column (with the MariaDB variants that hold any length).

    >>> from sqlalchemy.dialects import mysql
    >>> sa_type(Column("at", "timestamp")).compile(dialect=mysql.dialect())
    'DATETIME(6)'
    """
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql

    kind = column.data_type or "text"
    if kind == "decimal":
        return sa.Numeric(column.precision or 38, 9 if column.scale is None else column.scale)
    types = {"bigint": sa.BigInteger(), "double": sa.Double(), "bool": sa.Boolean(),
             "timestamp": sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), *_MYSQL),
             "date": sa.Date(), "time": sa.Time().with_variant(mysql.TIME(fsp=6), *_MYSQL),
             "binary": sa.LargeBinary().with_variant(mysql.LONGBLOB(), *_MYSQL)}
    return types.get(kind, sa.Text().with_variant(mysql.LONGTEXT(), *_MYSQL))


class SqlAlchemy:
    """The SQLAlchemy destination.

    ``credentials``: a SQLAlchemy URL (``sqlite:///path/main.db``,
    ``mysql+pymysql://user:password@host:3306/db``), a dict of URL parts (``drivername``,
    ``username``, ``password``, ``host``, ``port``, ``database``, ``query``), an ``Engine``, or
    None to read ``DESTINATION__SQLALCHEMY__CREDENTIALS`` or ``[destination.sqlalchemy]
    credentials`` in ``.dataload/secrets.toml``. ``batch_size``: rows per ``executemany``. The
    password never shows in ``repr`` or error messages.
    """

    name = "sqlalchemy"

    def __init__(self, credentials: Any = None, *, batch_size: int = 10_000) -> None:
        try:
            import sqlalchemy as sa
        except ImportError:
            raise MissingDependencyError("the sqlalchemy destination", "sqlalchemy", "sqlalchemy") from None
        if credentials is None:
            trace: list[str] = []
            credentials = lookup(("destination", "sqlalchemy"), "credentials", secret=True, trace=trace)
            if credentials is NOT_FOUND:
                raise MissingConfig("destination.sqlalchemy.credentials", trace)
        self._engine: Any = credentials if isinstance(credentials, sa.engine.Engine) else None
        self.url = self._engine.url if self._engine is not None else _url(credentials)
        self._secrets = [Secret(self.url.password)] if self.url.password else []
        self.batch_size = batch_size
        self.kind = "mysql" if self.url.get_backend_name() in _MYSQL else self.url.get_backend_name()
        limit = self.url.get_dialect().max_identifier_length
        self.capabilities = Capabilities(max_identifier_length=limit if limit < 9999 else None,
                                         file_formats=("parquet",), merge_strategies=("delete-insert",),
                                         transactional_ddl=self.kind != "mysql", case_sensitive=False)
        self._lock = threading.Lock()

    def client(self, *, dataset_name: str, pipeline_name: str, local_dir: Path) -> SqlAlchemyClient:
        """Connect and return a client for ``dataset_name``."""
        import sqlalchemy as sa

        limit = self.capabilities.max_identifier_length
        if limit and len(dataset_name.encode()) > limit or any(c in dataset_name for c in "/\\\x00"):
            raise InvalidConfig(f"dataset_name {dataset_name!r} is not a valid database name here "
                                f"(at most {limit} bytes, no slashes)")
        try:
            connection = self.engine().connect()
        except sa.exc.DBAPIError as exc:
            message = redact(f"cannot connect to {self.display}: {exc.orig}", self._secrets)
        else:
            return SqlAlchemyClient(connection, dataset_name, self)
        raise TransientLoadError(message)  # outside the handler: no chained driver error to leak from

    def engine(self) -> Any:
        """The SQLAlchemy engine, created on first use (the driver is imported then)."""
        import sqlalchemy as sa

        with self._lock:
            if self._engine is None:
                if self.kind == "sqlite" and self.url.database not in (None, "", ":memory:"):
                    Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._engine = sa.create_engine(self.url, pool_pre_ping=True)
                except ImportError as exc:
                    raise MissingDependencyError(f"the sqlalchemy destination for {self.url.drivername}",
                                                 "sqlalchemy", exc.name or self.url.drivername) from None
            return self._engine

    def attach_spec(self) -> dict[str, Any]:
        """Options that rebuild this destination in ``dataload.attach`` (never a password)."""
        spec: dict[str, Any] = {} if self.url.password else {"credentials": self.url.render_as_string()}
        return spec | ({"batch_size": self.batch_size} if self.batch_size != 10_000 else {})

    @property
    def display(self) -> str:
        """The connection target with the password hidden."""
        return redact(self.url.render_as_string(hide_password=True), self._secrets)

    def __repr__(self) -> str:
        return f"SqlAlchemy({self.display!r})"


def _url(credentials: Any) -> Any:
    """A SQLAlchemy URL from text or a dict of parts; errors never quote the credentials."""
    import sqlalchemy as sa

    try:
        if isinstance(credentials, Mapping):
            return sa.engine.URL.create(**{k: (str(v) if isinstance(v, Secret) else v) for k, v in credentials.items()})
        if isinstance(credentials, str):
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
        quote = connection.dialect.identifier_preparer.quote_identifier
        mysql = self.kind == "mysql"
        self.dialect = SqlDialect(quote=quote, delete_alias=not mysql, drop_column_if_exists=self.kind != "sqlite",
                                  temp_table="TEMPORARY TABLE" if mysql else "TEMP TABLE",
                                  drop_temp_table="DROP TEMPORARY TABLE" if mysql else "DROP TABLE")
        try:
            if self.kind == "sqlite":
                self._attach(destination.url.database)
            elif mysql:
                self._run("SET time_zone = '+00:00'")
                self._run("SET SESSION sql_mode = TRIM(BOTH ',' FROM CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'))")
                if self._dataset_exists():
                    self._run(f"USE {quote(dataset)}")
        except BaseException:
            connection.close()
            raise

    def _attach(self, main: str | None) -> None:
        attached = [row[1] for row in self._run("PRAGMA database_list").fetchall()]
        if self.dataset in attached:
            return
        if self.dataset == "temp":
            raise InvalidConfig("dataset_name 'temp' is reserved by SQLite")
        in_memory = main in (None, "", ":memory:")
        path = ":memory:" if in_memory else str(Path(main).parent / f"{self.dataset}.db")  # type: ignore[arg-type]
        self._run(f"ATTACH DATABASE ? AS {self.dialect.quote(self.dataset)}", (path,))
        self._attached = not in_memory

    def close(self) -> None:
        """Detach the dataset (SQLite) and give the connection back."""
        try:
            if self._attached:
                self._run(f"DETACH DATABASE {self.dialect.quote(self.dataset)}")
        finally:
            self.connection.close()

    def _run(self, sql: str, parameters: Any = None) -> Any:
        return self.connection.exec_driver_sql(sql, parameters)

    def _dataset_exists(self) -> bool:
        import sqlalchemy as sa

        return self.dataset in sa.inspect(self.connection).get_schema_names()

    def existing_columns(self) -> dict[str, set[str]]:
        """Tables of the dataset with their column names."""
        import sqlalchemy as sa

        if not self._dataset_exists():
            return {}
        found = sa.inspect(self.connection).get_multi_columns(schema=self.dataset)
        return {table: {c["name"] for c in columns} for (_, table), columns in found.items()}

    def load_package(self, package: LoadPackage) -> bool:
        """Load the whole package (see the module docstring); False if it was loaded before."""
        import sqlalchemy as sa

        try:
            return self._load(package)
        except BaseException as exc:
            self._abort()
            if isinstance(exc, sa.exc.DBAPIError):
                raise _load_error(exc, package, None, None, self._secrets) from exc
            raise

    def _load(self, package: LoadPackage) -> bool:
        quote, ddl_in_transaction = self.dialect.quote, self.kind != "mysql"
        if self.kind == "mysql":
            self._run(f"CREATE DATABASE IF NOT EXISTS {quote(self.dataset)} CHARACTER SET utf8mb4 "
                      "COLLATE utf8mb4_bin")
            self._run(f"USE {quote(self.dataset)}")
        elif self.kind != "sqlite":
            self._run(f"CREATE SCHEMA IF NOT EXISTS {quote(self.dataset)}")
        if ddl_in_transaction:
            self._begin()
        for name in _SYSTEM_TABLES:
            self._run(create_table_sql(self.dataset, system_table(name), self._ddl_type, self.dialect))
        if self._count("_dl_loads", load_id=package.load_id):
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
        self._commit_records(package)
        self._run("COMMIT")
        return True

    def _begin(self) -> None:
        self._run({"sqlite": "BEGIN IMMEDIATE", "mysql": "START TRANSACTION"}.get(self.kind, "BEGIN"))

    def _abort(self) -> None:
        """Roll back; on MariaDB also drop the connection, with any temporary tables left on it."""
        import sqlalchemy as sa

        try:
            self._run("ROLLBACK")
        except sa.exc.DBAPIError:
            pass  # the connection is gone, or there was no transaction
        if self.kind == "mysql":
            self.connection.invalidate()

    def _ddl_type(self, column: Column) -> str:
        if column.data_type == "json" and self.kind == "mysql":
            return "JSON"
        return str(sa_type(column).compile(dialect=self.connection.dialect))

    def _write_table(self, package: LoadPackage, root: str, names: Iterator[str]) -> None:
        import sqlalchemy as sa

        family = [root] + package.schema.children_of(root)
        staged = {t: self._stage(package, t, next(names)) for t in family if package.files_of(t)}
        try:
            for statement in write_sql(self.dataset, package, root, staged, next(names), self.dialect):
                self._run(statement)
            for stage in staged.values():
                self._run(f"{self.dialect.drop_temp_table} {stage.relation}")
        except sa.exc.DBAPIError as exc:
            raise _load_error(exc, package, root, None, self._secrets) from exc

    def _stage(self, package: LoadPackage, table: str, name: str) -> Staged:
        """A temporary table with the rows of ``table``'s load files, inserted in batches."""
        import sqlalchemy as sa

        files, schema_columns = package.files_of(table), package.schema.tables[table].columns
        columns = sorted({c for f in files for c in f.columns}, key=list(schema_columns).index)
        keys = {c: f"c{i}" for i, c in enumerate(columns)}  # bind names free of the characters in c
        stage = sa.Table(name, sa.MetaData(), *(sa.Column(c, sa_type(schema_columns[c]), key=keys[c]) for c in columns),
                         sa.Column("_dl_chunk", sa.BigInteger()), sa.Column("_dl_row", sa.BigInteger()),
                         prefixes=["TEMPORARY"])
        try:
            stage.create(self.connection)
        except sa.exc.DBAPIError as exc:
            raise _load_error(exc, package, table, None, self._secrets) from exc
        for file in files:
            try:
                self._insert_file(stage.insert(), file.path, file.chunk, keys)
            except sa.exc.DBAPIError as exc:
                raise _load_error(exc, package, table, str(file.path), self._secrets) from exc
        return Staged(self.dialect.quote(name), columns)

    def _insert_file(self, insert: Any, path: Path, chunk: int, keys: dict[str, str]) -> None:
        import pyarrow.parquet as pq

        first_row = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=self.batch_size):
            if batch.num_rows:
                self.connection.execute(insert, self._rows(batch, keys, chunk, first_row))
            first_row += batch.num_rows

    def _rows(self, batch: pa.RecordBatch, keys: dict[str, str], chunk: int, first_row: int) -> list[dict[str, Any]]:
        """A record batch as parameter dicts; timestamps become naive UTC where the column has no zone."""
        arrays = [a.cast(pa.timestamp(a.type.unit)) if pa.types.is_timestamp(a.type) and a.type.tz
                  and self.kind in ("sqlite", "mysql") else a for a in batch.columns]
        arrays += [pa.array([chunk] * batch.num_rows, pa.int64()),
                   pa.array(range(first_row, first_row + batch.num_rows), pa.int64())]
        names = [keys[n] for n in batch.schema.names] + ["_dl_chunk", "_dl_row"]
        return pa.RecordBatch.from_arrays(arrays, names).to_pylist()  # type: ignore[no-any-return]

    def _system(self, name: str) -> Any:
        import sqlalchemy as sa

        columns = system_table(name).columns.values()
        return sa.Table(name, sa.MetaData(), *(sa.Column(c.name, sa_type(c)) for c in columns), schema=self.dataset)

    def _count(self, name: str, **where: Any) -> int:
        import sqlalchemy as sa

        table = self._system(name)
        query = sa.select(sa.func.count()).select_from(table).where(*(table.c[k] == v for k, v in where.items()))
        return int(self.connection.execute(query).scalar() or 0)

    def _commit_records(self, package: LoadPackage) -> None:
        now = datetime.datetime.now(_UTC)
        now = now.replace(tzinfo=None) if self.kind in ("sqlite", "mysql") else now
        schema, state = package.schema, package.state
        if not self._count("_dl_version", version_hash=schema.version_hash, version=schema.version):
            self.connection.execute(self._system("_dl_version").insert(), [
                {"version": schema.version, "engine_version": ENGINE_VERSION, "inserted_at": now,
                 "schema_name": schema.name, "version_hash": schema.version_hash, "schema": schema.to_json()}])
        if state is not None and not self._count("_dl_pipeline_state", version_hash=state.get("_state_hash", "")):
            self.connection.execute(self._system("_dl_pipeline_state").insert(), [
                {"version": state.get("_state_version", 0), "engine_version": ENGINE_VERSION,
                 "pipeline_name": package.pipeline_name, "state": json.dumps(state), "created_at": now,
                 "version_hash": state.get("_state_hash", ""), "_dl_load_id": package.load_id}])
        self.connection.execute(self._system("_dl_loads").insert(), [
            {"load_id": package.load_id, "schema_name": schema.name, "status": 0, "inserted_at": now,
             "schema_version_hash": schema.version_hash}])

    def stored_schema(self, schema_name: str) -> dict[str, Any] | None:
        """The newest schema of ``schema_name`` stored in the dataset."""
        return self._newest("schema", "_dl_version", "schema_name", schema_name, "inserted_at")

    def stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        """The newest state of ``pipeline_name`` stored in the dataset."""
        return self._newest("state", "_dl_pipeline_state", "pipeline_name", pipeline_name, "created_at")

    def _newest(self, document: str, name: str, key: str, value: str, timestamp: str) -> dict[str, Any] | None:
        import sqlalchemy as sa

        if name not in self.existing_columns():
            return None
        table = self._system(name)
        query = (sa.select(table.c[document]).where(table.c[key] == value)
                 .order_by(table.c.version.desc(), table.c[timestamp].desc()).limit(1))
        found = self.connection.execute(query).scalar()
        return dict(json.loads(found)) if found else None

    def query(self, sql: str, parameters: list[Any] | None = None) -> pa.Table:
        """Run SQL (``?`` placeholders; unqualified names find the dataset's tables) and return Arrow."""
        if parameters and self.connection.dialect.paramstyle in ("format", "pyformat"):
            from destinations._postgres import qmark_to_pyformat

            sql = qmark_to_pyformat(sql)
        result = self._run(sql, tuple(parameters) if parameters else None)
        if not result.returns_rows:
            return pa.table({})
        names, rows = list(result.keys()), result.fetchall()
        return pa.Table.from_arrays([_array([r[i] for r in rows], None) for i in range(len(names))], names=names)

    def read_table(self, table: str) -> pa.Table:
        """All rows of ``table``, typed by the table's declared column types."""
        import sqlalchemy as sa

        columns = sa.inspect(self.connection).get_columns(table, schema=self.dataset)
        relation = sa.table(table, *(sa.column(c["name"]) for c in columns), schema=self.dataset)
        rows = self.connection.execute(sa.select(relation)).fetchall()
        arrays = [_array([r[i] for r in rows], c["type"]) for i, c in enumerate(columns)]
        return pa.Table.from_arrays(arrays, names=[c["name"] for c in columns])

    def drop_tables(self, tables: list[str]) -> None:
        """Drop tables of the dataset."""
        for table in tables:
            self._run(f"DROP TABLE IF EXISTS {self.dialect.qualified(self.dataset, table)}")


# --- values read back -> Arrow ----------------------------------------------------------------

def _array(values: list[Any], sql_type: Any) -> pa.Array:
    """Values of one result column as Arrow, converted by the column's SQL type when it is known."""
    kind = _python_type(sql_type)
    convert, arrow_type = _CONVERTERS.get(kind, (None, None))
    if kind is decimal.Decimal:
        scale = sql_type.scale or 0
        convert, arrow_type = _decimal(scale), pa.decimal128(sql_type.precision or 38, scale)
    if convert is None:
        convert = _loose
    try:
        return pa.array([None if v is None else convert(v) for v in values], type=arrow_type)
    except (pa.ArrowException, TypeError, ValueError):  # a value Arrow does not know: keep its text
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _python_type(sql_type: Any) -> Any:
    import sqlalchemy as sa

    if sql_type is None:
        return None
    if isinstance(sql_type, sa.Float):  # MariaDB's DOUBLE says Decimal
        return float
    if getattr(sql_type, "display_width", None) == 1 and "TINYINT" in type(sql_type).__name__:
        return bool  # MariaDB's BOOL is TINYINT(1)
    try:
        return sql_type.python_type
    except NotImplementedError:
        return None


def _decimal(scale: int) -> Any:
    exponent = decimal.Decimal(1).scaleb(-scale)
    return lambda v: decimal.Decimal(str(v)).quantize(exponent)


def _utc(value: Any) -> datetime.datetime:
    value = datetime.datetime.fromisoformat(value) if isinstance(value, str) else value
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


def _time(value: Any) -> datetime.time:
    if isinstance(value, datetime.timedelta):  # pymysql reads TIME as a duration
        return (datetime.datetime.min + value).time()
    return datetime.time.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[no-any-return]


def _loose(value: Any) -> Any:
    """A value of a query result of unknown type: stored timestamps are UTC, TIME may be a duration."""
    if isinstance(value, datetime.datetime):
        return _utc(value)
    return _time(value) if isinstance(value, datetime.timedelta) else value


_CONVERTERS: dict[Any, tuple[Any, pa.DataType]] = {
    bool: (bool, pa.bool_()), int: (int, pa.int64()), float: (float, pa.float64()), str: (str, pa.string()),
    bytes: (bytes, pa.binary()), datetime.datetime: (_utc, pa.timestamp("us", "UTC")),
    datetime.date: (lambda v: datetime.date.fromisoformat(v) if isinstance(v, str) else v, pa.date32()),
    datetime.time: (_time, pa.time64("us")),
}


def _load_error(exc: Any, package: LoadPackage, table: str | None, file: str | None,
                secrets: list[Secret]) -> Exception:
    where = f"package {package.load_id}" + (f", table {table!r}" if table else "")
    original = getattr(exc, "orig", None) or exc
    detail = str(original).strip()
    if _is_transient(exc, original):
        return TransientLoadError(redact(f"{where}: connection or server problem, worth retrying: {detail}", secrets))
    if table and not file:
        file = ", ".join(str(f.path) for f in package.files_of(table))
    message = where + (f" (file {file})" if file else "") + f": {type(original).__name__}: {detail}"
    return TerminalLoadError(redact(message, secrets), table=table, file=file)


def _is_transient(exc: Any, original: Any) -> bool:
    import sqlalchemy as sa

    if getattr(exc, "connection_invalidated", False):
        return True
    module = type(original).__module__
    if module.startswith(("pymysql", "MySQLdb", "mysql", "mariadb")):
        code = original.args[0] if original.args else None
        return code in _MYSQL_TRANSIENT
    if module.startswith("sqlite3"):
        text = str(original).lower()
        return isinstance(exc, sa.exc.OperationalError) and ("locked" in text or "busy" in text)
    return isinstance(exc, sa.exc.OperationalError)
