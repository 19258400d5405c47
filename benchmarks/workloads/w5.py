"""W5: a 2,000,000-row PostgreSQL table -> DuckDB through ``sql_table``, one workload per backend.

The source table ``w5`` (``id bigint`` primary key, ``amount numeric(12,2)``, ``name text`` (10 %
NULL), ``created_at timestamptz``, ``flag boolean``, ``score double precision`` (10 % NULL),
``day date``; values computed from the id, so every build is the same) is built once per size by
``prepare`` (untimed, by ``run.py`` before the first measurement) in a schema of its own
(``bench_w5src_<pid>_<random>``) and dropped when the run ends. Its name reaches the measurement
processes in ``DATALOAD_BENCH_W5_SCHEMA_<rows>``.

* ours (``W5PYARROW``, ``W5NATIVE``, ``W5SQLALCHEMY``): a pipeline runs
  ``sql_table(..., backend=<backend>, chunk_size=50_000)`` into DuckDB.
* reference: psycopg ``COPY (SELECT * FROM w5) TO STDOUT (FORMAT csv)`` into a file, then DuckDB
  ``CREATE TABLE AS SELECT * FROM read_csv(...)`` with the column types given.

Ours also runs at N/10 (``small_of``), and a note shows the peak RSS at both sizes: it must not
grow with the table. Verification: row count, ``sum(id)``, ``sum(amount)``, ``count(name)`` and the
latest ``created_at`` equal the source's. Skipped when no PostgreSQL answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import VerificationError, Workload
from ._common import (
    DATASET,
    POSTGRES_URL,
    drop_postgres_schema,
    pipeline,
    postgres_unavailable,
    query_file,
    query_ours,
    query_postgres,
    tenth,
    unique_dataset,
)

TABLE = "w5"
CHUNK_SIZE = 50_000
SCHEMA_ENV = "DATALOAD_BENCH_W5_SCHEMA_{rows}"
_COLUMNS = {"id": "BIGINT", "amount": "DECIMAL(12,2)", "name": "VARCHAR", "created_at": "TIMESTAMPTZ",
            "flag": "BOOLEAN", "score": "DOUBLE", "day": "DATE"}
_BUILD = """CREATE TABLE "{schema}".w5 (id bigint PRIMARY KEY, amount numeric(12, 2), name text,
    created_at timestamptz NOT NULL, flag boolean NOT NULL, score double precision, day date NOT NULL);
INSERT INTO "{schema}".w5
SELECT i, ((i * 2654435761) % 10000000000) / 100.0,
       CASE WHEN i % 10 = 0 THEN NULL ELSE 'customer ' || md5(i::text) END,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' + (i % 1000) * interval '1 microsecond',
       i % 3 = 0, CASE WHEN i % 10 = 5 THEN NULL ELSE (i % 100000) / 7.0 END, date '2020-01-01' + (i % 1500)
FROM generate_series(1, {rows}) AS i;
ANALYZE "{schema}".w5"""
CHECK_SQL = "SELECT count(*), sum(id), sum(amount), count(name), max(created_at) FROM {table}"


def build_input(rows: int, seed: int) -> dict[str, Any]:
    """Only the size: the rows live in PostgreSQL (see :func:`source_table`)."""
    return {"rows": rows}


@contextmanager
def source_table(rows: int) -> Iterator[dict[str, str]]:
    """Build the source table of ``rows`` rows in a new schema; yield where it is; drop it after."""
    schema = unique_dataset("bench_w5src")
    query_postgres(f'CREATE SCHEMA "{schema}"')
    try:
        for statement in _BUILD.format(schema=schema, rows=int(rows)).split(";"):
            query_postgres(statement)
        yield {SCHEMA_ENV.format(rows=rows): schema}
    finally:
        drop_postgres_schema(schema)


def source_schema(inp: dict[str, Any]) -> str:
    """The schema :func:`source_table` built the input's table in."""
    name = SCHEMA_ENV.format(rows=inp["rows"])
    if name not in os.environ:
        raise RuntimeError(f"W5: {name} is not set: the source table is built by the workload's prepare "
                           "(benchmarks/run.py does it)")
    return os.environ[name]


def _run_ours(backend: str) -> Any:
    def run_ours(inp: dict[str, Any], workdir: Path) -> Any:
        """Copy the table through ``sql_table`` with this backend into DuckDB; returns the pipeline."""
        from sources.sql_database import sql_table

        pipe = pipeline(f"bench_w5_{backend}", workdir)
        url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
        pipe.run(sql_table(url, table=TABLE, schema=source_schema(inp), backend=backend, chunk_size=CHUNK_SIZE))
        return pipe

    return run_ours


def run_reference(inp: dict[str, Any], workdir: Path) -> Path:
    """COPY ... TO STDOUT (FORMAT csv) into a file, then DuckDB read_csv into a table; returns the DuckDB file."""
    import duckdb
    import psycopg

    csv_path, db_path = workdir / "w5.csv", workdir / "reference.duckdb"
    with psycopg.connect(POSTGRES_URL) as con, con.cursor() as cur, open(csv_path, "wb") as out:
        with cur.copy(f'COPY (SELECT * FROM "{source_schema(inp)}".w5) TO STDOUT (FORMAT csv)') as copy:
            for data in copy:
                out.write(data)
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f'CREATE SCHEMA "{DATASET}"')
        con.execute(f'CREATE TABLE "{DATASET}"."{TABLE}" AS SELECT * FROM read_csv(?, header = false, '
                    f'columns = {_COLUMNS!r})', [str(csv_path)])
    finally:
        con.close()
    return db_path


def verify(mode: str, inp: dict[str, Any], workdir: Path, handle: Any) -> int:
    """Row count, sums and the latest timestamp in DuckDB equal the source table's."""
    sql = CHECK_SQL.format(table=f'"{DATASET}"."{TABLE}"')
    found = query_ours(handle, sql)[0] if mode == "ours" else query_file(handle, sql)[0]
    expected = query_postgres(CHECK_SQL.format(table=f'"{source_schema(inp)}".w5'))[0]
    if tuple(found) != tuple(expected):
        raise VerificationError(f"W5 {mode}: DuckDB holds (count, sum(id), sum(amount), count(name), "
                                f"max(created_at)) = {tuple(found)}, the source {tuple(expected)}")
    return int(found[0])


def _workload(backend: str, target: str) -> Workload:
    return Workload(
        name=f"W5{backend.upper()}",
        label=f"W5 {backend}",
        title=f"PostgreSQL table (7 columns) -> DuckDB via sql_table(backend={backend!r}) (target {target})",
        default_rows=2_000_000,
        quick_rows=100_000,
        build_input=build_input,
        run_ours=_run_ours(backend),
        run_reference=run_reference,
        verify=verify,
        unavailable=postgres_unavailable,
        prepare=source_table,
        small_of=tenth,
    )


WORKLOADS = (_workload("pyarrow", "1.5x"), _workload("native", "1.2x"), _workload("sqlalchemy", "4x"))
