"""Read loaded tables back from the destination as Arrow tables, rows or pandas frames."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from dataload.exceptions import MissingDependencyError
from dataload.protocol import DestinationClient

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # typed with pandas-stubs only
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

    def df(self) -> pd.DataFrame:
        """All rows as a pandas DataFrame (needs ``pip install "dataload[pandas]"``)."""
        try:
            import pandas  # noqa: F401  (pyarrow's to_pandas needs it)
        except ImportError:
            raise MissingDependencyError(f"reading table {self.name!r} as a DataFrame", "pandas", "pandas") from None
        return self.arrow().to_pandas()


class Dataset:
    """The tables a pipeline loaded, read through the destination.

    ``dataset.users.df()``, ``dataset["users"].arrow()``, ``dataset.table("users").rows()``,
    ``dataset.query(sql)``, ``dataset.row_counts()``.
    """

    def __init__(self, open_client: ClientOpener, tables: list[str]) -> None:
        self._open = open_client
        self.tables = tables

    def table(self, name: str) -> TableReader:
        """A reader for ``name`` (a table of the pipeline's schema or a system table)."""
        return TableReader(self._open, name)

    def __getitem__(self, name: str) -> TableReader:
        return self.table(name)

    def __getattr__(self, name: str) -> TableReader:
        tables: list[str] = self.__dict__.get("tables", [])  # not yet set while unpickling or copying
        if name not in tables:
            raise AttributeError(f"dataset has no table {name!r}; its tables: {', '.join(tables)} "
                                 "(system tables by name: dataset['_dl_loads'])")
        return self.table(name)

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self.tables]

    def query(self, sql: str, parameters: list[Any] | None = None) -> pa.Table:
        """Run a read query (``?`` placeholders) with the dataset as the default schema; Arrow back."""
        with self._open() as client:
            return client.query(sql, parameters)

    def row_counts(self) -> dict[str, int]:
        """Rows in each table of the schema, counted by the destination (``count(*)``, file metadata)."""
        with self._open() as client:
            return client.row_counts(self.tables)
