"""The destination's connection killed by the server in the middle of a load (PostgreSQL's
``pg_terminate_backend``, MariaDB's ``KILL``): the load is retried, every row lands once, and the
trace of the load step names the retry and its cause."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from landed import assert_landed

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.load.step import RetryPolicy

ROWS = 400_000  # a PostgreSQL COPY long enough (about a second) to be caught while it runs
MARIADB_ROWS = 50_000  # MariaDB's multi-row INSERTs are slower: as long with fewer rows
FAST_RETRY = RetryPolicy(attempts=3, first_wait=0.05, max_wait=0.1)


def rows(count: int) -> list[dict[str, Any]]:
    return [{"id": i, "text": f"row {i} with some text"} for i in range(count)]


def items(count: int) -> dataload.Resource:
    def pages() -> Iterator[list[dict[str, Any]]]:
        every = rows(count)
        for start in range(0, count, 10_000):
            yield every[start:start + 10_000]

    return dataload.resource(pages, name="items")


def kill_first_load(find_and_kill: Callable[[], bool]) -> threading.Thread:
    """A thread that kills the load's connection once, as soon as the server shows it loading."""
    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not find_and_kill():
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def load_retries(pipe: dataload.Pipeline) -> list[str]:
    return [cause for step in pipe.last_trace.steps if step.step == "load" for cause in step.retries]


def test_postgres_connection_terminated_mid_copy_is_retried(make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    from destinations import postgres

    admin = postgres_connection()
    dataset, app = f"fault_{uuid.uuid4().hex[:8]}", f"dataload_fault_{uuid.uuid4().hex[:8]}"
    killed: list[int] = []

    def find_and_kill() -> bool:
        found = admin.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s AND state = 'active' "
                              "AND query ILIKE 'COPY%%'", [app]).fetchall()
        for (pid,) in found:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
            killed.append(pid)
        return bool(found)

    try:
        pipe = make_pipeline(destination=postgres(f"{POSTGRES_URL}?application_name={app}"), dataset_name=dataset,
                             retry_policy=FAST_RETRY)
        pipe.extract(items(ROWS))
        pipe.normalize()
        watcher = kill_first_load(find_and_kill)
        pipe.load()
        watcher.join(timeout=5)
        assert killed, "the load's COPY was never seen running"
        ids = [r[0] for r in admin.execute(f'SELECT id FROM "{dataset}"."items" ORDER BY id').fetchall()]
        assert ids == list(range(ROWS))
        assert admin.execute(f'SELECT count(*) FROM "{dataset}"."_dl_loads"').fetchone() == (1,)
        [cause] = load_retries(pipe)
        assert "terminating connection" in cause or "server closed the connection" in cause, cause
        assert f"retried after: {cause}" in str(pipe.last_trace)
        assert_landed(pipe, {"items": rows(ROWS)}, packages=1)
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
        admin.close()


def test_mariadb_connection_killed_mid_insert_is_retried(make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    from conftest import MARIADB_URL as url
    from conftest import mariadb_admin
    from destinations import sqlalchemy

    admin = mariadb_admin()
    connection = admin.connect()
    dataset = f"fault_{uuid.uuid4().hex[:8]}"
    killed: list[int] = []

    def find_and_kill() -> bool:
        found = connection.exec_driver_sql(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND COMMAND = 'Query' "
            "AND INFO LIKE 'INSERT%%'", (dataset,)).fetchall()
        for (pid,) in found:
            connection.exec_driver_sql(f"KILL {int(pid)}")
            killed.append(pid)
        return bool(found)

    try:
        pipe = make_pipeline(destination=sqlalchemy(url), dataset_name=dataset, retry_policy=FAST_RETRY)
        pipe.extract(items(MARIADB_ROWS))
        pipe.normalize()
        watcher = kill_first_load(find_and_kill)
        pipe.load()
        watcher.join(timeout=5)
        assert killed, "the load's INSERT was never seen running"
        ids = [r[0] for r in connection.exec_driver_sql(f"SELECT id FROM `{dataset}`.`items` ORDER BY id")]
        assert ids == list(range(MARIADB_ROWS))
        assert connection.exec_driver_sql(f"SELECT count(*) FROM `{dataset}`.`_dl_loads`").fetchone() == (1,)
        [cause] = load_retries(pipe)
        assert "Lost connection" in cause or "server has gone away" in cause, cause
        assert f"retried after: {cause}" in str(pipe.last_trace)
        assert_landed(pipe, {"items": rows(MARIADB_ROWS)}, packages=1)
    finally:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{dataset}`")
        connection.close()
        admin.dispose()
