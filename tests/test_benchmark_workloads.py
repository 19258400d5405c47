"""Smoke test of benchmark workloads W5, W7PG, W8, W9, W10 and W11 at tiny sizes, in this process.

Each one builds its input, runs ``ours`` (after its setup, inside its ``serve``), and must pass
its own verification; a destination that does not hold what was loaded must fail it. Times are
not asserted. W8's HTTP server must stop with the run, also when the run fails or its process dies.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import postgres_connection

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

from workloads import REGISTRY, SEED, VerificationError, Workload, w5, w8  # noqa: E402
from workloads._common import DATASET, query_ours  # noqa: E402

W8_ROWS = 2_000  # 4 pages and 40 detail requests


def run_ours(workload: Workload, rows: int, workdir: Path) -> tuple[Any, Any]:
    """Build the input, run the setup and ours (inside its serve), verify; returns the input and the pipeline."""
    inp = workload.build_input(rows, SEED)
    workload.setup("ours", inp, workdir)
    with workload.serve(inp) as served:
        pipe = workload.run_ours(served, workdir)
    assert workload.verify("ours", served, workdir, pipe) == rows
    return served, pipe


def execute(workdir: Path, sql: str) -> None:
    """Change the workload's DuckDB file behind the pipeline's back."""
    import duckdb

    con = duckdb.connect(str(workdir / "ours.duckdb"))
    try:
        con.execute(sql)
    finally:
        con.close()


def test_the_new_workloads_are_registered_with_their_sizes() -> None:
    names = ("W7PG", "W8", "W9", "W10", "W11")
    sizes = {name: (REGISTRY[name].default_rows, REGISTRY[name].quick_rows) for name in names}
    assert sizes == {"W7PG": (2_000_000, 200_000), "W8": (1_000_000, 50_000), "W9": (200_000, 20_000),
                     "W10": (60, 6), "W11": (500_000, 50_000)}
    assert [REGISTRY[n].scale_of(60) for n in ("W7PG", "W9", "W10")] == [6, 6, 6]  # type: ignore[misc]
    assert REGISTRY["W11"].scale_of is None and REGISTRY["W11"].has_setup and REGISTRY["W11"].note
    assert REGISTRY["W8"].scale_of is None and not REGISTRY["W8"].has_setup and REGISTRY["W8"].preload == ("httpx",)


@pytest.fixture
def w8_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """W8's response bodies go to ``tmp_path``, not to the benchmark cache."""
    monkeypatch.setattr(w8, "CACHE_DIR", tmp_path / "cache")
    return tmp_path / "cache"


def refuses_connections(url: str, within: float = 10.0) -> bool:
    """Whether nothing answers at ``url`` (polled for up to ``within`` seconds)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/items?page=1", timeout=1.0)
        except httpx.TransportError:
            return True
        time.sleep(0.05)
    return False


def test_w8_loads_the_pages_and_the_details_from_a_local_server(tmp_path: Path, w8_cache: Path) -> None:
    served, pipe = run_ours(REGISTRY["W8"], W8_ROWS, tmp_path)
    assert Path(served["bodies"]).parent == w8_cache / "inputs"
    assert query_ours(pipe, f'SELECT count(*), min(id), max(id), count(DISTINCT shipping__carrier) '
                            f'FROM "{DATASET}"."items"') == [(2_000, 1, 2_000, len(w8._CARRIERS))]
    assert query_ours(pipe, f'SELECT count(*), min(item_id), max(item_id), count(summary) '
                            f'FROM "{DATASET}"."item_details"') == [(40, 50, 2_000, 40)]
    assert refuses_connections(served["url"])  # the server stopped with the run
    execute(tmp_path, f'DELETE FROM "{DATASET}"."item_details" WHERE item_id = 50')
    with pytest.raises(VerificationError, match="39 rows"):
        REGISTRY["W8"].verify("ours", served, tmp_path, pipe)


def test_w8_reference_makes_the_same_requests_and_writes_jsonl(tmp_path: Path, w8_cache: Path) -> None:
    workload = REGISTRY["W8"]
    inp = workload.build_input(W8_ROWS, SEED)
    with workload.serve(inp) as served:
        files = workload.run_reference(served, tmp_path)
    assert workload.verify("reference", served, tmp_path, files) == W8_ROWS
    items, details = ([json.loads(line) for line in path.read_text().splitlines()] for path in files)
    assert [r["id"] for r in items] == list(range(1, W8_ROWS + 1))
    assert [d["item_id"] for d in details] == list(range(50, W8_ROWS + 1, 50))


def test_w8_server_stops_when_the_run_fails(w8_cache: Path) -> None:
    inp = REGISTRY["W8"].build_input(500, SEED)
    with pytest.raises(RuntimeError, match="the run failed"):
        with REGISTRY["W8"].serve(inp) as served:
            assert httpx.get(f"{served['url']}/items?page=1").json()["next"] is None
            raise RuntimeError("the run failed")
    assert refuses_connections(served["url"])


def test_w8_server_stops_when_the_process_that_started_it_dies(w8_cache: Path) -> None:
    bodies = REGISTRY["W8"].build_input(500, SEED)["bodies"]
    script = (f"import os, signal, sys; from pathlib import Path; sys.path.insert(0, {str(BENCH_DIR)!r})\n"
              "from workloads._http_server import http_server\n"
              f"with http_server(Path({bodies!r})) as url:\n"
              "    print(url, flush=True)\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n")
    starter = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert starter.returncode == -9  # killed: no finally ran
    assert refuses_connections(starter.stdout.strip())


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


def test_w12_loads_every_csv_row_and_jsonl_record_through_the_filesystem_source(tmp_path: Path) -> None:
    import gzip

    workload = REGISTRY["W12"]
    inp, pipe = run_ours(workload, 3_000, tmp_path)
    folder = Path(inp["folder"])
    with gzip.open(folder / "table.csv.gz", "rt") as f:
        text_sum = sum(len(line.split(",")[11]) for line in list(f)[1:])
    records = [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines()]
    assert query_ours(pipe, f'SELECT sum(int_0), sum(length(text_0)) FROM "{DATASET}"."w12_csv"') == [
        (3_000 * 3_001 // 2, text_sum)]
    assert query_ours(pipe, f'SELECT sum(meta__attempt), count(DISTINCT id) FROM "{DATASET}"."w12_jsonl"') == [
        (sum(r["meta"]["attempt"] for r in records), len(records))]
    execute(tmp_path, f'DELETE FROM "{DATASET}"."w12_jsonl" WHERE id = 1')
    with pytest.raises(VerificationError, match="w12_jsonl"):
        workload.verify("ours", inp, tmp_path, pipe)


W5_NAMES = ("W5PYARROW", "W5NATIVE", "W5SQLALCHEMY")


def test_w5_is_registered_per_backend_with_its_sizes() -> None:
    found = [(REGISTRY[n].display, REGISTRY[n].default_rows, REGISTRY[n].quick_rows, REGISTRY[n].small_of(60))  # type: ignore[misc]
             for n in W5_NAMES]
    assert found == [("W5 pyarrow", 2_000_000, 100_000, 6), ("W5 native", 2_000_000, 100_000, 6),
                     ("W5 sqlalchemy", 2_000_000, 100_000, 6)]


def test_w5_copies_the_postgres_table_with_every_backend_and_the_reference(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("adbc_driver_postgresql")
    admin = postgres_connection()
    try:
        with w5.source_table(1_000) as env:
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            schema = w5.source_schema({"rows": 1_000})
            source = admin.execute(f'SELECT * FROM "{schema}".w5 ORDER BY id').fetchall()
            inp = REGISTRY["W5NATIVE"].build_input(1_000, SEED)
            pipes = {}
            for name in W5_NAMES:
                workload, workdir = REGISTRY[name], tmp_path / name
                pipe = pipes[name] = workload.run_ours(inp, workdir)
                assert workload.verify("ours", inp, workdir, pipe) == 1_000
                loaded = query_ours(pipe, f'SELECT {", ".join(w5._COLUMNS)} FROM "{DATASET}".w5 ORDER BY id')
                assert loaded == source, name
            (tmp_path / "reference").mkdir()
            reference = REGISTRY["W5NATIVE"].run_reference(inp, tmp_path / "reference")
            assert REGISTRY["W5NATIVE"].verify("reference", inp, tmp_path, reference) == 1_000
            execute(tmp_path / "W5NATIVE", f'UPDATE "{DATASET}".w5 SET amount = amount + 0.01 WHERE id = 7')
            with pytest.raises(VerificationError, match="sum"):
                REGISTRY["W5NATIVE"].verify("ours", inp, tmp_path / "W5NATIVE", pipes["W5NATIVE"])
        found = admin.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
                              [schema]).fetchone()
        assert found == (0,)  # dropped when the run ended
        assert len(source) == 1_000 and sum(1 for row in source if row[2] is None) == 100
    finally:
        admin.close()


def test_w13_copies_the_postgres_table_through_partitions_on_a_cluster_and_in_one_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    admin = postgres_connection()
    admin.close()
    assert [(REGISTRY[n].display, REGISTRY[n].default_rows) for n in ("W13PG", "W13PARQUET")] == \
        [("W13 postgres", 10_000_000), ("W13 parquet", 10_000_000)]
    with w5.source_table(2_000) as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        inp = REGISTRY["W13PG"].build_input(2_000, SEED)
        assert REGISTRY["W13PG"].serve is REGISTRY["W13PARQUET"].serve
        with REGISTRY["W13PG"].serve(inp) as served:  # one cluster for both
            for name in ("W13PG", "W13PARQUET"):
                workload = REGISTRY[name]
                for mode, run in (("ours", workload.run_ours), ("reference", workload.run_reference)):
                    workdir = tmp_path / name / mode
                    pipe = run(served, workdir)
                    if mode == "ours":
                        assert len(pipe.last_trace.steps) == 3 * 8  # extract, normalize and load of 8 packages
                    assert workload.verify(mode, served, workdir, pipe) == 2_000
        parquet = REGISTRY["W13PARQUET"]
        (next((tmp_path / "W13PARQUET" / "ours" / "files" / DATASET / "w5").glob("*.parquet"))).unlink()
        with pytest.raises(VerificationError, match="count"):
            parquet.verify("ours", inp, tmp_path / "W13PARQUET" / "ours", None)
