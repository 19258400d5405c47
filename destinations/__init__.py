"""dataload's own destinations, as factories: ``duckdb()``, and more as they are added.

>>> from destinations import duckdb
>>> duckdb(":memory:").name
'duckdb'
"""

from __future__ import annotations

from typing import Any


def duckdb(credentials: Any = None) -> Any:
    """The DuckDB destination: a database file path, ``":memory:"``, or None for ``<pipeline>.duckdb``."""
    from destinations._duckdb import DuckDB

    return DuckDB(credentials)


def postgres(credentials: Any = None) -> Any:
    """The PostgreSQL destination: a URL, a dict of parts, or None for ``DESTINATION__POSTGRES__CREDENTIALS``.

    >>> postgres("postgresql://loader:s3cret@localhost/analytics")  # doctest: +SKIP
    Postgres('postgresql://loader:***@localhost/analytics')
    """
    from destinations._postgres import Postgres

    return Postgres(credentials)


__all__ = ["duckdb", "postgres"]
