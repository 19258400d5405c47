"""Partitioned runs on a real Dask cluster (issue 18): ``distributed.LocalCluster`` with two worker
processes, started once for the module.

A partitioned SQL backfill from PostgreSQL into DuckDB and into PostgreSQL, a partitioned file load,
a worker killed mid-task, the coordinator killed between package loads, and a partition that fails
for good. Each is checked with the reliability checks: rows per table equal to the source's, no
duplicate keys, an order-independent checksum over every column, and the cursor at the largest
value loaded. Values are read back with each destination's own driver.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver
import pytest
from landed import assert_landed
from test_partitions_local import (
    PARTS,
    ROWS,
    build,
    child_rows_and_cursor,
    dies_once,
    numbers,
    run_partitioned_child,
    split_numbers,
)
from test_resume import assert_clean, cursor

import dataload
from conftest import POSTGRES_URL, postgres_connection
from destinations import duckdb, postgres
from sources.filesystem import filesystem, read_jsonl
from sources.sql_database import sql_table

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed: pip install 'dataload[dask]'")
cloudpickle = pytest.importorskip("cloudpickle")

ORDERS = 4_000
PARTITIONS = 8
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)

# the workers import neither this module nor the child's: their functions travel by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])
cloudpickle.register_pickle_by_value(sys.modules[numbers.__module__])


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A client of a LocalCluster of two single-threaded worker processes."""
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
                                  worker_dashboard_address=":0") as cluster, distributed.Client(cluster) as made:
        yield made


# -- the checks ---------------------------------------------------------------------------------------
def checksum(rows: list[tuple[Any, ...]]) -> int:
    """An order-independent checksum of ``rows`` (instants compared in UTC, decimals by value)."""
    def canonical(value: Any) -> Any:
        if isinstance(value, datetime.datetime):
            value = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
            return value.astimezone(datetime.timezone.utc).isoformat()
        return str(value.normalize()) if isinstance(value, Decimal) else value

    digests = (hashlib.sha256(json.dumps([canonical(v) for v in row]).encode()).digest() for row in rows)
    return sum(int.from_bytes(digest[:8], "big") for digest in digests) % 2**64


def assert_loaded_exactly(read: Callable[[str], list[tuple[Any, ...]]], table: str, source_rows: list[tuple[Any, ...]],
                          columns: str, key: str) -> None:
    """Rows of ``table`` equal the source's: same count, no duplicate key, same checksum over ``columns``."""
    assert read(f"SELECT count(*), count(DISTINCT {key}) FROM {table}") == [(len(source_rows), len(source_rows))]
    assert checksum(read(f"SELECT {columns} FROM {table}")) == checksum(source_rows)


# -- the source and the destinations ----------------------------------------------------------------
@pytest.fixture
def orders() -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """A PostgreSQL schema with table ``orders`` of ``ORDERS`` rows; yields the schema and its rows."""
    connection = postgres_connection()
    schema = f"src_{uuid.uuid4().hex[:8]}"
    connection.execute(f'CREATE SCHEMA "{schema}"')
    connection.execute(f'CREATE TABLE "{schema}".orders (id bigint PRIMARY KEY, customer text, '
                       "amount numeric(12, 2), updated_at timestamptz NOT NULL)")
    connection.execute(f'INSERT INTO "{schema}".orders SELECT g, \'c\' || (g %% 37), (g * 7 %% 1000) / 100.0, '
                       "%s + g * interval '1 minute' FROM generate_series(1, %s) g", (START, ORDERS))
    rows = connection.execute(f'SELECT id, customer, amount, updated_at FROM "{schema}".orders').fetchall()
    try:
        yield schema, rows
    finally:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        connection.close()


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Callable[[str], Any]]]:
    """A destination and a reader of its dataset ``ds_...`` with the destination's own driver."""
    dataset = f"ds_{uuid.uuid4().hex[:8]}"
    if request.param == "duckdb":
        path = str(tmp_path / "target.duckdb")

        def read_duckdb(sql: str) -> Any:
            con = duckdb_driver.connect(path)
            try:
                con.execute(f'SET schema = "{dataset}"')
                return con.execute(sql).fetchall()
            finally:
                con.close()

        yield (duckdb(path), dataset), read_duckdb
        return
    connection = postgres_connection()

    def read_postgres(sql: str) -> Any:
        connection.execute(f'SET search_path TO "{dataset}"')
        return connection.execute(sql).fetchall()

    try:
        yield (postgres(POSTGRES_URL), dataset), read_postgres
    finally:
        connection.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
        connection.close()


# -- the runs -------------------------------------------------------------------------------------------
def test_a_partitioned_sql_backfill_lands_every_row_once_with_the_cursor_at_the_newest(
        client, orders, target, tmp_path):
    schema, source_rows = orders
    (destination, dataset), read = target
    table = sql_table(POSTGRES_URL, table="orders", schema=schema, partition_on="id", partitions=PARTITIONS,
                      incremental=dataload.incremental("updated_at", initial_value=START.isoformat()))
    assert len(table.partitions()) == PARTITIONS
    pipe = dataload.pipeline("backfill", destination=destination, dataset_name=dataset,
                             pipelines_dir=tmp_path / "pipelines")

    info = pipe.run(table, executor=client)

    assert len(info.load_ids) == PARTITIONS
    assert_loaded_exactly(read, "orders", source_rows, "id, customer, amount, updated_at", "id")
    newest = max(row[3] for row in source_rows)
    assert datetime.datetime.fromisoformat(str(cursor(pipe, "orders", "updated_at"))) == newest
    assert_clean(pipe)


def test_a_partitioned_file_load_reads_each_file_once(client, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    source_rows = []
    for file in range(6):
        lines = [{"id": file * 1000 + n, "file": file, "score": n * 0.5} for n in range(150)]
        (folder / f"part_{file}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
        source_rows += [(line["id"], line["file"], line["score"]) for line in lines]
    files = filesystem(str(folder), file_glob="*.jsonl", partitions=3)
    assert [len(p.arguments["relative_paths"]) for p in files.partitions()] == [2, 2, 2]
    pipe = dataload.pipeline("files", destination=duckdb(str(tmp_path / "files.duckdb")), dataset_name="ds",
                             pipelines_dir=tmp_path / "pipelines")

    info = pipe.run(read_jsonl(files).with_name("scores"), executor=client)

    assert len(info.load_ids) == 3
    con = duckdb_driver.connect(str(tmp_path / "files.duckdb"))
    try:
        assert_loaded_exactly(lambda sql: con.execute(sql).fetchall(), "ds.scores", source_rows, "id, file, score",
                              "id")
    finally:
        con.close()


def test_a_worker_killed_mid_task_is_replaced_and_every_row_lands_once(client, tmp_path):
    marker = tmp_path / "killed-once"
    pipe = dataload.pipeline("killed", destination=duckdb(str(tmp_path / "killed.duckdb")), dataset_name="ds",
                             pipelines_dir=tmp_path / "pipelines")
    split = dies_once(str(marker)).partition_by(lambda: PARTS)

    pipe.run(split, executor=client)

    assert marker.exists()  # a worker did die
    con = duckdb_driver.connect(str(tmp_path / "killed.duckdb"))
    try:
        assert con.execute("SELECT count(*), count(DISTINCT n), min(n), max(n) FROM ds.dies_once").fetchall() == \
            [(ROWS, ROWS, 0, ROWS - 1)]
    finally:
        con.close()


def test_the_coordinator_killed_between_package_loads_completes_exactly_once_on_the_rerun(client, tmp_path):
    address = client.scheduler.address
    killed = run_partitioned_child(tmp_path, "load.after_commit:3", address)
    assert killed.returncode == -9, killed.stderr

    build(tmp_path).run(split_numbers(), executor=client)  # the re-run, here
    counts, state = child_rows_and_cursor(tmp_path)
    assert counts == [(ROWS, ROWS)]
    assert '"last_value": 999' in state


def test_a_partition_failing_for_good_on_the_cluster_is_named_and_the_cursor_stays(client, tmp_path):
    pipe = dataload.pipeline("fails", destination=duckdb(str(tmp_path / "fails.duckdb")), dataset_name="ds",
                             pipelines_dir=tmp_path / "pipelines")
    pipe.run(numbers().partition_by(lambda: [{"low": 0, "high": 300}]), executor=client)

    with pytest.raises(dataload.PartitionError, match=r"numbers\[3\] low=600 high=800 failed: .*n=750"):
        pipe.run(split_numbers(fail_at=750), executor=client, partition_retries=1)
    assert cursor(pipe, "numbers", "n") == 299

    pipe.run(split_numbers(), executor=client)
    con = duckdb_driver.connect(str(tmp_path / "fails.duckdb"))
    try:
        assert con.execute("SELECT count(*), count(DISTINCT n) FROM ds.numbers").fetchall() == [(ROWS, ROWS)]
    finally:
        con.close()
    assert cursor(pipe, "numbers", "n") == ROWS - 1


def test_packages_staged_on_a_file_url_outside_the_pipelines_dir_land_once_though_a_worker_dies(client, tmp_path):
    marker, staged = tmp_path / "killed-once", tmp_path / "staged"
    pipe = dataload.pipeline("staged", destination=duckdb(str(tmp_path / "staged.duckdb")), dataset_name="ds",
                             pipelines_dir=tmp_path / "pipelines")

    pipe.run(dies_once(str(marker)).partition_by(lambda: PARTS), executor=client, staging_url=staged.as_uri())

    assert marker.exists()  # a worker did die mid-task and its partition was run again
    assert_landed(pipe, {"dies_once": [{"n": n} for n in range(ROWS)]}, packages=len(PARTS))
    assert list(staged.iterdir()) == []  # the staged copies are deleted once published
