"""W6: merge 10 % changed rows into a table of W1 rows (DuckDB); only the second run is timed.

Input: W1's ``rows`` flat records plus a changed copy of a deterministic 10 % of them
(``quantity`` + 100, a new ``unit_price`` and ``note``; same ``id``).

* setup (untimed, its own process): ours loads all W1 rows with
  ``write_disposition="merge", primary_key="id"``; the reference builds the same table
  (same 12 columns and types, timestamps and dates typed) in its own DuckDB file.
* ours (timed): the same pipeline runs again with only the changed rows, merge on ``id``.
* reference (timed): ``pyarrow.Table.from_pylist(changed)``, then in one DuckDB
  transaction ``DELETE`` the rows with those ids and ``INSERT`` the changed rows.

The table's ``rows`` column is the number of changed rows (the work of the timed run);
``DATALOAD_BENCH_W6_ROWS`` sets the size of the table they are merged into.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from . import VerificationError, Workload, w1
from ._common import DATASET, count_sql, pipeline, query_for

PAGE_SIZE = 1_000
TABLE = "w6"
PIPELINE = "bench_w6"
CHANGED_SHARE = 10  # one row in ten
_TYPED = ("id", "customer_id", "quantity", "unit_price", "discount", "is_paid", "is_gift", "product",
          "customer_email", "CAST(created_at AS TIMESTAMPTZ) AS created_at",
          "CAST(ship_date AS DATE) AS ship_date", "note")


def changed_rows(rows: int) -> int:
    """How many rows the timed run merges."""
    return rows // CHANGED_SHARE


def build_input(rows: int, seed: int) -> dict[str, Any]:
    """W1's rows and a changed copy of 10 % of them (in id order)."""
    base = w1.build_input(rows, seed)
    rng = random.Random(seed + 6)
    picked = sorted(rng.sample(range(rows), changed_rows(rows)))
    changed = []
    for i in picked:
        row = dict(base[i])
        row["quantity"] += 100
        row["unit_price"] = round(rng.uniform(0.5, 500.0), 2)
        row["note"] = f"changed {row['id']}"
        changed.append(row)
    return {"rows": base, "changed": changed}


def _resource(records: list[dict[str, Any]]) -> Any:
    import dataload

    @dataload.resource(name=TABLE, write_disposition="merge", primary_key="id")
    def w6_rows():
        for start in range(0, len(records), PAGE_SIZE):
            yield records[start:start + PAGE_SIZE]

    return w6_rows()


def setup(mode: str, inp: dict[str, Any], workdir: Path) -> None:
    """The first load (untimed): all rows merged by ours, or the same table built by DuckDB."""
    if mode == "ours":
        pipeline(PIPELINE, workdir).run(_resource(inp["rows"]))
        return
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(str(workdir / "reference.duckdb"))
    try:
        con.register("w6_arrow", pa.Table.from_pylist(inp["rows"]))
        con.execute(f'CREATE SCHEMA "{DATASET}"')
        con.execute(f'CREATE TABLE "{DATASET}"."{TABLE}" AS SELECT {", ".join(_TYPED)} FROM w6_arrow')
    finally:
        con.close()


def run_ours(inp: dict[str, Any], workdir: Path) -> Any:
    """Merge the changed rows with the pipeline of the setup; returns the pipeline."""
    pipe = pipeline(PIPELINE, workdir)
    pipe.run(_resource(inp["changed"]))
    return pipe


def run_reference(inp: dict[str, Any], workdir: Path) -> Path:
    """Arrow from the changed rows, then delete + insert in one DuckDB transaction."""
    import duckdb
    import pyarrow as pa

    path = workdir / "reference.duckdb"
    changed = pa.Table.from_pylist(inp["changed"])
    target = f'"{DATASET}"."{TABLE}"'
    con = duckdb.connect(str(path))
    try:
        con.register("changed_arrow", changed)
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM {target} WHERE id IN (SELECT id FROM changed_arrow)")
        con.execute(f"INSERT INTO {target} SELECT {', '.join(_TYPED)} FROM changed_arrow")
        con.execute("COMMIT")
    finally:
        con.close()
    return path


def verify(mode: str, inp: dict[str, Any], workdir: Path, handle: Any) -> int:
    """The table still holds every row once and every changed row in its new version."""
    query = query_for(mode, handle)
    total = query(count_sql(TABLE))[0][0]
    distinct = query(f'SELECT count(DISTINCT id) FROM "{DATASET}"."{TABLE}"')[0][0]
    if total != len(inp["rows"]) or distinct != total:
        raise VerificationError(f"W6 {mode}: {total} rows ({distinct} ids) in {DATASET}.{TABLE}, "
                                f"expected {len(inp['rows'])}")
    found = query(count_sql(TABLE, "quantity > 100 AND note LIKE 'changed %'"))[0][0]
    if found != len(inp["changed"]):
        raise VerificationError(f"W6 {mode}: {found} changed rows in {DATASET}.{TABLE}, "
                                f"expected {len(inp['changed'])}")
    return found


WORKLOAD = Workload(
    name="W6",
    title="merge 10 % changed W1 rows on id into the loaded table -> DuckDB (second run timed)",
    default_rows=500_000,
    quick_rows=50_000,
    build_input=build_input,
    run_ours=run_ours,
    run_reference=run_reference,
    verify=verify,
    setup=setup,
    timed_rows=changed_rows,
)
