"""Read a pipeline's tables back through the destination's own driver (duckdb or psycopg), not through dataload.

Import it as ``from tests.sources.readback import Readback`` (the repository root is on the path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

import dataload
from conftest import postgres_connection


class Readback:
    """SQL queries of ``pipe``'s dataset; ``duckdb_path`` is its DuckDB file when the destination is DuckDB."""

    def __init__(self, pipe: dataload.Pipeline, duckdb_path: Path) -> None:
        self.pipe = pipe
        self.dataset = pipe.dataset_name
        self.duckdb_path = duckdb_path

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of ``sql``, run with the dataset as the default schema."""
        if self.pipe.destination.name == "postgres":
            with postgres_connection() as connection:
                connection.execute(f'SET search_path TO "{self.dataset}"')
                return [tuple(row) for row in connection.execute(sql).fetchall()]
        with duckdb.connect(str(self.duckdb_path), read_only=True) as connection:
            connection.execute(f'SET schema = "{self.dataset}"')
            return connection.execute(sql).fetchall()

    def tables(self) -> set[str]:
        """The dataset's data tables (dataload's own ``_dl_*`` tables left out)."""
        rows = self.query(f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{self.dataset}'")
        return {name for (name,) in rows if not name.startswith("_dl_")}

    def columns(self, table: str) -> set[str]:
        """The column names of ``table``."""
        return {name for (name,) in self.query(
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = '{self.dataset}' AND table_name = '{table}'")}
