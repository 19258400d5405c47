"""The destination is the record of what landed: each run reconciles the local state with it.

Rows are read back from DuckDB and PostgreSQL (``sql_pipeline``). The crash test kills a real child
process (``crash_scripts/drop_child.py``) right after the destination committed a drop.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dataload
from conftest import POSTGRES_URL
from destinations import duckdb

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).resolve().parent / "crash_scripts" / "drop_child.py"
_spec = importlib.util.spec_from_file_location("drop_child", CHILD)
assert _spec and _spec.loader
child = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(child)


def events(rows, disposition="append"):
    @dataload.resource(name="events", primary_key="id", write_disposition=disposition)
    def res(updated=dataload.incremental("updated_at", initial_value=-1)):
        yield [r for r in rows if r["updated_at"] > updated.start_value]
    return res()


def rows_of(n, start=0):
    return [{"id": i, "updated_at": i} for i in range(start, n)]


def loaded_ids(pipe, table="events"):
    return sorted(r["id"] for r in pipe.dataset().table(table).rows())  # duplicates kept


def wipe(pipe):
    with pipe.sql_client() as sql:
        sql.execute(f'DROP SCHEMA "{pipe.dataset_name}" CASCADE')


def test_a_wiped_destination_is_loaded_in_full_and_the_run_says_so(sql_pipeline, caplog):
    pipe = sql_pipeline("wipe_me")
    pipe.run(events(rows_of(5)))
    wipe(pipe)
    with caplog.at_level(logging.WARNING, logger="dataload"):
        info = sql_pipeline("wipe_me").run(events(rows_of(5)))
    assert info.rows == {"events": 5}
    assert loaded_ids(pipe) == [0, 1, 2, 3, 4]
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "wipe_me" in warning and pipe.dataset_name in warning and "from scratch" in warning


def test_the_same_pipeline_from_another_folder_loads_into_its_fresh_database(make_pipeline, tmp_path):
    make_pipeline("moved", destination=duckdb(str(tmp_path / "first.duckdb"))).run(events(rows_of(3)))
    pipe = make_pipeline("moved", destination=duckdb(str(tmp_path / "elsewhere.duckdb")))
    assert pipe.run(events(rows_of(4))).rows == {"events": 4}
    assert loaded_ids(pipe) == [0, 1, 2, 3]


def test_a_pending_package_is_not_lost_when_the_destination_was_wiped(sql_pipeline):
    pipe = sql_pipeline("pending")
    pipe.run(events(rows_of(5), "merge"))
    pipe.extract(events(rows_of(8), "merge"))       # rows 5..7 wait in a package
    wipe(pipe)
    pipe.run(events(rows_of(10), "merge"))
    assert loaded_ids(pipe) == list(range(10))
    assert pipe.pending_packages() == []


def test_a_newer_state_in_the_destination_wins(sql_pipeline, tmp_path):
    here = sql_pipeline("shared", pipelines_dir=tmp_path / "here")
    here.run(events(rows_of(5)))
    there = sql_pipeline("shared", pipelines_dir=tmp_path / "there", destination=here.destination)
    assert there.run(events(rows_of(8))).rows == {"events": 3}
    assert here.run(events(rows_of(9))).rows == {"events": 1}
    assert loaded_ids(here) == list(range(9))


def test_drop_and_reload_then_a_fresh_working_dir_restores_the_newest_state(sql_pipeline):
    """The reloaded state has the same content as the first one: it must still be the newest stored."""
    pipe = sql_pipeline("again")
    pipe.run(events(rows_of(5)))
    pipe.drop(resources=["events"])
    pipe.run(events(rows_of(5)))
    shutil.rmtree(pipe.working_dir)
    again = sql_pipeline("again")
    assert again.run(events(rows_of(5))).rows == {}
    assert loaded_ids(again) == [0, 1, 2, 3, 4]


def test_a_function_destination_keeps_its_local_state(make_pipeline):
    got = []

    @dataload.destination(batch_size=100)
    def sink(items, table):
        got.extend(item["id"] for item in items)

    pipe = make_pipeline(destination=sink)
    pipe.run(events(rows_of(3)))
    pipe.run(events(rows_of(5)))
    assert got == [0, 1, 2, 3, 4]


def test_a_crash_right_after_the_drop_committed_leaves_no_stale_cursor(sql_pipeline, tmp_path):
    pipe = sql_pipeline(child.PIPELINE)
    pipe.run(child.items(100))
    where = f"duckdb:{tmp_path / 'dropper.duckdb'}" if pipe.destination.name == "duckdb" else f"postgres:{POSTGRES_URL}"
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run([sys.executable, str(CHILD), str(tmp_path / "pipelines"), where, pipe.dataset_name,
                           "crash_after_drop_commit"], env={**os.environ, "PYTHONPATH": path},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr
    with pipe.sql_client() as sql:
        tables = sql.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                             [pipe.dataset_name]).fetchall()
    assert ("items",) not in tables  # the destination committed the drop; the local files are as before
    info = sql_pipeline(child.PIPELINE).run(child.items(100))
    assert info.rows == {"items": 100}
    assert sorted(r["id"] for r in pipe.dataset().table("items").rows()) == list(range(100))
