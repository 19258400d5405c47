"""The destination conformance suite (``dataload.testing``) run once per available destination."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dataload
from conftest import MARIADB_URL, POSTGRES_URL, mariadb_admin, postgres_connection
from dataload.testing import ALL_CHECKS
from destinations import duckdb, filesystem, postgres, sqlalchemy
from destinations.sql import quote


@pytest.fixture
def dataset_name() -> str:
    return f"ds_{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["duckdb", "postgres", "filesystem", "sqlalchemy-sqlite", "sqlalchemy-mariadb"])
def destination(request: pytest.FixtureRequest, tmp_path: Path, dataset_name: str) -> Iterator[Any]:
    """Each destination available here, loading into a dataset of its own that is dropped afterwards."""
    if request.param == "duckdb":
        yield duckdb(str(tmp_path / "conformance.duckdb"))
        return
    if request.param == "filesystem":
        yield filesystem(str(tmp_path / "bucket"))  # the dataset folder lives in tmp_path: nothing to drop
        return
    if request.param == "sqlalchemy-sqlite":  # the dataset is the file tmp_path/<dataset>.db, attached
        lite = sqlalchemy(f"sqlite:///{tmp_path / 'conformance.db'}")
        yield lite
        lite.engine().dispose()
        return
    if request.param == "sqlalchemy-mariadb":
        yield from _mariadb(dataset_name)
        return
    admin = postgres_connection()
    try:
        yield postgres(POSTGRES_URL)
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {quote(dataset_name)} CASCADE")
        admin.close()


def _mariadb(dataset_name: str) -> Iterator[Any]:
    admin = mariadb_admin()
    maria = sqlalchemy(MARIADB_URL)
    try:
        yield maria
    finally:
        maria.engine().dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{dataset_name}`")


@pytest.fixture
def suite_pipeline(make_pipeline: Callable[..., dataload.Pipeline], destination: Any,
                   dataset_name: str) -> Callable[..., dataload.Pipeline]:
    def make(name: str | None = None) -> dataload.Pipeline:
        return make_pipeline(name, destination=destination, dataset_name=dataset_name)

    return make


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
def test_destination_conforms(check: Callable[..., None], suite_pipeline: Callable[..., dataload.Pipeline]) -> None:
    if check.__name__ == "check_merge_upsert_and_children" and \
            not suite_pipeline().destination.capabilities.merge_strategies:
        pytest.skip("the destination declares no merge strategy (its refusal is tested on its own)")
    check(suite_pipeline)
