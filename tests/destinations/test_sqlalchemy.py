"""The SQLAlchemy destination on SQLite (a file in tmp_path) and MariaDB (127.0.0.1:3306).

The conformance suite runs here over both backends until the shared ``destination`` fixture of
``test_conformance.py`` lists them; then come behaviours of this destination only: batched
executemany, merge with child tables, native types, the SQLite dataset files, MariaDB's
non-transactional DDL, error mapping and credentials.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import dataload
from conftest import service_unavailable
from dataload.exceptions import InvalidConfig, TerminalLoadError, TransientLoadError
from dataload.load.step import RetryPolicy
from destinations import sqlalchemy

sa = pytest.importorskip("sqlalchemy")
MARIADB_URL = os.environ.get("DATALOAD_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
PASSWORD = "hunter2-Sekr3t"


@lru_cache(maxsize=1)
def _mariadb_answers() -> bool:
    pytest.importorskip("pymysql")
    engine = sa.create_engine(MARIADB_URL, connect_args={"connect_timeout": 3}, poolclass=sa.pool.NullPool)
    try:
        with engine.connect():
            return True
    except sa.exc.DBAPIError:
        return False


@dataclass
class Backend:
    """One database behind SQLAlchemy: the URL to load with and an admin engine to look inside."""

    name: str
    url: str
    dataset: str
    admin: Any  # SQLite: the dataset's own file; MariaDB: the server
    made: list[Any] = field(default_factory=list)

    def destination(self, **options: Any) -> Any:
        self.made.append(sqlalchemy(self.url, **options))
        return self.made[-1]

    def dispose(self) -> None:
        """Close the pooled connections of every destination made here."""
        for destination in self.made:
            destination.engine().dispose()

    def table(self, name: str) -> str:
        quote = self.admin.dialect.identifier_preparer.quote_identifier
        return quote(name) if self.name == "sqlite" else f"{quote(self.dataset)}.{quote(name)}"

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.admin.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(sql).fetchall()]

    def column_types(self, table: str) -> dict[str, str]:
        if self.name == "sqlite":
            return {r[1]: r[2] for r in self.rows(f"PRAGMA table_info({self.table(table)})")}
        with self.admin.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT column_name, column_type FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = %s", (self.dataset, table)).fetchall()
        return {name: kind for name, kind in rows}


def _backend(name: str, tmp_path: Path) -> Iterator[Backend]:
    dataset = f"ds_{uuid.uuid4().hex[:8]}"
    if name == "sqlite":
        admin = sa.create_engine(f"sqlite:///{tmp_path / dataset}.db", poolclass=sa.pool.NullPool)
        backend = Backend(name, f"sqlite:///{tmp_path / 'main.db'}", dataset, admin)
        yield backend
        backend.dispose()
        return
    if not _mariadb_answers():
        service_unavailable("MariaDB")
    admin = sa.create_engine(MARIADB_URL, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    backend = Backend(name, MARIADB_URL, dataset, admin)
    try:
        yield backend
    finally:
        backend.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{dataset}`")


@pytest.fixture(params=["sqlite", "mariadb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from _backend(request.param, tmp_path)


@pytest.fixture
def mariadb(tmp_path: Path) -> Iterator[Backend]:
    yield from _backend("mariadb", tmp_path)


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    yield from _backend("sqlite", tmp_path)


def pipeline_on(make_pipeline: Callable[..., dataload.Pipeline], backend: Backend,
                **options: Any) -> Callable[..., dataload.Pipeline]:
    destination = backend.destination(**options)

    def make(name: str | None = None) -> dataload.Pipeline:
        return make_pipeline(name, destination=destination, dataset_name=backend.dataset)

    return make


def test_rows_are_inserted_with_executemany_in_batches(backend, make_pipeline):
    n, batch_size = 50_000, 12_000
    destination = backend.destination(batch_size=batch_size)
    batches: list[int] = []

    @sa.event.listens_for(destination.engine(), "before_cursor_execute")
    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if executemany and "_dl_stage_" in statement:
            batches.append(len(parameters))

    data = pa.table({"id": pa.array(range(n), pa.int64()), "name": pa.array([f"näme {i}" for i in range(n)])})
    pipe = make_pipeline(destination=destination, dataset_name=backend.dataset)
    started = time.perf_counter()
    pipe.run(data, table_name="big")
    elapsed = time.perf_counter() - started
    assert sum(batches) == n and max(batches) <= batch_size and len(batches) >= 5
    assert backend.rows(f"SELECT count(*), sum(id), count(DISTINCT name) FROM {backend.table('big')}") == [
        (n, n * (n - 1) // 2, n)]
    assert elapsed < 60, f"{n} rows took {elapsed:.1f} s"


def test_merge_delete_insert_with_child_tables_and_many_rows(backend, make_pipeline):
    pipe = pipeline_on(make_pipeline, backend)()
    n = 5_000
    first = [{"id": i, "v": f"a{i}", "kids": [i, i + 1]} for i in range(n)]
    pipe.run(first, table_name="m", write_disposition="merge", primary_key="id")
    second = [{"id": i, "v": f"b{i}", "kids": [-i]} for i in range(0, 2 * n, 2)]  # half new, half replaced
    pipe.run(second, table_name="m", write_disposition="merge", primary_key="id")
    rows = {r["id"]: r["v"] for r in pipe.dataset().table("m").rows()}
    expected = {i: f"a{i}" for i in range(n)} | {i: f"b{i}" for i in range(0, 2 * n, 2)}
    assert rows == expected and len(pipe.dataset().table("m").rows()) == len(expected)
    ids = {r["_dl_id"]: r["id"] for r in pipe.dataset().table("m").rows()}
    kids: dict[int, list[int]] = {}
    for kid in sorted(pipe.dataset().table("m__kids").rows(), key=lambda r: r["_dl_list_idx"]):
        kids.setdefault(ids[kid["_dl_parent_id"]], []).append(kid["value"])
    assert kids == {i: [-i] if i % 2 == 0 else [i, i + 1] for i in expected}
    # a merge key that is not the primary key: every stored row of the day is replaced
    pipe.run([{"day": 1, "v": "x", "tags": ["p"]}, {"day": 2, "v": "y"}], table_name="days",
             write_disposition="merge", merge_key="day")
    pipe.run([{"day": 1, "v": "x2", "tags": ["q", "r"]}], table_name="days", write_disposition="merge", merge_key="day")
    assert sorted((r["day"], r["v"]) for r in pipe.dataset().table("days").rows()) == [(1, "x2"), (2, "y")]
    assert sorted(r["value"] for r in pipe.dataset().table("days__tags").rows()) == ["q", "r"]


def test_merge_on_a_composite_text_key_and_dropping_tables_and_columns(backend, make_pipeline):
    pipe = pipeline_on(make_pipeline, backend)()
    rows = [{"code": f"k{i % 50} ünï", "n": i // 50, "v": i, "tags": ["t"] * (i % 3)} for i in range(500)]
    pipe.run(rows, table_name="c", write_disposition="merge", primary_key=["code", "n"])
    pipe.run([{"code": "k1 ünï", "n": 0, "v": -1}, {"code": "K1 ünï", "n": 0, "v": -2},
              {"code": "k1 ünï ", "n": 0, "v": -3}], table_name="c", write_disposition="merge",
             primary_key=["code", "n"])
    stored = {(r["code"], r["n"]): r["v"] for r in pipe.dataset().table("c").rows()}
    assert len(stored) == 502 and stored[("k1 ünï", 0)] == -1  # case and trailing spaces are other keys
    assert stored[("K1 ünï", 0)] == -2 and stored[("k1 ünï ", 0)] == -3 and stored[("k2 ünï", 0)] == 2
    assert len(pipe.dataset().table("c__tags").rows()) == sum(i % 3 for i in range(500)) - 1
    pipe.run([{"id": 1, "keep": "a", "gone": "b"}], table_name="other")
    pipe.drop_columns("other", ["gone"])
    assert set(backend.column_types("other")) == {"id", "keep", "_dl_load_id", "_dl_id"}
    assert sorted(pipe.drop(resources=["c"])) == ["c", "c__tags"]
    client = pipe.destination.client(dataset_name=backend.dataset, pipeline_name="x", local_dir=Path("."))
    try:
        tables = set(client.existing_columns())
    finally:
        client.close()
    assert "other" in tables and not tables & {"c", "c__tags"}


def test_queries_take_question_marks_and_percent_signs(backend, make_pipeline):
    pipe = pipeline_on(make_pipeline, backend)()
    pipe.run([{"id": 1, "name": "50% off"}, {"id": 2, "name": "full price"}], table_name="q")
    with pipe.sql_client() as sql:
        assert sql.execute("SELECT name FROM q WHERE name LIKE '%off' AND id = ?", [1]).fetchall() == [("50% off",)]
        assert sql.execute("SELECT count(*) AS n FROM q WHERE name LIKE '%price'").fetchall() == [(1,)]


def test_without_sqlalchemy_the_error_says_what_to_install(monkeypatch):
    import destinations._sqlalchemy as module
    from dataload.exceptions import MissingDependencyError

    monkeypatch.setattr(module, "sa", None)  # what an environment without the package sees
    with pytest.raises(MissingDependencyError) as caught:
        sqlalchemy("sqlite://")
    assert 'pip install "dataload[sqlalchemy]"' in str(caught.value)


UNICODE = "Zoë 中文 🚀 ключ \U0001f9ea"


def test_types_round_trip_with_native_column_types(backend, make_pipeline):
    hints = {"amount": {"data_type": "decimal", "precision": 18, "scale": 4}, "doc": {"data_type": "json"}}

    @dataload.resource(name="typed", columns=hints, max_table_nesting=0)
    def typed() -> Any:
        yield [{"id": 1, "at": datetime.datetime(2024, 3, 31, 1, 30, 5, 250000,
                                                 tzinfo=datetime.timezone(datetime.timedelta(hours=-7))),
                "amount": decimal.Decimal("-12345.6789"), "big": 2**63 - 1, "small": -(2**63),
                "txt": UNICODE, "long": "x" * 70_000, "doc": {"k": [1, "ü"]}, "blob": b"\x00" * 70_000}]

    pipe = pipeline_on(make_pipeline, backend)()
    pipe.run(typed())
    (row,) = pipe.dataset().table("typed").rows()
    assert row["at"] == datetime.datetime(2024, 3, 31, 8, 30, 5, 250000, tzinfo=datetime.timezone.utc)
    assert row["at"].utcoffset() == datetime.timedelta(0)
    assert row["amount"] == decimal.Decimal("-12345.6789") and row["amount"].as_tuple().exponent == -4
    assert (row["big"], row["small"]) == (2**63 - 1, -(2**63))
    assert row["txt"] == UNICODE and row["long"] == "x" * 70_000 and row["blob"] == b"\x00" * 70_000
    stored_at = backend.rows(f"SELECT at FROM {backend.table('typed')}")[0][0]
    assert str(stored_at).startswith("2024-03-31 08:30:05.25")  # UTC in the database too
    types = {k: v.lower() for k, v in backend.column_types("typed").items()}
    if backend.name == "mariadb":
        assert types["at"] == "datetime(6)" and types["amount"] == "decimal(18,4)" and types["big"] == "bigint(20)"
        assert types["txt"] == "longtext" and types["blob"] == "longblob" and types["doc"] == "longtext"
        assert backend.rows(f"SELECT JSON_VALUE(doc, '$.k[1]') FROM {backend.table('typed')}") == [("ü",)]
    else:
        assert types["at"] == "datetime" and types["amount"] == "numeric(18, 4)" and types["big"] == "bigint"
        assert types["txt"] == "text" and types["blob"] == "blob" and types["doc"] == "text"


def test_sqlite_dataset_is_an_attached_file_next_to_the_main_database(sqlite_backend, make_pipeline, tmp_path):
    pipe = pipeline_on(make_pipeline, sqlite_backend)()
    pipe.run([{"id": 1}], table_name="t")
    assert (tmp_path / f"{sqlite_backend.dataset}.db").is_file()
    assert sqlite_backend.rows("SELECT id FROM t") == [(1,)]
    with sqlite3.connect(tmp_path / "main.db") as main:
        assert main.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    with pipe.sql_client() as sql:  # unqualified names find the dataset's tables
        assert sql.execute("SELECT id FROM t WHERE id = ?", [1]).fetchall() == [(1,)]
    engine = pipe.destination.engine()
    with engine.connect() as connection:  # the pooled connection was given back detached
        assert sqlite_backend.dataset not in [r[1] for r in connection.exec_driver_sql("PRAGMA database_list")]


def test_mariadb_ddl_is_committed_even_when_the_data_then_fails(mariadb, make_pipeline):
    pipe = pipeline_on(make_pipeline, mariadb)()
    pipe.run([{"id": 1, "code": "ab"}], table_name="t")
    with mariadb.admin.connect() as connection:  # a narrower column than dataload made: long codes fail
        connection.exec_driver_sql(f"ALTER TABLE {mariadb.table('t')} MODIFY code VARCHAR(2)")
    with pytest.raises(TerminalLoadError) as caught:
        pipe.run([{"id": 2, "code": "too long", "extra": 1.5}], table_name="t")
    assert caught.value.table == "t" and caught.value.file and Path(caught.value.file).is_file()
    assert "'t'" in str(caught.value) and caught.value.file in str(caught.value) and "1406" in str(caught.value)
    assert "extra" in mariadb.column_types("t")  # the ALTER TABLE was committed before the data failed
    assert mariadb.rows(f"SELECT id FROM {mariadb.table('t')}") == [(1,)]  # no row of the failed package
    assert len(mariadb.rows(f"SELECT * FROM {mariadb.table('_dl_loads')}")) == 1


def test_sqlite_rolls_back_schema_changes_with_the_data(sqlite_backend, make_pipeline):
    pipe = pipeline_on(make_pipeline, sqlite_backend)()
    pipe.run([{"id": 1, "code": "ab"}], table_name="t")
    with sqlite_backend.admin.connect() as connection:
        connection.exec_driver_sql("CREATE TRIGGER short BEFORE INSERT ON t WHEN length(NEW.code) > 2 "
                                   "BEGIN SELECT RAISE(ABORT, 'code too long'); END")
        connection.commit()
    with pytest.raises(TerminalLoadError) as caught:
        pipe.run([{"id": 2, "code": "too long", "extra": 1.5}], table_name="t")
    assert caught.value.table == "t" and "code too long" in str(caught.value)
    assert "extra" not in sqlite_backend.column_types("t")
    assert sqlite_backend.rows("SELECT id FROM t") == [(1,)]


def test_a_locked_sqlite_database_is_transient_and_retried(sqlite_backend, make_pipeline, tmp_path, caplog):
    engine = sa.create_engine(sqlite_backend.url, connect_args={"timeout": 0.1})
    pipe = make_pipeline(destination=sqlalchemy(engine), dataset_name=sqlite_backend.dataset,
                         retry_policy=RetryPolicy(attempts=5, first_wait=0.2, max_wait=0.5))
    pipe.run([{"id": 1}], table_name="t")
    blocker = sqlite3.connect(tmp_path / f"{sqlite_backend.dataset}.db", isolation_level=None,
                              check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    threading.Timer(0.4, blocker.rollback).start()
    with caplog.at_level(logging.WARNING, logger="dataload"):
        pipe.run([{"id": 2}], table_name="t")
    assert "database is locked" in caplog.text and "retrying" in caplog.text
    assert sorted(r["id"] for r in pipe.dataset().table("t").rows()) == [1, 2]
    blocker.close()
    engine.dispose()


def test_a_killed_mariadb_connection_is_transient_and_every_row_lands_once(mariadb, make_pipeline, caplog):
    destination = mariadb.destination(batch_size=100)
    killed: list[int] = []

    @sa.event.listens_for(destination.engine(), "before_cursor_execute")
    def kill_mid_load(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not killed and statement.startswith(f"INSERT INTO `{mariadb.dataset}`.`t__l`"):  # roots already written
            killed.append(conn.connection.driver_connection.thread_id())
            with mariadb.admin.connect() as admin:
                admin.exec_driver_sql(f"KILL CONNECTION {killed[0]}")

    pipe = make_pipeline(destination=destination, dataset_name=mariadb.dataset,
                         retry_policy=RetryPolicy(attempts=3, first_wait=0.05, max_wait=0.1))
    pipe.run([{"id": 0}], table_name="t")
    with caplog.at_level(logging.WARNING, logger="dataload"):
        info = pipe.run([{"id": i, "l": [i]} for i in range(1, 1001)], table_name="t")
    assert len(killed) == 1 and "worth retrying" in caplog.text and "2013" in caplog.text
    assert mariadb.rows(f"SELECT count(*), count(DISTINCT id) FROM {mariadb.table('t')}") == [(1001, 1001)]
    assert mariadb.rows(f"SELECT count(*) FROM {mariadb.table('t__l')}") == [(1000,)]
    assert len(info.load_ids) == 1 and len(pipe.dataset().table("_dl_loads").rows()) == 2


def test_credentials_from_the_environment(backend, make_pipeline, monkeypatch):
    monkeypatch.setenv("DESTINATION__SQLALCHEMY__CREDENTIALS", backend.url)
    pipe = make_pipeline(destination="sqlalchemy", dataset_name=backend.dataset)  # by name, through the registry
    pipe.run([{"id": 1}], table_name="from_env")
    assert pipe.dataset().table("from_env").rows()[0]["id"] == 1
    assert pipe.destination.url.render_as_string() == backend.url
    pipe.destination.engine().dispose()


def test_attach_reopens_a_sqlite_pipeline(sqlite_backend, tmp_path):
    pipe = dataload.pipeline("att", destination=sqlite_backend.destination(), dataset_name=sqlite_backend.dataset,
                             pipelines_dir=tmp_path / "pipelines")
    pipe.run([{"id": 7}], table_name="t")
    again = dataload.attach("att", pipelines_dir=tmp_path / "pipelines")
    assert again.destination.name == "sqlalchemy" and again.dataset().table("t").rows()[0]["id"] == 7


def test_a_mariadb_dataset_name_longer_than_64_bytes_is_refused(tmp_path):
    with pytest.raises(InvalidConfig, match="64"):
        sqlalchemy(MARIADB_URL).client(dataset_name="d" * 65, pipeline_name="p", local_dir=tmp_path)


# -- errors classified by error code, values kept out of messages (items 4 and 9) ----------------
def _retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("dataload") and "retrying" in r.getMessage()]


@pytest.mark.parametrize("url_template, reason", [
    (MARIADB_URL.rsplit("/", 1)[0] + "/missing_{}", "Unknown database"),
    (MARIADB_URL.replace("//root@", "//nobody_{}@"), "Access denied"),
], ids=["database", "user"])
def test_a_missing_mariadb_database_or_user_is_refused_at_once(mariadb, make_pipeline, caplog, url_template, reason):
    url = url_template.format(uuid.uuid4().hex[:6])  # made here: ids must not change between collections
    pipe = make_pipeline(destination=sqlalchemy(url), dataset_name=mariadb.dataset)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="dataload"), pytest.raises(InvalidConfig) as caught:
        pipe.run([{"id": 1}], table_name="t")
    assert time.monotonic() - started < 3 and not _retries(caplog)
    assert reason in str(caught.value) and not pipe.failed_packages()
    pipe.destination.engine().dispose()


def test_a_refused_mariadb_port_is_transient_and_every_retry_logs_its_cause(make_pipeline, caplog):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pipe = make_pipeline(destination=sqlalchemy(f"mysql+pymysql://root@127.0.0.1:{port}/test"), dataset_name="ds",
                         retry_policy=RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.02))
    with caplog.at_level(logging.WARNING, logger="dataload"), pytest.raises(TransientLoadError):
        pipe.run([{"id": 1}], table_name="t")
    messages = _retries(caplog)
    assert len(messages) == 2 and all("2003" in m and "Connection refused" in m for m in messages)


@pytest.mark.parametrize("url, name", [(MARIADB_URL, "mysql"), (MARIADB_URL, "information_schema"),
                                       (MARIADB_URL, "performance_schema"), ("sqlite:///{tmp}/main.db", "temp")])
def test_a_reserved_database_name_is_refused_before_anything_runs(make_pipeline, tmp_path, url, name):
    with pytest.raises(InvalidConfig) as caught:
        make_pipeline("reserved", destination=sqlalchemy(url.format(tmp=tmp_path)), dataset_name=name)
    assert repr(name) in str(caught.value) and "reserved" in str(caught.value)
    assert not (tmp_path / "pipelines" / "reserved").exists()


def test_nan_on_mariadb_names_table_and_column_and_keeps_row_values_out(mariadb, make_pipeline, monkeypatch):
    import traceback

    monkeypatch.delenv("LOAD__SHOW_ROW_VALUES", raising=False)
    pipe = pipeline_on(make_pipeline, mariadb)()
    private = "-".join(("private", "row", "value"))  # not spelled out on the line a traceback quotes
    with pytest.raises(TerminalLoadError) as caught:
        pipe.run([{"id": 1, "ratio": float("nan"), "note": private}], table_name="measures")
    shown = "".join(traceback.format_exception(caught.value))  # the whole chain, as a user would see it
    assert caught.value.table == "measures" and "column 'ratio'" in str(caught.value)
    assert "NaN" in str(caught.value) and "private-row-value" not in shown
    assert len(pipe.failed_packages()) == 1


def test_a_foreign_mariadb_table_named_like_a_system_table_is_terminal_when_read(mariadb, make_pipeline, caplog):
    with mariadb.admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE `{mariadb.dataset}`")
        connection.exec_driver_sql(f"CREATE TABLE `{mariadb.dataset}`.`_dl_version` (something int)")
    pipe = pipeline_on(make_pipeline, mariadb)()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="dataload"), pytest.raises(TerminalLoadError) as caught:
        pipe.run([{"id": 1}], table_name="t")
    assert time.monotonic() - started < 3 and not _retries(caplog)
    assert f"{mariadb.dataset}._dl_version" in str(caught.value) and "1054" in str(caught.value)
