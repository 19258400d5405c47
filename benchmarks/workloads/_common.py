"""Helpers shared by the workloads: the DuckDB and PostgreSQL destinations, pipelines and row counts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Callable, Optional

DATASET = "bench"
POSTGRES_URL = os.environ.get("DATALOAD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def tenth(rows: int) -> int:
    """N/10: the size a memory-scale workload's run at N is compared with (``Workload.scale_of``)."""
    return max(rows // 10, 1)


def duckdb_destination(path: Path) -> Any:
    """dataload's DuckDB destination writing to ``path``."""
    from destinations import duckdb

    return duckdb(str(path))


def pipeline(name: str, workdir: Path, db_name: str = "ours.duckdb") -> Any:
    """A pipeline loading into ``workdir/<db_name>`` with its working files in ``workdir``."""
    import dataload

    return dataload.pipeline(
        pipeline_name=name,
        destination=duckdb_destination(workdir / db_name),
        dataset_name=DATASET,
        pipelines_dir=str(workdir / "pipelines"),
    )


def query_ours(pipe: Any, sql: str) -> list[tuple]:
    """Run ``sql`` on the pipeline's destination."""
    with pipe.sql_client() as client:
        return client.execute(sql).fetchall()


def query_file(path: Path, sql: str) -> list[tuple]:
    """Run ``sql`` on a DuckDB file, read only."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def count_sql(table: str, where: str = "", dataset: str = DATASET) -> str:
    """``SELECT count(*)`` of a table of the benchmark dataset (or of ``dataset``)."""
    return f'SELECT count(*) FROM "{dataset}"."{table}"' + (f" WHERE {where}" if where else "")


def columns_sql(table: str, dataset: str = DATASET) -> str:
    """The column names of a table of the benchmark dataset (or of ``dataset``)."""
    return ("SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = '{dataset}' AND table_name = '{table}'")


def write_jsonl(records: list[dict[str, Any]], path: Path) -> None:
    """Write ``records`` as JSON lines (atomically): the input of a reference that reads JSONL (W1, W2)."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
    tmp.replace(path)


def query_for(mode: str, handle: Any) -> Callable[[str], list[tuple]]:
    """A function running SQL where a run loaded: the pipeline (``ours``) or a reference's DuckDB file."""
    if mode == "ours":
        return lambda sql: query_ours(handle, sql)
    return lambda sql: query_file(handle, sql)


def check_rows_and_columns(label: str, query: Callable[[str], list[tuple]], table: str, rows: int,
                           columns: Iterable[str], dataset: str = DATASET) -> int:
    """Raise :class:`VerificationError` unless ``table`` holds ``rows`` rows and every one of ``columns``."""
    from . import VerificationError

    found = query(count_sql(table, dataset=dataset))[0][0]
    if found != rows:
        raise VerificationError(f"{label}: {found} rows in {dataset}.{table}, expected {rows}")
    missing = set(columns) - {r[0] for r in query(columns_sql(table, dataset))}
    if missing:
        raise VerificationError(f"{label}: columns missing in {dataset}.{table}: {sorted(missing)}")
    return int(found)


def check_schema_versions(label: str, query: Callable[[str], list[tuple]], most: int = 1,
                          dataset: str = DATASET) -> int:
    """Raise :class:`VerificationError` if the dataset's ``_dl_version`` holds more than ``most`` rows.

    Every measurement starts from an empty dataset, so these are the versions its run(s) stored;
    a run stores at most one per load package (never one per file or row).
    """
    from . import VerificationError

    found = int(query(count_sql("_dl_version", dataset=dataset))[0][0])
    if found > most:
        raise VerificationError(f"{label}: {found} rows in {dataset}._dl_version, expected at most {most} "
                                "(one schema version per load package)")
    return found


# -- PostgreSQL (W4, W7PG) ------------------------------------------------------------------------
def postgres_unavailable() -> Optional[str]:
    """A reason to skip when no PostgreSQL server answers at ``DATALOAD_TEST_POSTGRES``."""
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means: not here
        return f"PostgreSQL not reachable ({type(exc).__name__})"
    return None


def unique_dataset(prefix: str) -> str:
    """A schema name no other measurement uses (process id plus a random part)."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def postgres_pipeline(name: str, workdir: Path, dataset: str) -> Any:
    """A pipeline loading into the PostgreSQL schema ``dataset``, its working files in ``workdir``."""
    import dataload
    from destinations import postgres

    return dataload.pipeline(pipeline_name=name, destination=postgres(POSTGRES_URL), dataset_name=dataset,
                             pipelines_dir=str(workdir / "pipelines"))


def load_postgres(name: str, workdir: Path, prefix: str, data: Any) -> Any:
    """Run a pipeline into a new schema ``<prefix>_<pid>_<random>``; returns the pipeline.

    The schema is dropped if the run fails; otherwise the workload's ``verify`` drops it.
    """
    pipe = postgres_pipeline(name, workdir, unique_dataset(prefix))
    try:
        pipe.run(data)
    except BaseException:
        drop_postgres_schema(pipe.dataset_name)
        raise
    return pipe


def query_postgres(sql: str) -> list[tuple]:
    """Run ``sql`` on the PostgreSQL server (autocommit); its rows, if it returns any."""
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as con:
        cursor = con.execute(sql)
        return cursor.fetchall() if cursor.description is not None else []


def drop_postgres_schema(schema: str) -> None:
    """Drop a measurement's schema and everything in it (if it exists)."""
    query_postgres(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def pooled_pages(pool: list[dict[str, Any]], rows: int, page_size: int) -> Iterator[list[dict[str, Any]]]:
    """Pages of ``rows`` records made on the fly: record ``i`` is a shallow copy of
    ``pool[i % len(pool)]`` with ``id = i + 1`` (so the input never sits in memory whole)."""
    size = len(pool)
    for start in range(0, rows, page_size):
        page = []
        for i in range(start, min(start + page_size, rows)):
            record = dict(pool[i % size])
            record["id"] = i + 1
            page.append(record)
        yield page
