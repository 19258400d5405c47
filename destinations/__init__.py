"""dataload's own destinations, as factories: ``duckdb()``, ``postgres()``, ``filesystem()``, ``sqlalchemy()``.

>>> from destinations import duckdb
>>> duckdb(":memory:").name
'duckdb'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the driver modules are imported only when a factory is called
    from destinations._duckdb import DuckDB
    from destinations._filesystem import Filesystem
    from destinations._postgres import CopyFormat, Postgres
    from destinations._sqlalchemy import SqlAlchemy


def duckdb(credentials: Any = None, *, memory_limit: str | None = None) -> DuckDB:
    """The DuckDB destination: a database file path, ``":memory:"``, or None for ``<pipeline>.duckdb``.

    ``memory_limit`` caps DuckDB's memory (it spills to disk beyond). None: loads of ordinary rows
    into a database file run capped at 128 MB plus room for the row groups being built (DuckDB's
    cache of the blocks it writes is what would grow with the data), everything else with
    DuckDB's own default of 80 % of RAM.
    """
    from destinations._duckdb import DuckDB

    return DuckDB(credentials, memory_limit=memory_limit)


def postgres(credentials: Any = None, *, copy_format: CopyFormat = "binary") -> Postgres:
    """The PostgreSQL destination: a URL, a dict of parts, or None for ``DESTINATION__POSTGRES__CREDENTIALS``.

    ``copy_format="csv"`` sends load files as CSV instead of PostgreSQL's binary ``COPY`` format.

    >>> postgres("postgresql://loader:s3cret@localhost/analytics")
    Postgres('postgresql://loader:***@localhost/analytics')
    """
    from destinations._postgres import Postgres

    return Postgres(credentials, copy_format=copy_format)


def filesystem(bucket_url: Any = None, *, layout: str | None = None, format: str = "parquet",
               storage_options: Any = None) -> Filesystem:
    """The filesystem destination: tables as folders of parquet, jsonl or csv files.

    ``bucket_url`` is a folder, a ``file://`` URL or (with fsspec installed) any fsspec URL; None reads
    ``DESTINATION__FILESYSTEM__BUCKET_URL``. ``layout`` defaults to
    ``"{dataset}/{table}/{load_id}.{file_id}.{ext}"``.

    >>> filesystem("/data/lake", format="csv")
    Filesystem('/data/lake', format='csv')
    """
    from destinations._filesystem import Filesystem

    return Filesystem(bucket_url, layout=layout, format=format, storage_options=storage_options)


def sqlalchemy(credentials: Any = None, *, batch_size: int = 10_000) -> SqlAlchemy:
    """Any SQLAlchemy database: a URL, URL parts, an Engine, or None for ``DESTINATION__SQLALCHEMY__CREDENTIALS``.

    ``batch_size`` is the number of rows per ``executemany``.

    >>> sqlalchemy("mysql+pymysql://loader:s3cret@localhost/analytics")
    SqlAlchemy('mysql+pymysql://loader:***@localhost/analytics')
    """
    from destinations._sqlalchemy import SqlAlchemy

    return SqlAlchemy(credentials, batch_size=batch_size)


__all__ = ["duckdb", "filesystem", "postgres", "sqlalchemy"]
