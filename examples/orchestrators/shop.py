"""The source and pipeline every orchestrator example runs: a small shop loaded into DuckDB.

The DuckDB file and the pipeline's working dir are kept in ``examples/.dataload_pipelines/``;
``customers`` is merged on its id, so running an example again adds no duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dataload
from destinations import duckdb

HERE = Path(__file__).resolve().parent
PIPELINES = HERE.parent / ".dataload_pipelines"


@dataload.source
def shop() -> Any:
    """Customers (merged on ``id``), the orders of each customer (a transformer), and products."""
    customers = dataload.resource([{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}], name="customers",
                                  primary_key="id", write_disposition="merge")

    @dataload.transformer(data_from=customers, primary_key="id", write_disposition="merge")
    def orders(customer: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield {"id": 100 + customer["id"], "customer_id": customer["id"], "amount": 10.5 * customer["id"]}

    products = dataload.resource([{"sku": "A-1", "price": 3.5}], name="products", write_disposition="replace")
    return customers, orders, products


def shop_pipeline() -> dataload.Pipeline:
    """The pipeline, made where the orchestrator runs the work (a worker, a step, a task)."""
    return dataload.pipeline("orchestrated_shop", destination=duckdb(str(PIPELINES / "orchestrated_shop.duckdb")),
                             dataset_name="shop", pipelines_dir=PIPELINES)
