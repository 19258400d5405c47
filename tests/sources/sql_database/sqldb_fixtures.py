"""Fixtures of the sql_database tests (a test module imports ``source_db_fixture`` / ``target_fixture``): source
databases (SQLite: a file, PostgreSQL: a schema, MariaDB: a database), unique to the test and dropped after it,
and a DuckDB target read back with its own driver."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver
import pytest
import sqlalchemy as sa

import dataload
from conftest import POSTGRES_URL, service_unavailable
from destinations import duckdb

MARIADB_URL = os.environ.get("DATALOAD_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
SOURCE_KINDS = ("sqlite", "postgres", "mariadb")


class SourceDb:
    """A database holding the test's tables: ``engine`` on it, ``schema`` to pass to the source (None on SQLite)."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.schema: str | None = None
        if kind == "sqlite":
            self.url = f"sqlite:///{tmp_path / 'source.sqlite'}"
        else:
            self.url = POSTGRES_URL if kind == "postgres" else MARIADB_URL
            self.schema = f"src_{uuid.uuid4().hex[:8]}"
        self.engine = sa.create_engine(self.url)
        try:
            with self.engine.begin() as connection:
                if self.schema is not None:
                    connection.exec_driver_sql(f"CREATE {'SCHEMA' if kind == 'postgres' else 'DATABASE'} {self.schema}")
                if kind == "mariadb":
                    connection.exec_driver_sql("SET time_zone = '+00:00'")
        except sa.exc.OperationalError:
            self.engine.dispose()
            service_unavailable("PostgreSQL" if kind == "postgres" else "MariaDB")

    def name(self, table: str) -> str:
        """``table`` qualified with the test's schema, for SQL written by the tests."""
        return f"{self.schema}.{table}" if self.schema else table

    def run(self, *statements: str) -> None:
        """Run SQL statements in one transaction (``{s}`` stands for the test's schema and a dot)."""
        with self.engine.begin() as connection:
            if self.kind == "mariadb":
                connection.exec_driver_sql("SET time_zone = '+00:00'")
            for statement in statements:
                connection.exec_driver_sql(statement.replace("{s}", f"{self.schema}." if self.schema else ""))

    def drop(self) -> None:
        if self.schema is not None:
            self.run(f"DROP {'SCHEMA' if self.kind == 'postgres' else 'DATABASE'} {self.schema}"
                     f"{' CASCADE' if self.kind == 'postgres' else ''}")
        self.engine.dispose()


@pytest.fixture(name="source_db", params=SOURCE_KINDS)
def source_db_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SourceDb]:
    """A fresh database of each kind (SQLite, PostgreSQL, MariaDB)."""
    db = SourceDb(request.param, tmp_path)
    try:
        yield db
    finally:
        db.drop()


def make_source_db(kind: str, tmp_path: Path) -> SourceDb:
    """A fresh database of one kind (the caller drops it)."""
    return SourceDb(kind, tmp_path)


class DuckTarget:
    """A DuckDB file to load into, read back with the duckdb driver."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.file = tmp_path / f"target_{uuid.uuid4().hex[:6]}.duckdb"
        self.dataset = "ds"

    def pipeline(self, name: str = "sqlsrc", **options: Any) -> dataload.Pipeline:
        return dataload.pipeline(name, destination=duckdb(str(self.file)), dataset_name=self.dataset,
                                 pipelines_dir=self.tmp_path / "pipelines", **options)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        connection = duckdb_driver.connect(str(self.file), read_only=True)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def types(self, table: str) -> dict[str, str]:
        rows = self.query(f"SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
                          f"'{self.dataset}' AND table_name = '{table}' ORDER BY ordinal_position")
        return {name: kind for name, kind in rows if not name.startswith("_dl_")}

    def rows(self, table: str, order_by: str = "id") -> list[dict[str, Any]]:
        connection = duckdb_driver.connect(str(self.file), read_only=True)
        try:
            cursor = connection.execute(f'SELECT * FROM "{self.dataset}"."{table}" ORDER BY "{order_by}"')
            names = [d[0] for d in cursor.description]
            return [{k: v for k, v in zip(names, row) if not k.startswith("_dl_")} for row in cursor.fetchall()]
        finally:
            connection.close()


@pytest.fixture(name="target")
def target_fixture(tmp_path: Path) -> DuckTarget:
    """A DuckDB file in ``tmp_path``."""
    return DuckTarget(tmp_path)
