"""Importing dataload, or any integration module, imports no orchestrator: each is an optional extra."""

from __future__ import annotations

import subprocess
import sys

from tests.integrations.tools import ROOT, tool_environment

TOOLS = ("airflow", "dagster", "prefect", "metaflow")


def test_no_orchestrator_is_imported_until_used() -> None:
    code = ("import sys, dataload, dataload.integrations, dataload.integrations.outcome, dataload.cli.deploy\n"
            + "".join(f"import dataload.integrations.{tool}\n" for tool in TOOLS)
            + f"print(sorted(name for name in sys.modules if name.split('.')[0] in {TOOLS!r}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=tool_environment(),
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
