"""PostgreSQL-only behaviour: upsert, 63-byte identifiers, bulk COPY, a killed connection, secrets."""

from __future__ import annotations

import datetime
import logging
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.exceptions import (
    InvalidConfig,
    MissingDependencyError,
    TerminalLoadError,
    TransientLoadError,
)
from dataload.extract.limits import BufferLimits
from dataload.load.step import RetryPolicy
from dataload.schema.naming import shorten
from destinations import postgres
from destinations.sql import quote

PASSWORD = "hunter2-Sekr3t"


@pytest.fixture
def admin() -> Iterator[Any]:
    """An autocommit connection to the test server (skip, or fail in CI, when none answers)."""
    connection = postgres_connection()
    yield connection
    connection.close()


@pytest.fixture
def dataset(admin: Any) -> Iterator[str]:
    name = f"ds_{uuid.uuid4().hex[:8]}"
    yield name
    admin.execute(f"DROP SCHEMA IF EXISTS {quote(name)} CASCADE")


@pytest.fixture
def pg_pipeline(make_pipeline: Callable[..., dataload.Pipeline], dataset: str) -> Callable[..., dataload.Pipeline]:
    def make(name: str | None = None, **options: Any) -> dataload.Pipeline:
        options.setdefault("destination", postgres(POSTGRES_URL))
        return make_pipeline(name, dataset_name=dataset, **options)

    return make


def column_types(admin: Any, dataset: str, table: str) -> dict[str, str]:
    rows = admin.execute("SELECT column_name, data_type, numeric_precision, numeric_scale FROM "
                         "information_schema.columns WHERE table_schema = %s AND table_name = %s",
                         [dataset, table]).fetchall()
    return {n: f"{t}({p},{s})" if t == "numeric" else t for n, t, p, s in rows}


def test_types_are_native_postgres_types(pg_pipeline, admin, dataset):
    @dataload.resource(columns={"amount": {"data_type": "decimal", "precision": 18, "scale": 2}},
                       max_table_nesting=0)
    def typed():
        yield {"id": 1, "amount": "1.25", "ok": True, "x": 1.5, "name": "n", "at": "2024-03-01T10:00:00+02:00",
               "day": "2024-03-01", "blob": b"\x00", "doc": [1, {"a": None}],
               "clock": datetime.time(7, 30)}

    pg_pipeline().run(typed())
    types = column_types(admin, dataset, "typed")
    assert types["id"] == "bigint" and types["amount"] == "numeric(18,2)" and types["ok"] == "boolean"
    assert types["x"] == "double precision" and types["name"] == "text" and types["blob"] == "bytea"
    assert types["at"] == "timestamp with time zone" and types["day"] == "date" and types["doc"] == "jsonb"
    assert types["clock"] == "time without time zone"
    doc = admin.execute(f"SELECT doc -> 1 ->> 'a' IS NULL, at FROM {quote(dataset)}.typed").fetchone()
    assert doc == (True, datetime.datetime(2024, 3, 1, 8, tzinfo=datetime.timezone.utc))


def test_upsert_updates_in_place_over_a_unique_index_and_children_follow(pg_pipeline, admin, dataset):
    pipe = pg_pipeline(buffer_limits=BufferLimits(segment_rows=3))  # keys repeat across the load files of one package
    upsert = {"disposition": "merge", "strategy": "upsert"}
    rows = [{"id": i % 4, "seq": i, "l": [i, -i]} for i in range(20)]
    pages = (rows[i:i + 3] for i in range(0, 20, 3))  # one load file per page
    pipe.run(pages, table_name="u", write_disposition=upsert, primary_key="id")
    first_ids = dict(admin.execute(f"SELECT id, _dl_id FROM {quote(dataset)}.u").fetchall())
    got = {r["id"]: r["seq"] for r in pipe.dataset().table("u").rows()}
    assert got == {0: 16, 1: 17, 2: 18, 3: 19}
    kids = sorted(r["value"] for r in pipe.dataset().table("u__l").rows())
    assert kids == sorted([16, 17, 18, 19, -16, -17, -18, -19])

    pipe.run([{"id": 1, "seq": 100, "l": [100]}, {"id": 7, "seq": 7}], table_name="u", write_disposition=upsert,
             primary_key="id")
    got = {r["id"]: r["seq"] for r in pipe.dataset().table("u").rows()}
    assert got == {0: 16, 1: 100, 2: 18, 3: 19, 7: 7}
    assert dict(admin.execute(f"SELECT id, _dl_id FROM {quote(dataset)}.u WHERE id < 4").fetchall()) == first_ids
    kids = sorted(r["value"] for r in pipe.dataset().table("u__l").rows())
    assert kids == sorted([16, 100, 18, 19, -16, -18, -19])
    indexes = admin.execute("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = %s", [dataset]).fetchall()
    assert any(t == "u" and "UNIQUE" in d and "(id)" in d for t, d in indexes)
    assert any(t == "u__l" and "UNIQUE" in d and "(_dl_id)" in d for t, d in indexes)


def test_identifiers_are_shortened_to_63_bytes_deterministically(pg_pipeline, admin, dataset):
    long_table = "événement_" * 10  # 120 bytes of UTF-8
    long_column = "a_very_long_column_name_" * 5
    pipe = pg_pipeline()
    pipe.run([{long_column: 1, "items": [1]}], table_name=long_table)
    pg_pipeline().run([{long_column: 2}], table_name=long_table)  # another pipeline, same names
    table = shorten(long_table, 63)
    assert len(table.encode()) <= 63 and table.startswith("événement_")
    tables = {r[0] for r in admin.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                          [dataset]).fetchall()}
    assert table in tables and all(len(t.encode()) <= 63 for t in tables)
    assert shorten(long_column, 63) in column_types(admin, dataset, table)
    assert sorted(r[shorten(long_column, 63)] for r in pipe.dataset().table(table).rows()) == [1, 2]


def test_a_hundred_thousand_rows_load_in_one_package(pg_pipeline, admin, dataset):
    n = 100_000
    data = pa.table({"id": pa.array(range(n), pa.int64()), "name": pa.array([f"name {i}" for i in range(n)]),
                     "score": pa.array([i / 7 for i in range(n)])})
    pipe = pg_pipeline()
    started = time.perf_counter()
    info = pipe.run(data, table_name="big")
    elapsed = time.perf_counter() - started
    assert len(info.load_ids) == 1
    count, total, distinct = admin.execute(
        f"SELECT count(*), sum(id), count(DISTINCT name) FROM {quote(dataset)}.big").fetchone()
    assert (count, total, distinct) == (n, n * (n - 1) // 2, n)
    assert elapsed < 60, f"100k rows took {elapsed:.1f} s"


def two_tables(n: int, start: int) -> Any:
    """A source of two tables loaded in one package: ``a`` is written first, then ``b``."""

    @dataload.source(name="two")
    def two():
        return (dataload.resource([{"id": i} for i in range(start, start + n)], name="a"),
                dataload.resource([{"id": i} for i in range(start, start + n)], name="b"))

    return two()


def test_connection_killed_mid_load_is_retried_and_every_row_lands_once(pg_pipeline, admin, dataset, caplog):
    psycopg = pytest.importorskip("psycopg")
    pipe = pg_pipeline(retry_policy=RetryPolicy(attempts=3, first_wait=0.05, max_wait=0.1))
    pipe.run(two_tables(1, 0))  # creates both tables

    blocker = psycopg.connect(POSTGRES_URL)  # holds a lock on b: the load stops there, a already written
    blocker.execute(f"LOCK TABLE {quote(dataset)}.b IN EXCLUSIVE MODE")
    killed: list[bool] = []

    def kill_the_waiting_load() -> None:
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline and not killed:
                row = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    " AND (query LIKE %s OR query LIKE %s)",  # appended rows are copied straight in
                    [f'INSERT INTO {quote(dataset)}."b"%', f'COPY {quote(dataset)}."b"%']).fetchone()
                if row:
                    killed.append(admin.execute("SELECT pg_terminate_backend(%s)", [row[0]]).fetchone()[0])
                time.sleep(0.02)
        finally:
            blocker.rollback()
            blocker.close()

    watcher = threading.Thread(target=kill_the_waiting_load)
    watcher.start()
    with caplog.at_level(logging.WARNING, logger="dataload"):
        info = pipe.run(two_tables(5_000, 1))
    watcher.join()
    assert killed == [True]
    assert "retrying" in caplog.text
    assert len(info.load_ids) == 1
    for table in ("a", "b"):
        count, distinct = admin.execute(f"SELECT count(*), count(DISTINCT id) FROM {quote(dataset)}.{table}").fetchone()
        assert (count, distinct) == (5_001, 5_001), table
    assert len(pipe.dataset().table("_dl_loads").rows()) == 2


def test_loading_the_same_package_twice_is_a_no_op(pg_pipeline, dataset):
    calls: list[bool] = []

    class Twice:
        """Wraps the destination so every package is loaded twice in a row."""

        def __init__(self, inner: Any) -> None:
            self.inner, self.name, self.capabilities = inner, inner.name, inner.capabilities
            self.check_dataset_name, self.attach_spec = inner.check_dataset_name, inner.attach_spec

        def client(self, **options: Any) -> Any:
            client = self.inner.client(**options)
            original = client.load_package

            def twice(package: Any) -> bool:
                calls.extend([original(package), original(package)])
                return calls[-2]

            client.load_package = twice
            return client

    pipe = pg_pipeline(destination=Twice(postgres(POSTGRES_URL)))
    pipe.run([{"id": 1, "l": [1, 2]}], table_name="t")
    assert calls == [True, False]
    assert len(pipe.dataset().table("t").rows()) == 1 and len(pipe.dataset().table("t__l").rows()) == 2
    assert len(pipe.dataset().table("_dl_loads").rows()) == 1


def test_nul_in_text_is_a_terminal_error_naming_table_column_and_file_without_row_values(pg_pipeline):
    import traceback

    pipe = pg_pipeline()
    private = "".join(("nul \x00 ", "private"))  # not spelled out on the line a traceback quotes
    with pytest.raises(TerminalLoadError) as caught:
        pipe.run([{"id": 1, "fine": "ok", "name": private}], table_name="bad")
    assert caught.value.table == "bad" and caught.value.file and Path(caught.value.file).is_file()
    assert "'bad'" in str(caught.value) and "column 'name'" in str(caught.value)
    assert caught.value.file in str(caught.value) and "NUL character (0x00)" in str(caught.value)
    assert private not in "".join(traceback.format_exception(caught.value))
    assert len(pipe.failed_packages()) == 1


def test_nul_in_a_json_column_is_a_terminal_error_naming_the_column(pg_pipeline):
    pipe = pg_pipeline()
    with pytest.raises(TerminalLoadError) as caught:
        pipe.run([{"id": 1, "doc": {"k": "a\x00b"}}], table_name="docs", columns={"doc": {"data_type": "json"}})
    assert caught.value.table == "docs" and "column 'doc'" in str(caught.value)
    assert "NUL character (0x00)" in str(caught.value) and len(pipe.failed_packages()) == 1


def test_row_values_the_server_quotes_show_only_when_asked(pg_pipeline, dataset, admin, monkeypatch):
    monkeypatch.delenv("LOAD__SHOW_ROW_VALUES", raising=False)
    pipe = pg_pipeline()
    pipe.run([{"id": 1, "note": "ok"}], table_name="t")
    admin.execute(f"ALTER TABLE {quote(dataset)}.t ADD CONSTRAINT short_note CHECK (length(note) < 5)")
    private = "-".join(("private", "value"))
    with pytest.raises(TerminalLoadError) as caught:
        pipe.run([{"id": 2, "note": private}], table_name="t")
    assert "short_note" in str(caught.value) and "23514" in str(caught.value) and private not in str(caught.value)
    monkeypatch.setenv("LOAD__SHOW_ROW_VALUES", "true")
    with pytest.raises(TerminalLoadError) as caught:
        pipe.retry_failed()
    assert f"Failing row contains (2, {private}" in str(caught.value)


def test_password_is_hidden_in_errors_from_a_server(pg_pipeline, dataset, admin):
    url = POSTGRES_URL.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")
    pipe = pg_pipeline(destination=postgres(url))
    pipe.run([{"id": 1, "note": "ok"}], table_name="t")  # trust auth accepts any password
    admin.execute(f"ALTER TABLE {quote(dataset)}.t ADD CONSTRAINT short_note CHECK (length(note) < 5)")
    with pytest.raises(TerminalLoadError) as caught:  # the server quotes the failing row in its message
        pipe.run([{"id": 2, "note": PASSWORD}], table_name="t")
    assert "short_note" in str(caught.value) and PASSWORD not in str(caught.value)


def test_credentials_from_env_and_secrets_toml(pg_pipeline, monkeypatch, tmp_path, dataset, admin):
    monkeypatch.setenv("DATALOAD_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS", raising=False)
    (tmp_path / ".dataload").mkdir()
    (tmp_path / ".dataload" / "secrets.toml").write_text(
        f'[destination.postgres]\ncredentials = "{POSTGRES_URL}"\n')
    pipe = pg_pipeline(destination="postgres")  # by name, through the registry
    pipe.run([{"id": 1}], table_name="from_toml")
    assert pipe.dataset().table("from_toml").rows()[0]["id"] == 1

    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", "postgresql://nobody@127.0.0.1:1/none")
    assert ":1/none" in repr(postgres())  # the environment wins over secrets.toml


def test_without_psycopg_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what an environment without the driver sees
    with pytest.raises(MissingDependencyError) as caught:
        postgres(POSTGRES_URL)
    assert 'pip install "dataload[postgres]"' in str(caught.value) and isinstance(caught.value, ImportError)


def test_a_dataset_name_longer_than_63_bytes_is_refused(tmp_path):
    with pytest.raises(InvalidConfig, match="63"):
        postgres(POSTGRES_URL).client(dataset_name="d" * 64, pipeline_name="p", local_dir=tmp_path)


# -- errors classified by SQLSTATE (item 4) --------------------------------------------------------
def free_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def retry_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("dataload") and "retrying" in r.getMessage()]


def test_more_columns_than_postgres_allows_is_terminal_at_once(pg_pipeline, caplog):
    pipe = pg_pipeline()  # the default policy would wait 0.5 + 1 + 2 s before giving up on a transient error
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="dataload"), pytest.raises(TerminalLoadError) as caught:
        pipe.run([{f"c{i}": i for i in range(1_601)}], table_name="wide")
    assert time.monotonic() - started < 3 and not retry_messages(caplog)
    assert caught.value.table == "wide" and "1600" in str(caught.value) and "54011" in str(caught.value)
    assert len(pipe.failed_packages()) == 1 and not pipe.pending_packages()


@pytest.mark.parametrize("part, fault", [("database", "dbname"), ("role", "user")])
def test_a_missing_database_or_role_is_refused_at_once(make_pipeline, admin, part, fault, caplog):
    missing = f"missing_{uuid.uuid4().hex[:8]}"
    parts = {**psycopg_parts(), fault: missing}
    pipe = make_pipeline(destination=postgres(parts), dataset_name="ds")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="dataload"), pytest.raises(InvalidConfig) as caught:
        pipe.run([{"id": 1}], table_name="t")
    assert time.monotonic() - started < 3 and not retry_messages(caplog)
    assert f'{part} "{missing}" does not exist' in str(caught.value)
    assert not pipe.failed_packages()  # nothing to discard: fix the credentials and run again


def psycopg_parts() -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict

    return dict(conninfo_to_dict(POSTGRES_URL))


def test_a_refused_port_is_transient_and_every_retry_logs_its_cause(make_pipeline, caplog):
    port = free_port()
    pipe = make_pipeline(destination=postgres({**psycopg_parts(), "port": port}), dataset_name="ds",
                         retry_policy=RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.02))
    with caplog.at_level(logging.WARNING, logger="dataload"), pytest.raises(TransientLoadError):
        pipe.run([{"id": 1}], table_name="t")
    messages = retry_messages(caplog)
    assert len(messages) == 2 and all("Connection refused" in m and f"port {port}" in m for m in messages)
    assert "attempt 1 of 3" in messages[0] and "attempt 2 of 3" in messages[1]
    assert not pipe.failed_packages()


@pytest.mark.parametrize("name", ["pg_mine", "information_schema"])
def test_a_reserved_schema_name_is_refused_before_anything_runs(make_pipeline, admin, name, tmp_path):
    with pytest.raises(InvalidConfig) as caught:
        make_pipeline("reserved", destination=postgres(POSTGRES_URL), dataset_name=name)
    assert repr(name) in str(caught.value) and "reserved" in str(caught.value)
    assert not (tmp_path / "pipelines" / "reserved").exists()
    assert not admin.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [name]).fetchall() \
        or name == "information_schema"


def test_a_foreign_table_named_like_a_system_table_is_terminal_when_read(make_pipeline, dataset, admin, caplog):
    admin.execute(f"CREATE SCHEMA {quote(dataset)}")
    admin.execute(f"CREATE TABLE {quote(dataset)}._dl_version (something int)")  # not ours: no version column
    pipe = make_pipeline(destination=postgres(POSTGRES_URL), dataset_name=dataset)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="dataload"), pytest.raises(TerminalLoadError) as caught:
        pipe.run([{"id": 1}], table_name="t")
    assert time.monotonic() - started < 3 and not retry_messages(caplog)
    assert f"{dataset}._dl_version" in str(caught.value) and "42703" in str(caught.value)
