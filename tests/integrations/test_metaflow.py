"""run_pipeline in a Metaflow step under ``@resources`` and ``@retry``, run with ``python flow.py run`` in a
subprocess (METAFLOW_HOME and the local datastore in tmp): the step loads and keeps ``load_info``; a contract
violation is not run again by ``@retry``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.integrations.tools import python_with, rows, tool_environment

FLOW = """
import json

from metaflow import FlowSpec, Parameter, resources, retry, step

from dataload.integrations.metaflow import run_pipeline
from tests.integrations.shop_sources import pipeline, shop, strict


class LoadFlow(FlowSpec):
    source = Parameter("source", default="shop")

    @step
    def start(self):
        self.next(self.load)

    @retry(times=2, minutes_between_retries=0)
    @resources(cpu=1, memory=1024)  # honoured on remote compute (--with kubernetes, batch); the step is the same
    @step
    def load(self):
        run_pipeline(self, {"shop": shop, "strict": strict}[self.source], pipeline=lambda: pipeline(self.source))
        self.next(self.end)

    @step
    def end(self):
        print("LOAD-INFO " + json.dumps(self.load_info))  # the artifact, read in another process


if __name__ == "__main__":
    LoadFlow()
"""


def _run_flow(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    python = python_with("metaflow", extra="metaflow")
    script = tmp_path / "load_flow.py"
    script.write_text(FLOW)
    env = tool_environment(tmp_path, METAFLOW_HOME=str(tmp_path / "metaflow"), USERNAME="dataload-tests",
                           METAFLOW_DEFAULT_DATASTORE="local", METAFLOW_DEFAULT_METADATA="local",
                           METAFLOW_DATASTORE_SYSROOT_LOCAL=str(tmp_path / "metaflow"))
    return subprocess.run([python, str(script), "run", *arguments], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=900)


def test_a_step_under_resources_loads_and_keeps_load_info(tmp_path: Path) -> None:
    result = _run_flow(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    printed = next(line for line in (result.stdout + result.stderr).splitlines() if "LOAD-INFO " in line)
    info = json.loads(printed.split("LOAD-INFO ", 1)[1])
    assert (info["pipeline_name"], info["rows"]) == ("shop", {"customers": 2, "orders": 2})
    warehouse = tmp_path / "warehouse.duckdb"
    assert rows(warehouse, "SELECT id, name FROM shop.customers ORDER BY id") == [(1, "ann"), (2, "bob")]
    assert rows(warehouse, "SELECT id, customer_id FROM shop.orders ORDER BY id") == [(10, 1), (11, 2)]


def test_under_retry_a_contract_violation_fails_without_running_again(tmp_path: Path) -> None:
    result = _run_flow(tmp_path, "--source", "strict")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "contract violation" in output and "not retried, attempt 0 failed" in output
    assert (tmp_path / "frozen.attempts").read_text() == "1"  # @retry(times=2) made no second run of the pipeline
