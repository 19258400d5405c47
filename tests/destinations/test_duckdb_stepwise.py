"""DuckDB loads packages of big appended rows chunk by chunk; a retry never duplicates rows."""

from __future__ import annotations

import duckdb
import pytest

import destinations._duckdb as duckdb_module
from dataload.exceptions import TransientLoadError
from dataload.extract.limits import BufferLimits
from dataload.load.step import RetryPolicy
from destinations.records import SqlRecords


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
    pipe = make_pipeline(buffer_limits=BufferLimits(segment_rows=2))
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
    pipe = make_pipeline(buffer_limits=BufferLimits(segment_rows=2),
                         retry_policy=RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.02))
    pipe.run([{"id": i, "body": "y" * 500} for i in range(6)], table_name="docs")
    assert failed == [1]
    assert sorted(r["id"] for r in pipe.dataset().table("docs").rows()) == list(range(6))


def test_ordinary_rows_load_in_one_transaction(make_pipeline, monkeypatch, transactions):
    monkeypatch.setattr(duckdb_module, "STEPWISE_BYTES", 1_000)  # big package, but small rows
    pipe = make_pipeline()
    pipe.run([{"id": i} for i in range(500)], table_name="small")
    assert transactions == [True]


@pytest.fixture
def settings_while_loading(monkeypatch):
    """DuckDB's memory_limit and threads settings seen inside each load transaction, in order."""
    seen = []
    original = SqlRecords.commit

    def recording(self, package):
        seen.append({name: self.execute(f"SELECT current_setting('{name}')", [])[0][0]
                     for name in ("memory_limit", "threads")})
        return original(self, package)

    monkeypatch.setattr(SqlRecords, "commit", recording)
    return seen


def _limits(seen: list[dict[str, str]]) -> list[str]:
    return [settings["memory_limit"] for settings in seen]


def _setting(pipe, name: str = "memory_limit") -> str:
    """A DuckDB setting as queries through the pipeline see it."""
    with pipe.sql_client() as client:
        return client.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]


def _mib(setting: str) -> float:
    number, unit = setting.split()
    assert unit == "MiB", setting
    return float(number)


def test_ordinary_loads_run_with_a_cap_that_follows_the_width_and_queries_do_not(make_pipeline,
                                                                                settings_while_loading):
    pipe = make_pipeline()
    pipe.run([{"id": i} for i in range(10)], table_name="small")
    pipe.run([{f"c{c}": i for c in range(300)} for i in range(10)], table_name="wide")
    narrow, wide = (_mib(limit) for limit in _limits(settings_while_loading))
    assert 128 <= narrow < 160  # the base, 128 MiB, and a block per column per thread
    assert wide - 128 >= 300 * 0.25 * 2  # 300 columns of 256 KiB blocks, twice, for at least one thread
    assert _setting(pipe) not in _limits(settings_while_loading)  # queries get DuckDB's own default
    assert len(pipe.dataset().table("small").rows()) == 10 and len(pipe.dataset().table("wide").rows()) == 10


def test_big_row_packages_and_explicit_limits_are_not_capped(make_pipeline, small_thresholds,
                                                              settings_while_loading, tmp_path):
    pipe = make_pipeline("big", buffer_limits=BufferLimits(segment_rows=2))
    pipe.run([{"id": 1, "body": "x" * 500}], table_name="one_big_row")  # capped path, uncapped
    pipe.run([{"id": i, "body": "x" * 500} for i in range(4)], table_name="docs")  # stepwise
    assert settings_while_loading and set(_limits(settings_while_loading)) == {_setting(pipe)}
    settings_while_loading.clear()

    explicit = make_pipeline(destination=duckdb_module.DuckDB(str(tmp_path / "explicit.duckdb"), memory_limit="1GB"))
    explicit.run([{"id": 1}], table_name="t")
    assert _limits(settings_while_loading) == ["953.6 MiB"] and _setting(explicit) == "953.6 MiB"


def test_chunked_loads_checkpoint_once_at_the_end(make_pipeline, small_thresholds, monkeypatch):
    thresholds = []
    original = duckdb_module.DuckDBClient._write_table

    def recording(self, package, root, chunk=None):
        thresholds.append(self.connection.execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0])
        return original(self, package, root, chunk)

    monkeypatch.setattr(duckdb_module.DuckDBClient, "_write_table", recording)
    pipe = make_pipeline(buffer_limits=BufferLimits(segment_rows=2))
    pipe.run([{"id": i, "body": "z" * 500} for i in range(6)], table_name="docs")
    assert len(thresholds) == 3 and set(thresholds) == {"931.3 GiB"}  # 1 TB: no automatic checkpoint
    with pipe.sql_client() as client:
        assert client.execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0] != "931.3 GiB"
    assert sorted(r["id"] for r in pipe.dataset().table("docs").rows()) == list(range(6))


def test_tables_with_big_row_groups_load_on_one_thread(make_pipeline, monkeypatch, settings_while_loading):
    monkeypatch.setattr(duckdb_module, "ONE_THREAD_ROW_GROUP", 100 * 256 * 1024)  # tables over 100 columns
    pipe = make_pipeline()
    default = _setting(pipe, "threads")
    pipe.run([{f"c{c}": i for c in range(150)} for i in range(5)], table_name="wide")
    pipe.run([{"id": i} for i in range(5)], table_name="narrow")
    seen = [settings["threads"] for settings in settings_while_loading]
    assert seen == [1, default] or (default == 1 and seen == [1, 1])
    assert len(pipe.dataset().table("wide").rows()) == 5


def test_rows_too_wide_for_a_default_row_group_load_in_smaller_ones(make_pipeline, monkeypatch, tmp_path):
    # rows of 1-2 KB: a default row group (122,880 rows) would be 120-250 MB; bounded at 1 MB, the fewest rows
    monkeypatch.setattr(duckdb_module, "ONE_THREAD_ROW_GROUP", 2**20)
    path = tmp_path / "wide_rows.duckdb"
    pipe = make_pipeline("wide_rows", destination=duckdb_module.DuckDB(str(path)))
    rows = [{"id": i, "a": f"{i:06d}" * 170, "b": "z" * 980} for i in range(12_000)]
    pipe.run(rows, table_name="docs")
    pipe.run([{"id": i} for i in range(20_000, 30_000)], table_name="narrow")

    with duckdb.connect(str(path)) as connection:
        def largest_row_group(table: str) -> int:
            return connection.execute(
                f"SELECT max(rows) FROM (SELECT row_group_id, sum(count) AS rows FROM "
                f"pragma_storage_info('ds.{table}') WHERE column_id = 0 AND segment_type <> 'VALIDITY' GROUP BY ALL)"
            ).fetchall()[0][0]

        sizes = {table: largest_row_group(table) for table in ("docs", "narrow")}
        loaded = connection.execute("SELECT id, a, b FROM ds.docs ORDER BY id").fetchall()
    assert sizes["docs"] == 2_048  # 2,048 rows a group, not all 12,000 in one
    assert sizes["narrow"] == 10_000  # the next load: DuckDB's own row groups, all 10,000 rows in one
    assert loaded == [(r["id"], r["a"], r["b"]) for r in rows]
