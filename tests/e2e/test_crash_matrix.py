"""Every named crash point on every destination: a real child process SIGKILLs itself there
(``DATALOAD_CRASH_AT``), the next run completes, and every source row is in the destination
exactly once, with the cursor at the last row and one ``_dl_loads`` row per package.

The child is ``crash_scripts/resume_child.py`` (the pipeline of ``test_resume.py``: 250-row pages
of an incremental resource, an append table without a primary key, so a duplicate would show).
Rows are read back through the reopened pipeline's dataset (for the filesystem destination that
is what decides which files are committed).
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_resume import EARLIER, MORE, ROWS, assert_clean, child, cursor, run_child, stage_ids

import dataload

MARIADB_URL = os.environ.get("DATALOAD_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
DESTINATIONS = ["duckdb", "postgres", "filesystem", "sqlalchemy-sqlite", "sqlalchemy-mariadb"]

# (crash point, where the killed run's package is left, whether the destination has its rows)
CRASH_POINTS = [
    ("extract.after_items:1000", None, False),  # four pages extracted, nothing sealed
    ("extract.before_seal", None, False),  # every file written, no manifest: extracted again
    ("normalize.after_file:2", "extracted", False),
    ("load.after_job:1", "normalized", False),  # a table written, the transaction not committed
    ("load.before_commit", "normalized", False),  # all but the _dl_loads marker
    ("load.after_commit", "normalized", True),  # committed, the local state is older
    ("state.after_save", "normalized", True),  # local state written, the package not yet removed
]


@dataclass
class Destination:
    """What the child is told to load into (``resume_child.destination_of``) and the dataset."""

    spec: str
    dataset: str


@pytest.fixture(params=DESTINATIONS)
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Destination]:
    dataset = f"crash_{uuid.uuid4().hex[:10]}"
    if request.param == "duckdb":
        yield Destination(str(tmp_path / "crash.duckdb"), dataset)
    elif request.param == "filesystem":
        yield Destination(f"filesystem:{tmp_path / 'bucket'}", dataset)
    elif request.param == "sqlalchemy-sqlite":
        yield Destination(f"sqlite:///{tmp_path / 'crash.db'}", dataset)
    elif request.param == "postgres":
        from conftest import POSTGRES_URL, postgres_connection

        admin = postgres_connection()
        try:
            yield Destination(POSTGRES_URL, dataset)
        finally:
            admin.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
            admin.close()
    else:
        yield from _mariadb(dataset)


def _mariadb(dataset: str) -> Iterator[Destination]:
    sa = pytest.importorskip("sqlalchemy")
    from conftest import service_unavailable

    admin = sa.create_engine(MARIADB_URL, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT",
                             connect_args={"connect_timeout": 3})
    try:
        admin.connect().close()
    except sa.exc.DBAPIError:
        service_unavailable("MariaDB")
    try:
        yield Destination(MARIADB_URL, dataset)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{dataset}`")
        admin.dispose()


def loaded_ids(pipe: dataload.Pipeline) -> list[int]:
    """The ids in ``items`` (sorted, duplicates kept; empty before the table exists)."""
    try:
        return sorted(row["id"] for row in pipe.dataset().table("items").rows())
    except dataload.DataloadError:
        return []


def load_ids(pipe: dataload.Pipeline) -> list[str]:
    return sorted(row["load_id"] for row in pipe.dataset().table("_dl_loads").rows())


@pytest.mark.parametrize("point, left_in, committed", CRASH_POINTS, ids=[p for p, _, _ in CRASH_POINTS])
def test_killed_at_a_crash_point_the_next_run_lands_every_row_once(tmp_path: Path, destination: Destination,
                                                                  point: str, left_in: str | None,
                                                                  committed: bool) -> None:
    pipe = child.build(tmp_path / "pipelines", destination.spec, destination.dataset)
    pipe.run(child.items(EARLIER))

    killed = run_child(tmp_path, ROWS, "none", _Target(destination), crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pending = stage_ids(pipe, left_in) if left_in else []
    assert len(pending) == (1 if left_in else 0)
    landed = loaded_ids(pipe)
    assert landed == list(range(ROWS if committed else EARLIER))
    assert cursor(pipe) <= max(landed)  # the local cursor never claims rows that did not land

    info = pipe.run(child.items(ROWS + MORE))
    assert info.resumed == pending
    assert loaded_ids(pipe) == list(range(ROWS + MORE))
    assert cursor(pipe) == ROWS + MORE - 1
    loads = load_ids(pipe)
    assert len(loads) == len(set(loads)) == 2 + len(pending) and set(pending) <= set(loads)
    assert_clean(pipe)


@dataclass
class _Target:
    """What ``run_child`` needs: the destination spec as ``url`` and the dataset."""

    destination: Destination

    @property
    def url(self) -> str:
        return self.destination.spec

    @property
    def dataset(self) -> str:
        return self.destination.dataset
