"""Builders change the resource in place; whatever receives a resource (run, extract) leaves it alone."""

from __future__ import annotations

import dataload


def test_run_with_hints_does_not_change_the_callers_resource(sql_pipeline):
    rows = dataload.resource([{"id": 1, "v": "a"}], name="rows")
    pipe = sql_pipeline()
    pipe.run(rows, table_name="first", write_disposition="replace", primary_key="id")
    assert rows.table_name == "rows" and rows.hints == dataload.resource([], name="rows").hints
    pipe.run(rows)  # no hints: the resource's own table and disposition
    assert [r["v"] for r in pipe.dataset().table("first").rows()] == ["a"]
    assert [r["v"] for r in pipe.dataset().table("rows").rows()] == ["a"]
    assert pipe.default_schema.tables["rows"].write_disposition == "append"


def test_extract_with_hints_does_not_change_a_source_or_its_resources(sql_pipeline):
    @dataload.source
    def shop():
        return dataload.resource([{"id": 1}], name="orders"), dataload.resource([{"id": 2}], name="users")

    source = shop().with_resources("orders")
    before = {name: (r.hints, r.selected) for name, r in source.resources.items()}
    pipe = sql_pipeline()
    pipe.extract(source, table_name="orders_copy", schema_contract="evolve")
    pipe.normalize()
    pipe.load()
    assert {name: (r.hints, r.selected) for name, r in source.resources.items()} == before
    assert [r["id"] for r in pipe.dataset().table("orders_copy").rows()] == [1]


def test_a_list_of_resources_is_not_changed_by_run(sql_pipeline):
    first = dataload.resource([{"id": 1}], name="first")
    second = dataload.resource([{"id": 2}], name="second")
    pipe = sql_pipeline()
    pipe.run([first, second], schema_contract="evolve")
    assert first.hints.schema_contract is None and second.hints.schema_contract is None
    assert [r["id"] for r in pipe.dataset().table("second").rows()] == [2]


def test_builders_change_the_resource_in_place_and_return_it(sql_pipeline):
    @dataload.source
    def shop():
        return dataload.resource([{"id": 1}, {"id": 2}, {"id": 3}], name="users")

    source = shop()
    users = source.users
    assert users.add_map(lambda row: {**row, "seen": True}) is users
    assert source.users.add_filter(lambda row: row["id"] > 1) is users
    assert users.add_limit(5) is users and users.apply_hints(primary_key="id") is users
    pipe = sql_pipeline()
    pipe.run(source)  # the source sees the changes made through source.users
    assert sorted((r["id"], r["seen"]) for r in pipe.dataset().table("users").rows()) == [(2, True), (3, True)]
    assert pipe.default_schema.tables["users"].columns["id"].primary_key


def test_calling_and_renaming_give_copies(sql_pipeline):
    @dataload.resource
    def numbers(n: int = 2):
        yield [{"n": i} for i in range(n)]

    three = numbers(3)
    renamed = three.with_name("renamed")
    assert three is not numbers and renamed is not three and three.name == "numbers"
    pipe = sql_pipeline()
    pipe.run(renamed)
    assert sorted(r["n"] for r in pipe.dataset().table("renamed").rows()) == [0, 1, 2]
