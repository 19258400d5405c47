"""Quickstart: load the sample shop data shipped in ``examples/data/`` into DuckDB.

Run from anywhere::

    python examples/quickstart.py

What it shows:

* two resources written as plain generator functions, grouped in one source;
* ``customers`` (JSON lines, nested ``address`` dict and a ``tags`` list) merged on
  its primary key ``id``: the nested dict becomes ``address__*`` columns and the
  list becomes the child table ``customers__tags``;
* ``orders`` (CSV) appended: ISO 8601 ``ordered_at`` strings are detected as
  timestamps;
* reading the loaded tables back through ``pipe.dataset()``.

The pipeline's working directory (load packages and state) and the DuckDB file
``quickstart.duckdb`` are kept next to this script in ``.dataload_pipelines/``.
Re-running the script merges ``customers`` again (the count stays 50) and appends
``orders`` again (the count grows by 200 per run); delete that folder to start over.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import dataload
from destinations import duckdb

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PIPELINES_DIR = HERE / ".dataload_pipelines"


@dataload.resource(name="customers", primary_key="id", write_disposition="merge")
def customers():
    """Yield customers from JSON lines, one page (list of dicts) for the whole file."""
    with open(DATA / "customers.jsonl", encoding="utf-8") as f:
        yield [json.loads(line) for line in f if line.strip()]


@dataload.resource(name="orders", write_disposition="append")
def orders(page_size: int = 50):
    """Yield orders from CSV in pages, converting the numeric fields CSV leaves as text."""
    page = []
    with open(DATA / "orders.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            row["order_id"] = int(row["order_id"])
            row["customer_id"] = int(row["customer_id"])
            row["quantity"] = int(row["quantity"])
            row["unit_price"] = float(row["unit_price"])
            row["coupon"] = row["coupon"] or None
            page.append(row)
            if len(page) == page_size:
                yield page
                page = []
    if page:
        yield page


@dataload.source(name="shop")
def shop():
    """The two resources, loaded together in one run."""
    return customers(), orders()


def main() -> None:
    """Load both resources into DuckDB, then print the load info and row counts."""
    pipe = dataload.pipeline(
        pipeline_name="quickstart",
        # Without credentials ("duckdb") the file is <pipeline_name>.duckdb in the current
        # directory; here it is kept next to this script whatever directory you run it from.
        destination=duckdb(str(PIPELINES_DIR / "quickstart.duckdb")),
        dataset_name="shop",
        pipelines_dir=str(PIPELINES_DIR),
    )
    info = pipe.run(shop())
    print(info)

    print("\nTables in dataset 'shop':")
    dataset = pipe.dataset()
    for name in dataset.tables:  # customers, customers__tags (from the list), orders
        rows = dataset.table(name).arrow().num_rows
        print(f"  {name:<18} {rows:>6} rows")


if __name__ == "__main__":
    main()
