"""``examples/stripe_pipeline.py`` runs as a script against the Stripe replay, configured by environment only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb as duckdb_driver
from pytest_httpserver import HTTPServer
from stripe_api import StripeAPI

ROOT = Path(__file__).resolve().parents[3]
API_KEY = "rk_test_51ExampleKey0123456789abcdef"


def test_the_example_loads_the_account_of_the_configured_key(httpserver: HTTPServer, tmp_path: Path) -> None:
    api = StripeAPI(api_key=API_KEY).serve(httpserver)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "DATALOAD_PIPELINES_DIR": str(tmp_path / "pipelines"),
           "SOURCES__STRIPE__BASE_URL": api.base_url, "SOURCES__STRIPE__API_KEY": API_KEY}

    result = subprocess.run([sys.executable, str(ROOT / "examples" / "stripe_pipeline.py")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert API_KEY not in result.stdout + result.stderr
    with duckdb_driver.connect(str(tmp_path / "stripe_pipeline.duckdb"), read_only=True) as connection:
        customers = connection.execute("SELECT id, email FROM stripe_data.customers ORDER BY id").fetchall()
        lines = connection.execute("SELECT id, _invoices_id FROM stripe_data.invoice_lines ORDER BY id").fetchall()
        events = connection.execute("SELECT id, created FROM stripe_data.events ORDER BY id").fetchall()
    assert customers == sorted((c["id"], c["email"]) for c in api.customers)
    assert lines == sorted((line["id"], invoice) for invoice, rows in api.lines.items() for line in rows)
    assert events == sorted((e["id"], e["created"]) for e in api.events)
    assert re.search(rf"^\s+customers\s+{len(api.customers)} rows$", result.stdout, re.MULTILINE), result.stdout
