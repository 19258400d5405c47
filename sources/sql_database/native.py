"""The native Arrow backend: a SELECT streamed from PostgreSQL as Arrow record batches, no Python rows.

The ADBC PostgreSQL driver (``adbc-driver-postgresql``, extra ``dataload[sql_native]``) reads the
result in PostgreSQL's binary format straight into Arrow. A query without parameters goes through
``COPY (SELECT ...) TO STDOUT (FORMAT binary)``, the fastest path; a query with bound parameters
(an incremental cursor, a filter) is declared as a server-side cursor with its parameters bound by
the server (never pasted into the SQL) and read ``chunk_size`` rows per ``FETCH``. Both stream: memory
stays bounded by the chunk, not by the table.

>>> import sqlalchemy as sa
>>> engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
>>> orders = sa.table("orders", sa.column("id"), schema="public")
>>> batches = native_arrow_batches(engine, sa.select(orders).where(orders.c.id > 100), chunk_size=50_000)
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import sqlalchemy

import dataload
from dataload.configuration import redact, redact_url
from sources.sql_database.native_types import plain_schema

EXTRA = "sql_native"
"""The extra that installs the driver: ``pip install "dataload[sql_native]"``."""
COPY_BATCH_BYTES = 8 * 1024 * 1024
"""Size the driver aims at for one batch read by ``COPY`` (a hint; batches are then cut to ``chunk_size`` rows)."""
_CURSOR = "dataload_native_read"
logger = logging.getLogger(__name__)


def native_arrow_batches(engine: sqlalchemy.Engine, select: sqlalchemy.Select[Any],
                         chunk_size: int) -> Iterator[pa.RecordBatch]:
    """Stream the rows of ``select`` from the PostgreSQL database of ``engine`` as Arrow record batches.

    Each batch holds at most ``chunk_size`` rows. Column types come from the server: ``numeric(p, s)``
    becomes ``decimal128(p, s)`` (``decimal256`` above 38 digits), ``timestamptz`` a UTC timestamp,
    ``uuid`` its canonical text, ``json``/``jsonb`` their text, ``numeric`` without a precision its
    exact text, arrays Arrow lists. A column the driver would hand over changed is refused with a
    ``dataload.SchemaError`` naming it: ``money`` (read as cents) and types it has no Arrow type for
    (``inet``, ``xml``, ranges, enums: PostgreSQL's binary wire bytes); cast those in the query.

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    >>> query = sa.select(sa.literal_column("41 + 1").label("answer"))
    >>> [batch.to_pylist() for batch in native_arrow_batches(engine, query, chunk_size=10)]  # doctest: +SKIP
    [[{'answer': 42}]]
    """
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise dataload.InvalidConfig(f"sql_database: chunk_size must be a positive whole number of rows, "
                                     f"not {chunk_size!r}")
    if engine.dialect.name != "postgresql":
        raise dataload.InvalidConfig(
            f"sql_database: the native backend cannot read {engine.dialect.name} (it reads PostgreSQL only, "
            "through ADBC); use backend='pyarrow' or 'sqlalchemy' for this database")
    dbapi = _driver()
    sql, params = compiled_sql(engine, select)
    what = describe(select)
    url, password = _driver_uri(engine), engine.url.password
    logger.debug("native read of %s from %s", what, redact_url(url))
    problem = None
    try:
        with dbapi.connect(url) as connection, connection.cursor() as cursor:
            plain = None
            for batch in (_copy_batches(cursor, sql) if not params else
                          _cursor_batches(cursor, sql, params, chunk_size)):
                if plain is None or not plain.source.equals(batch.schema, check_metadata=True):
                    plain = plain_schema(batch.schema, what)
                for start in range(0, batch.num_rows, chunk_size):
                    yield plain.convert(batch.slice(start, chunk_size))
            return
    except (dbapi.Error, pa.ArrowException) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    # raised outside the handler, so the driver's message (which may hold the URL) is not chained
    hidden = redact(redact_url(problem), [password] if password else [])
    raise dataload.ExtractError(f"sql_database: reading {what} from {redact_url(url)} with the native "
                                f"backend failed: {hidden}")


def compiled_sql(engine: sqlalchemy.Engine, select: sqlalchemy.Select[Any]) -> tuple[str, tuple[Any, ...]]:
    """The SQL of ``select`` for the engine's dialect with ``$1, $2, ...`` placeholders, and their values in order.

    >>> import sqlalchemy as sa
    >>> t = sa.table("t", sa.column("id", sa.Integer))
    >>> sql, params = compiled_sql(sa.create_engine("postgresql+psycopg://"), sa.select(t).where(t.c.id > 5))
    >>> " ".join(sql.split()), params
    ('SELECT t.id FROM t WHERE t.id > $1::INTEGER', (5,))
    """
    dialect_class: Any = type(engine.dialect)  # the engine's own dialect, with the driver's $n placeholders
    dialect = dialect_class(paramstyle="numeric_dollar")
    compiled = select.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), tuple(compiled.params[name] for name in compiled.positiontup or ())


def describe(select: sqlalchemy.Select[Any]) -> str:
    """The tables a SELECT reads, for messages: ``table 'public.orders'``."""
    names = [str(f) for f in getattr(select, "get_final_froms", lambda: [])() if getattr(f, "name", None)]
    return f"table {', '.join(names)!r}" if len(names) == 1 else f"tables {names!r}" if names else "the query"


def _driver() -> Any:
    try:
        return importlib.import_module("adbc_driver_postgresql.dbapi")
    except ImportError:
        raise dataload.MissingDependencyError("the native backend of sql_database", EXTRA,
                                              "adbc-driver-postgresql") from None


def _driver_uri(engine: sqlalchemy.Engine) -> str:
    """The libpq URI of the engine: ``postgresql+psycopg://...`` becomes ``postgresql://...``."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _copy_batches(cursor: Any, sql: str) -> Iterator[pa.RecordBatch]:
    """The result of a query without parameters, read through ``COPY ... (FORMAT binary)``."""
    cursor.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(COPY_BATCH_BYTES)})
    cursor.execute(sql)
    yield from cursor.fetch_record_batch()


def _cursor_batches(cursor: Any, sql: str, params: tuple[Any, ...], chunk_size: int) -> Iterator[pa.RecordBatch]:
    """The result of a query with bound parameters, read ``chunk_size`` rows per ``FETCH`` of a server cursor.

    (The driver buffers the whole result of a statement with parameters, so it is not executed directly.)
    """
    cursor.execute(f"DECLARE {_CURSOR} NO SCROLL CURSOR FOR {sql}", params)
    cursor.adbc_statement.set_options(**{"adbc.postgresql.use_copy": "false"})  # COPY cannot read FETCH
    while True:
        cursor.execute(f"FETCH FORWARD {int(chunk_size)} FROM {_CURSOR}")
        table = cursor.fetch_arrow_table()
        if table.num_rows == 0:
            return
        yield from table.to_batches()
