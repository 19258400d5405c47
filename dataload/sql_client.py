"""Run SQL on the destination: ``with pipe.sql_client() as sql: sql.execute("select 1").fetchall()``."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dataload.protocol import DestinationClient

if TYPE_CHECKING:
    import pyarrow as pa


def quote_identifier(identifier: str) -> str:
    """``identifier`` quoted for SQL run through :class:`SqlClient`: SQL-standard double quotes, inner
    ones doubled (what DuckDB, PostgreSQL, SQLite and the filesystem destination read; MySQL and
    MariaDB only with ``ANSI_QUOTES``).

    >>> quote_identifier('we"ird <name>')
    '"we""ird <name>"'
    """
    return '"' + identifier.replace('"', '""') + '"'


class QueryResult:
    """Rows of one query: ``fetchall()`` as tuples, ``arrow()`` as a table."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def arrow(self) -> pa.Table:
        """The result as an Arrow table."""
        return self._table

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The result as a list of tuples."""
        columns = [c.to_pylist() for c in self._table.columns]
        return list(zip(*columns)) if columns else []


class SqlClient:
    """An open connection to the pipeline's dataset, used as a context manager."""

    def __init__(self, open_client: Callable[[], AbstractContextManager[DestinationClient]]) -> None:
        self._open = open_client
        self._context: AbstractContextManager[DestinationClient] | None = None
        self._client: DestinationClient | None = None

    def __enter__(self) -> SqlClient:
        self._context = self._open()
        self._client = self._context.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        assert self._context is not None
        self._context.__exit__(kind, error, trace)
        self._client = self._context = None

    def execute(self, sql: str, parameters: list[Any] | None = None) -> QueryResult:
        """Run ``sql`` with bound ``parameters`` (the dataset is the default schema)."""
        if self._client is None:
            raise RuntimeError("use the SQL client inside a with-block")
        return QueryResult(self._client.query(sql, parameters))
