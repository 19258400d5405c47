"""Imported schema files are validated before use: a bad file is refused naming the file and the key,
and nothing of it is kept, so fixing the file is enough."""

from __future__ import annotations

import pytest
import yaml

import dataload
from dataload.exceptions import InvalidConfig


def valid_document(pipe: dataload.Pipeline) -> dict:
    return pipe.default_schema.to_dict()


def with_column(document: dict, column: dict) -> dict:
    next(t for t in document["tables"] if t["name"] == "t")["columns"].append(column)
    return document


BAD_FILES = [  # (what the user wrote, the key path the error names, words the error holds)
    pytest.param(lambda d: yaml.safe_dump({**d, "tables": 5}), "tables", "is not of type 'array'", id="tables-int"),
    pytest.param(lambda d: yaml.safe_dump({**d, "tables": [{"name": "t", "columns": 3}]}), "tables[0].columns",
                 "is not of type 'array'", id="columns-int"),
    pytest.param(lambda d: yaml.safe_dump(with_column(d, {"name": "extra", "data_type": "integer"})),
                 "tables[0].columns[", "'integer' is not one of", id="unknown-data-type"),
    pytest.param(lambda d: yaml.safe_dump(with_column(d, {"name": "extra", "primary_keys": True})),
                 "tables[0].columns[", "'primary_keys'", id="misspelt-hint"),
    pytest.param(lambda d: yaml.safe_dump(with_column(d, {"name": "extra", "precision": "ten"})),
                 "tables[0].columns[", "'ten' is not of type", id="precision-text"),
    pytest.param(lambda d: yaml.safe_dump([d]), "(top level)", "is not of type 'object'", id="a-list"),
    pytest.param(lambda d: "name: x\ntables: !!python/object/apply:os.system ['true']\n", "line 2",
                 "not a plain YAML document", id="yaml-tag"),
    pytest.param(lambda d: "name: x\ntables: [\n", "line", "not valid YAML", id="yaml-syntax"),
]


@pytest.mark.parametrize("write, key, words", BAD_FILES)
def test_a_bad_schema_file_is_refused_naming_file_and_key_and_nothing_is_kept(make_pipeline, tmp_path, write,
                                                                              key, words):
    import_dir = tmp_path / "import"
    import_dir.mkdir()
    pipe = make_pipeline("files", import_schema_path=import_dir)
    pipe.run([{"id": 1, "n": 10}], table_name="t")
    live = pipe.default_schema.to_dict()
    path = import_dir / "files.schema.yaml"
    path.write_text(write(valid_document(pipe)))

    with pytest.raises(InvalidConfig) as caught:
        pipe.run([{"id": 2, "n": 20}], table_name="t")
    assert str(path) in str(caught.value) and key in str(caught.value) and words in str(caught.value)
    assert pipe.default_schema.to_dict() == live  # nothing of the refused file was saved
    assert sorted(r["id"] for r in pipe.dataset().table("t").rows()) == [1]

    fixed = with_column(valid_document(pipe), {"name": "note", "data_type": "text"})
    next(c for t in fixed["tables"] for c in t["columns"] if c["name"] == "n")["data_type"] = "bigint"
    path.write_text(yaml.safe_dump(fixed))  # the fixed file is applied: nothing of the bad one lingers
    pipe.run([{"id": 3, "n": 30, "note": "ok"}], table_name="t")
    rows = {r["id"]: (r["n"], r.get("note")) for r in pipe.dataset().table("t").rows()}
    assert rows == {1: (10, None), 2: (20, None), 3: (30, "ok")}
    assert pipe.default_schema.tables["t"].columns["note"].data_type == "text"


def test_the_file_format_accepts_every_field_a_schema_writes():
    """What :meth:`Schema.to_dict` writes must pass the file's JSON Schema, or an exported file
    could not be imported again: every field of Column and Table set to a non-default value."""
    import dataclasses

    import jsonschema

    from dataload.schema.files import SCHEMA_FILE_FORMAT
    from dataload.schema.model import Column, Schema, Table

    column = Column("n", "bigint", nullable=False, primary_key=True, merge_key=True, precision=32,
                    scale=0, variant_of="m", source_key=("N",))
    table = Table("t", {"n": column}, write_disposition="merge", merge_strategy="upsert", parent="p",
                  resource="r", schema_contract={"columns": "freeze"}, source_key=("items",))
    for value, default in ((column, Column("n")), (table, Table("t"))):
        unset = [f.name for f in dataclasses.fields(value) if getattr(value, f.name) == getattr(default, f.name)]
        assert unset == ["name"], f"set {unset} too, so the format is checked for them"
    jsonschema.validate(Schema("s", {"t": table}, 1, "abc").to_dict(), SCHEMA_FILE_FORMAT)
