"""Shared fixtures: a fresh pipeline per test on a private DuckDB file, nothing global."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

import dataload
from destinations import duckdb


@pytest.fixture
def make_pipeline(tmp_path: Path) -> Callable[..., dataload.Pipeline]:
    """Build pipelines whose working dir and DuckDB file live in ``tmp_path``.

    Calling it again with the same ``name`` reopens the same pipeline (same working dir and db).
    """

    def make(name: str | None = None, **options: Any) -> dataload.Pipeline:
        name = name or f"p_{uuid.uuid4().hex[:8]}"
        options.setdefault("destination", duckdb(str(tmp_path / f"{name}.duckdb")))
        options.setdefault("dataset_name", "ds")
        options.setdefault("pipelines_dir", tmp_path / "pipelines")
        return dataload.pipeline(name, **options)

    return make


POSTGRES_URL = os.environ.get("DATALOAD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_connection() -> Any:
    """An autocommit psycopg connection to the test server, or a skip (a failure when CI is set)."""
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError:
        service_unavailable("PostgreSQL")


MARIADB_URL = os.environ.get("DATALOAD_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")


def mariadb_admin() -> Any:
    """An autocommit SQLAlchemy engine on the MariaDB test server that answers, or a skip (a failure
    when CI is set)."""
    sa = pytest.importorskip("sqlalchemy")
    pytest.importorskip("pymysql")
    admin = sa.create_engine(MARIADB_URL, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT",
                             connect_args={"connect_timeout": 3})
    try:
        admin.connect().close()
    except sa.exc.DBAPIError:
        service_unavailable("MariaDB")
    return admin


def service_unavailable(what: str) -> None:
    """Skip a test whose server is not running, or fail when ``CI`` is set."""
    skip_or_fail_in_ci(f"{what} is not reachable", remedy="start it (see .ci/run)")


def skip_or_fail_in_ci(reason: str, *, remedy: str) -> NoReturn:
    """Skip for ``reason``, or fail when ``CI`` is set: there, a check that does not run hides a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} and CI is set: {remedy}")
    pytest.skip(reason)


@pytest.fixture(params=["duckdb", "postgres"])
def sql_pipeline(request: pytest.FixtureRequest, make_pipeline: Callable[..., dataload.Pipeline],
                 tmp_path: Path) -> Any:
    """Build pipelines on DuckDB and on PostgreSQL, each in a unique dataset (a PostgreSQL schema dropped after).

    Calling it again with the same ``name`` reopens the same pipeline on the same dataset.
    """
    dataset = f"ds_{uuid.uuid4().hex[:8]}"
    admin = postgres_connection() if request.param == "postgres" else None

    def make(name: str | None = None, **options: Any) -> dataload.Pipeline:
        if admin is not None:
            from destinations import postgres

            options.setdefault("destination", postgres(POSTGRES_URL))
        options.setdefault("dataset_name", dataset)
        return make_pipeline(name, **options)

    yield make
    if admin is not None:
        admin.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
        admin.close()
