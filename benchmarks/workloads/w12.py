"""W12: files -> DuckDB through ``sources.filesystem``: a gzip'd CSV and a folder of small JSONL files.

Input (written once, untimed, under ``benchmarks/.cache/inputs/W12-...``): ``rows`` records of 20
columns (6 integers, 5 doubles, 5 texts, 2 ISO 8601 timestamps with ``Z``, a boolean and a date)
in one gzip'd CSV, plus 200 JSONL files of ``rows / 1,500`` small records each (an id, a text, a
double, a timestamp and a nested dict of two fields).

* ours: ``filesystem(folder, "*.csv.gz") | read_csv(name="w12_csv")`` and
  ``filesystem(folder, "*.jsonl") | read_jsonl(name="w12_jsonl")`` in one pipeline run into a
  DuckDB file.
* reference: DuckDB's own ``read_csv`` of the gzip'd file and ``read_json`` of the JSONL glob,
  each into a table (``CREATE TABLE ... AS SELECT *``), in one process.

``rows`` counts the CSV rows; the JSONL records (``200 * (rows // 1,500)``) come on top.
Verification: both tables hold every row, with the CSV's 20 columns (and the JSONL's nested
dict flattened by ours, kept as a struct by the reference).
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from . import CACHE_DIR, Workload
from ._common import DATASET, check_rows_and_columns, pipeline, query_for

INPUT_VERSION = 1
FILES = 200
CSV_TABLE = "w12_csv"
JSONL_TABLE = "w12_jsonl"
CSV_COLUMNS = (*(f"int_{i}" for i in range(6)), *(f"num_{i}" for i in range(5)), *(f"text_{i}" for i in range(5)),
               "created_at", "updated_at", "active", "day")
_WORDS = "alpha bravo cedar delta ember fjord garnet harbor indigo juniper kestrel lumen meadow".split()


def jsonl_lines_per_file(rows: int) -> int:
    """How many records each of the 200 JSONL files holds."""
    return max(rows // 1_500, 1)


def _folder(rows: int, seed: int) -> Path:
    return CACHE_DIR / "inputs" / f"W12-{rows}-seed{seed}-v{INPUT_VERSION}"


def _write_csv(path: Path, rows: int, rng: random.Random) -> None:
    epoch = datetime(2023, 1, 1, tzinfo=timezone.utc)
    with gzip.open(path, "wt", newline="", encoding="utf-8", compresslevel=6) as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for i in range(1, rows + 1):
            created = epoch + timedelta(seconds=rng.randint(0, 365 * 86_400))
            writer.writerow([i, *(rng.randint(-10**6, 10**6) for _ in range(5)),
                             *(round(rng.uniform(0, 10_000), 4) for _ in range(5)),
                             *(" ".join(rng.choices(_WORDS, k=rng.randint(1, 4))) for _ in range(5)),
                             created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             (created + timedelta(hours=rng.randint(0, 500))).strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "true" if rng.random() < 0.5 else "false",
                             (date(2023, 1, 1) + timedelta(days=rng.randint(0, 700))).isoformat()])


def _write_jsonl(folder: Path, per_file: int, rng: random.Random) -> None:
    epoch = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for n in range(FILES):
        with open(folder / f"events-{n:03d}.jsonl", "w", encoding="utf-8") as f:
            for i in range(per_file):
                at = epoch + timedelta(seconds=rng.randint(0, 86_400 * 30))
                f.write(json.dumps({"id": n * per_file + i + 1, "kind": rng.choice(_WORDS),
                                    "value": round(rng.uniform(0, 100), 3), "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                    "meta": {"source": rng.choice(_WORDS), "attempt": rng.randint(1, 3)}}) + "\n")


def build_input(rows: int, seed: int) -> dict[str, Any]:
    """Write the CSV and the JSONL folder (once per size and seed); the input is their paths and counts."""
    folder = _folder(rows, seed)
    if not (folder / "done").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        rng = random.Random(seed)
        _write_csv(folder / "table.csv.gz", rows, rng)
        _write_jsonl(folder, jsonl_lines_per_file(rows), rng)
        (folder / "done").touch()
    return {"folder": str(folder), "csv_rows": rows, "jsonl_rows": FILES * jsonl_lines_per_file(rows)}


def _require_files(inp: dict[str, Any]) -> None:
    if not (Path(inp["folder"]) / "done").exists():
        raise SystemExit(f"W12 input files missing in {inp['folder']}; delete benchmarks/.cache/inputs/W12-* and rerun")


def run_ours(inp: dict[str, Any], workdir: Path) -> Any:
    """Read both kinds of files through the filesystem source in one pipeline run; returns the pipeline."""
    from sources.filesystem import filesystem, read_csv, read_jsonl

    _require_files(inp)
    pipe = pipeline("bench_w12", workdir)
    pipe.run([filesystem(inp["folder"], file_glob="*.csv.gz") | read_csv(name=CSV_TABLE),
              filesystem(inp["folder"], file_glob="*.jsonl") | read_jsonl(name=JSONL_TABLE)])
    return pipe


def run_reference(inp: dict[str, Any], workdir: Path) -> Path:
    """DuckDB's read_csv and read_json into two tables; returns the database path."""
    import duckdb

    _require_files(inp)
    path = workdir / "reference.duckdb"
    folder = inp["folder"].replace("'", "''")
    con = duckdb.connect(str(path))
    try:
        con.execute(f'CREATE SCHEMA "{DATASET}"')
        con.execute(f"CREATE TABLE \"{DATASET}\".\"{CSV_TABLE}\" AS SELECT * FROM read_csv('{folder}/table.csv.gz')")
        con.execute(f"CREATE TABLE \"{DATASET}\".\"{JSONL_TABLE}\" AS SELECT * FROM "
                    f"read_json('{folder}/*.jsonl', format = 'newline_delimited')")
    finally:
        con.close()
    return path


def verify(mode: str, inp: dict[str, Any], workdir: Path, handle: Any) -> int:
    """Both tables hold every row with their columns; returns the CSV rows."""
    query = query_for(mode, handle)
    nested = ("meta__source", "meta__attempt") if mode == "ours" else ("meta",)
    check_rows_and_columns(f"W12 {mode}", query, JSONL_TABLE, inp["jsonl_rows"], ("id", "kind", "value", "at", *nested))
    return check_rows_and_columns(f"W12 {mode}", query, CSV_TABLE, inp["csv_rows"], CSV_COLUMNS)


WORKLOAD = Workload(
    name="W12",
    title="files: a gzip'd 20-column CSV + 200 small JSONL files -> DuckDB via sources.filesystem",
    default_rows=300_000,
    quick_rows=15_000,
    build_input=build_input,
    run_ours=run_ours,
    run_reference=run_reference,
    verify=verify,
    input_version=INPUT_VERSION,
)
