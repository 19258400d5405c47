"""DuckDB loads packages of big appended rows chunk by chunk; a retry never duplicates rows."""

from __future__ import annotations

import pytest

import destinations._duckdb as duckdb_module
from dataload.exceptions import TransientLoadError
from dataload.extract.limits import BufferLimits
from dataload.load.step import RetryPolicy


@pytest.fixture
def transactions(monkeypatch):
    """The ``final`` flag of every DuckDB transaction a load opens, in order."""
    seen = []
    original = duckdb_module.DuckDBClient._transaction

    def counting(self, package, work, *, final):
        seen.append(final)
        return original(self, package, work, final=final)

    monkeypatch.setattr(duckdb_module.DuckDBClient, "_transaction", counting)
    return seen


@pytest.fixture
def small_thresholds(monkeypatch):
    monkeypatch.setattr(duckdb_module, "STEPWISE_BYTES", 1_000)
    monkeypatch.setattr(duckdb_module, "STEPWISE_ROW_BYTES", 100)


def test_big_rows_load_chunk_by_chunk_and_count_once(make_pipeline, small_thresholds, transactions):
    pipe = make_pipeline()
    pipe.buffer_limits = BufferLimits(segment_rows=2)
    pipe.run([{"id": i, "body": "x" * 500} for i in range(6)], table_name="docs")
    assert transactions == [False, False, False, False, True]  # prepare, 3 chunks, records
    assert sorted(r["id"] for r in pipe.dataset().table("docs").rows()) == list(range(6))
    assert len(pipe.dataset().table("_dl_loads").rows()) == 1


def test_a_failure_between_chunks_is_retried_without_duplicates(make_pipeline, small_thresholds, monkeypatch):
    original = duckdb_module.DuckDBClient._write_table
    failed = []

    def fail_second_chunk_once(self, package, root, chunk=None):
        original(self, package, root, chunk)
        if chunk == 1 and not failed:
            failed.append(chunk)
            raise TransientLoadError("connection lost after chunk 1 (simulated)")

    monkeypatch.setattr(duckdb_module.DuckDBClient, "_write_table", fail_second_chunk_once)
    pipe = make_pipeline()
    pipe.buffer_limits = BufferLimits(segment_rows=2)
    pipe.retry_policy = RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.02)
    pipe.run([{"id": i, "body": "y" * 500} for i in range(6)], table_name="docs")
    assert failed == [1]
    assert sorted(r["id"] for r in pipe.dataset().table("docs").rows()) == list(range(6))


def test_ordinary_rows_load_in_one_transaction(make_pipeline, monkeypatch, transactions):
    monkeypatch.setattr(duckdb_module, "STEPWISE_BYTES", 1_000)  # big package, but small rows
    pipe = make_pipeline()
    pipe.run([{"id": i} for i in range(500)], table_name="small")
    assert transactions == [True]
