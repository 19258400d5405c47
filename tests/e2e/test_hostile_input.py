"""Hostile input: data nested 10,000 levels deep, a 100 MB record, paths taken from data, and YAML
files (a schema file, an OpenAPI document) that would run code or expand without end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dataload
from destinations import filesystem
from sources.rest_api import openapi_config

Make = Callable[..., dataload.Pipeline]


def nested_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"n": value}
    return value


def nested_list(depth: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("deep", [nested_dict(10_000), nested_list(10_000)], ids=["dict", "list"])
def test_data_nested_ten_thousand_levels_is_a_clear_error_naming_the_table(make_pipeline: Make, deep: Any) -> None:
    pipe = make_pipeline()
    with pytest.raises(dataload.ExtractError, match=r"table 'events'.* nested too deep to store even as JSON"):
        pipe.run([{"id": 1, "deep": deep}], table_name="events")
    pipe.run([{"id": 2, "deep": nested_dict(40)}], table_name="events")  # the pipeline is not left stuck
    (row,) = pipe.dataset().table("events").rows()
    assert row["id"] == 2


def test_data_nested_deeper_than_json_columns_start_is_kept_as_json(make_pipeline: Make) -> None:
    pipe = make_pipeline()
    pipe.run([{"id": 1, "deep": nested_dict(300)}], table_name="events")
    (row,) = pipe.dataset().table("events").rows()
    json_columns = [name for name, value in row.items() if isinstance(value, str) and '"leaf": 1' in value]
    assert len(json_columns) == 1
    assert row[json_columns[0]].count('{"n": ') == 300 - 31  # the levels below the 32nd, as JSON text


def test_a_100_mb_record_loads_whole(make_pipeline: Make) -> None:
    text = "0123456789" * 10_000_000
    pipe = make_pipeline()
    pipe.run([{"id": 1, "body": text}], table_name="big")
    with pipe.sql_client() as sql:
        assert sql.execute('SELECT length(body), md5(body) = md5(repeat(\'0123456789\', 10000000)) '
                           'FROM "ds"."big"').fetchall() == [(100_000_000, True)]


def test_paths_from_data_stay_inside_the_bucket(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    pipe = dataload.pipeline("paths", destination=filesystem(str(bucket)), dataset_name="../../escape",
                             pipelines_dir=tmp_path / "pipelines")
    pipe.run([{"id": 1, "../../key": "a", "sub": [{"/etc/passwd": "b"}]}], table_name="../../../t/../x")
    pipe.run([{"id": 2}], table_name="..")
    outside = [p for p in tmp_path.rglob("*") if p.is_file()
               and not p.is_relative_to(bucket) and not p.is_relative_to(tmp_path / "pipelines")]
    assert outside == []
    rows = {t.name: pipe.dataset().table(t.name).rows() for t in pipe.default_schema.data_tables() if t.parent is None}
    assert sorted((name, row["id"]) for name, table in rows.items() for row in table if "id" in row) == [
        ("_", 2), ("_t_x", 1)]


def billion_laughs() -> str:
    """Nine aliases of nine aliases ... of a short list: 9**9 values when read as plain data."""
    levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi"):
        levels.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(levels) + "\n"


HOSTILE_YAML = [  # (the document, given the marker file its code would create; the words the error holds)
    pytest.param(lambda marker: f"name: x\ntables: !!python/object/apply:os.system ['touch {marker}']\n",
                 "line 2, column 9: not a plain YAML document (tags are not allowed)", id="python-tag"),
    pytest.param(lambda marker: f"!!python/object/apply:subprocess.check_call [['touch', '{marker}']]\n",
                 "line 1, column 1: not a plain YAML document (tags are not allowed)", id="python-subprocess"),
    pytest.param(lambda marker: billion_laughs() + "name: x\ntables: [*i]\n",
                 "line 6, column 4: not valid YAML: aliases of the node anchored here make the document larger "
                 "than its text by more than 1,000,000 nodes", id="billion-laughs"),
    pytest.param(lambda marker: "name: x\ntables: &t [{name: t, columns: *t}]\n",
                 "line 2, column 9: not valid YAML: the node anchored here holds an alias of itself", id="recursive"),
]


@pytest.mark.parametrize("document, words", HOSTILE_YAML)
def test_a_hostile_schema_file_is_refused_naming_the_file_and_nothing_runs(make_pipeline: Make, tmp_path: Path,
                                                                          document: Any, words: str) -> None:
    import_dir, marker = tmp_path / "import", tmp_path / "ran.marker"
    import_dir.mkdir()
    pipe = make_pipeline("files", import_schema_path=import_dir)
    pipe.run([{"id": 1}], table_name="t")
    path = import_dir / "files.schema.yaml"
    path.write_text(document(marker))
    with pytest.raises(dataload.InvalidConfig) as refused:
        pipe.run([{"id": 2}], table_name="t")
    assert str(refused.value).startswith(f"schema file {path}: ") and words in str(refused.value)
    assert not marker.exists()
    assert [row["id"] for row in pipe.dataset().table("t").rows()] == [1]


@pytest.mark.parametrize("document, words", HOSTILE_YAML)
def test_a_hostile_openapi_document_is_refused_naming_the_file_and_nothing_runs(tmp_path: Path, document: Any,
                                                                               words: str) -> None:
    path, marker = tmp_path / "spec.yaml", tmp_path / "ran.marker"
    path.write_text(document(marker))
    with pytest.raises(dataload.InvalidConfig) as refused:
        openapi_config(path)
    assert str(refused.value).startswith(f"the OpenAPI document {str(path)!r} is not valid YAML: ")
    assert not marker.exists()
