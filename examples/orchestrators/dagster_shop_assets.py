"""Dagster assets for the shop source, one per resource, with rows and the table schema on each materialization.

Serve them with ``dagster dev -f examples/orchestrators/dagster_shop_assets.py``, or materialize
them once in process::

    python examples/orchestrators/dagster_shop_assets.py
"""

from __future__ import annotations

import dagster as dg
from shop import shop, shop_pipeline

from dataload.integrations.dagster import dataload_assets

shop_assets = dataload_assets(shop, pipeline=shop_pipeline, group_name="shop",
                              retry_policy=dg.RetryPolicy(max_retries=2, delay=60))
defs = dg.Definitions(assets=[shop_assets])

if __name__ == "__main__":
    result = dg.materialize([shop_assets])
    for event in result.get_asset_materialization_events():
        metadata = event.step_materialization_data.materialization.metadata
        columns = [column.name for column in metadata["dagster/column_schema"].value.columns]
        print(event.asset_key.to_user_string(), metadata["dagster/row_count"].value, "rows, columns:", columns)
