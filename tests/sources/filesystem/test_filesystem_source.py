"""The filesystem source on files the tests write: listing, CSV / JSONL / Parquet readers, compression,
incremental runs, corrupt files, and ``memory://`` through fsspec, loaded into DuckDB and PostgreSQL."""

from __future__ import annotations

import bz2
import datetime
import gzip
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dataload
from sources.filesystem import FileReadError, filesystem, read_csv, read_jsonl, read_parquet

UTC = datetime.timezone.utc
Make = Callable[..., dataload.Pipeline]


def _rows(pipe: dataload.Pipeline, table: str, key: str = "id") -> list[dict[str, Any]]:
    """The rows of ``table`` without dataload's columns, ordered by ``key``."""
    rows = [{k: v for k, v in row.items() if not k.startswith("_dl_")} for row in pipe.dataset().table(table).rows()]
    return sorted(rows, key=lambda row: row[key])


def _aware(value: Any) -> Any:
    """A datetime as aware UTC (a destination may return naive UTC or another offset)."""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _touch(path: Path, when: datetime.datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def test_listing_describes_each_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "top.csv").write_text("a\n1\n")
    (tmp_path / "sub" / "deep.csv.gz").write_bytes(gzip.compress(b"a\n1\n"))
    (tmp_path / "other.txt").write_text("x")
    when = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    _touch(tmp_path / "top.csv", when)

    items = {item["relative_path"]: item for item in filesystem(str(tmp_path), file_glob="**/*.csv*")}

    assert sorted(items) == ["sub/deep.csv.gz", "top.csv"]
    top = items["top.csv"]
    assert top == {"url": (tmp_path / "top.csv").resolve().as_uri(), "name": "top.csv", "relative_path": "top.csv",
                   "size": 4, "modification_date": when, "mime_type": "text/csv"}
    assert items["sub/deep.csv.gz"]["mime_type"] == "text/csv"
    assert filesystem(str(tmp_path)).hints.primary_key == ("url",)


def test_gzipped_jsonl_with_nested_lists_loads(sql_pipeline: Make, tmp_path: Path) -> None:
    records = [{"id": i, "name": f"n{i}", "tags": [f"t{i}", "x"]} for i in range(5)]
    lines = [json.dumps(r) for r in records]
    (tmp_path / "part1.jsonl.gz").write_bytes(gzip.compress("\n".join(lines[:3]).encode() + b"\n"))
    (tmp_path / "part2.jsonl.bz2").write_bytes(bz2.compress("\n".join(lines[3:]).encode()))

    pipe = sql_pipeline()
    pipe.run(read_jsonl(filesystem(str(tmp_path), file_glob="*.jsonl.*"), name="people"))

    assert _rows(pipe, "people") == [{"id": r["id"], "name": r["name"]} for r in records]
    tags = sorted((row["value"] for row in pipe.dataset().table("people__tags").rows()))
    assert tags == sorted(t for r in records for t in r["tags"])


def test_csv_with_na_nulls_and_iso_timestamps(sql_pipeline: Make, tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text(
        "id,label,amount,happened_at\n"
        "1,a,1.5,2024-01-01T10:00:00Z\n"
        "2,NA,,2024-01-02T11:30:00+02:00\n"
        "3,NULL,N/A,NA\n"
        "4,,2.25,2024-01-03T00:00:00Z\n")

    pipe = sql_pipeline()
    pipe.run(read_csv(filesystem(str(tmp_path)), name="events"))

    rows = [{**row, "happened_at": _aware(row["happened_at"])} for row in _rows(pipe, "events")]
    assert rows == [
        {"id": 1, "label": "a", "amount": 1.5, "happened_at": datetime.datetime(2024, 1, 1, 10, tzinfo=UTC)},
        {"id": 2, "label": None, "amount": None, "happened_at": datetime.datetime(2024, 1, 2, 9, 30, tzinfo=UTC)},
        {"id": 3, "label": None, "amount": None, "happened_at": None},
        {"id": 4, "label": None, "amount": 2.25, "happened_at": datetime.datetime(2024, 1, 3, tzinfo=UTC)},
    ]


def test_csv_options_pass_through(make_pipeline: Make, tmp_path: Path) -> None:
    (tmp_path / "codes.csv.gz").write_bytes(gzip.compress(b"007;x\n010;-\n"))
    reader = read_csv(filesystem(str(tmp_path), file_glob="*.csv.gz"), name="codes", delimiter=";", header=False,
                      column_names=["code", "flag"], null_values=["-"], column_types={"code": pa.string()})

    pipe = make_pipeline()
    pipe.run(reader)

    assert _rows(pipe, "codes", key="code") == [{"code": "007", "flag": "x"}, {"code": "010", "flag": None}]


def test_csv_is_read_in_bounded_batches(tmp_path: Path) -> None:
    (tmp_path / "big.csv").write_text("id,text\n" + "".join(f"{i},{'x' * 50}\n" for i in range(5000)))

    batches = list(read_csv(filesystem(str(tmp_path)), block_size=16_384))

    assert len(batches) > 10
    assert [row["id"] for batch in batches for row in batch.to_pylist()] == list(range(5000))


def test_zstd_csv_is_read(make_pipeline: Make, tmp_path: Path) -> None:
    if not pa.Codec.is_available("zstd"):
        pytest.skip("this pyarrow has no zstd codec")
    with pa.CompressedOutputStream(str(tmp_path / "z.csv.zst"), "zstd") as out:
        out.write(b"id,v\n1,a\n2,b\n")

    pipe = make_pipeline()
    pipe.run(read_csv(filesystem(str(tmp_path), file_glob="*.zst"), name="z"))

    assert _rows(pipe, "z") == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]


def test_parquet_loads_with_its_types(sql_pipeline: Make, tmp_path: Path) -> None:
    table = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "price": pa.array([1.25, None, 3.5]),
                      "at": pa.array([datetime.datetime(2024, 1, i + 1, tzinfo=UTC) for i in range(3)],
                                     pa.timestamp("us", tz="UTC"))})
    pq.write_table(table, tmp_path / "prices.parquet", row_group_size=2)

    pipe = sql_pipeline()
    pipe.run(read_parquet(filesystem(str(tmp_path), file_glob="*.parquet"), name="prices", chunk_size=2))

    rows = [{**row, "at": _aware(row["at"])} for row in _rows(pipe, "prices")]
    assert rows == table.to_pylist()


def test_corrupt_parquet_stops_naming_the_file(make_pipeline: Make, tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "good.parquet")
    data = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "truncated.parquet").write_bytes(data[: len(data) // 2])

    pipe = make_pipeline()
    with pytest.raises(dataload.ResourceError) as raised:
        pipe.run(read_parquet(filesystem(str(tmp_path), file_glob="*.parquet")))
    assert "truncated.parquet" in str(raised.value)
    assert isinstance(_cause_of_type(raised.value, FileReadError), FileReadError)


def _cause_of_type(error: BaseException | None, kind: type[BaseException]) -> BaseException | None:
    while error is not None and not isinstance(error, kind):
        error = error.__cause__ or error.__context__
    return error


def test_corrupt_parquet_is_skipped_and_counted(make_pipeline: Make, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "good.parquet")
    data = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "truncated.parquet").write_bytes(data[:-20])

    pipe = make_pipeline()
    pipe.run(read_parquet(filesystem(str(tmp_path), file_glob="*.parquet"), name="ids", on_error="skip"))

    assert _rows(pipe, "ids") == [{"id": 1}, {"id": 2}]
    assert _skips(pipe, "ids") == {"skipped_files": 1}
    assert any("truncated.parquet" in record.getMessage() for record in caplog.records)


def _skips(pipe: dataload.Pipeline, resource: str) -> dict[str, int]:
    """What the run's trace counted for ``resource`` (the readers count skipped files and rows)."""
    [extract] = [step for step in pipe.last_trace.steps if step.step == "extract"]
    return extract.counts.get(resource, {})


def test_invalid_json_line_names_file_and_line(make_pipeline: Make, tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n\n{"id": 2\n{"id": 3}\n')
    files = filesystem(str(tmp_path), file_glob="*.jsonl")

    with pytest.raises(dataload.ResourceError, match=r"bad\.jsonl: line 3: invalid JSON"):
        make_pipeline().run(read_jsonl(files))

    pipe = make_pipeline()
    pipe.run(read_jsonl(files, name="lines", on_error="skip"))
    assert _rows(pipe, "lines") == [{"id": 1}, {"id": 3}]
    assert _skips(pipe, "lines") == {"skipped_rows": 1}


def test_csv_row_with_too_many_fields_names_file_and_line(make_pipeline: Make, tmp_path: Path) -> None:
    (tmp_path / "wide.csv").write_text("id,v\n1,a\n2,b,extra\n3,c\n")
    files = filesystem(str(tmp_path))

    with pytest.raises(dataload.ResourceError, match=r"wide\.csv: line 3: expected 2 fields, got 3"):
        make_pipeline().run(read_csv(files))

    pipe = make_pipeline()
    pipe.run(read_csv(files, name="wide", on_error="skip"))
    assert _rows(pipe, "wide") == [{"id": 1, "v": "a"}, {"id": 3, "v": "c"}]
    assert _skips(pipe, "wide") == {"skipped_rows": 1}


def test_a_csv_value_its_inferred_type_cannot_hold_names_the_column(make_pipeline: Make, tmp_path: Path) -> None:
    # the type is inferred from the first block; a later block holding another kind of value stops the file
    (tmp_path / "amounts.csv").write_text("id,amount\n" + "".join(f"{i},{i * 10}\n" for i in range(1, 201))
                                          + "201,abc\n")
    files = filesystem(str(tmp_path))

    with pytest.raises(dataload.ResourceError, match=r"amounts\.csv: cannot be read: column 'amount': Row #202: CSV "
                       r"conversion error to int64: invalid value 'abc' \(.*column_types=\{'amount': \.\.\.\}"):
        make_pipeline().run(read_csv(files, block_size=256))

    as_text = make_pipeline()
    as_text.run(read_csv(files, name="amounts", block_size=256, column_types={"amount": pa.string()}))
    assert _rows(as_text, "amounts") == [{"id": i, "amount": str(i * 10)} for i in range(1, 201)] + [
        {"id": 201, "amount": "abc"}]

    skipping = make_pipeline()
    skipping.run(read_csv(files, name="amounts", block_size=256, on_error="skip"))
    kept = _rows(skipping, "amounts")
    assert 0 < len(kept) < 200 and kept == [{"id": i, "amount": i * 10} for i in range(1, len(kept) + 1)]
    assert _skips(skipping, "amounts") == {"skipped_files": 1}


def test_memory_filesystem_through_fsspec(make_pipeline: Make) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    bucket = f"bucket-{uuid.uuid4().hex[:8]}"
    memory.pipe(f"/{bucket}/in/a.csv", b"id,v\n1,a\n")
    memory.pipe(f"/{bucket}/in/deeper/b.csv.gz", gzip.compress(b"id,v\n2,b\n"))
    try:
        listing = filesystem(f"memory://{bucket}", file_glob="**/*.csv*")
        items = list(listing)
        assert [(i["relative_path"], i["url"]) for i in items] == [
            ("in/a.csv", f"memory:///{bucket}/in/a.csv"), ("in/deeper/b.csv.gz", f"memory:///{bucket}/in/deeper/b.csv.gz")]
        assert all(i["modification_date"].tzinfo is not None for i in items)

        pipe = make_pipeline()
        pipe.run(read_csv(listing, name="mem"))
        assert _rows(pipe, "mem") == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]
    finally:
        memory.rm(f"/{bucket}", recursive=True)


def test_incremental_on_modification_time_reads_new_and_changed_files_once(sql_pipeline: Make,
                                                                           tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    day = datetime.datetime(2024, 3, 1, tzinfo=UTC)
    for n in (1, 2):
        (folder / f"f{n}.csv").write_text(f"id,file\n{n},f{n}\n")
        _touch(folder / f"f{n}.csv", day + datetime.timedelta(hours=n))

    def reader() -> dataload.Resource:
        files = filesystem(str(folder), incremental=dataload.incremental("modification_date"))
        return read_csv(files, name="drops")

    pipe = sql_pipeline("inc")
    pipe.run(reader())
    (folder / "f2.csv").write_text("id,file\n20,f2 changed\n")
    _touch(folder / "f2.csv", day + datetime.timedelta(hours=5))
    (folder / "f3.csv").write_text("id,file\n3,f3\n")
    _touch(folder / "f3.csv", day + datetime.timedelta(hours=4))
    pipe = sql_pipeline("inc")
    pipe.run(reader())
    pipe = sql_pipeline("inc")
    pipe.run(reader())  # nothing new: nothing read

    assert _rows(pipe, "drops") == [{"id": 1, "file": "f1"}, {"id": 2, "file": "f2"}, {"id": 3, "file": "f3"},
                                    {"id": 20, "file": "f2 changed"}]


def test_incremental_on_a_column_inside_the_files(sql_pipeline: Make, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps({"id": i, "ts": f"2024-01-0{i}T00:00:00Z"}) + "\n" for i in (1, 2)))

    def reader() -> dataload.Resource:
        return read_jsonl(filesystem(str(tmp_path), file_glob="*.jsonl"), name="log",
                          incremental=dataload.incremental("ts"))

    pipe = sql_pipeline("col")
    pipe.run(reader())
    with log.open("a") as out:  # the same file grows: only the new rows load
        out.write("".join(json.dumps({"id": i, "ts": f"2024-01-0{i}T00:00:00Z"}) + "\n" for i in (3, 4)))
    pipe = sql_pipeline("col")
    pipe.run(reader())

    assert [row["id"] for row in _rows(pipe, "log")] == [1, 2, 3, 4]


def test_incremental_on_a_csv_column_filters_arrow_batches(make_pipeline: Make, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,seq\n1,10\n2,20\n")
    reader = read_csv(filesystem(str(tmp_path)), name="seqs", incremental=dataload.incremental("seq"))
    pipe = make_pipeline("seq")
    pipe.run(reader)
    (tmp_path / "a.csv").write_text("id,seq\n1,10\n2,20\n3,30\n")
    pipe = make_pipeline("seq")
    pipe.run(read_csv(filesystem(str(tmp_path)), name="seqs", incremental=dataload.incremental("seq")))

    assert _rows(pipe, "seqs") == [{"id": 1, "seq": 10}, {"id": 2, "seq": 20}, {"id": 3, "seq": 30}]


def test_bucket_url_from_config(make_pipeline: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "c.csv").write_text("id\n7\n")
    monkeypatch.setenv("SOURCES__FILESYSTEM__BUCKET_URL", str(tmp_path))

    pipe = make_pipeline()
    pipe.run(read_csv(filesystem(), name="configured"))

    assert _rows(pipe, "configured") == [{"id": 7}]


def test_on_error_is_checked() -> None:
    with pytest.raises(dataload.InvalidConfig, match="on_error"):
        read_csv(filesystem("."), on_error="ignore")  # type: ignore[arg-type]


def test_the_docs_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[3]
    example = (root / "docs" / "filesystem.md").read_text().split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "examples").symlink_to(root / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATALOAD_PIPELINES_DIR", str(tmp_path / "pipelines"))

    exec(compile(example, "docs/filesystem.md", "exec"), {})

    orders = sum(1 for _ in (root / "examples" / "data" / "orders.csv").open()) - 1
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == str(orders)
    assert "customers" in printed[1] and "customers__tags" in printed[1]


def test_listing_piped_into_readers(sql_pipeline: Make, tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text("id,total\n1,9.5\n2,NA\n")
    (tmp_path / "events.jsonl").write_text('{"id": 1, "kind": "open"}\n{"id": 2, "kind": "close"}\n')
    pipe = sql_pipeline("fs_pipe")
    pipe.run([filesystem(str(tmp_path), file_glob="*.csv") | read_csv(name="orders"),
              filesystem(str(tmp_path), file_glob="*.jsonl") | read_jsonl(name="events")])
    assert _rows(pipe, "orders") == [{"id": 1, "total": 9.5}, {"id": 2, "total": None}]
    assert _rows(pipe, "events") == [{"id": 1, "kind": "open"}, {"id": 2, "kind": "close"}]
