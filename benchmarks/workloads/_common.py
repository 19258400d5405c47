"""Helpers shared by the workloads: the DuckDB destination, pipelines and row counts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable

DATASET = "bench"


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


def count_sql(table: str, where: str = "") -> str:
    """``SELECT count(*)`` of a table of the benchmark dataset."""
    return f'SELECT count(*) FROM "{DATASET}"."{table}"' + (f" WHERE {where}" if where else "")


def columns_sql(table: str) -> str:
    """The column names of a table of the benchmark dataset."""
    return ("SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = '{DATASET}' AND table_name = '{table}'")


def query_for(mode: str, handle: Any) -> Callable[[str], list[tuple]]:
    """A function running SQL where a run loaded: the pipeline (``ours``) or the reference's DuckDB file."""
    if mode == "ours":
        return lambda sql: query_ours(handle, sql)
    return lambda sql: query_file(handle, sql)


def check_rows_and_columns(label: str, query: Callable[[str], list[tuple]], table: str, rows: int,
                           columns: Iterable[str]) -> int:
    """Raise :class:`VerificationError` unless ``table`` holds ``rows`` rows and every one of ``columns``."""
    from . import VerificationError

    found = query(count_sql(table))[0][0]
    if found != rows:
        raise VerificationError(f"{label}: {found} rows in {DATASET}.{table}, expected {rows}")
    missing = set(columns) - {r[0] for r in query(columns_sql(table))}
    if missing:
        raise VerificationError(f"{label}: columns missing in {DATASET}.{table}: {sorted(missing)}")
    return int(found)
