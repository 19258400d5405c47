"""Schema evolution, declared schemas, schema files and version history, read back from DuckDB."""

from __future__ import annotations

import datetime
import json

import pytest
import yaml

import dataload


def columns_of(pipe, table):
    with pipe.sql_client() as sql:
        return dict(sql.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_schema = ? AND table_name = ?", [pipe.dataset_name, table]).fetchall())


def rows_of(pipe, table, key="id"):
    return sorted(pipe.dataset().table(table).rows(), key=lambda r: r[key])


def test_new_field_adds_a_nullable_column_without_losing_rows(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"id": 1}], table_name="t")
    info = pipe.run([{"id": 2, "extra": "x", "items": [1]}], table_name="t",
                    columns={"extra": {"nullable": False}})
    assert {r["id"]: r["extra"] for r in rows_of(pipe, "t")} == {1: None, 2: "x"}
    with pipe.sql_client() as sql:
        nullable = sql.execute("SELECT is_nullable FROM information_schema.columns WHERE table_schema = ? "
                               "AND table_name = 't' AND column_name = 'extra'", [pipe.dataset_name]).fetchall()
    assert nullable == [("YES",)]
    assert "added column t.extra text" in info.schema_changes
    assert "added table t__items" in info.schema_changes


def test_variant_creation_is_reported(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"id": 1, "n": 1}], table_name="t")
    info = pipe.run([{"id": 2, "n": "two"}], table_name="t")
    assert "added variant column (values of column n) t.n__v_text text" in info.schema_changes
    assert columns_of(pipe, "t")["n__v_text"] == "VARCHAR"


def test_a_hint_changing_an_existing_type_is_refused_before_loading(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"id": 1, "n": 1}], table_name="t")
    with pytest.raises(dataload.SchemaError, match="'n'.*conflicts with the existing type 'bigint'"):
        pipe.run([{"id": 2, "n": 2}], table_name="t", columns={"n": {"data_type": "text"}})
    assert [r["id"] for r in rows_of(pipe, "t")] == [1]
    assert columns_of(pipe, "t")["n"] == "BIGINT"


def test_drop_columns_retires_them_until_data_brings_them_back(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"id": 1, "old": "a", "keep": 1}], table_name="t")
    pipe.drop_columns("t", ["old"])
    assert "old" not in columns_of(pipe, "t") and "old" not in pipe.default_schema.tables["t"].columns
    pipe.run([{"id": 2, "keep": 2}], table_name="t")
    assert "old" not in columns_of(pipe, "t")
    pipe.run([{"id": 3, "old": "back"}], table_name="t")
    assert {r["id"]: r["old"] for r in rows_of(pipe, "t")} == {1: None, 2: None, 3: "back"}
    with pytest.raises(dataload.DataloadError, match="no droppable column 'nope'"):
        pipe.drop_columns("t", ["nope"])


def test_every_schema_change_is_a_version_in_dl_version(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"id": 1}], table_name="t")
    pipe.run([{"id": 2}], table_name="t")
    pipe.run([{"id": 3, "b": True}], table_name="t")
    pipe.drop_columns("t", ["b"])
    versions = sorted(pipe.dataset().table("_dl_version").rows(), key=lambda r: r["version"])
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [c["name"] for c in json.loads(versions[1]["schema"])["tables"][0]["columns"]].count("b") == 1
    assert versions[2]["version_hash"] == pipe.default_schema.version_hash
    assert versions[2]["version_hash"] == versions[0]["version_hash"]  # same content as version 1 again


JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "email"],
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": "string", "pattern": "@"},
        "joined": {"type": "string", "format": "date-time"},
        "score": {"type": ["number", "null"]},
    },
}
ROWS = [{"id": 1, "email": "a@x", "joined": "2024-01-01T00:00:00Z", "score": 1.5},
        {"id": 2, "email": "b@x", "score": "high"},
        {"id": 3, "email": "c@x", "score": None},
        {"id": 4, "email": "broken"}]


def test_json_schema_columns_become_hints(make_pipeline):
    pipe = make_pipeline()
    pipe.run(ROWS, table_name="people", columns=JSON_SCHEMA)
    types = columns_of(pipe, "people")
    assert (types["id"], types["joined"], types["score"]) == ("BIGINT", "TIMESTAMP WITH TIME ZONE", "DOUBLE")
    assert not pipe.default_schema.tables["people"].columns["email"].nullable
    assert len(rows_of(pipe, "people")) == 4  # evolve: invalid rows still load (and are logged)
    assert pipe.default_schema.json_schema("people")["properties"]["joined"] == \
        {"type": ["string", "null"], "format": "date-time"}


@pytest.mark.parametrize("mode, ids, scores, discarded_rows, discarded_values", [
    ("discard_row", [1, 3], [1.5, None], 2, 0),
    ("discard_value", [1, 2, 3], [1.5, None, None], 1, 1),  # a required field's row goes whole
])
def test_json_schema_failures_follow_the_data_type_contract(make_pipeline, mode, ids, scores, discarded_rows,
                                                           discarded_values):
    pipe = make_pipeline()
    info = pipe.run(ROWS, table_name="people", columns=JSON_SCHEMA, schema_contract={"data_type": mode})
    got = rows_of(pipe, "people")
    assert [r["id"] for r in got] == ids and [r["score"] for r in got] == scores
    assert info.discarded_rows.get("people", 0) == discarded_rows
    assert info.discarded_values.get("people", 0) == discarded_values


def test_json_schema_freeze_names_row_field_and_rule(make_pipeline):
    pipe = make_pipeline()
    with pytest.raises(dataload.DataContractViolation) as caught:
        pipe.run(ROWS, table_name="people", columns=JSON_SCHEMA, schema_contract={"data_type": "freeze"})
    message = str(caught.value)
    assert "row 1" in message and "'score'" in message and "'type'" in message
    assert "people" not in pipe.dataset().tables


def test_pydantic_model_as_columns(make_pipeline):
    pydantic = pytest.importorskip("pydantic")

    class Person(pydantic.BaseModel):
        id: int
        name: str
        born: datetime.date | None = None

    pipe = make_pipeline()
    pipe.run([{"id": 1, "name": "Ann", "born": "1990-05-01"}, {"id": 2, "name": "Bob"}], table_name="p",
             columns=Person)
    types = columns_of(pipe, "p")
    assert (types["id"], types["name"], types["born"]) == ("BIGINT", "VARCHAR", "DATE")
    assert rows_of(pipe, "p")[0]["born"] == datetime.date(1990, 5, 1)


def test_schema_file_round_trip_pins_types_and_keys(make_pipeline, tmp_path):
    export_dir, import_dir = tmp_path / "export", tmp_path / "import"
    pipe = make_pipeline("files", export_schema_path=export_dir, import_schema_path=import_dir)
    pipe.run([{"id": 1, "code": "007", "gone": "x"}], table_name="t", write_disposition="replace")
    exported = yaml.safe_load((export_dir / "files.schema.yaml").read_text())
    table = next(t for t in exported["tables"] if t["name"] == "t")
    for column in table["columns"]:
        if column["name"] == "id":
            column["primary_key"] = True
            column["nullable"] = False
    table["columns"] = [c for c in table["columns"] if c["name"] != "gone"]
    table["columns"].append({"name": "amount", "data_type": "decimal", "precision": 10, "scale": 2})
    import_dir.mkdir()
    (import_dir / "files.schema.yaml").write_text(yaml.safe_dump(exported))

    pipe.run([{"id": 1, "code": "008", "amount": 5}, {"id": 2, "code": "9", "amount": "1.25"}],
             table_name="t", write_disposition="replace")
    types = columns_of(pipe, "t")
    assert "gone" not in types and types["amount"] == "DECIMAL(10,2)"
    assert {r["id"]: (r["code"], str(r["amount"])) for r in rows_of(pipe, "t")} == \
        {1: ("008", "5.00"), 2: ("9", "1.25")}
    assert pipe.default_schema.tables["t"].columns["id"].primary_key
    reexported = yaml.safe_load((export_dir / "files.schema.yaml").read_text())
    assert any(c["name"] == "amount" for t in reexported["tables"] for c in t["columns"])


def test_schema_file_pin_conflicting_with_data_is_refused(make_pipeline, tmp_path):
    import_dir = tmp_path / "import"
    import_dir.mkdir()
    pipe = make_pipeline("pins", import_schema_path=import_dir)
    pipe.run([{"id": 1, "n": 1}], table_name="t")
    schema = pipe.default_schema.to_dict()
    next(c for t in schema["tables"] for c in t["columns"] if c["name"] == "n")["data_type"] = "text"
    (import_dir / "pins.schema.yaml").write_text(yaml.safe_dump(schema))
    with pytest.raises(dataload.SchemaError, match="pinned to 'text'"):
        pipe.run([{"id": 2, "n": 2}], table_name="t")
    assert [r["id"] for r in rows_of(pipe, "t")] == [1]
