"""The destination protocol: what a destination must have is checked when a pipeline is made, each
destination loads from what the package says (``PackageFile.chunk``, not a file path), and hints no
destination keeps are refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.exceptions import InvalidConfig
from dataload.protocol import Destination, LoadPackage, PackageFile
from dataload.schema.model import LOAD_ID, ROW_ID, Column, Schema, Table
from destinations import duckdb, filesystem, postgres, sqlalchemy
from destinations.sql import quote


class Partial:
    """A destination written against an older protocol: no check_dataset_name(), no attach_spec()."""

    def __init__(self, inner: Any) -> None:
        self.name, self.capabilities, self.inner = inner.name, inner.capabilities, inner

    def client(self, **options: Any) -> Any:
        return self.inner.client(**options)


def test_a_destination_missing_a_protocol_method_is_refused_naming_it(make_pipeline, tmp_path):
    with pytest.raises(InvalidConfig) as caught:
        make_pipeline(destination=Partial(duckdb(str(tmp_path / "x.duckdb"))))
    assert "attach_spec" in str(caught.value) and "check_dataset_name" in str(caught.value)


def test_every_destination_of_ours_implements_the_whole_protocol(tmp_path):
    @dataload.destination
    def sink(items: Any, table: Any) -> None:
        pass

    made = [duckdb(str(tmp_path / "x.duckdb")), filesystem(str(tmp_path / "lake")), sink,
            sqlalchemy(f"sqlite:///{tmp_path / 'main.db'}")]
    for destination in made:
        assert isinstance(destination, Destination), destination
        destination.check_dataset_name("fine_name")
        assert isinstance(destination.attach_spec(), dict)
    assert sink.attach_spec() == {}


@pytest.fixture(params=["duckdb", "postgres"])
def sql_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    dataset = f"ds_{uuid.uuid4().hex[:8]}"
    admin = postgres_connection() if request.param == "postgres" else None
    destination = postgres(POSTGRES_URL) if admin is not None else duckdb(str(tmp_path / "db.duckdb"))
    client = destination.client(dataset_name=dataset, pipeline_name="p", local_dir=tmp_path)
    yield client
    client.close()
    if admin is not None:
        admin.execute(f"DROP SCHEMA IF EXISTS {quote(dataset)} CASCADE")
        admin.close()


def _file(folder: Path, name: str, chunk: int, rows: list[dict[str, Any]], load_id: str) -> PackageFile:
    """A Parquet load file anywhere: its chunk is what the package says, whatever its path says."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([{**row, LOAD_ID: load_id} for row in rows])
    pq.write_table(table, path)
    return PackageFile("t", chunk, path, len(rows), table.column_names)


def test_a_merge_takes_the_later_chunk_from_the_package_not_the_path(sql_client, tmp_path):
    columns = {c.name: c for c in (Column("id", "bigint", nullable=False, primary_key=True), Column("v", "text"),
                                   Column(ROW_ID, "text"), Column(LOAD_ID, "text"))}
    schema = Schema("s", {"t": Table("t", columns, write_disposition="merge")}, 1, "h1")
    load_id = "1700000000.1"
    files = [_file(tmp_path, "3/newer.parquet", 1, [{"id": 1, "v": "new", ROW_ID: "r2"}], load_id),
             _file(tmp_path, "9/older.parquet", 0, [{"id": 1, "v": "old", ROW_ID: "r1"},
                                                    {"id": 2, "v": "only", ROW_ID: "r3"}], load_id)]
    package = LoadPackage(load_id, "p", schema, files, None, tables=["t"], folder=tmp_path)
    assert sql_client.load_package(package)
    rows = sql_client.read_table("t").to_pylist()
    assert sorted((r["id"], r["v"]) for r in rows) == [(1, "new"), (2, "only")]


@pytest.mark.parametrize("declare", [
    lambda: dataload.resource([{"id": 1}], name="r", columns={"id": {"unique": True}}),
    lambda: dataload.resource([{"id": 1}], name="r").apply_hints(columns=[{"name": "id", "unique": True}]),
])
def test_the_unique_hint_is_refused_with_what_to_use_instead(declare: Callable[[], Any]):
    with pytest.raises(InvalidConfig) as caught:
        declare()
    message = str(caught.value)
    assert "'id'" in message and "unique" in message and "primary_key" in message


def test_a_schema_file_with_the_unique_hint_is_refused_naming_the_file(make_pipeline, tmp_path):
    imports = tmp_path / "import"
    imports.mkdir()
    pipe = make_pipeline("files", import_schema_path=imports)
    (imports / "files.schema.yaml").write_text(
        "name: files\ntables:\n- name: t\n  columns:\n  - name: id\n    data_type: bigint\n    unique: true\n")
    with pytest.raises(InvalidConfig) as caught:
        pipe.run([{"id": 1}], table_name="t")
    assert "files.schema.yaml" in str(caught.value) and "unique" in str(caught.value)


def test_a_stored_schema_that_still_holds_the_unique_hint_is_read():
    """Schemas written before the hint was refused (it was never enforced) read back without it."""
    schema = Schema.from_dict({"name": "s", "tables": [{"name": "t", "columns": [
        {"name": "id", "data_type": "bigint", "unique": True}]}]})
    assert schema.tables["t"].columns["id"].data_type == "bigint"
