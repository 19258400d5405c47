"""Errors are classed by what the caller does about them, the same on every path."""

from __future__ import annotations

import pyarrow as pa
import pytest

import dataload
import dataload.exceptions


def test_every_error_class_a_user_can_catch_is_exported():
    classes = {name for name, value in vars(dataload.exceptions).items()
               if isinstance(value, type) and issubclass(value, dataload.DataloadError)}
    assert classes <= set(dataload.__all__)
    assert all(getattr(dataload, name) is getattr(dataload.exceptions, name) for name in classes)


def test_an_arrow_table_with_a_column_name_twice_is_a_schema_error_naming_the_table(sql_pipeline):
    pipe = sql_pipeline()
    pipe.run([{"a": 1, "b": 2}], table_name="t")
    twice = pa.table([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(dataload.SchemaError, match="table 't'.*'a' appears twice") as raised:
        pipe.run(twice, table_name="t")
    assert (raised.value.table, raised.value.column) == ("t", "a")
    assert [(r["a"], r["b"]) for r in pipe.dataset().table("t").rows()] == [(1, 2)]  # nothing else landed
    assert pipe.pending_packages() == [] and pipe.failed_packages() == []


def test_records_with_keys_that_collide_after_naming_load_into_columns_of_their_own(sql_pipeline):
    pipe = sql_pipeline()
    pipe.run([{"A b": 1, "a_b": 2}], table_name="t")
    rows = pipe.dataset().table("t").rows()
    assert sorted(v for k, v in rows[0].items() if not k.startswith("_dl_")) == [1, 2]


@pytest.mark.parametrize("make", [
    lambda: dataload.resource([], name="r").apply_hints(primary_kye="id"),
    lambda: dataload.resource([], name="r").apply_hints(write_dispositon="merge"),
])
def test_a_typo_in_apply_hints_is_invalid_config_like_in_the_decorator(make):
    with pytest.raises(dataload.InvalidConfig, match="resource 'r'.*unknown hint"):
        make()


def test_reading_back_a_function_destination_is_refused_as_unsupported(make_pipeline):
    @dataload.destination
    def sink(items, table):
        pass

    pipe = make_pipeline(destination=sink)
    pipe.run([{"a": 1}], table_name="t")
    with pytest.raises(dataload.UnsupportedOperation, match="'sink' is a function"):
        pipe.dataset().table("t").rows()
    assert not issubclass(dataload.UnsupportedOperation, dataload.InvalidConfig)
