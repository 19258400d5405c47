"""The filesystem destination: the conformance suite in every format, plus what only files do."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dataload
from dataload.exceptions import InvalidConfig, MissingConfig, PipelineError, TerminalLoadError, TransientLoadError
from dataload.load.step import RetryPolicy
from dataload.protocol import LoadPackage, PackageFile
from dataload.schema.model import Column, Schema, Table
from dataload.testing import ALL_CHECKS
from dataload.testing.destination_suite import TYPED_HINTS, TYPED_ROWS
from destinations import filesystem
from destinations._filesystem import Filesystem
from destinations._filesystem_layout import Layout, safe_segment
from destinations._filesystem_storage import LocalStorage

MakePipeline = Callable[..., dataload.Pipeline]
FORMATS = ["parquet", "jsonl", "csv"]
NEEDS_MERGE = {"check_merge_upsert_and_children": "needs merge: the filesystem destination declares no merge strategy "
                                                  "(a merge on keys is refused: see test_merge_is_refused_*)"}


def _files(root: Path) -> list[str]:
    """Every file under ``root``, relative, hidden temporary files included."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    return tmp_path / "bucket"


@pytest.fixture
def fs_pipeline(make_pipeline: MakePipeline, bucket: Path) -> MakePipeline:
    """Pipelines on a filesystem destination in ``bucket``, dataset ``ds``."""

    def make(name: str | None = None, **options: Any) -> dataload.Pipeline:
        destination = filesystem(str(bucket), **options)
        return make_pipeline(name, destination=destination, dataset_name="ds")

    return make


# -- the conformance suite, once per file format (and on an fsspec URL) -----------------------------
CHECKS = [pytest.param(check, marks=pytest.mark.skip(reason=NEEDS_MERGE[check.__name__]))
          if check.__name__ in NEEDS_MERGE else check for check in ALL_CHECKS]


def _check_id(check: Any) -> str:
    return str(check.__name__).removeprefix("check_")


@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize("check", CHECKS, ids=_check_id)
def test_conforms(check: Callable[..., None], file_format: str, make_pipeline: MakePipeline, bucket: Path) -> None:
    destination = filesystem(str(bucket), format=file_format)
    dataset = f"ds_{uuid.uuid4().hex[:8]}"
    check(lambda name=None: make_pipeline(name, destination=destination, dataset_name=dataset))


@pytest.mark.parametrize("check", CHECKS, ids=_check_id)
def test_conforms_on_an_fsspec_url(check: Callable[..., None], make_pipeline: MakePipeline) -> None:
    fsspec = pytest.importorskip("fsspec")
    root = f"lake-{uuid.uuid4().hex[:8]}"
    destination = filesystem(f"memory://{root}/data")
    try:
        check(lambda name=None: make_pipeline(name, destination=destination, dataset_name="ds"))
    finally:
        fsspec.filesystem("memory").rm(root, recursive=True)


# -- configuration ----------------------------------------------------------------------------
def test_by_name_with_bucket_url_from_the_environment(make_pipeline: MakePipeline, bucket: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", str(bucket))
    pipe = make_pipeline(destination="filesystem")
    pipe.run([{"id": 1}], table_name="t")
    assert pipe.destination.name == "filesystem"
    (row,) = pipe.dataset().table("t").rows()
    assert [p for p in _files(bucket) if p.startswith("ds/t/")] == [f"ds/t/{row['_dl_load_id']}.00000.parquet"]


def test_without_bucket_url_names_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESTINATION__FILESYSTEM__BUCKET_URL", raising=False)
    with pytest.raises(MissingConfig, match="DESTINATION__FILESYSTEM__BUCKET_URL"):
        Filesystem()


def test_file_url_and_attach(make_pipeline: MakePipeline, bucket: Path, tmp_path: Path) -> None:
    destination = filesystem(bucket.as_uri(), format="csv")
    assert destination.attach_spec() == {"bucket_url": str(bucket), "format": "csv",
                                         "layout": "{dataset}/{table}/{load_id}.{file_id}.{ext}"}
    pipe = make_pipeline("attached", destination=destination, dataset_name="ds")
    pipe.run([{"id": 1}], table_name="t")
    again = dataload.attach("attached", pipelines_dir=tmp_path / "pipelines")
    assert again.destination.name == "filesystem" and again.destination.format == "csv"
    assert again.dataset().table("t").rows()[0]["id"] == 1


def test_attach_spec_and_repr_hide_passwords() -> None:
    pytest.importorskip("fsspec")
    destination = filesystem("memory://user:hunter2@bucket/lake", storage_options={"key": "s3cret"})
    assert "hunter2" not in repr(destination) and "s3cret" not in repr(destination)
    assert destination.attach_spec()["bucket_url"] == "memory://user@bucket/lake"
    assert "storage_options" not in destination.attach_spec()


@pytest.mark.parametrize("options, message", [
    ({"format": "xlsx"}, "use one of parquet, jsonl, csv"),
    ({"layout": "{table}/{load_id}.{file_id}.{ext}"}, "{dataset} must"),
    ({"layout": "{dataset}/{load_id}.{file_id}.{ext}"}, "{table} must appear exactly once"),
    ({"layout": "{dataset}/{table}/{file_id}.{ext}"}, "{load_id} must appear exactly once"),
    ({"layout": "{dataset}/{table}_{load_id}.{file_id}.{ext}"}, "{table} must be followed by '.' or '/'"),
    ({"layout": "{dataset}/../{table}/{load_id}.{file_id}.{ext}"}, "without '..'"),
    ({"layout": "/abs/{dataset}/{table}/{load_id}.{file_id}.{ext}"}, "relative path"),
    ({"layout": "{dataset}/{table}/{load_id}.{file_id}.{ext}.{date}"}, "unknown placeholder {date}"),
    ({"layout": "{dataset}/{table}/{load_id}.{file_id:>3}.{ext}"}, "unknown placeholder {file_id}"),
])
def test_invalid_options_are_refused_when_built(options: dict[str, Any], message: str, bucket: Path) -> None:
    with pytest.raises(InvalidConfig, match=message.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
        filesystem(str(bucket), **options)


def test_non_local_url_without_fsspec_is_a_clear_error(bucket: Path) -> None:
    try:
        import fsspec  # noqa: F401
    except ImportError:
        with pytest.raises(InvalidConfig, match="pip install fsspec"):
            filesystem("s3://bucket/lake")
    else:
        pytest.skip("fsspec is installed here")


# -- layout ----------------------------------------------------------------------------------
@pytest.mark.parametrize("layout, expected", [
    ("{dataset}/{table}/{load_id}.{file_id}.{ext}", "ds/items/{load}.00000.jsonl"),
    ("{dataset}/{table}.{load_id}.{file_id}.{ext}", "ds/items.{load}.00000.jsonl"),
    ("exports/{dataset}/{table}/{load_id}/{file_id}.{ext}", "exports/ds/items/{load}/00000.jsonl"),
    ("{dataset}/{load_id}/{table}/{file_id}.{ext}", "ds/{load}/items/00000.jsonl"),
    ("{dataset}/{table}/{file_id}.{load_id}", "ds/items/00000.{load}"),
])
def test_layout_placeholders(layout: str, expected: str, fs_pipeline: MakePipeline, bucket: Path) -> None:
    pipe = fs_pipeline(layout=layout, format="jsonl")
    first = pipe.run([{"id": 1, "tags": ["a"]}], table_name="items", write_disposition="replace").load_ids[0]
    second = pipe.run([{"id": 2, "tags": ["b"]}], table_name="items", write_disposition="replace").load_ids[0]
    data = [p for p in _files(bucket) if "/_dl_" not in p]
    assert [p for p in data if "__tags" not in p] == [expected.format(load=second)]
    assert len(data) == 2 and not any(first in p for p in data)  # the child table was replaced too
    assert [r["id"] for r in pipe.dataset().table("items").rows()] == [2]
    assert [r["value"] for r in pipe.dataset().table("items__tags").rows()] == ["b"]


def test_layout_parses_only_its_own_files() -> None:
    layout = Layout("{dataset}/{table}/{load_id}.{file_id}.{ext}")
    assert layout.parse("ds", "ds/items/1.5.00001.csv") == ("items", "1.5", "csv")
    assert layout.parse("ds", "ds/items/notes.txt") is None
    assert layout.parse("ds", "other/items/1.5.00001.csv") is None
    assert layout.parse("ds", "ds/items/.1.5.00001.csv.abc.tmp") is None


@pytest.mark.parametrize("name, expected", [
    ("items", "items"),
    ("../../etc", "%2E%2E%2F%2E%2E%2Fetc"),
    ("/etc/passwd", "%2Fetc%2Fpasswd"),
    ("a\x00b", "a%00b"),
    ("a\\b", "a%5Cb"),
    ("..", "%2E%2E"),
    ("c:x*?[y]", "c%3Ax%2A%3F%5By%5D"),
    ("100%", "100%25"),
    ("Zoë 中文", "Zoë 中文"),
])
def test_safe_segment(name: str, expected: str) -> None:
    assert safe_segment(name) == expected


def test_safe_segment_keeps_long_names_distinct_and_short() -> None:
    a, b = safe_segment("/" * 150 + "a"), safe_segment("/" * 150 + "b")
    assert a != b and len(a.encode()) <= 200 and len(b.encode()) <= 200
    assert safe_segment(".hidden.x", keep_dots=True) == "%2Ehidden.x"


# -- formats ---------------------------------------------------------------------------------
def _typed_rows(pipe: dataload.Pipeline) -> list[dict[str, Any]]:
    @dataload.resource(name="typed", columns=TYPED_HINTS, max_table_nesting=0)
    def typed() -> Any:
        yield TYPED_ROWS

    pipe.run(typed())
    return sorted(pipe.dataset().table("typed").rows(), key=lambda r: r["id"])


def test_every_format_reads_back_the_same_values(fs_pipeline: MakePipeline, bucket: Path) -> None:
    read = {}
    for file_format in FORMATS:
        pipe = fs_pipeline(format=file_format)
        rows = _typed_rows(pipe)
        read[file_format] = [{k: v for k, v in r.items() if k not in ("_dl_load_id", "_dl_id", "doc")} for r in rows]
        assert [json.loads(r["doc"]) if r["doc"] else None for r in rows] == [TYPED_ROWS[0]["doc"], None]
        shutil.rmtree(bucket)
    assert read["jsonl"] == read["parquet"] and read["csv"] == read["parquet"]
    assert read["parquet"][0]["txt"] == TYPED_ROWS[0]["txt"] and read["parquet"][0]["blob"] == TYPED_ROWS[0]["blob"]


def test_jsonl_and_csv_files_are_readable_without_dataload(fs_pipeline: MakePipeline, bucket: Path) -> None:
    _typed_rows(fs_pipeline(format="jsonl"))
    (path,) = (bucket / "ds" / "typed").glob("*.jsonl")
    first = json.loads(path.read_text().splitlines()[0])
    assert first["ts"] == "2024-03-01T10:30:15.123456+00:00" and first["amount"] == "1234567.89"
    assert first["doc"] == TYPED_ROWS[0]["doc"] and first["big"] == 2**62
    shutil.rmtree(bucket)
    _typed_rows(fs_pipeline(format="csv"))
    (path,) = (bucket / "ds" / "typed").glob("*.csv")
    assert path.read_text().splitlines()[0].startswith('"amount","id","big"')


# -- write dispositions ------------------------------------------------------------------------
def test_replace_removes_old_files_only_after_new_ones_are_complete(
        fs_pipeline: MakePipeline, bucket: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = fs_pipeline()
    pipe.run([{"id": 1, "tags": ["a"]}, {"id": 2, "tags": ["b"]}], table_name="snap", write_disposition="replace")
    old = {p for p in _files(bucket) if p.startswith(("ds/snap/", "ds/snap__tags/"))}
    events: list[tuple[str, str, list[str]]] = []
    real_write, real_delete = LocalStorage.open_write, LocalStorage.delete

    def open_write(self: LocalStorage, rel: str) -> Any:
        events.append(("write", rel, []))
        return real_write(self, rel)

    def delete(self: LocalStorage, rel: str) -> None:
        events.append(("delete", rel, _files(bucket)))
        real_delete(self, rel)

    monkeypatch.setattr(LocalStorage, "open_write", open_write)
    monkeypatch.setattr(LocalStorage, "delete", delete)
    load_id = pipe.run([{"id": 9}], table_name="snap", write_disposition="replace").load_ids[0]
    kinds = [kind for kind, _, _ in events]
    assert kinds == ["write"] + ["delete"] * len(old) + ["write"] * len(kinds[1 + len(old):])
    assert {rel for kind, rel, _ in events if kind == "delete"} == old  # the child table's files too
    new_file = f"ds/snap/{load_id}.00000.parquet"
    assert all(new_file in present and not any(".tmp" in p for p in present) for kind, _, present in events
               if kind == "delete")
    assert events[-1][1] == f"ds/_dl_loads/{load_id}.jsonl"  # the commit comes last
    assert [r["id"] for r in pipe.dataset().table("snap").rows()] == [9]
    assert pipe.dataset().table("snap__tags").rows() == []


def test_a_crash_before_the_commit_keeps_the_old_rows_and_is_finished_later(
        make_pipeline: MakePipeline, bucket: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = make_pipeline(destination=filesystem(str(bucket)), dataset_name="ds", retry_policy=RetryPolicy(attempts=1))
    pipe.run([{"id": 1}, {"id": 2}], table_name="snap", write_disposition="replace")

    def disk_gone(self: LocalStorage, rel: str) -> None:
        raise OSError("disk went away")

    with monkeypatch.context() as patch:
        patch.setattr(LocalStorage, "delete", disk_gone)
        with pytest.raises(TransientLoadError, match="disk went away"):
            pipe.run([{"id": 3}], table_name="snap", write_disposition="replace")
    assert len([p for p in _files(bucket) if p.startswith("ds/snap/")]) == 2  # new file written, not committed
    assert sorted(r["id"] for r in pipe.dataset().table("snap").rows()) == [1, 2]  # readers see committed loads
    info = pipe.run()  # finishes the pending package
    assert len(info.load_ids) == 1
    assert [r["id"] for r in pipe.dataset().table("snap").rows()] == [3]
    assert len(pipe.dataset().table("_dl_loads").rows()) == 2


def test_merge_is_refused_before_anything_is_written(fs_pipeline: MakePipeline, bucket: Path) -> None:
    pipe = fs_pipeline()
    pipe.run([{"id": 1, "v": "a"}], table_name="users")
    before = _files(bucket)
    with pytest.raises(InvalidConfig) as refused:  # refused at extraction, before normalize or load
        pipe.run([{"id": 1, "v": "b"}], table_name="users", write_disposition="merge", primary_key="id")
    message = str(refused.value)
    assert "table 'users'" in message and "'filesystem'" in message and "cannot merge" in message
    assert "'append' or 'replace'" in message
    assert _files(bucket) == before
    assert pipe.failed_packages() == [] and pipe.pending_packages() == []


def test_merge_without_keys_is_refused(fs_pipeline: MakePipeline, bucket: Path) -> None:
    pipe = fs_pipeline()
    with pytest.raises(InvalidConfig, match="resource 'log' has write_disposition 'merge' but no key"):
        pipe.run([{"id": 1}], table_name="log", write_disposition="merge")
    assert _files(bucket) == [] and pipe.pending_packages() == []


# -- packages ---------------------------------------------------------------------------------
def _package(tmp_path: Path, tables: list[str], load_id: str = "1700000000.000001",
             disposition: str = "append") -> LoadPackage:
    schema = Schema("hand")
    files = []
    for index, name in enumerate(tables):
        schema.tables[name] = Table(name, {"id": Column("id", "bigint"), "_dl_load_id": Column("_dl_load_id", "text")},
                                    write_disposition=disposition)
        path = tmp_path / f"load_{uuid.uuid4().hex[:6]}_{index}.parquet"
        pq.write_table(pa.table({"id": [index], "_dl_load_id": [load_id]}), path)
        files.append(PackageFile(name, 0, path, 1, ["id", "_dl_load_id"]))
    schema.bump_version()
    return LoadPackage(load_id, "hand", schema, files, {"_state_version": 1, "_state_hash": "abc"}, list(tables))


HOSTILE_TABLES = ["../../etc", "/etc/passwd", "a/../../b", "..", ".", "nul\x00byte", "back\\slash", "C:\\windows",
                  "glob*?[x]", "~user", ".hidden"]


def test_table_names_never_write_outside_the_dataset(tmp_path: Path, bucket: Path) -> None:
    package = _package(tmp_path, HOSTILE_TABLES)
    client = filesystem(str(bucket)).client(dataset_name="ds", pipeline_name="hand", local_dir=tmp_path)
    try:
        assert client.load_package(package) is True
        assert client.load_package(package) is False  # idempotent by load id
        for index, name in enumerate(HOSTILE_TABLES):
            assert client.read_table(name).to_pylist() == [{"id": index, "_dl_load_id": package.load_id}]
        assert client.query('SELECT count(*) AS n FROM "../../etc"').to_pylist() == [{"n": 1}]
    finally:
        client.close()
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and bucket not in p.parents and "load_" not in p.name]
    assert outside == []
    tables = {p.split("/")[1] for p in _files(bucket)}
    assert all(len(t.split("/")) == 1 and not t.startswith(".") and "\x00" not in t for t in tables)
    assert len(tables) == len(HOSTILE_TABLES) + 3  # plus _dl_loads, _dl_version, _dl_pipeline_state


def test_hostile_dataset_name_stays_in_the_bucket(tmp_path: Path, bucket: Path) -> None:
    client = filesystem(str(bucket)).client(dataset_name="../../escape", pipeline_name="hand", local_dir=tmp_path)
    client.load_package(_package(tmp_path, ["t"]))
    assert [p.name for p in bucket.iterdir()] == ["%2E.%2F..%2Fescape"]  # one folder: no separator survives


def test_with_table_name_cannot_escape(fs_pipeline: MakePipeline, bucket: Path, tmp_path: Path) -> None:
    pipe = fs_pipeline()
    pipe.run([dataload.with_table_name({"id": 1}, "../../etc"), dataload.with_table_name({"id": 2}, "/abs")],
             table_name="base")
    assert all(p.startswith("ds/") for p in _files(bucket))
    assert not (tmp_path / "etc").exists() and not Path("/abs").exists()
    tables = [t.name for t in pipe.default_schema.data_tables()]
    assert sorted(r["id"] for t in tables for r in pipe.dataset().table(t).rows()) == [1, 2]


def test_reserved_system_table_names_are_refused(tmp_path: Path, bucket: Path) -> None:
    client = filesystem(str(bucket), format="jsonl").client(dataset_name="ds", pipeline_name="h", local_dir=tmp_path)
    with pytest.raises(TerminalLoadError, match="'_dl_loads' is reserved"):
        client.load_package(_package(tmp_path, ["_dl_loads"]))
    assert not bucket.exists()


def test_files_of_a_load_that_never_committed_are_invisible(tmp_path: Path, bucket: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    destination = filesystem(str(bucket))
    client = destination.client(dataset_name="ds", pipeline_name="hand", local_dir=tmp_path)
    client.load_package(_package(tmp_path, ["t"], load_id="1.1"))
    real_write = LocalStorage.open_write

    def crash_on_commit(self: LocalStorage, rel: str) -> Any:
        if "_dl_loads" in rel:
            raise OSError("power cut")
        return real_write(self, rel)

    with monkeypatch.context() as patch:
        patch.setattr(LocalStorage, "open_write", crash_on_commit)
        with pytest.raises(TransientLoadError, match="power cut"):
            client.load_package(_package(tmp_path, ["t"], load_id="2.2"))
    assert client.read_table("t").num_rows == 1
    assert client.stored_state("hand") == {"_state_version": 1, "_state_hash": "abc"}
    assert client.load_package(_package(tmp_path, ["t"], load_id="2.2")) is True  # loaded again, not skipped
    assert client.read_table("t").num_rows == 2
    assert [p for p in _files(bucket) if "/t/" in p] == ["ds/t/1.1.00000.parquet", "ds/t/2.2.00000.parquet"]


# -- state, schema and dropping ----------------------------------------------------------------
def test_state_and_schema_restore_after_deleting_the_working_dir(fs_pipeline: MakePipeline) -> None:
    @dataload.resource(name="events")
    def events(cursor: Any = dataload.incremental("id")) -> Iterator[dict[str, Any]]:
        yield from ({"id": i} for i in range(1, 6) if cursor.last_value is None or i > cursor.last_value)

    pipe = fs_pipeline("restored")
    pipe.run(events())
    shutil.rmtree(pipe.working_dir)
    again = fs_pipeline("restored")
    assert again.sync_destination() is True
    assert "events" in again.default_schema.tables
    again.run(events())  # nothing new: the cursor came back from the destination
    assert sorted(r["id"] for r in again.dataset().table("events").rows()) == [1, 2, 3, 4, 5]


def test_drop_resources_deletes_the_table_folders(fs_pipeline: MakePipeline, bucket: Path) -> None:
    pipe = fs_pipeline()
    pipe.run([{"id": 1, "tags": ["a"]}], table_name="gone")
    pipe.run([{"id": 1}], table_name="kept")
    assert pipe.drop(resources=["gone"]) == ["gone", "gone__tags"]
    assert not (bucket / "ds" / "gone").exists() and not (bucket / "ds" / "gone__tags").exists()
    assert (bucket / "ds" / "kept").exists()
    assert "gone" not in pipe.dataset().query("SELECT view_name FROM duckdb_views()").column("view_name").to_pylist()


@pytest.mark.parametrize("file_format", FORMATS)
def test_dropped_columns_are_removed_from_the_files(file_format: str, fs_pipeline: MakePipeline, bucket: Path) -> None:
    pipe = fs_pipeline(format=file_format)
    pipe.run([{"id": 1, "secret": "x", "note": ""}, {"id": 2, "secret": None, "note": None}], table_name="t")
    pipe.drop_columns("t", ["secret"])
    (path,) = (bucket / "ds" / "t").iterdir()
    assert b"secret" not in path.read_bytes()
    pipe.run([{"id": 3, "secret": "new"}], table_name="t")
    rows = sorted(pipe.dataset().table("t").rows(), key=lambda r: r["id"])
    assert [(r["secret"], r["note"]) for r in rows] == [(None, ""), (None, None), ("new", None)]


# -- reading back ------------------------------------------------------------------------------
def test_dataset_reads_tables_and_answers_sql(fs_pipeline: MakePipeline) -> None:
    pipe = fs_pipeline(format="csv")
    pipe.run([{"id": 1, "name": "a", "tags": ["x", "y"]}, {"id": 2, "name": "b"}], table_name="items")
    dataset = pipe.dataset()
    assert dataset.tables == ["items", "items__tags"]
    assert dataset["items"].arrow().schema.field("id").type == pa.int64()
    joined = dataset.query('SELECT i.name, t.value FROM items AS i JOIN items__tags AS t ON t._dl_parent_id = i._dl_id '
                           "WHERE i.id = ? ORDER BY t._dl_list_idx", [1])
    assert joined.to_pylist() == [{"name": "a", "value": "x"}, {"name": "a", "value": "y"}]
    assert dataset.row_counts() == {"items": 2, "items__tags": 2}
    with pipe.sql_client() as sql:
        assert sql.execute("SELECT count(*) FROM _dl_loads").fetchall() == [(1,)]


def test_reading_an_unknown_table_names_it(fs_pipeline: MakePipeline) -> None:
    pipe = fs_pipeline()
    pipe.run([{"id": 1}], table_name="t")
    with pytest.raises(PipelineError, match="'nope'"):
        pipe.dataset().table("nope").rows()


def test_any_fsspec_url(make_pipeline: MakePipeline) -> None:
    fsspec = pytest.importorskip("fsspec")
    url = f"memory://lake-{uuid.uuid4().hex[:8]}/data"
    pipe = make_pipeline("remote", destination=filesystem(url, format="jsonl"), dataset_name="ds")
    pipe.run([{"id": 1, "tags": ["a"]}], table_name="items", write_disposition="replace")
    pipe.run([{"id": 2, "tags": ["b"]}], table_name="items", write_disposition="replace")
    memory = fsspec.filesystem("memory")
    root = url.removeprefix("memory://")
    assert len(memory.find(f"{root}/ds/items")) == 1
    assert [r["id"] for r in pipe.dataset().table("items").rows()] == [2]
    assert pipe.dataset().query("SELECT count(*) AS n FROM items__tags").to_pylist() == [{"n": 1}]
    shutil.rmtree(pipe.working_dir)
    again = make_pipeline("remote", destination=filesystem(url, format="jsonl"), dataset_name="ds")
    assert again.sync_destination() is True
    memory.rm(root, recursive=True)


def test_relative_bucket_url_is_resolved_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    destination = filesystem("lake")
    assert destination.bucket_url == str(tmp_path / "lake")
    assert os.path.isabs(destination.attach_spec()["bucket_url"])
