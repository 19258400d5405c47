"""W9: memory scale -- wide records (1,000 columns) at N/10 and at N rows -> DuckDB.

Input: flat dicts with an ``id`` and 1,000 data columns ``c000`` .. ``c999``: by position an
int, a double or a short string (3-10 characters); every tenth column is null in about 20 %
of the rows. Like W7, the rows neither sit in memory nor are read from disk: the cached input
is a pool of 500 such rows, and the resource yields pages of 1,000 rows made on the fly --
row ``i`` is a shallow copy of pool row ``(i - 1) % 500`` with ``id = i``. Making the rows
(a copy of a 1,001-key dict, a few us each) is part of the time.

A row is estimated at ~18 KB (``approximate_size``: 16-26 bytes a value), so the extract
buffer rotates its files by bytes (``BufferLimits.segment_bytes``, 64 MiB: a file every four
pages, 4,000 rows) long before ``segment_rows`` (50,000); a package holds N/4,000 files.

Verification: the row count, every data column, and at most one row in ``_dl_version``
(one schema version per load package, never one per file or row).

No reference process: the table shows both sizes; on the N line the "ref" column holds the
peak RSS at N/10 and the ratio is peak RSS at N / peak RSS at N/10.
``DATALOAD_BENCH_W9_ROWS`` sets N (default 200,000; 20,000 with ``--quick``).
"""

from __future__ import annotations

import random
import string
from functools import partial
from pathlib import Path
from typing import Any

from . import Workload, no_reference
from ._common import check_rows_and_columns, check_schema_versions, pipeline, pooled_pages, query_ours, tenth

PAGE_SIZE = 1_000
POOL_SIZE = 500
DATA_COLUMNS = 1_000
NULL_EVERY = 10  # every tenth column has nulls ...
NULL_SHARE = 0.2  # ... in about this share of the rows
INPUT_VERSION = 1
TABLE = "w9"
COLUMNS = tuple(f"c{c:03d}" for c in range(DATA_COLUMNS))


def _value(rng: random.Random, column: int) -> Any:
    """A value of data column ``column``: int, double or short string by position; some nulls."""
    if column % NULL_EVERY == NULL_EVERY - 1 and rng.random() < NULL_SHARE:
        return None
    kind = column % 3
    if kind == 0:
        return rng.randint(-1_000_000, 1_000_000)
    if kind == 1:
        return round(rng.uniform(-1_000.0, 1_000.0), 3)
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))


def build_input(rows: int, seed: int) -> dict[str, Any]:
    """The pool of wide rows (``id`` first, overwritten per row) and the size to generate."""
    rng = random.Random(seed)
    pool = []
    for _ in range(min(rows, POOL_SIZE)):
        row: dict[str, Any] = {"id": 0}
        row.update((name, _value(rng, c)) for c, name in enumerate(COLUMNS))
        pool.append(row)
    return {"pool": pool, "rows": rows}


def run_ours(inp: dict[str, Any], workdir: Path) -> Any:
    """Stream the generated pages through a dataload pipeline; returns the pipeline."""
    import dataload

    @dataload.resource(name=TABLE, write_disposition="append")
    def w9_rows():
        yield from pooled_pages(inp["pool"], inp["rows"], PAGE_SIZE)

    pipe = pipeline("bench_w9", workdir)
    pipe.run(w9_rows())
    return pipe



def verify(mode: str, inp: dict[str, Any], workdir: Path, handle: Any) -> int:
    """Every row, every data column, and at most one schema version stored by the run."""
    query = partial(query_ours, handle)
    found = check_rows_and_columns(f"W9 {mode}", query, TABLE, inp["rows"], ("id", *COLUMNS))
    check_schema_versions(f"W9 {mode}", query)
    return found


WORKLOAD = Workload(
    name="W9",
    title="memory scale: wide records (1,000 columns, made on the fly) at N/10 and N -> DuckDB; peak RSS ratio",
    default_rows=200_000,
    quick_rows=20_000,
    build_input=build_input,
    run_ours=run_ours,
    run_reference=no_reference,
    verify=verify,
    input_version=INPUT_VERSION,
    scale_of=tenth,
)
