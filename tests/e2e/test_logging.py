"""A run logs each step at INFO (package, tables, rows, seconds) to loggers under ``dataload``, never a secret."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.load.step import RetryPolicy
from destinations import postgres
from destinations.sql import quote

ROWS = 20_000
PASSWORD = "pw-" + uuid.uuid4().hex


def _orders() -> list[dict[str, Any]]:
    return [{"id": i, "total": i / 4, "lines": [{"sku": f"s{i}"}]} for i in range(ROWS)]


def _step_lines(records: list[logging.LogRecord], step: str) -> list[str]:
    return [r.getMessage() for r in records if r.levelno == logging.INFO and r.name.startswith(f"dataload.{step}")]


def test_each_step_logs_package_tables_and_rows_at_info(make_pipeline: Any, caplog: pytest.LogCaptureFixture) -> None:
    pipe = make_pipeline()
    with caplog.at_level(logging.DEBUG, logger="dataload"):
        info = pipe.run(_orders(), table_name="orders")
    (load_id,) = info.load_ids
    loaded = pipe.dataset().row_counts()
    assert loaded == {"orders": ROWS, "orders__lines": ROWS}
    for step in ("extract", "normalize", "load"):
        lines = _step_lines(caplog.records, step)
        assert len(lines) == 1, (step, lines)
        assert load_id in lines[0] and f"orders: {ROWS}" in lines[0] and " s" in lines[0], lines[0]
    for step in ("normalize", "load"):
        assert f"orders__lines: {ROWS}" in _step_lines(caplog.records, step)[0]
    assert all(r.name == "dataload" or r.name.startswith("dataload.") for r in caplog.records)
    assert any(r.levelno == logging.DEBUG for r in caplog.records), "details are logged at DEBUG"


def test_importing_dataload_gives_its_logger_a_null_handler() -> None:
    script = ("import logging, dataload; "
              "assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger('dataload').handlers); "
              "assert logging.getLogger().handlers == [], 'the root logger is left alone'")
    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ})


@pytest.fixture
def secret_postgres_url() -> Any:
    """The test server's URL with a password in it (trust auth ignores it); the dataset is dropped after."""
    admin = postgres_connection()
    dataset = f"ds_{uuid.uuid4().hex[:8]}"
    user_and_host = POSTGRES_URL.split("://", 1)[1]
    user, host = user_and_host.split("@", 1) if "@" in user_and_host else ("postgres", user_and_host)
    try:
        yield f"postgresql://{user.split(':')[0]}:{PASSWORD}@{host}", dataset
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {quote(dataset)} CASCADE")
        admin.close()


def _assert_no_password(records: list[logging.LogRecord]) -> None:
    assert records, "the run logged something"
    leaked = [r for r in records if PASSWORD in r.getMessage() or PASSWORD in str(r.args) or
              (r.exc_info and PASSWORD in logging.Formatter().formatException(r.exc_info))]
    assert leaked == []


def test_a_password_in_the_destination_url_is_never_logged(secret_postgres_url: Any, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    url, dataset = secret_postgres_url
    pipe = dataload.pipeline("secret_log", destination=postgres(url), dataset_name=dataset,
                             pipelines_dir=tmp_path / "pipelines")
    with caplog.at_level(logging.DEBUG, logger="dataload"):
        pipe.run([{"id": 1, "name": "Ann"}], table_name="people")
    assert pipe.dataset().people.rows()[0]["name"] == "Ann"
    _assert_no_password(caplog.records)


def test_a_failing_destination_logs_retries_without_the_password(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    url = f"postgresql://loader:{PASSWORD}@127.0.0.1:9/nowhere"  # the discard port: nothing answers
    pipe = dataload.pipeline("secret_fail", destination=postgres(url), dataset_name="ds",
                             pipelines_dir=tmp_path / "pipelines",
                             retry_policy=RetryPolicy(attempts=2, first_wait=0.01, max_wait=0.01))
    with caplog.at_level(logging.DEBUG, logger="dataload"), pytest.raises(dataload.DataloadError) as raised:
        pipe.run([{"id": 1}], table_name="people")
    assert PASSWORD not in str(raised.value)
    assert any(r.levelno == logging.WARNING and "retrying" in r.getMessage() for r in caplog.records)
    _assert_no_password(caplog.records)
