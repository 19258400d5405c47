"""Every named crash point on every destination: a real child process SIGKILLs itself there
(``DATALOAD_CRASH_AT``), the next run completes, and every source row is in the destination
exactly once, with the cursor at the last row and one ``_dl_loads`` row per package, and the working
directory agrees with the destination (``landed.assert_landed``).

The child is ``crash_scripts/resume_child.py`` (the pipeline of ``test_resume.py``: 250-row pages
of an incremental resource, an append table without a primary key, so a duplicate would show).
Rows are read back through the reopened pipeline's dataset (for the filesystem destination that
is what decides which files are committed).
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from landed import assert_clean, assert_landed, cursor, stage_ids
from test_resume import EARLIER, MORE, ROWS, Target, child, run_child

import dataload

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
    # a package is renamed out of its stage before it is deleted: killed while deleting the extracted copy ...
    ("remove.after_move:1", "normalized", False),
    # ... or the loaded package (the random-kill test once found a loaded package with part of its files
    # deleted in normalized/, which the next run tried to load again)
    ("remove.after_move:2", None, True),
]


@pytest.fixture(params=DESTINATIONS)
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    yield from target_on(request.param, tmp_path, f"crash_{uuid.uuid4().hex[:10]}")


def target_on(kind: str, tmp_path: Path, dataset: str) -> Iterator[Target]:
    """A :class:`Target` of destination ``kind`` (one of ``DESTINATIONS``) with files under ``tmp_path``;
    a server's dataset is dropped afterwards."""
    if kind == "duckdb":
        yield Target(str(tmp_path / "crash.duckdb"), dataset)
    elif kind == "filesystem":
        yield Target(f"filesystem:{tmp_path / 'bucket'}", dataset)
    elif kind == "sqlalchemy-sqlite":
        yield Target(f"sqlite:///{tmp_path / 'crash.db'}", dataset)
    elif kind == "postgres":
        from conftest import POSTGRES_URL, postgres_connection

        admin = postgres_connection()
        try:
            yield Target(POSTGRES_URL, dataset)
        finally:
            admin.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
            admin.close()
    else:
        yield from _mariadb(dataset)


def _mariadb(dataset: str) -> Iterator[Target]:
    from conftest import MARIADB_URL, mariadb_admin

    admin = mariadb_admin()
    try:
        yield Target(MARIADB_URL, dataset)
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
def test_killed_at_a_crash_point_the_next_run_lands_every_row_once(tmp_path: Path, destination: Target,
                                                                  point: str, left_in: str | None,
                                                                  committed: bool) -> None:
    pipe = child.build(tmp_path / "pipelines", destination.url, destination.dataset)
    pipe.run(child.items(EARLIER))

    killed = run_child(tmp_path, ROWS, "none", destination, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pending = stage_ids(pipe, left_in) if left_in else []
    assert len(pending) == (1 if left_in else 0)
    landed = loaded_ids(pipe)
    assert landed == list(range(ROWS if committed else EARLIER))
    assert cursor(pipe) <= max(landed)  # the local cursor never claims rows that did not land

    info = pipe.run(child.items(ROWS + MORE))
    assert info.resumed == pending
    assert loaded_ids(pipe) == list(range(ROWS + MORE))
    assert set(pending) <= set(load_ids(pipe))
    assert_landed(pipe, {"items": child.source_rows(ROWS + MORE)}, packages=2 + (1 if left_in or committed else 0),
                  cursors={"items": "id"})
    assert_clean(pipe)



@pytest.mark.parametrize("point, pending", [("load.after_commit", 3), ("load.after_commit:2", 2)])
def test_killed_after_committing_one_of_three_pending_packages_the_rerun_lands_every_row_once(
        tmp_path: Path, point: str, pending: int) -> None:
    """Found by the random-kill test: the rerun gave the two newer pending packages the committed
    package's state, so the cursor went back and their 3,334 rows were extracted and loaded again."""
    killed = run_child(tmp_path, ROWS, "three_packages", crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pipe = child.build(tmp_path / "pipelines", tmp_path / "resume.duckdb")
    assert len(pipe.pending_packages()) == pending  # the committed one among them

    pipe.run(child.items(ROWS))
    assert_landed(pipe, {"items": child.source_rows(ROWS)}, packages=3, cursors={"items": "id"})
    assert_clean(pipe)
