"""W7PG: memory scale -- W7's records at N/10 and at N records -> PostgreSQL.

The same workload as W7 (:mod:`w7`: W2-shaped nested records made on the fly from a pool of
20,000, pages of 1,000, three tables ``w7``, ``w7__children``, ``w7__tags``), loaded by the
``postgres`` destination instead of DuckDB. Each measurement loads into a schema of its own
(``bench_w7pg_<pid>_<random>``), dropped after verification (or when the run fails).
Skipped when no PostgreSQL answers at ``DATALOAD_TEST_POSTGRES``
(default ``postgresql://postgres@127.0.0.1:5432/test``).

No reference process: like W7, the table shows both sizes; on the N line the "ref" column
holds the peak RSS at N/10 and the ratio is peak RSS at N / peak RSS at N/10 (target: at
most 1.25x, and under 500 MB added by a run of any size).
``DATALOAD_BENCH_W7PG_ROWS`` sets N (default 2,000,000; 200,000 with ``--quick``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import Workload, no_reference, w2, w7
from ._common import drop_postgres_schema, load_postgres, postgres_unavailable, query_postgres, tenth

SCHEMA_PREFIX = "bench_w7pg"


def run_ours(inp: dict[str, Any], workdir: Path) -> Any:
    """Stream W7's generated pages through a pipeline into a new PostgreSQL schema; returns the pipeline."""
    return load_postgres("bench_w7pg", workdir, SCHEMA_PREFIX, w7.records(inp))



def verify(mode: str, inp: dict[str, Any], workdir: Path, handle: Any) -> int:
    """Check all three tables hold every input row, then drop the measurement's schema."""
    schema = handle.dataset_name
    try:
        return w2.check_tables(f"W7PG {mode}", query_postgres, w7.TABLE, w7.expected_rows(inp), dataset=schema)
    finally:
        drop_postgres_schema(schema)


WORKLOAD = Workload(
    name="W7PG",
    title="memory scale: W7's records at N/10 and N (made on the fly) -> PostgreSQL; peak RSS ratio",
    default_rows=w7.WORKLOAD.default_rows,
    quick_rows=w7.WORKLOAD.quick_rows,
    build_input=w7.build_input,
    run_ours=run_ours,
    run_reference=no_reference,
    verify=verify,
    input_version=w7.INPUT_VERSION,
    unavailable=postgres_unavailable,
    scale_of=tenth,
)
