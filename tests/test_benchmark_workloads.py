"""Smoke test of benchmark workloads W5, W7PG, W8, W9, W10 and W11 at tiny sizes, in this process.

Each one builds its input, runs ``ours`` (after its setup, inside its ``serve``), and must pass
its own verification; a destination that does not hold what was loaded must fail it. Times are
not asserted. W8's HTTP server must stop with the run, also when the run fails or its process dies.
The second references (issue 19's definitions, W1 and W4) load the same rows, and ``run.py`` shows
them in two more columns and keeps them in its JSON.
"""

from __future__ import annotations

import json
import os
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

from workloads import REGISTRY, SEED, VerificationError, Workload, w1, w5, w8  # noqa: E402
from workloads._common import DATASET, query_file, query_ours, query_postgres  # noqa: E402

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


def test_a_second_reference_is_declared_where_issue_19_defines_the_reference_differently() -> None:
    second = {name for name, workload in REGISTRY.items() if workload.run_reference2 is not None}
    assert second == {"W1", "W4"}
    assert REGISTRY["W4"].modes == ("reference", "ours", "reference2")
    assert REGISTRY["W2"].modes == ("reference", "ours")
    assert all(REGISTRY[n].reference2 for n in second)
    with pytest.raises(ValueError, match="W3 has no second reference"):
        REGISTRY["W3"].runner("reference2")


def test_w1_second_reference_reads_the_same_rows_from_jsonl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(w1, "CACHE_DIR", tmp_path / "cache")
    workload = REGISTRY["W1"]
    rows = workload.build_input(500, SEED)
    assert w1.jsonl_path(500).exists()
    database = workload.run_reference2(rows, tmp_path)  # type: ignore[misc]
    assert workload.verify("reference2", rows, tmp_path, database) == 500
    found = query_file(database, f'SELECT sum(id), count(note), sum(quantity), min(created_at)::VARCHAR, '
                                 f'max(ship_date)::VARCHAR FROM "{DATASET}"."w1"')
    first = min(r["created_at"] for r in rows)  # "2023-01-01T00:00:00Z": DuckDB typed it timestamptz
    assert found == [(sum(r["id"] for r in rows), sum(r["note"] is not None for r in rows),
                      sum(r["quantity"] for r in rows), first[:19].replace("T", " ") + "+00",
                      max(r["ship_date"] for r in rows))]


def test_w4_second_reference_copies_every_row_and_value_with_write_row(tmp_path: Path) -> None:
    postgres_connection().close()
    workload = REGISTRY["W4"]
    rows = workload.build_input(300, SEED)
    schema = workload.run_reference2(rows, tmp_path)  # type: ignore[misc]
    try:
        found = query_postgres(f'SELECT id, customer_id, unit_price, is_paid, product, note, '
                               f'to_char(created_at AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS"Z"\'), '
                               f'ship_date::text FROM "{schema}".w4 ORDER BY id')
    except BaseException:
        query_postgres(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        raise
    assert workload.verify("reference2", rows, tmp_path, schema) == 300  # and drops the schema
    assert found == [(r["id"], r["customer_id"], r["unit_price"], r["is_paid"], r["product"], r["note"],
                      r["created_at"], r["ship_date"]) for r in rows]
    assert query_postgres(f"SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{schema}'") == [(0,)]


def test_run_prints_the_second_reference_in_two_more_columns_and_keeps_it_in_json(tmp_path: Path) -> None:
    postgres_connection().close()
    out = tmp_path / "results.json"
    env = {**os.environ, "DATALOAD_BENCH_W1_ROWS": "1000", "DATALOAD_BENCH_W3_ROWS": "1000",
           "DATALOAD_BENCH_W4_ROWS": "1000"}
    proc = subprocess.run([sys.executable, str(BENCH_DIR / "run.py"), "--only", "W1,W3,W4", "--repeat", "1",
                           "--json", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    assert table[0].split("|")[-3:-1] == [" ref2 seconds ", " ours/ref2 "]
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in table[2:]}
    assert cells["W3"][-2:] == ["-", "-"] and cells["W1"][-1].endswith("x") and cells["W4"][-1].endswith("x")
    assert "note: W4: ref2 = one psycopg COPY of the rows" in proc.stdout
    results = {r["workload"]: r for r in json.loads(out.read_text())["results"]}
    for name in ("W1", "W4"):
        (run,) = results[name]["runs"]["reference2"]
        assert run["mode"] == "reference2" and run["verified_rows"] == 1000
        assert results[name]["ratio2"] == results[name]["seconds"] / results[name]["ref2_seconds"]
    assert "reference2" not in results["W3"]["runs"] and "ref2_seconds" not in results["W3"]


def test_the_table_has_no_second_reference_columns_when_no_workload_has_one() -> None:
    import run

    result = {"workload": "W3", "rows": 10, "seconds": 2.0, "rows_per_s": 5.0, "peak_rss_mb": 1.0,
              "rss_added_mb": 0.0, "ref_seconds": 1.0, "ratio": 2.0}
    assert "ref2" not in run.format_table([result])
    with_second = run.format_table([result, dict(result, workload="W4", ref2_seconds=4.0, ratio2=0.5)])
    assert with_second.splitlines()[-1].endswith("|         4.00 |     0.50x |")
    assert with_second.splitlines()[-2].endswith("|            - |         - |")
