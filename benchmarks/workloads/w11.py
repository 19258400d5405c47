"""W11: idempotent re-run -- an incremental resource run again with no new data -> DuckDB.

Input: W1's ``rows`` flat records plus an ``updated_at`` cursor (ISO 8601 strings ending in
``Z``, ascending with the id, ten rows per second, so the newest ten rows share one value)
and the list of cursor values (the "API"'s index).

The resource behaves like an API with an inclusive ``since`` parameter: it yields, in pages
of 1,000, only the rows whose ``updated_at`` is >= the incremental's ``start_value`` (found by
bisection, as an index would). On a re-run that is the ten rows at the stored cursor, which
the incremental must recognise (by the resource's primary key ``id``) and drop. The table is
``append``, so a row let through twice would show as a duplicate.

* setup (untimed, its own process; ours only): the first full run of the pipeline.
* ours (timed): the same pipeline runs again; the source has no new rows.
* reference (timed): the first full run of the same pipeline, in a fresh working directory.

So ``ref seconds`` is the first run and ``ours/ref`` is the re-run as a fraction of it
(target: under 0.10). ``rows`` is the size of the table, not rows loaded by the timed run.
Verification (both sides): the table holds every row exactly once, and the dataset holds one
schema version (the re-run stores none).
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from . import VerificationError, Workload, w1
from ._common import DATASET, check_schema_versions, pipeline, query_ours

PAGE_SIZE = 1_000
ROWS_PER_CURSOR = 10  # rows sharing one updated_at value (the boundary the re-run sees again)
INITIAL_VALUE = "2024-01-01T00:00:00Z"
INPUT_VERSION = 1
TABLE = "w11"
PIPELINE = "bench_w11"


def build_input(rows: int, seed: int) -> dict[str, Any]:
    """W1's rows with an ascending ``updated_at``, and the cursor values in row order."""
    epoch = datetime(2024, 1, 1, tzinfo=timezone.utc)  # INITIAL_VALUE
    records = w1.build_input(rows, seed)
    for position, record in enumerate(records):
        stamp = epoch + timedelta(seconds=position // ROWS_PER_CURSOR)
        record["updated_at"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"rows": records, "cursors": [r["updated_at"] for r in records]}


def _resource(inp: dict[str, Any]) -> Any:
    """The incremental resource over the "API": rows with ``updated_at >= since``, in pages."""
    import dataload

    rows, cursors = inp["rows"], inp["cursors"]

    @dataload.resource(name=TABLE, primary_key="id", write_disposition="append")
    def w11_rows(updated=dataload.incremental("updated_at", initial_value=INITIAL_VALUE)):
        since = bisect_left(cursors, updated.start_value)  # inclusive, like the API's `since`
        for start in range(since, len(rows), PAGE_SIZE):
            yield rows[start:start + PAGE_SIZE]

    return w11_rows()


def _first_run(inp: dict[str, Any], workdir: Path) -> Any:
    pipe = pipeline(PIPELINE, workdir)
    pipe.run(_resource(inp))
    return pipe


def setup(mode: str, inp: dict[str, Any], workdir: Path) -> None:
    """Ours: the first full run (untimed). The reference times the first run itself."""
    if mode == "ours":
        _first_run(inp, workdir)


def run_ours(inp: dict[str, Any], workdir: Path) -> Any:
    """The second run of the setup's pipeline, with no new data; returns the pipeline."""
    pipe = pipeline(PIPELINE, workdir)
    pipe.run(_resource(inp))
    return pipe


def run_reference(inp: dict[str, Any], workdir: Path) -> Any:
    """The first full run of the same pipeline; returns the pipeline."""
    return _first_run(inp, workdir)


def verify(mode: str, inp: dict[str, Any], workdir: Path, handle: Any) -> int:
    """Every row exactly once (no boundary row loaded twice) and a single schema version."""
    query = partial(query_ours, handle)
    expected = len(inp["rows"])
    total, distinct = query(f'SELECT count(*), count(DISTINCT id) FROM "{DATASET}"."{TABLE}"')[0]
    if total != expected or distinct != expected:
        raise VerificationError(f"W11 {mode}: {total} rows ({distinct} ids) in {DATASET}.{TABLE}, "
                                f"expected {expected} once each")
    check_schema_versions(f"W11 {mode}", query)
    return int(total)


WORKLOAD = Workload(
    name="W11",
    title="idempotent re-run: incremental W1 rows, second run with no new data -> DuckDB (ref: first run)",
    default_rows=500_000,
    quick_rows=50_000,
    build_input=build_input,
    run_ours=run_ours,
    run_reference=run_reference,
    verify=verify,
    input_version=INPUT_VERSION,
    setup=setup,
    note="seconds = the re-run with no new data, ref seconds = the first full run of the same pipeline, "
         "ours/ref = re-run / first run (target < 0.10); rows/s = table rows / re-run seconds",
)
