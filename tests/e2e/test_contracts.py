"""Schema contracts: every cell of the mode × entity table, read back from DuckDB."""

from __future__ import annotations

import pytest

import dataload


def rows_of(pipe, table, key="id"):
    return sorted(pipe.dataset().table(table).rows(), key=lambda r: r[key])


def columns_of(pipe, table):
    with pipe.sql_client() as sql:
        return {c for (c,) in sql.execute("SELECT column_name FROM information_schema.columns "
                                          "WHERE table_schema = ? AND table_name = ?",
                                          [pipe.dataset_name, table]).fetchall()}


def tables_of(pipe):
    with pipe.sql_client() as sql:
        return {t for (t,) in sql.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                                          [pipe.dataset_name]).fetchall()}


@pytest.mark.parametrize("mode, created, rows", [
    ("evolve", True, [1, 2]),
    ("freeze", False, None),
    ("discard_row", False, []),
    ("discard_value", False, []),
])
def test_new_table(make_pipeline, mode, created, rows):
    pipe = make_pipeline()
    pipe.run([{"id": 0}], table_name="existing")
    data = [{"id": 1}, {"id": 2}]
    if mode == "freeze":
        with pytest.raises(dataload.DataContractViolation) as caught:
            pipe.run(data, table_name="fresh", schema_contract={"tables": "freeze"})
        assert caught.value.table == "fresh" and caught.value.entity == "tables"
        assert "fresh" in str(caught.value) and "tables=freeze" in str(caught.value)
    else:
        info = pipe.run(data, table_name="fresh", schema_contract={"tables": mode})
        if mode != "evolve":
            assert info.discarded_rows == {"fresh": 2} and "discarded 2 row(s) of fresh" in str(info)
    assert ("fresh" in tables_of(pipe)) is created
    if created:
        assert [r["id"] for r in rows_of(pipe, "fresh")] == rows


@pytest.mark.parametrize("mode, expected_ids, extra_values", [
    ("evolve", [0, 1, 2], {1: "x", 2: None}),
    ("freeze", [0], None),
    ("discard_row", [0, 2], None),
    ("discard_value", [0, 1, 2], None),
])
def test_new_column(make_pipeline, mode, expected_ids, extra_values):
    pipe = make_pipeline()
    pipe.run([{"id": 0, "name": "a"}], table_name="t")
    data = [{"id": 1, "name": "b", "extra": "x"}, {"id": 2, "name": "c"}]
    if mode == "freeze":
        with pytest.raises(dataload.DataContractViolation) as caught:
            pipe.run(data, table_name="t", schema_contract={"columns": "freeze"})
        assert (caught.value.table, caught.value.column, caught.value.mode) == ("t", "extra", "freeze")
        assert "'x'" in str(caught.value)
    else:
        info = pipe.run(data, table_name="t", schema_contract={"columns": mode})
        if mode == "discard_row":
            assert info.discarded_rows == {"t": 1}
        if mode == "discard_value":
            assert info.discarded_values == {"t": 1}
    assert [r["id"] for r in rows_of(pipe, "t")] == expected_ids
    assert ("extra" in columns_of(pipe, "t")) is (extra_values is not None)
    if extra_values:
        assert {r["id"]: r["extra"] for r in rows_of(pipe, "t") if r["id"]} == extra_values


@pytest.mark.parametrize("mode, expected", [
    ("evolve", {0: (0, None), 1: (None, "oops"), 2: (2, None)}),
    ("freeze", {0: (0, None)}),
    ("discard_row", {0: (0, None), 2: (2, None)}),
    ("discard_value", {0: (0, None), 1: (None, None), 2: (2, None)}),
])
def test_value_of_a_new_type(make_pipeline, mode, expected):
    pipe = make_pipeline()
    pipe.run([{"id": 0, "n": 0}], table_name="t")
    data = [{"id": 1, "n": "oops"}, {"id": 2, "n": 2}]
    if mode == "freeze":
        with pytest.raises(dataload.DataContractViolation) as caught:
            pipe.run(data, table_name="t", schema_contract={"data_type": "freeze"})
        assert (caught.value.column, caught.value.entity) == ("n", "data_type")
        assert "'oops'" in str(caught.value)
    else:
        pipe.run(data, table_name="t", schema_contract={"data_type": mode})
    got = {r["id"]: (r["n"], r.get("n__v_text")) for r in rows_of(pipe, "t")}
    assert got == expected
    assert ("n__v_text" in columns_of(pipe, "t")) is (mode == "evolve")


@pytest.mark.parametrize("mode, child_rows, ids", [
    ("evolve", 2, [0, 1]), ("discard_value", 0, [0, 1]), ("discard_row", 0, [0]),
])
def test_new_nested_list_counts_as_a_new_column(make_pipeline, mode, child_rows, ids):
    pipe = make_pipeline()
    pipe.run([{"id": 0}], table_name="t")
    pipe.run([{"id": 1, "items": [1, 2]}], table_name="t", schema_contract={"columns": mode})
    assert [r["id"] for r in rows_of(pipe, "t")] == ids
    assert ("t__items" in tables_of(pipe)) is (child_rows > 0)


def test_freeze_leaves_destination_unchanged_and_keeps_package_for_inspection(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"id": 0}], table_name="t")
    loads_before = len(pipe.dataset().table("_dl_loads").rows())
    with pytest.raises(dataload.DataContractViolation):
        pipe.run([{"id": 1}, {"id": 2, "new": True}], table_name="t", schema_contract="freeze")
    assert [r["id"] for r in rows_of(pipe, "t")] == [0]
    assert len(pipe.dataset().table("_dl_loads").rows()) == loads_before
    assert len(pipe.failed_packages()) == 1
    assert "new" not in pipe.default_schema.tables["t"].columns


def test_frozen_table_keeps_accepting_rows_that_fit(make_pipeline):
    @dataload.resource(schema_contract="freeze", columns={"note": {"data_type": "text"}})
    def frozen(rows):
        yield rows

    pipe = make_pipeline()
    pipe.run([{"id": 0, "note": "n"}], table_name="frozen")  # created while evolving
    pipe.run(frozen([{"id": 1}, {"id": 2, "note": "declared columns are known"}]))
    assert [r["id"] for r in rows_of(pipe, "frozen")] == [0, 1, 2]


def test_declared_columns_count_as_known_under_freeze(make_pipeline):
    @dataload.resource(schema_contract={"tables": "evolve", "columns": "freeze"},
                       columns={"late": {"data_type": "bigint"}})
    def declared(rows):
        yield rows

    pipe = make_pipeline()
    pipe.run(declared([{"id": 1}]))
    pipe.run(declared([{"id": 2, "late": 5}]))
    assert [(r["id"], r["late"]) for r in rows_of(pipe, "declared")] == [(1, None), (2, 5)]


def test_narrower_scope_wins(make_pipeline):
    @dataload.resource(schema_contract="evolve")
    def lenient(column):
        yield {"id": 1, column: "ok"}

    @dataload.source(schema_contract="freeze")
    def strict(column):
        return lenient(column)

    pipe = make_pipeline()
    pipe.run([{"id": 0}], table_name="lenient")
    pipe.run(strict("surprise"))  # the resource's evolve beats the source's freeze
    assert "surprise" in columns_of(pipe, "lenient")
    with pytest.raises(dataload.DataContractViolation):
        pipe.run(strict("another"), schema_contract={"columns": "freeze"})  # run() beats the resource
    assert len(rows_of(pipe, "lenient")) == 2


def test_discards_are_in_the_trace(make_pipeline):
    pipe = make_pipeline()
    pipe.run([{"id": 0}], table_name="t")
    pipe.run([{"id": 1, "x": 1}, {"id": 2, "x": 2}], table_name="t", schema_contract={"columns": "discard_row"})
    normalize = [s for s in pipe.last_trace.steps if s.step == "normalize"][0]
    assert normalize.discarded == {"t": 2} and "discarded by contract t: 2" in str(pipe.last_trace)


def test_invalid_contract_is_refused_at_decoration():
    with pytest.raises(dataload.DataloadError, match="not one of"):
        dataload.resource([], name="x", schema_contract="sometimes")
    with pytest.raises(dataload.DataloadError, match="entity"):
        dataload.resource([], name="x", schema_contract={"rows": "freeze"})
