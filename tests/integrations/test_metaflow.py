"""run_pipeline in Metaflow steps, run with ``python flow.py run`` in a subprocess (METAFLOW_HOME and the local
datastore in tmp): a step under ``@resources`` loads and keeps ``load_info``; under ``@retry`` a contract
violation is not run again."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from tests.integrations.tools import python_with, rows, tool_environment

COMMON = """
import json
from pathlib import Path

from metaflow import FlowSpec, resources, retry, step

import dataload
from dataload.integrations.metaflow import run_pipeline
from destinations import duckdb

TMP = Path({tmp!r})


def attempt(name):
    path = TMP / f"{{name}}.attempts"
    tries = int(path.read_text()) if path.exists() else 0
    path.write_text(str(tries + 1))


@dataload.source
def shop():
    customers = dataload.resource([{{"id": 1, "name": "ann"}}, {{"id": 2, "name": "bob"}}], name="customers",
                                  primary_key="id", write_disposition="merge")
    orders = dataload.resource([{{"id": 10, "customer_id": 1}}], name="orders")
    return customers, orders


@dataload.source
def strict():
    @dataload.resource(name="frozen", schema_contract="freeze")  # a new table: refused by the contract
    def frozen():
        attempt("frozen")
        yield {{"id": 1}}

    return frozen


def pipeline(name):
    return dataload.pipeline(name, destination=duckdb(str(TMP / "warehouse.duckdb")), dataset_name=name,
                             pipelines_dir=TMP / "pipes")
"""

SHOP_FLOW = COMMON + """

class ShopFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.load)

    @resources(cpu=1, memory=1024)  # honoured on remote compute (--with kubernetes, batch); the step is the same
    @step
    def load(self):
        run_pipeline(self, shop, pipeline=lambda: pipeline("shop"))
        self.next(self.end)

    @step
    def end(self):
        print("LOAD-INFO " + json.dumps(self.load_info))  # the artifact, read in another process


if __name__ == "__main__":
    ShopFlow()
"""

STRICT_FLOW = COMMON + """

class StrictFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.load)

    @retry(times=2, minutes_between_retries=0)
    @step
    def load(self):
        run_pipeline(self, strict, pipeline=lambda: pipeline("strict"))
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    StrictFlow()
"""


def _run_flow(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    python = python_with("metaflow", extra="metaflow")
    script = tmp_path / f"{name}.py"
    script.write_text(textwrap.dedent(text.format(tmp=str(tmp_path))))
    env = tool_environment(METAFLOW_HOME=str(tmp_path / "metaflow"), USERNAME="dataload-tests",
                           METAFLOW_DEFAULT_DATASTORE="local", METAFLOW_DEFAULT_METADATA="local",
                           METAFLOW_DATASTORE_SYSROOT_LOCAL=str(tmp_path / "metaflow"))
    return subprocess.run([python, str(script), "run"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=900)


def test_a_step_under_resources_loads_and_keeps_load_info(tmp_path: Path) -> None:
    result = _run_flow(tmp_path, "shop_flow", SHOP_FLOW)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    printed = next(line for line in (result.stdout + result.stderr).splitlines() if "LOAD-INFO " in line)
    info = json.loads(printed.split("LOAD-INFO ", 1)[1])
    assert (info["pipeline_name"], info["rows"]) == ("shop", {"customers": 2, "orders": 1})
    warehouse = tmp_path / "warehouse.duckdb"
    assert rows(warehouse, "SELECT id, name FROM shop.customers ORDER BY id") == [(1, "ann"), (2, "bob")]
    assert rows(warehouse, "SELECT id, customer_id FROM shop.orders") == [(10, 1)]


def test_under_retry_a_contract_violation_fails_without_running_again(tmp_path: Path) -> None:
    result = _run_flow(tmp_path, "strict_flow", STRICT_FLOW)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "contract violation" in output and "not retried, attempt 0 failed" in output
    assert (tmp_path / "frozen.attempts").read_text() == "1"  # @retry(times=2) made no second run of the pipeline
