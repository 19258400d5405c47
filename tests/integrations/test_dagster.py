"""dataload_assets materialized by Dagster in process: one asset per resource, rows and schema as metadata,
retries only where a retry can help."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dataload
from tests.integrations.tools import python_with, rows

python_with("dagster", extra="dagster")  # a skip (a failure in CI) when Dagster is not installed
import dagster as dg  # noqa: E402

from dataload.integrations.dagster import dataload_assets  # noqa: E402


@dataload.source
def crm() -> Any:
    users = dataload.resource([{"id": 1, "name": "ann", "tags": ["a", "b"]}, {"id": 2, "name": "bob", "tags": []}],
                              name="users", primary_key="id", write_disposition="merge")

    @dataload.transformer(data_from=users)
    def user_scores(user: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield {"user_id": user["id"], "score": user["id"] * 1.5}

    orders = dataload.resource([{"id": 10, "user_id": 1, "amount": 12}], name="orders", table_name="sales_orders")
    return users, user_scores, orders


def _materializations(result: Any) -> dict[str, dict[str, Any]]:
    return {event.asset_key.path[-1]: event.step_materialization_data.materialization.metadata
            for event in result.get_asset_materialization_events()}


def test_each_resource_is_an_asset_with_rows_and_schema(make_pipeline: Callable[..., dataload.Pipeline],
                                                        tmp_path: Path) -> None:
    pipe = make_pipeline("crm_assets", dataset_name="crm")
    assets = dataload_assets(crm, pipeline=pipe, key_prefix=["warehouse"], group_name="crm")
    assert {key.to_user_string() for key in assets.keys} == {"warehouse/users", "warehouse/user_scores",
                                                             "warehouse/orders"}
    assert assets.asset_deps[dg.AssetKey(["warehouse", "user_scores"])] == {dg.AssetKey(["warehouse", "users"])}

    result = dg.materialize([assets])

    assert result.success
    metadata = _materializations(result)
    assert metadata["users"]["dagster/row_count"].value == 2
    assert metadata["users"]["rows"].value == {"users": 2, "users__tags": 2}
    assert metadata["users"]["dagster/table_name"].value == "crm.users"
    columns = {column.name: column.type for column in metadata["users"]["dagster/column_schema"].value.columns}
    assert {"id": "bigint", "name": "text"}.items() <= columns.items() and "_dl_id" in columns
    assert metadata["orders"]["dagster/row_count"].value == 1
    assert metadata["orders"]["dagster/table_name"].value == "crm.sales_orders"
    assert metadata["user_scores"]["load_info"].value["rows"]["user_scores"] == 2
    database = tmp_path / "crm_assets.duckdb"
    assert rows(database, "SELECT id, name FROM crm.users ORDER BY id") == [(1, "ann"), (2, "bob")]
    assert rows(database, "SELECT value FROM crm.users__tags ORDER BY value") == [("a",), ("b",)]
    assert rows(database, "SELECT user_id, score FROM crm.user_scores ORDER BY 1") == [(1, 1.5), (2, 3.0)]
    assert rows(database, "SELECT id, amount FROM crm.sales_orders") == [(10, 12)]


def test_a_subset_loads_only_the_resources_asked_for(make_pipeline: Callable[..., dataload.Pipeline],
                                                     tmp_path: Path) -> None:
    assets = dataload_assets(crm, pipeline=make_pipeline("crm_subset", dataset_name="crm"))
    result = dg.materialize([assets], selection=[dg.AssetKey("orders")])
    assert result.success and set(_materializations(result)) == {"orders"}
    database = tmp_path / "crm_subset.duckdb"
    assert rows(database, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'crm' "
                          "AND table_name NOT LIKE '\\_dl\\_%' ESCAPE '\\'") == [("sales_orders",)]


@pytest.mark.parametrize("broken, retried", [("contract", False), ("bug", True)])
def test_only_a_failure_a_retry_can_mend_is_retried(make_pipeline: Callable[..., dataload.Pipeline],
                                                    broken: str, retried: bool) -> None:
    def data() -> Iterator[dict[str, int]]:
        if broken == "bug":
            raise ValueError("bug in the resource")
        yield {"id": 1}

    @dataload.source
    def failing() -> Any:
        return dataload.resource(data, name="items", schema_contract="freeze" if broken == "contract" else None)

    assets = dataload_assets(failing, pipeline=make_pipeline(), retry_policy=dg.RetryPolicy(max_retries=2))
    result = dg.materialize([assets], raise_on_error=False)
    assert not result.success
    retries = [event for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retries) == (2 if retried else 0)
    failure = next(event for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert ("bug in the resource" if retried else "contract violation") in str(failure.step_failure_data.error)
