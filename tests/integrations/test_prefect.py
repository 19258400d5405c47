"""dataload_flow and load_task in a real local Prefect flow run (an ephemeral Prefect server, PREFECT_HOME in
tmp): rows read back, a connection error retried, a contract violation failed without retries."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.integrations.tools import python_with, rows, tool_environment

FLOW_SCRIPT = """
import json

from prefect import flow

from dataload.integrations.prefect import dataload_flow, load_task
from tests.integrations.shop_sources import pipeline, shop, strict


@flow
def strict_flow():
    return load_task(retries=2, retry_delay_seconds=0)(strict, pipeline("strict"))


if __name__ == "__main__":
    results = dataload_flow(lambda: shop(flaky_orders=True), pipeline=lambda: pipeline("shop"), name="shop",
                            retry_delay_seconds=0)()
    print("SHOP " + json.dumps(results))
    state = strict_flow(return_state=True)
    print("STRICT " + json.dumps({"failed": state.is_failed(), "message": state.message}))
"""


def test_a_flow_loads_each_resource_and_retries_only_what_a_retry_can_mend(tmp_path: Path) -> None:
    python = python_with("prefect", extra="prefect")
    script = tmp_path / "shop_flow.py"
    script.write_text(FLOW_SCRIPT)
    env = tool_environment(tmp_path, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL="",
                           PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300")
    result = subprocess.run([python, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    printed = {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1]) for line in result.stdout.splitlines()
               if line.startswith(("SHOP ", "STRICT "))}

    customers, orders = printed["SHOP"]
    assert (customers["rows"], orders["rows"]) == ({"customers": 2}, {"orders": 2})
    assert customers["pipeline_name"] == "shop" and orders["has_data"] is True
    assert (tmp_path / "orders.attempts").read_text() == "2"  # the connection error was retried once
    assert printed["STRICT"]["failed"] is True and "contract violation" in printed["STRICT"]["message"]
    assert (tmp_path / "frozen.attempts").read_text() == "1"  # the contract violation was not, though retries=2
    warehouse = tmp_path / "warehouse.duckdb"
    assert rows(warehouse, "SELECT id, name FROM shop.customers ORDER BY id") == [(1, "ann"), (2, "bob")]
    assert rows(warehouse, "SELECT id, customer_id FROM shop.orders ORDER BY id") == [(10, 1), (11, 2)]
