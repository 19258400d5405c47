"""Load a Stripe account's customers, invoices with their line items, and events into DuckDB.

Run from anywhere::

    SOURCES__STRIPE__API_KEY=rk_test_... python examples/stripe_pipeline.py

Configuration (environment variables, or the same keys under ``[sources.stripe]`` in
``.dataload/secrets.toml`` and ``.dataload/config.toml``):

* ``SOURCES__STRIPE__API_KEY``: a secret key, or better a restricted key with read access to
  customers, invoices and events (Dashboard > Developers > API keys). A test-mode key
  (``sk_test_``/``rk_test_``) reads your test data.
* ``SOURCES__STRIPE__BASE_URL``: the API, ``https://api.stripe.com/v1`` by default.

The DuckDB file ``stripe_pipeline.duckdb`` is written in the current directory, the pipeline's
state under ``~/.dataload/pipelines`` (or ``$DATALOAD_PIPELINES_DIR``). Each run reads customers,
invoices and their lines whole (the tables are replaced) and only the events created since the
last run (merged into ``events``).
"""

from __future__ import annotations

from typing import Any

import dataload
from sources.stripe import API_URL, stripe_account


def configured(key: str, default: Any = None) -> Any:
    """The value of ``key`` in dataload's configuration (environment, ``.dataload/*.toml``), or ``default``."""
    try:
        return dataload.config[key]
    except dataload.MissingConfig:
        return default


def main() -> None:
    """Load the account of the configured key, then print what was loaded."""
    source = stripe_account(base_url=configured("sources.stripe.base_url", API_URL))  # api_key: from the config
    pipe = dataload.pipeline(pipeline_name="stripe_pipeline", destination="duckdb", dataset_name="stripe_data")
    print(pipe.run(source))

    print("\nTables in dataset 'stripe_data':")
    dataset = pipe.dataset()
    for name in dataset.tables:  # customers, invoices, invoice_lines, events, and their child tables
        print(f"  {name:<30} {dataset.table(name).arrow().num_rows:>7} rows")


if __name__ == "__main__":
    main()
