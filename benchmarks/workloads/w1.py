"""W1: flat dicts yielded in pages of 1,000 -> DuckDB.

Input: ``rows`` flat dicts with 12 columns -- ints, floats, bools, strings of
10-30 characters, ISO 8601 timestamp strings ending in ``Z``, date strings and a
string column that is null in about 30 % of rows.

* ours: a ``@dataload.resource`` yielding the rows in pages of 1,000, run by a
  pipeline into a DuckDB file.
* reference: ``pyarrow.Table.from_pylist(rows)`` and one DuckDB
  ``CREATE TABLE AS`` from that Arrow table. (The reference keeps timestamps and
  dates as text; dataload detects and converts them, which is part of its cost.)
* second reference (issue 19's definition): DuckDB ``read_json`` of the same rows as JSONL
  (written when the input is built, untimed) in one ``CREATE TABLE AS``; DuckDB detects the
  timestamp and date columns itself.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from . import CACHE_DIR, SEED, Workload
from ._common import DATASET, check_rows_and_columns, pipeline, query_for, write_jsonl

INPUT_VERSION = 2  # 2: the JSONL copy of the rows for the second reference
PAGE_SIZE = 1_000
TABLE = "w1"
COLUMNS = (
    "id", "customer_id", "quantity", "unit_price", "discount", "is_paid", "is_gift",
    "product", "customer_email", "created_at", "ship_date", "note",
)
_WORDS = (
    "alpha bravo cedar delta ember fjord garnet harbor indigo juniper kestrel lumen "
    "meadow nectar orbit pepper quartz raven sable tundra umber velvet willow xenon "
    "yarrow zephyr coffee kettle grinder filter mug tumbler beans roast"
).split()


def _text(rng: random.Random) -> str:
    """A string of 10-30 characters made of words."""
    length = rng.randint(10, 30)
    text = " ".join(rng.choices(_WORDS, k=6))
    while len(text) < length:
        text += " " + rng.choice(_WORDS)
    return text[:length]


def build_input(rows: int, seed: int) -> list[dict[str, Any]]:
    """Generate ``rows`` deterministic flat records."""
    rng = random.Random(seed)
    epoch = datetime(2023, 1, 1, tzinfo=timezone.utc)
    day0 = epoch.date()
    out = []
    for i in range(1, rows + 1):
        created = epoch + timedelta(seconds=rng.randint(0, 2 * 365 * 86_400))
        out.append({
            "id": i,
            "customer_id": rng.randint(1, 250_000),
            "quantity": rng.randint(1, 20),
            "unit_price": round(rng.uniform(0.5, 500.0), 2),
            "discount": round(rng.random() * 0.3, 4),
            "is_paid": rng.random() < 0.8,
            "is_gift": rng.random() < 0.1,
            "product": _text(rng),
            "customer_email": f"{_text(rng)[:18].replace(' ', '.')}@ex.com",
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ship_date": (day0 + timedelta(days=rng.randint(0, 800))).isoformat(),
            "note": _text(rng) if rng.random() >= 0.3 else None,
        })
    return out


def jsonl_path(rows: int, seed: int = SEED) -> Path:
    """Where the second reference's JSONL copy of the input lives."""
    return CACHE_DIR / "inputs" / f"W1-{rows}-seed{seed}-v{INPUT_VERSION}.jsonl"


def build_input_and_jsonl(rows: int, seed: int) -> list[dict[str, Any]]:
    """:func:`build_input`, plus the same rows written as JSONL for the second reference."""
    records = build_input(rows, seed)
    write_jsonl(records, jsonl_path(rows, seed))
    return records


def run_ours(rows: list[dict[str, Any]], workdir: Path) -> Any:
    """Load the rows through a dataload pipeline; returns the pipeline."""
    import dataload

    @dataload.resource(name=TABLE, write_disposition="append")
    def w1_rows():
        for start in range(0, len(rows), PAGE_SIZE):
            yield rows[start:start + PAGE_SIZE]

    pipe = pipeline("bench_w1", workdir)
    pipe.run(w1_rows())
    return pipe


def run_reference(rows: list[dict[str, Any]], workdir: Path) -> Path:
    """pyarrow.Table.from_pylist + DuckDB CREATE TABLE AS; returns the database path."""
    import duckdb
    import pyarrow as pa

    path = workdir / "reference.duckdb"
    w1_arrow = pa.Table.from_pylist(rows)
    con = duckdb.connect(str(path))
    try:
        con.execute(f'CREATE SCHEMA "{DATASET}"')
        con.register("w1_arrow", w1_arrow)
        con.execute(f'CREATE TABLE "{DATASET}"."{TABLE}" AS SELECT * FROM w1_arrow')
    finally:
        con.close()
    return path


def run_reference2(rows: list[dict[str, Any]], workdir: Path) -> Path:
    """DuckDB read_json of the rows' JSONL file + CREATE TABLE AS; returns the database path."""
    import duckdb

    source = jsonl_path(len(rows))
    if not source.exists():
        raise SystemExit(f"W1 input file missing: {source}; delete benchmarks/.cache/inputs/W1-* and rerun")
    path = workdir / "reference2.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute(f'CREATE SCHEMA "{DATASET}"')
        con.execute(f'CREATE TABLE "{DATASET}"."{TABLE}" AS SELECT * FROM read_json(?, format = \'newline_delimited\')',
                    [str(source)])
    finally:
        con.close()
    return path


def verify(mode: str, rows: list[dict[str, Any]], workdir: Path, handle: Any) -> int:
    """Check the destination table holds every input row and every input column."""
    return check_rows_and_columns(f"W1 {mode}", query_for(mode, handle), TABLE, len(rows), COLUMNS)


WORKLOAD = Workload(
    name="W1",
    title="flat dicts, pages of 1,000 -> DuckDB",
    default_rows=500_000,
    quick_rows=50_000,
    build_input=build_input_and_jsonl,
    run_ours=run_ours,
    run_reference=run_reference,
    verify=verify,
    input_version=INPUT_VERSION,
    run_reference2=run_reference2,
    reference2="DuckDB read_json of the same rows as JSONL (issue 19's reference)",
)
