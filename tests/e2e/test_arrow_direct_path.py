"""Arrow input on every destination: the direct path (Arrow load files read where they lie) and the
Parquet path (``NORMALIZE__FILE_FORMAT=parquet``) load the same values with the same types.

Each case loads the same Arrow tables twice, into two datasets of one destination, and reads both
back through ``pipe.dataset()``; the load files normalize wrote are checked first, so each side is
known to have taken its path. Values are also compared with the source where every destination
stores them exactly (ids, texts, the load id). Then a real child process (``crash_scripts/
resume_child.py``, on the destinations of ``test_crash_matrix.py``) is SIGKILLed between normalize
and load with Arrow load files pending, and the next run lands every row once.
"""

from __future__ import annotations

import datetime
import decimal
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from landed import assert_clean, assert_landed, stage_ids
from test_crash_matrix import destination  # noqa: F401 (the fixture: every destination, a dataset of its own)
from test_resume import EARLIER, MORE, ROWS, Target, child, run_child

import dataload
from conftest import MARIADB_URL, POSTGRES_URL, mariadb_admin, postgres_connection
from dataload.exceptions import InvalidConfig
from dataload.package.storage import read_json
from destinations import duckdb, filesystem, postgres, sqlalchemy
from destinations.sql import quote

DESTINATIONS = ["duckdb", "postgres", "filesystem-jsonl", "filesystem-csv", "filesystem-parquet",
                "sqlalchemy-sqlite", "sqlalchemy-mariadb"]
TYPED_ROWS = 7


def typed_table(rows: int = TYPED_ROWS) -> pa.Table:
    """One column of each Arrow type the engine maps, a null in every column but ``id`` (row 2)."""
    def col(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
        return pa.array([None if i == 2 else v for i, v in enumerate(values)], arrow_type)

    n = range(rows)
    at = [datetime.datetime(2024, 1, 1, 12, 30, 15, 250_000, tzinfo=datetime.timezone.utc) + datetime.timedelta(days=i)
          for i in n]
    naive = [t.replace(tzinfo=None) for t in at]
    words = ["", "plain", "naïve ünïcode", "comma, \"quoted\"\nnewline", "x" * 300, "tab\there", "back\\slash"]
    return pa.table({
        "id": pa.array(list(n), pa.int64()),
        "i8": col([-128 + i for i in n], pa.int8()), "i16": col([-32768 + i for i in n], pa.int16()),
        "i32": col([2**31 - 1 - i for i in n], pa.int32()), "i64": col([-(2**62) + i for i in n], pa.int64()),
        "u8": col([255 - i for i in n], pa.uint8()), "u16": col([65535 - i for i in n], pa.uint16()),
        "u32": col([2**32 - 1 - i for i in n], pa.uint32()), "u64": col([2**40 + i for i in n], pa.uint64()),
        "f32": col([0.5 + i for i in n], pa.float32()), "f64": col([1 / 3 + i for i in n], pa.float64()),
        "dec": col([decimal.Decimal(f"{i}.25") for i in n], pa.decimal128(10, 2)),
        "dec_wide": col([decimal.Decimal(f"12345678901234567890.{i:09d}") for i in n], pa.decimal128(38, 9)),
        "text": col([words[i % len(words)] for i in n], pa.string()),
        "big_text": col([f"large {i}" for i in n], pa.large_string()),
        "blob": col([bytes([i, 0, 255]) for i in n], pa.binary()),
        "big_blob": col([b"\x00" * i for i in n], pa.large_binary()),
        "flag": col([i % 2 == 0 for i in n], pa.bool_()),
        "day": col([datetime.date(2024, 2, 28) + datetime.timedelta(days=i) for i in n], pa.date32()),
        "clock": col([datetime.time(23, 59, i, 125) for i in n], pa.time64("us")),
        "ts_s": col(naive, pa.timestamp("s")), "ts_ms": col(naive, pa.timestamp("ms")),
        "ts_us": col(naive, pa.timestamp("us")), "ts_ns": col(naive, pa.timestamp("ns")),
        "tz_us": col(at, pa.timestamp("us", tz="UTC")), "tz_ns": col(at, pa.timestamp("ns", tz="UTC")),
        "tz_other": col(at, pa.timestamp("ms", tz="Europe/Berlin")),
        "kind": pa.array([["red", "green", None][i % 3] for i in n]).dictionary_encode(),
        "point": col([{"x": i, "label": f"p{i}"} for i in n], pa.struct([("x", pa.int64()), ("label", pa.string())])),
        "empty": pa.nulls(rows, pa.string()),
    })


def nested_table(rows: int = TYPED_ROWS) -> pa.Table:
    """Lists (child tables) next to scalars: the chunk makes several tables, so both paths write Parquet."""
    return pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "tags": pa.array([[f"t{i}", None] if i != 2 else None for i in range(rows)], pa.list_(pa.string())),
        "parts": pa.array([[{"sku": f"s{i}", "qty": i}] for i in range(rows)],
                          pa.list_(pa.struct([("sku", pa.string()), ("qty", pa.int32())]))),
    })


@pytest.fixture(params=DESTINATIONS)
def destination_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Callable[[], Any], list[str]]]:
    """A factory of the destination (fresh objects, one place) and the two dataset names to load into."""
    datasets = [f"direct_{uuid.uuid4().hex[:8]}", f"parquet_{uuid.uuid4().hex[:8]}"]
    kind = request.param
    if kind == "duckdb":
        yield (lambda: duckdb(str(tmp_path / "arrow.duckdb"))), datasets
    elif kind.startswith("filesystem-"):
        yield (lambda: filesystem(str(tmp_path / "bucket"), format=kind.removeprefix("filesystem-"))), datasets
    elif kind == "sqlalchemy-sqlite":
        yield (lambda: sqlalchemy(f"sqlite:///{tmp_path / 'arrow.db'}")), datasets
    elif kind == "sqlalchemy-mariadb":
        admin = mariadb_admin()
        try:
            yield (lambda: sqlalchemy(MARIADB_URL)), datasets
        finally:
            with admin.connect() as connection:
                for dataset in datasets:
                    connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{dataset}`")
            admin.dispose()
    else:
        admin = postgres_connection()
        try:
            yield (lambda: postgres(POSTGRES_URL)), datasets
        finally:
            for dataset in datasets:
                admin.execute(f"DROP SCHEMA IF EXISTS {quote(dataset)} CASCADE")
            admin.close()


def load(make_pipeline: Callable[..., dataload.Pipeline], make_destination: Callable[[], Any], dataset: str,
         tables: dict[str, pa.Table]) -> tuple[dataload.Pipeline, dict[str, str]]:
    """Extract, normalize and load ``tables``; the pipeline and the format of each normalized file."""
    pipe = make_pipeline(f"p_{dataset}", destination=make_destination(), dataset_name=dataset)
    pipe.extract([dataload.resource(table, name=name) for name, table in tables.items()])  # one package
    pipe.normalize()
    formats = {}
    for package in (pipe.working_dir / "packages" / "normalized").iterdir():
        for entry in read_json(package / "package.json")["files"]:
            formats[entry["table"]] = entry.get("format", "parquet")
    pipe.load()
    return pipe, formats


def read_back(pipe: dataload.Pipeline, table: str) -> tuple[pa.Schema, list[dict[str, Any]]]:
    """The table's Arrow schema and rows without the system columns (ids and links differ by load),
    ordered by ``id``, or by their text where the table has none."""
    arrow = pipe.dataset().table(table).arrow()
    schema = pa.schema([f for f in arrow.schema if not f.name.startswith("_dl_")])
    rows = [{k: v for k, v in r.items() if not k.startswith("_dl_")} for r in arrow.to_pylist()]
    return schema, sorted(rows, key=(lambda r: r["id"]) if "id" in schema.names else repr)


def test_direct_and_parquet_paths_load_the_same_values_and_types(
        destination_pair: tuple[Callable[[], Any], list[str]], make_pipeline: Callable[..., dataload.Pipeline],
        monkeypatch: pytest.MonkeyPatch) -> None:
    make_destination, (direct_dataset, parquet_dataset) = destination_pair
    tables = {"typed": typed_table(), "nested": nested_table()}
    direct, direct_formats = load(make_pipeline, make_destination, direct_dataset, tables)
    monkeypatch.setenv("NORMALIZE__FILE_FORMAT", "parquet")
    parquet, parquet_formats = load(make_pipeline, make_destination, parquet_dataset, tables)

    reads_arrow = "arrow" in make_destination().capabilities.file_formats
    assert direct_formats["typed"] == ("arrow" if reads_arrow else "parquet")
    assert set(parquet_formats.values()) == {"parquet"}
    assert {direct_formats[t] for t in ("nested", "nested__tags", "nested__parts")} == {"parquet"}

    assert direct.default_schema.to_dict()["tables"] == parquet.default_schema.to_dict()["tables"]
    for table in ("typed", "nested", "nested__tags", "nested__parts"):
        direct_schema, direct_rows = read_back(direct, table)
        parquet_schema, parquet_rows = read_back(parquet, table)
        assert direct_schema == parquet_schema, table
        assert direct_rows == parquet_rows, table
    _, rows = read_back(direct, "typed")
    source = typed_table().to_pylist()
    assert [r["id"] for r in rows] == list(range(TYPED_ROWS))
    assert [(r["text"], r["big_text"], r["kind"], r["point__label"]) for r in rows] == [
        (s["text"], s["big_text"], s["kind"], None if s["point"] is None else s["point"]["label"]) for s in source]
    (load_id,) = [r["load_id"] for r in direct.dataset().table("_dl_loads").rows()]
    assert direct.dataset().table("typed").arrow().column("_dl_load_id").to_pylist() == [load_id] * TYPED_ROWS


def test_asking_for_arrow_files_where_the_destination_reads_only_parquet_is_refused(
        make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = make_pipeline(destination=filesystem(str(tmp_path / "bucket")))  # parquet files are copied as they are
    pipe.extract(pa.table({"id": [1]}), table_name="t")
    monkeypatch.setenv("NORMALIZE__FILE_FORMAT", "arrow")
    with pytest.raises(InvalidConfig, match="reads only parquet"):
        pipe.normalize()
    monkeypatch.setenv("NORMALIZE__FILE_FORMAT", "feather")
    with pytest.raises(InvalidConfig, match="must be one of arrow, parquet"):
        pipe.normalize()


# -- resume: a crash between normalize and load, with Arrow load files pending ---------------------------------
BETWEEN_NORMALIZE_AND_LOAD = [
    ("before_move.normalizing.tmp.normalized", "extracted"),  # load files written, not yet the package's
    ("after_move.normalizing.tmp.normalized", "normalized"),  # moved; the extracted copy not yet removed
]


@pytest.mark.parametrize("point, left_in", BETWEEN_NORMALIZE_AND_LOAD, ids=[p for p, _ in BETWEEN_NORMALIZE_AND_LOAD])
def test_killed_between_normalize_and_load_the_next_run_loads_the_arrow_files_once(
        tmp_path: Path, destination: Target, point: str, left_in: str) -> None:  # noqa: F811 (the fixture)
    """On every destination of the crash matrix (its ``destination`` fixture); the filesystem's parquet
    format reads Parquet load files, the others Arrow ones."""
    pipe = child.build(tmp_path / "pipelines", destination.url, destination.dataset)
    pipe.run(child.items(EARLIER))
    killed = run_child(tmp_path, ROWS, "none", destination, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (pending,) = stage_ids(pipe, left_in)
    if left_in == "normalized":  # the files the next run loads: Arrow, their base linked from the extracted file
        package = pipe.working_dir / "packages" / "normalized" / pending
        entries = read_json(package / "package.json")["files"]
        arrow = "arrow" in pipe.destination.capabilities.file_formats
        assert {e.get("format", "parquet") for e in entries} == {"arrow" if arrow else "parquet"}
        assert all((package / e["base"]).stat().st_nlink == 2 for e in entries if arrow)  # the extracted copy too

    info = pipe.run(child.items(ROWS + MORE))
    assert info.resumed == [pending]
    assert_landed(pipe, {"items": child.source_rows(ROWS + MORE)}, packages=3, cursors={"items": "id"})
    assert_clean(pipe)
