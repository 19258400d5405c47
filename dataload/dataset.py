"""Read loaded tables back from the destination as Arrow tables or rows."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from dataload.destination import DestinationClient

if TYPE_CHECKING:
    import pyarrow as pa

ClientOpener = Callable[[], AbstractContextManager[DestinationClient]]


class TableReader:
    """One loaded table.

    >>> # pipe.dataset().table("users").arrow().num_rows
    """

    def __init__(self, open_client: ClientOpener, name: str) -> None:
        self._open = open_client
        self.name = name

    def arrow(self) -> pa.Table:
        """All rows as an Arrow table."""
        with self._open() as client:
            return client.read_table(self.name)

    def rows(self) -> list[dict[str, Any]]:
        """All rows as dicts."""
        return self.arrow().to_pylist()  # type: ignore[no-any-return]


class Dataset:
    """The tables a pipeline loaded, read through the destination.

    ``dataset["users"].arrow()``, ``dataset.table("users").rows()``, ``dataset.query(sql)``.
    """

    def __init__(self, open_client: ClientOpener, tables: list[str]) -> None:
        self._open = open_client
        self.tables = tables

    def table(self, name: str) -> TableReader:
        """A reader for ``name`` (a table of the pipeline's schema or a system table)."""
        return TableReader(self._open, name)

    def __getitem__(self, name: str) -> TableReader:
        return self.table(name)

    def query(self, sql: str, parameters: list[Any] | None = None) -> pa.Table:
        """Run a read query with the dataset as the default schema."""
        with self._open() as client:
            return client.query(sql, parameters)

    def row_counts(self) -> dict[str, int]:
        """Rows in each table of the schema."""
        return {name: self.table(name).arrow().num_rows for name in self.tables}
