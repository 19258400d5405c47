"""Parallel stages: normalize in worker processes, load jobs on threads, and their settings."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import dataload
from dataload.concurrency import MAX_DEFAULT_LOAD_WORKERS, available_cores, configured_workers, load_workers
from dataload.exceptions import InvalidConfig, SchemaError
from dataload.extract.limits import BufferLimits
from dataload.normalize.parallel import merged_schema, split_by_bytes
from dataload.protocol import in_threads
from dataload.schema.model import Column, Schema, Table


def _pages(rows: list[dict], size: int = 50) -> list[list[dict]]:
    return [rows[start:start + size] for start in range(0, len(rows), size)]


def _processes(pipe: dataload.Pipeline) -> list[int]:
    return [step.processes for step in pipe.last_trace.steps if step.step == "normalize"]


def _many_files(make_pipeline: Callable[..., dataload.Pipeline]) -> dataload.Pipeline:
    return make_pipeline(buffer_limits=BufferLimits(segment_rows=50))


# -- normalize in processes ----------------------------------------------------------------------

def test_a_type_two_workers_disagree_on_falls_back_to_one_process_and_makes_the_variant(make_pipeline):
    pipe = _many_files(make_pipeline)
    rows = [{"id": i, "v": i} for i in range(100)] + [{"id": i, "v": f"t{i}"} for i in range(100, 200)]
    pipe.extract(iter(_pages(rows)), table_name="clash")
    pipe.normalize(workers=2)
    assert _processes(pipe) == [1]  # the workers' schemas disagreed: normalized in order instead
    pipe.load()
    loaded = sorted(pipe.dataset().table("clash").rows(), key=lambda r: r["id"])
    assert [r["v"] for r in loaded] == list(range(100)) + [None] * 100
    assert [r["v__v_text"] for r in loaded] == [None] * 100 + [f"t{i}" for i in range(100, 200)]
    assert len(loaded) == 200  # the workers' files were removed, nothing is loaded twice


def test_an_error_in_a_worker_process_is_raised_with_its_table_and_column(make_pipeline):
    pipe = _many_files(make_pipeline)
    rows = [{"id": i} for i in range(100)] + [{"other": i} for i in range(100)]
    pipe.extract(iter(_pages(rows)), table_name="keyed", write_disposition="merge", primary_key="id")
    with pytest.raises(SchemaError) as caught:
        pipe.normalize(workers=2)
    assert (caught.value.table, caught.value.column) == ("keyed", "id")
    assert "primary key column 'id' is missing" in str(caught.value)
    assert pipe.failed_packages()  # kept for a look, as in one process


def test_a_frozen_contract_normalizes_in_order_and_refuses_the_later_column(make_pipeline):
    pipe = _many_files(make_pipeline)
    pipe.run([{"id": 0}], table_name="frozen")
    rows = [{"id": i} for i in range(1, 100)] + [{"id": 100, "extra": "x"}]
    pipe.extract(iter(_pages(rows)), table_name="frozen", schema_contract={"columns": "freeze"})
    with pytest.raises(dataload.DataContractViolation) as caught:
        pipe.normalize(workers=2)
    assert (caught.value.table, caught.value.column) == ("frozen", "extra")


@pytest.mark.parametrize("interpreter", ["/bin/false", "/nonexistent/python"])
def test_workers_that_cannot_run_leave_the_package_to_one_process(make_pipeline, monkeypatch, caplog, interpreter):
    monkeypatch.setattr(sys, "executable", interpreter)  # what a frozen app or a killed worker looks like
    pipe = _many_files(make_pipeline)
    pipe.extract(iter(_pages([{"id": i, "tags": [i]} for i in range(200)])), table_name="lost")
    pipe.normalize(workers=2)
    assert _processes(pipe) == [1]
    assert "normalizing package" in caplog.text and "in this process instead" in caplog.text
    pipe.load()
    assert sorted(r["id"] for r in pipe.dataset().table("lost").rows()) == list(range(200))
    assert len(pipe.dataset().table("lost__tags").rows()) == 200


def test_workers_come_from_the_environment(make_pipeline, monkeypatch):
    monkeypatch.setenv("NORMALIZE__WORKERS", "2")
    monkeypatch.setenv("LOAD__WORKERS", "3")
    pipe = _many_files(make_pipeline)
    pipe.run(iter(_pages([{"id": i, "tags": [i, i]} for i in range(300)])), table_name="env")
    assert _processes(pipe) == [2]
    assert sorted(r["id"] for r in pipe.dataset().table("env").rows()) == list(range(300))
    assert len(pipe.dataset().table("env__tags").rows()) == 600


def test_a_script_without_a_main_guard_is_not_run_again_by_the_workers(tmp_path):
    script = tmp_path / "pipeline_script.py"
    script.write_text(textwrap.dedent(f"""
        import dataload
        from dataload.extract.limits import BufferLimits
        from destinations import duckdb

        print("script body ran")
        pipe = dataload.pipeline("noguard", destination=duckdb({str(tmp_path / 'noguard.duckdb')!r}),
                                 dataset_name="ds", pipelines_dir={str(tmp_path / 'pipelines')!r},
                                                                       buffer_limits=BufferLimits(segment_rows=10))
        pipe.extract(([{{"id": i}} for i in range(s, s + 10)] for s in range(0, 100, 10)), table_name="t")
        pipe.normalize(workers=2)
        pipe.load()
        steps = [s.processes for s in pipe.last_trace.steps if s.step == "normalize"]
        print("rows", len(pipe.dataset().table("t").rows()), "processes", steps)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["script body ran", "rows 100 processes [2]"]


def test_schemas_merge_untyped_into_typed_and_refuse_two_types():
    base = Schema("s", {"t": Table("t", {"a": Column("a", "bigint"), "hinted": Column("hinted")})})
    first = Schema("s", {"t": Table("t", {"a": Column("a", "bigint"), "hinted": Column("hinted", "text"),
                                          "b": Column("b", "double")})})
    second = Schema("s", {"t": Table("t", {"a": Column("a", "bigint"), "hinted": Column("hinted"),
                                           "c": Column("c", "bool")}),
                          "t__kids": Table("t__kids", {"value": Column("value", "bigint")}, parent="t")})
    merged = merged_schema(Schema.from_dict(base.to_dict()), [first, second])
    assert merged is not None
    assert {n: c.data_type for n, c in merged.tables["t"].columns.items()} == {
        "a": "bigint", "hinted": "text", "b": "double", "c": "bool"}
    assert merged.tables["t__kids"].parent == "t"
    clash = Schema("s", {"t": Table("t", {"b": Column("b", "text")})})
    assert merged_schema(Schema.from_dict(base.to_dict()), [first, clash]) is None


def test_merged_schema_falls_back_when_workers_name_a_source_key_differently():
    def schema(*columns: Column) -> Schema:
        return Schema("s", {"t": Table("t", {c.name: c for c in columns})})

    base = schema(Column("id", primary_key=True, nullable=False))
    typed = schema(Column("id", "bigint", primary_key=True, nullable=False, source_key=("id",)))
    merged = merged_schema(Schema.from_dict(base.to_dict()), [typed, typed])
    assert merged is not None and merged.tables["t"].columns["id"].source_key == ("id",)  # filled in
    old = schema(Column("id", "bigint", primary_key=True, nullable=False))  # a schema of an older version
    merged = merged_schema(Schema.from_dict(old.to_dict()), [typed, typed])
    assert merged is not None and merged.tables["t"].columns["id"].source_key == ("id",)
    spaced = schema(Column("a_b", "bigint", source_key=("A b",)))
    plain = schema(Column("a_b", "bigint", source_key=("a_b",)))
    assert merged_schema(Schema.from_dict(base.to_dict()), [spaced, plain]) is None  # two keys, one name
    moved = schema(Column("a_b_1", "bigint", source_key=("a_b",)))
    assert merged_schema(Schema.from_dict(base.to_dict()), [plain, moved]) is None  # one key, two names
    spaced_list = Schema("s", {"t__a_b": Table("t__a_b", parent="t", source_key=("A b",))})
    plain_list = Schema("s", {"t__a_b": Table("t__a_b", parent="t", source_key=("a_b",))})
    assert merged_schema(Schema.from_dict(base.to_dict()), [spaced_list, plain_list]) is None  # two lists, one table


def test_chunks_split_into_contiguous_groups_by_bytes():
    chunks = [(i, f"f{i}", "t") for i in range(5)]
    assert split_by_bytes(chunks, [100, 1, 1, 1, 100], 2) == [chunks[:2], chunks[2:]]  # 101 and 102 bytes
    assert split_by_bytes(chunks, [1, 1, 1, 1, 100], 2) == [chunks[:4], chunks[4:]]
    assert split_by_bytes(chunks[:2], [5, 5], 4) == [chunks[:1], chunks[1:2]]  # never more groups than chunks
    assert split_by_bytes(chunks[:3], [0, 0, 0], 2) == [chunks[:3]]  # nothing to share out


# -- settings ------------------------------------------------------------------------------------

def test_explicit_workers_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("LOAD__WORKERS", "5")
    assert configured_workers("load") == 5
    assert load_workers(2) == 2
    monkeypatch.delenv("LOAD__WORKERS")
    assert configured_workers("load") is None
    assert load_workers() == min(MAX_DEFAULT_LOAD_WORKERS, available_cores())


@pytest.mark.parametrize("value", ["0", "-1", "many", "1.5"])
def test_a_bad_workers_setting_names_the_key(monkeypatch, value):
    monkeypatch.setenv("NORMALIZE__WORKERS", value)
    with pytest.raises(InvalidConfig, match=r"normalize\.workers must be a whole number"):
        configured_workers("normalize")


def test_workers_from_config_toml(tmp_path, monkeypatch):
    (tmp_path / ".dataload").mkdir()
    (tmp_path / ".dataload" / "config.toml").write_text("[load]\nworkers = 6\n")
    monkeypatch.chdir(tmp_path)
    assert load_workers() == 6


# -- load jobs on threads ------------------------------------------------------------------------

def test_in_threads_keeps_order_and_runs_work_at_once():
    running, most = 0, 0
    lock = threading.Lock()

    def work(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02 * (5 - n % 5))  # later items finish first
        with lock:
            running -= 1
        return n * 10

    assert list(in_threads(work, range(12), 4)) == [n * 10 for n in range(12)]
    assert most > 1


def test_in_threads_takes_items_only_as_results_are_used():
    taken = []

    def items():
        for n in range(100):
            taken.append(n)
            yield n

    results = in_threads(lambda n: n, items(), 3)
    assert next(results) == 0
    assert len(taken) <= 3 + 1
    results.close()


def test_in_threads_raises_the_error_of_an_item_when_its_turn_comes():
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("item 3 is bad")
        return n

    seen = []
    with pytest.raises(ValueError, match="item 3 is bad"):
        for value in in_threads(work, range(10), 2):
            seen.append(value)
    assert seen == [0, 1, 2]
