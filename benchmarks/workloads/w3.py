"""W3: a typed Arrow table yielded as 100k-row RecordBatches -> DuckDB.

Input: one ``rows``-row ``pyarrow.Table`` with 10 typed columns -- int64 and int32, two
doubles (one 10 % null), a high-cardinality string, a low-cardinality string, two UTC
timestamps (one 20 % null) and a bool.

* ours: a ``@dataload.resource`` yielding ``table.to_batches(max_chunksize=100_000)``
  (zero-copy slices), run by a pipeline into a DuckDB file.
* reference: one DuckDB ``CREATE TABLE AS SELECT * FROM`` the Arrow table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import Workload
from ._common import DATASET, check_rows_and_columns, pipeline, query_for

BATCH_ROWS = 100_000
TABLE = "w3"
COLUMNS = ("id", "account_id", "amount", "discount", "label", "category", "created_at", "shipped_at",
           "is_active", "quantity")
_CATEGORIES = ("books", "garden", "kitchen", "music", "outdoor", "toys", "tools", "games")


def build_input(rows: int, seed: int) -> Any:
    """A deterministic typed Arrow table (built with numpy, columnar)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    start_us = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z
    created = start_us + rng.integers(0, 2 * 365 * 86_400, rows, dtype=np.int64) * 1_000_000
    shipped = created + rng.integers(3_600, 30 * 86_400, rows, dtype=np.int64) * 1_000_000
    label_numbers = pc.cast(pa.array(rng.integers(0, 10_000_000, rows, dtype=np.int64)), pa.string())
    return pa.table({
        "id": pa.array(np.arange(1, rows + 1, dtype=np.int64)),
        "account_id": pa.array(rng.integers(1, 250_000, rows, dtype=np.int32)),
        "amount": pa.array(np.round(rng.uniform(0.5, 5_000.0, rows), 2)),
        "discount": pa.array(np.round(rng.random(rows) * 0.3, 4), mask=rng.random(rows) < 0.1),
        "label": pc.binary_join_element_wise("label", label_numbers, "-"),
        "category": pa.array(_CATEGORIES).take(pa.array(rng.integers(0, len(_CATEGORIES), rows))),
        "created_at": pa.array(created, type=pa.timestamp("us", tz="UTC")),
        "shipped_at": pa.array(shipped, type=pa.timestamp("us", tz="UTC"), mask=rng.random(rows) < 0.2),
        "is_active": pa.array(rng.random(rows) < 0.7),
        "quantity": pa.array(rng.integers(1, 100, rows, dtype=np.int64)),
    })


def run_ours(table: Any, workdir: Path) -> Any:
    """Load the table through a dataload pipeline in 100k-row batches; returns the pipeline."""
    import dataload

    @dataload.resource(name=TABLE, write_disposition="append")
    def w3_batches():
        yield from table.to_batches(max_chunksize=BATCH_ROWS)

    pipe = pipeline("bench_w3", workdir)
    pipe.run(w3_batches())
    return pipe


def run_reference(table: Any, workdir: Path) -> Path:
    """One DuckDB CREATE TABLE AS from the Arrow table; returns the database path."""
    import duckdb

    path = workdir / "reference.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute(f'CREATE SCHEMA "{DATASET}"')
        con.register("w3_arrow", table)
        con.execute(f'CREATE TABLE "{DATASET}"."{TABLE}" AS SELECT * FROM w3_arrow')
    finally:
        con.close()
    return path


def verify(mode: str, table: Any, workdir: Path, handle: Any) -> int:
    """Check the destination table holds every row and every column."""
    return check_rows_and_columns(f"W3 {mode}", query_for(mode, handle), TABLE, table.num_rows, COLUMNS)


WORKLOAD = Workload(
    name="W3",
    title="typed Arrow table, 100k-row RecordBatches -> DuckDB",
    default_rows=5_000_000,
    quick_rows=500_000,
    build_input=build_input,
    run_ours=run_ours,
    run_reference=run_reference,
    verify=verify,
)
