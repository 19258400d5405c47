"""W7: memory scale -- W2-shaped nested records at N/10 and at N records -> DuckDB.

So that neither the input nor reading it dominates what is measured, the records are
not held in memory nor read from disk: the cached input is a pool of the first 20,000
W2 records (:func:`w2.iter_records`, same seed), and the resource yields pages of
1,000 records made on the fly -- record ``i`` is a shallow copy of pool record
``(i - 1) % 20,000`` with ``id = i`` (its nested dicts and lists are shared with the
pool; dataload does not mutate its input). The small run loads the first N/10 of the
large run's records. Making the records (about 1-2 us each) is part of the time.

There is no reference process: the table shows both sizes, and for the large one the
"ref" column holds the peak RSS at N/10 and the ratio column is peak RSS at N / peak RSS
at N/10 (target: at most 1.25x, and under 500 MB added by a run of any size).
``DATALOAD_BENCH_W7_ROWS`` sets N (default 2,000,000; 200,000 with ``--quick``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import Workload, no_reference, w2
from ._common import pipeline, pooled_pages, query_ours, tenth

PAGE_SIZE = 1_000
POOL_SIZE = 20_000
INPUT_VERSION = 2
TABLE = "w7"


def build_input(rows: int, seed: int) -> dict[str, Any]:
    """The pool of W2 records and the row counts the three tables must end with."""
    pool = list(w2.iter_records(min(rows, POOL_SIZE), seed))
    full, rest = divmod(rows, len(pool))
    children = [len(r["children"]) for r in pool]
    tags = [len(r["tags"]) for r in pool]
    return {
        "pool": pool,
        "rows": rows,
        "children": full * sum(children) + sum(children[:rest]),
        "tags": full * sum(tags) + sum(tags[:rest]),
    }


def records(inp: dict[str, Any]) -> Any:
    """The resource yielding ``inp["rows"]`` records made on the fly from the pool, in pages
    (shared with W7PG)."""
    import dataload

    @dataload.resource(name=TABLE, write_disposition="append")
    def w7_records():
        yield from pooled_pages(inp["pool"], inp["rows"], PAGE_SIZE)

    return w7_records()


def expected_rows(inp: dict[str, Any]) -> tuple[int, int, int]:
    """Rows the root, children and tags tables must hold."""
    return inp["rows"], inp["children"], inp["tags"]


def run_ours(inp: dict[str, Any], workdir: Path) -> Any:
    """Stream the generated pages through a dataload pipeline; returns the pipeline."""
    pipe = pipeline("bench_w7", workdir)
    pipe.run(records(inp))
    return pipe



def verify(mode: str, inp: dict[str, Any], workdir: Path, handle: Any) -> int:
    """Check all three tables hold every input row."""
    return w2.check_tables(f"W7 {mode}", lambda sql: query_ours(handle, sql), TABLE, expected_rows(inp))


WORKLOAD = Workload(
    name="W7",
    title="memory scale: W2 records at N/10 and N (made on the fly) -> DuckDB; peak RSS ratio",
    default_rows=2_000_000,
    quick_rows=200_000,
    build_input=build_input,
    run_ours=run_ours,
    run_reference=no_reference,
    verify=verify,
    input_version=INPUT_VERSION,
    scale_of=tenth,
)
