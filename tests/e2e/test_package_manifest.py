"""A package left pending across an upgrade: today's manifest (no ``format_version``) is read and
loaded; a manifest of an unknown format is refused with a message naming the package and what to do."""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dataload
from dataload.exceptions import PackageFormatError
from dataload.package.manifest import FORMAT_VERSION, Manifest, TableHintsRecord
from dataload.schema.model import Column

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "packages"
ROWS = [{"id": 1, "name": "ada", "score": "1.50"}, {"id": 2, "name": "bob", "score": "2.25"}]


def users() -> dataload.Resource:
    """The resource the fixtures were written from (by dataload before ``format_version`` existed)."""

    @dataload.resource(name="users", write_disposition="merge", primary_key="id",
                       columns={"score": {"data_type": "decimal", "precision": 10, "scale": 2}})
    def users_resource() -> Any:
        yield ROWS

    return users_resource()


def package_folder(pipe: dataload.Pipeline, stage: str) -> Path:
    (folder,) = (pipe.working_dir / "packages" / stage).iterdir()
    return folder


def put_fixture(folder: Path, name: str) -> None:
    """Replace the package's manifest by the fixture ``name`` (with the package's own load id and state)."""
    written = json.loads((folder / "package.json").read_text())
    old = json.loads((FIXTURES / name).read_text())
    assert "format_version" not in old
    old.update(load_id=written["load_id"], state=written["state"])
    (folder / "package.json").write_text(json.dumps(old))


def loaded_rows(pipe: dataload.Pipeline) -> list[tuple[Any, ...]]:
    """The rows of ``users`` as the destination holds them (read back through it)."""
    rows = pipe.dataset()["users"].rows()
    return sorted((r["id"], r["name"], r["score"]) for r in rows)


EXPECTED = [(1, "ada", decimal.Decimal("1.50")), (2, "bob", decimal.Decimal("2.25"))]


@pytest.mark.parametrize("stage, fixture", [("extracted", "format_1_extracted.json"),
                                            ("normalized", "format_1_normalized.json")])
def test_a_package_written_before_format_version_is_read_and_loaded(
        sql_pipeline: Callable[..., dataload.Pipeline], stage: str, fixture: str) -> None:
    pipe = sql_pipeline()
    pipe.extract(users())
    if stage == "normalized":
        pipe.normalize()
    put_fixture(package_folder(pipe, stage), fixture)

    info = pipe.run()

    assert info.load_ids and not pipe.pending_packages()
    assert loaded_rows(pipe) == EXPECTED
    table = pipe.default_schema.tables["users"]
    assert table.write_disposition == "merge" and table.key_columns("primary_key") == ["id"]
    assert (table.columns["score"].precision, table.columns["score"].scale) == (10, 2)


@pytest.mark.parametrize("stage", ["extracted", "normalized"])
def test_a_package_of_an_unknown_format_is_refused_naming_it(
        sql_pipeline: Callable[..., dataload.Pipeline], stage: str) -> None:
    pipe = sql_pipeline()
    load_id = pipe.extract(users())
    if stage == "normalized":
        pipe.normalize()
    folder = package_folder(pipe, stage)
    manifest = json.loads((folder / "package.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    manifest["format_version"] = FORMAT_VERSION + 1
    (folder / "package.json").write_text(json.dumps(manifest))

    with pytest.raises(PackageFormatError) as refused:
        pipe.run()

    message = str(refused.value)
    assert refused.value.load_id == load_id
    assert load_id in message and str(folder) in message and f"format {FORMAT_VERSION + 1}" in message
    assert "dataload version that wrote it" in message and "delete the folder" in message
    assert pipe.pending_packages() == [load_id]  # nothing was lost or half-done


def test_the_manifest_round_trips_through_its_json_form(tmp_path: Path) -> None:
    hints = TableHintsRecord("users", "merge", "upsert", ["id"], ["day"], [Column("score", "decimal", precision=10,
                             scale=2)], {"columns": "freeze"}, 2, {"type": "object"})
    manifest = Manifest("1.5", {"users": hints}, [("000000.segment", "users")], {"_state_version": 3},
                        {"users": 2}, [{"table": "users", "path": "files/x"}], {"users": 2}, ["added table users"],
                        {"users": 1}, {"users.x": 1})
    assert Manifest.from_dict(json.loads(json.dumps(manifest.to_dict())), where=tmp_path) == manifest
