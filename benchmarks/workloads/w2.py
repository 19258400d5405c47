"""W2: nested dicts yielded in pages of 1,000 -> DuckDB, 3 tables.

Input: ``rows`` records, each with scalar columns (int, text, double, bool, an ISO 8601
timestamp string ending in ``Z``), a nested dict ``address`` (with a dict ``geo`` inside),
a list ``children`` of 0-5 dicts and a list ``tags`` of 0-3 strings. dataload makes three
tables: ``w2`` (``address`` flattened into ``address__*`` columns), ``w2__children`` and
``w2__tags`` (linked to their parent, with the list index).

* ours: a ``@dataload.resource`` yielding the records in pages of 1,000, run by a
  pipeline into a DuckDB file.
* reference: DuckDB reads the same records from a JSONL file (written when the input is
  built, untimed) with ``read_json`` into a temporary table and builds the same three
  tables in the same process: the root flat (the nested dict flattened into columns), the
  child tables with ``unnest`` plus the parent key (``id``) and the list index.

:func:`iter_records` is shared with W7 and W7PG (the same records, streamed); :func:`check_tables`
too.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from . import CACHE_DIR, VerificationError, Workload
from ._common import DATASET, columns_sql, count_sql, pipeline, query_for, write_jsonl

PAGE_SIZE = 1_000
INPUT_VERSION = 1
TABLE = "w2"
CHILDREN = f"{TABLE}__children"
TAGS = f"{TABLE}__tags"
ROOT_COLUMNS = ("id", "name", "score", "active", "created_at", "address__street", "address__city",
                "address__zip", "address__geo__lat", "address__geo__lon")
CHILD_COLUMNS = ("sku", "qty", "price", "gift")
_WORDS = (
    "alpha bravo cedar delta ember fjord garnet harbor indigo juniper kestrel lumen "
    "meadow nectar orbit pepper quartz raven sable tundra umber velvet willow xenon "
    "yarrow zephyr coffee kettle grinder filter mug tumbler beans roast"
).split()
_CITIES = ("Oslo", "Lisbon", "Kraków", "Montréal", "Osaka", "Lagos", "Quito", "Perth", "Tartu", "Cork")


def _text(rng: random.Random, low: int = 10, high: int = 30) -> str:
    length = rng.randint(low, high)
    text = " ".join(rng.choices(_WORDS, k=6))
    while len(text) < length:
        text += " " + rng.choice(_WORDS)
    return text[:length]


def iter_records(rows: int, seed: int) -> Iterator[dict[str, Any]]:
    """``rows`` deterministic nested records (the first N are the same for any larger N)."""
    rng = random.Random(seed)
    epoch = datetime(2023, 1, 1, tzinfo=timezone.utc)
    for i in range(1, rows + 1):
        created = epoch + timedelta(seconds=rng.randint(0, 2 * 365 * 86_400))
        yield {
            "id": i,
            "name": _text(rng),
            "score": round(rng.uniform(0, 100), 3),
            "active": rng.random() < 0.7,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "address": {
                "street": f"{rng.randint(1, 999)} {_text(rng, 8, 20)}",
                "city": rng.choice(_CITIES),
                "zip": f"{rng.randint(0, 99_999):05d}",
                "geo": {"lat": round(rng.uniform(-90, 90), 5), "lon": round(rng.uniform(-180, 180), 5)},
            },
            "children": [
                {"sku": f"SKU-{rng.randint(0, 999_999):06d}", "qty": rng.randint(1, 9),
                 "price": round(rng.uniform(1, 250), 2), "gift": rng.random() < 0.1}
                for _ in range(rng.randint(0, 5))
            ],
            "tags": rng.sample(_WORDS, rng.randint(0, 3)),
        }


def jsonl_path(rows: int, seed: int) -> Path:
    """Where the reference's JSONL copy of the input lives."""
    return CACHE_DIR / "inputs" / f"W2-{rows}-seed{seed}-v{INPUT_VERSION}.jsonl"


def build_input(rows: int, seed: int) -> dict[str, Any]:
    """The records in memory (for ours), their JSONL file (for the reference) and expected counts."""
    records = list(iter_records(rows, seed))
    path = jsonl_path(rows, seed)
    write_jsonl(records, path)
    return {
        "records": records,
        "jsonl": str(path),
        "children": sum(len(r["children"]) for r in records),
        "tags": sum(len(r["tags"]) for r in records),
    }


def run_ours(inp: dict[str, Any], workdir: Path) -> Any:
    """Load the records through a dataload pipeline; returns the pipeline."""
    import dataload

    records = inp["records"]

    @dataload.resource(name=TABLE, write_disposition="append")
    def w2_records():
        for start in range(0, len(records), PAGE_SIZE):
            yield records[start:start + PAGE_SIZE]

    pipe = pipeline("bench_w2", workdir)
    pipe.run(w2_records())
    return pipe


REFERENCE_SQL = (
    "CREATE SCHEMA \"{ds}\"",
    "CREATE TEMP TABLE src AS SELECT * FROM read_json('{path}', format = 'newline_delimited')",
    "CREATE TABLE \"{ds}\".\"{root}\" AS SELECT id, name, score, active, created_at, "
    "address.street AS address__street, address.city AS address__city, address.zip AS address__zip, "
    "address.geo.lat AS address__geo__lat, address.geo.lon AS address__geo__lon FROM src",
    "CREATE TABLE \"{ds}\".\"{children}\" AS SELECT id AS _parent_id, "
    "unnest(range(len(children))) AS _list_idx, unnest(children, recursive := true) FROM src",
    "CREATE TABLE \"{ds}\".\"{tags}\" AS SELECT id AS _parent_id, "
    "unnest(range(len(tags))) AS _list_idx, unnest(tags) AS value FROM src",
    "DROP TABLE src",
)


def run_reference(inp: dict[str, Any], workdir: Path) -> Path:
    """DuckDB read_json + unnest into the same three tables; returns the database path."""
    import duckdb

    if not Path(inp["jsonl"]).exists():
        raise SystemExit(f"W2 input file missing: {inp['jsonl']}; delete benchmarks/.cache/inputs/W2-* and rerun")
    path = workdir / "reference.duckdb"
    con = duckdb.connect(str(path))
    try:
        for statement in REFERENCE_SQL:
            con.execute(statement.format(ds=DATASET, path=inp["jsonl"].replace("'", "''"), root=TABLE,
                                         children=CHILDREN, tags=TAGS))
    finally:
        con.close()
    return path


def check_tables(label: str, query: Callable[[str], list[tuple]], root: str, expected: tuple[int, int, int],
                 dataset: str = DATASET) -> int:
    """Verify the row counts of ``root``, ``<root>__children`` and ``<root>__tags`` (in ``dataset``) and
    the columns of the first two; returns the root's rows."""
    tables = (root, f"{root}__children", f"{root}__tags")
    for table, rows in zip(tables, expected):
        found = query(count_sql(table, dataset=dataset))[0][0]
        if found != rows:
            raise VerificationError(f"{label}: {found} rows in {dataset}.{table}, expected {rows}")
    for table, wanted in zip(tables, (ROOT_COLUMNS, CHILD_COLUMNS)):
        missing = set(wanted) - {r[0] for r in query(columns_sql(table, dataset))}
        if missing:
            raise VerificationError(f"{label}: columns missing in {dataset}.{table}: {sorted(missing)}")
    return expected[0]


def verify(mode: str, inp: dict[str, Any], workdir: Path, handle: Any) -> int:
    """Check all three tables hold every input row."""
    expected = (len(inp["records"]), inp["children"], inp["tags"])
    query = query_for(mode, handle)
    return check_tables(f"W2 {mode}", query, TABLE, expected)


WORKLOAD = Workload(
    name="W2",
    title="nested dicts (dict, 0-5 child dicts, 0-3 tags), pages of 1,000 -> DuckDB, 3 tables",
    default_rows=200_000,
    quick_rows=20_000,
    build_input=build_input,
    run_ours=run_ours,
    run_reference=run_reference,
    verify=verify,
    input_version=INPUT_VERSION,
)
