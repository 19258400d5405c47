"""A Prefect flow loading the shop source, one task per resource; retries skip what a retry cannot mend.

Run it with a local ephemeral Prefect server (or against PREFECT_API_URL)::

    python examples/orchestrators/prefect_shop_flow.py
"""

from __future__ import annotations

from shop import shop, shop_pipeline

from dataload.integrations.prefect import dataload_flow

shop_flow = dataload_flow(shop, pipeline=shop_pipeline, retries=2, retry_delay_seconds=60)

if __name__ == "__main__":
    for result in shop_flow():
        print(result["rows"])
