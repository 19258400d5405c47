"""The database connection: credentials (a URL, an ``Engine``, or config) to an engine, with secrets kept out of errors.

>>> engine = engine_of("sqlite://")
>>> display_url(engine_of("postgresql://ann:hunter2@db.example/shop"))
'postgresql://ann:***@db.example/shop'
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dataload
from dataload.configuration import redact, redact_url, resolve_arguments

SECTION = ("sources", "sql_database")
"""Where ``credentials`` are looked up when not given: ``SOURCES__SQL_DATABASE__CREDENTIALS`` and so on."""


def sqlalchemy() -> Any:
    """The ``sqlalchemy`` module, or an error saying which extra to install."""
    try:
        return importlib.import_module("sqlalchemy")
    except ImportError:
        raise dataload.MissingDependencyError("the sql_database source", "sql_database", "sqlalchemy") from None


def _credentials(credentials: Any = dataload.secrets.value) -> Any:
    """The signature ``credentials`` are resolved with (see :data:`SECTION`)."""
    return credentials


def engine_of(credentials: Any) -> Any:
    """An SQLAlchemy ``Engine`` for a URL (text or ``sqlalchemy.URL``) or an engine as it is.

    Anything else (``dataload.secrets.value``, the default) is looked up in config under
    ``sources.sql_database.credentials``. A URL that SQLAlchemy cannot read raises ``InvalidConfig``
    with the password hidden.
    """
    sa = sqlalchemy()
    if isinstance(credentials, sa.engine.Engine):
        return credentials
    if not isinstance(credentials, (str, sa.engine.URL)):
        credentials = resolve_arguments(_credentials, (), {}, sections=SECTION).arguments["credentials"]
    problem = None
    try:
        return sa.create_engine(credentials)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, ValueError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    # raised outside the handler, so the driver's message (which may hold the URL) is not chained
    raise dataload.InvalidConfig(f"sql_database: cannot use the credentials {_hidden(str(credentials))}: "
                                 f"{_hidden(problem, str(credentials))}")


def display_url(engine: Any) -> str:
    """The engine's URL with its password and other credentials hidden, for messages and logs."""
    return _hidden(engine.url.render_as_string(hide_password=True), engine.url.password)


def _hidden(text: str, *secrets: Any) -> str:
    return redact(redact_url(text), [str(s) for s in secrets if s])


@contextmanager
def database_errors(engine: Any, doing: str) -> Iterator[None]:
    """Driver errors raised inside (through SQLAlchemy or from the driver's own connection) as ``ExtractError``
    saying what was being done (``doing``), credentials hidden."""
    sa = sqlalchemy()
    problem = None
    try:
        yield
        return
    except sa.exc.DBAPIError as exc:
        problem = f"{type(exc.orig).__name__}: {exc.orig}"
    except engine.dialect.loaded_dbapi.Error as exc:
        problem = f"{type(exc).__name__}: {exc}"
    # raised outside the handler, so the driver's exception (which may hold the URL) is not chained
    raise dataload.ExtractError(f"sql_database: {doing} on {display_url(engine)} failed: "
                                f"{_hidden(problem, engine.url.password)}")


@contextmanager
def streaming_connection(engine: Any, table: str) -> Iterator[Any]:
    """A connection whose results stream from a server-side cursor; errors name ``table`` and hide credentials.

    On MySQL and MariaDB the session time zone is UTC while the table is read, so ``TIMESTAMP``
    values arrive in UTC; the connection's own time zone is set back before it returns to the pool.
    """
    with database_errors(engine, f"reading table {table!r}"), engine.connect() as connection:
        if engine.dialect.name not in ("mysql", "mariadb"):
            yield connection.execution_options(stream_results=True)
            return
        zone = connection.exec_driver_sql("SELECT @@session.time_zone").scalar()
        connection.exec_driver_sql("SET time_zone = '+00:00'")
        try:
            yield connection.execution_options(stream_results=True)
        finally:
            connection.exec_driver_sql("SET time_zone = %s", (zone,))
