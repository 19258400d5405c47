"""Smoke test of benchmark workloads W7PG, W9, W10 and W11 at tiny sizes, in this process.

Each one builds its input, runs ``ours`` (after its setup), and must pass its own verification;
a destination that does not hold what was loaded must fail it. Times are not asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import postgres_connection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from workloads import REGISTRY, SEED, VerificationError, Workload  # noqa: E402
from workloads._common import DATASET, query_ours  # noqa: E402


def run_ours(workload: Workload, rows: int, workdir: Path) -> tuple[Any, Any]:
    """Build the input, run the setup and ours, verify; returns the input and the pipeline."""
    inp = workload.build_input(rows, SEED)
    workload.setup("ours", inp, workdir)
    pipe = workload.run_ours(inp, workdir)
    assert workload.verify("ours", inp, workdir, pipe) == rows
    return inp, pipe


def execute(workdir: Path, sql: str) -> None:
    """Change the workload's DuckDB file behind the pipeline's back."""
    import duckdb

    con = duckdb.connect(str(workdir / "ours.duckdb"))
    try:
        con.execute(sql)
    finally:
        con.close()


def test_the_new_workloads_are_registered_with_their_sizes() -> None:
    sizes = {name: (REGISTRY[name].default_rows, REGISTRY[name].quick_rows) for name in ("W7PG", "W9", "W10", "W11")}
    assert sizes == {"W7PG": (2_000_000, 200_000), "W9": (200_000, 20_000), "W10": (60, 6), "W11": (500_000, 50_000)}
    assert [REGISTRY[n].scale_of(60) for n in ("W7PG", "W9", "W10")] == [6, 6, 6]  # type: ignore[misc]
    assert REGISTRY["W11"].scale_of is None and REGISTRY["W11"].has_setup and REGISTRY["W11"].note


def test_w9_wide_rows_load_with_every_column_and_one_schema_version(tmp_path: Path) -> None:
    _, pipe = run_ours(REGISTRY["W9"], 300, tmp_path)
    columns = query_ours(pipe, "SELECT count(*) FROM information_schema.columns "
                               f"WHERE table_schema = '{DATASET}' AND table_name = 'w9' AND column_name LIKE 'c%'")
    assert columns == [(1_000,)]
    assert query_ours(pipe, f'SELECT min(id), max(id), count(c009) FROM "{DATASET}"."w9"')[0][:2] == (1, 300)
    assert query_ours(pipe, f'SELECT count(*) FROM "{DATASET}"."_dl_version"') == [(1,)]


def test_w10_big_records_hold_all_their_text(tmp_path: Path) -> None:
    inp, pipe = run_ours(REGISTRY["W10"], 2, tmp_path)
    assert len(inp["base"]) == 20_000_000 - 10
    assert query_ours(pipe, f'SELECT id, length(text), left(text, 10) FROM "{DATASET}"."w10" ORDER BY id') == [
        (1, 20_000_000, "000000001|"), (2, 20_000_000, "000000002|")]
    execute(tmp_path, f'UPDATE "{DATASET}"."w10" SET text = left(text, 5) WHERE id = 2')
    with pytest.raises(VerificationError, match="characters of text"):
        REGISTRY["W10"].verify("ours", inp, tmp_path, pipe)


def test_w11_rerun_drops_the_boundary_rows_the_source_returns_again(tmp_path: Path) -> None:
    workload = REGISTRY["W11"]
    inp, pipe = run_ours(workload, 2_005, tmp_path)
    assert inp["cursors"][-5:] == [inp["cursors"][-1]] * 5  # the re-run's source returns these 5 rows again
    assert query_ours(pipe, f'SELECT count(DISTINCT _dl_load_id) FROM "{DATASET}"."w11"') == [(1,)]  # the first run's
    execute(tmp_path, f'INSERT INTO "{DATASET}"."w11" SELECT * FROM "{DATASET}"."w11" WHERE id = 2005')
    with pytest.raises(VerificationError, match="2006 rows"):
        workload.verify("ours", inp, tmp_path, pipe)


def test_w11_reference_is_the_first_run(tmp_path: Path) -> None:
    workload = REGISTRY["W11"]
    inp = workload.build_input(500, SEED)
    pipe = workload.run_reference(inp, tmp_path)
    assert workload.verify("reference", inp, tmp_path, pipe) == 500
    assert sum(step.rows.get("w11", 0) for step in pipe.last_trace.steps if step.step == "load") == 500


def test_w7pg_loads_into_its_own_schema_and_drops_it(tmp_path: Path) -> None:
    admin = postgres_connection()
    try:
        _, pipe = run_ours(REGISTRY["W7PG"], 1_000, tmp_path)
        assert pipe.dataset_name.startswith("bench_w7pg_")
        found = admin.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
                              [pipe.dataset_name]).fetchone()
        assert found == (0,)  # verification dropped it
    finally:
        admin.close()
