"""The snake_case naming convention (docs/normalization.md, "Names") as truth tables."""

from __future__ import annotations

import json
import re

import pytest

from dataload.schema.model import Column, Schema, Table
from dataload.schema.naming import (
    ColumnNames,
    column_name,
    disambiguated_name,
    join_path,
    normalize_identifier,
    shorten,
    table_name,
)

HASH_SUFFIX = re.compile(r"_[0-9a-zA-Z]{8}$")


@pytest.mark.parametrize(
    "name, expected",
    [
        # the table of docs/normalization.md
        ("Signed Up", "signed_up"),
        ("2fa", "_2fa"),
        ("a-b.c", "a_b_c"),
        ("", "_empty"),
        ("!!!", "_"),
        ("Ünïcode", "ünïcode"),
        # lowercase, nothing else changes for plain identifiers
        ("id", "id"),
        ("already_snake", "already_snake"),
        ("CamelCase", "camelcase"),
        ("UPPER", "upper"),
        ("_private", "_private"),
        ("a1", "a1"),
        # every run of non-word characters becomes exactly one "_"
        ("a  b", "a_b"),
        ("a - b", "a_b"),
        ("a\tb\nc", "a_b_c"),
        ("price ($)", "price_"),
        ("  padded  ", "_padded_"),
        ("x.y", "x_y"),
        ("a/b\\c", "a_b_c"),
        ("e-mail@host", "e_mail_host"),
        ("a😀b", "a_b"),
        ("-", "_"),
        ("...", "_"),
        # underscores are word characters and are kept as they are
        ("_", "_"),
        ("a_b", "a_b"),
        ("A b", "a_b"),
        # a leading digit gets "_"
        ("1", "_1"),
        ("123abc", "_123abc"),
        ("3 Little Pigs", "_3_little_pigs"),
        ("a1b2", "a1b2"),
        # letters of every script are kept (lowercased where the script has case)
        ("名前", "名前"),
        ("Ωmega", "ωmega"),
        ("ÀB", "àb"),
        ("Straße", "straße"),
        ("привет мир", "привет_мир"),
        # "+" and a leading "-" before a digit are spelled: they carry meaning (GitHub's reactions)
        ("+1", "plus_1"),
        ("-1", "minus_1"),
        ("+", "plus"),
        ("c++", "c_plus_plus"),
        ("a+b", "a_plus_b"),
        ("price (+tax)", "price_plus_tax_"),
        ("-1.5", "minus_1_5"),
        ("-x", "_x"),  # not a number: a plain separator
        ("a-1", "a_1"),  # not leading
        ("--1", "_1"),
    ],
)
def test_normalize_identifier(name: str, expected: str) -> None:
    assert normalize_identifier(name) == expected


@pytest.mark.parametrize("name", ["Signed Up", "2fa", "", "!!!", "Ünïcode", "a-b.c", "名前", "+1", "-1"])
def test_normalize_identifier_is_idempotent(name: str) -> None:
    once = normalize_identifier(name)
    assert normalize_identifier(once) == once


@pytest.mark.parametrize(
    "parts, expected",
    [
        (("address", "geo", "lat"), "address__geo__lat"),
        (("address", "city"), "address__city"),
        (("a",), "a"),
        (("", "a"), "a"),  # an empty prefix (the top level of a record) adds nothing
        (("a", "", "b"), "a__b"),
        (("users", "orders", "items"), "users__orders__items"),
        (("_empty", "_"), "_empty___"),
    ],
)
def test_join_path(parts: tuple[str, ...], expected: str) -> None:
    assert join_path(*parts) == expected


@pytest.mark.parametrize(
    "name, limit",
    [
        ("id", None),
        ("x" * 500, None),
        ("id", 63),
        ("a" * 63, 63),  # exactly at the limit
        ("é" * 31, 63),  # 62 bytes
        ("😀" * 15, 63),  # 60 bytes
        ("address__geo__lat", 17),
    ],
)
def test_shorten_leaves_names_within_the_limit_untouched(name: str, limit: int | None) -> None:
    assert shorten(name, limit) == name


@pytest.mark.parametrize(
    "name, limit",
    [
        ("a" * 64, 63),  # one byte over
        ("a" * 70, 63),
        ("a" * 1000, 63),
        ("x" * 200, 127),
        ("x" * 20, 9),  # the smallest limit that fits "_" + 8 hash characters
        ("x" * 20, 10),
        ("é" * 40, 63),  # 2-byte characters: 80 bytes
        ("é" * 32, 63),  # 64 bytes, only 32 characters
        ("日本語" * 20, 63),  # 3-byte characters
        ("😀" * 20, 63),  # 4-byte characters
        ("😀" * 20, 20),
        ("a" + "😀" * 20, 20),  # multibyte characters straddling the cut at every offset
        ("ab" + "😀" * 20, 20),
        ("abc" + "😀" * 20, 20),
        ("mixed_ü_日_😀_" * 10, 30),
        ("users__" + "orders__" * 20 + "value", 63),
    ],
)
def test_shorten_fits_long_names_into_the_byte_limit(name: str, limit: int) -> None:
    short = shorten(name, limit)
    assert len(short.encode("utf-8")) <= limit
    assert short != name
    assert HASH_SUFFIX.search(short), short  # "_" plus 8 characters of a hash
    prefix = short[:-9]
    assert name.startswith(prefix)  # a prefix of the name is kept, never a broken character
    short.encode("utf-8").decode("utf-8")  # valid UTF-8 (no half characters)


@pytest.mark.parametrize(
    "name, limit",
    [("a" * 70, 63), ("é" * 40, 63), ("😀" * 20, 20), ("x" * 20, 9), ("users__" + "orders__" * 20, 63)],
)
def test_shorten_is_deterministic(name: str, limit: int) -> None:
    assert shorten(name, limit) == shorten(name, limit)
    assert shorten(name, limit) == shorten(str(name), limit)  # independent of object identity


@pytest.mark.parametrize(
    "first, second, limit",
    [
        ("a" * 70 + "x", "a" * 70 + "y", 63),
        ("a" * 63 + "1", "a" * 63 + "2", 63),  # differ only in the byte just past the limit
        ("prefix_" * 20 + "one", "prefix_" * 20 + "two", 63),
        ("é" * 40 + "a", "é" * 40 + "b", 63),
        ("😀" * 20 + "a", "😀" * 20 + "b", 20),
        ("x" * 100, "x" * 101, 63),  # one is a prefix of the other
    ],
)
def test_shorten_keeps_distinct_long_names_distinct(first: str, second: str, limit: int) -> None:
    assert shorten(first, limit) != shorten(second, limit)


def test_shortened_names_of_many_similar_long_names_are_all_distinct() -> None:
    names = [f"{'column_with_a_long_common_prefix_' * 3}{i}" for i in range(1000)]
    shortened = {shorten(n, 63) for n in names}
    assert len(shortened) == len(names)
    assert all(len(s.encode("utf-8")) <= 63 for s in shortened)


@pytest.mark.parametrize(
    "name, limit, expected",
    [
        ("items", None, "items"),
        ("Users", None, "users"),
        ("Users/Active", None, "users_active"),
        ("my.table", None, "my_table"),  # dots and slashes are not nesting in a table name
        ("2024 sales", None, "_2024_sales"),
        ("", None, "_empty"),
        ("!!!", None, "_"),
        ("Ünïcode Table", None, "ünïcode_table"),
        ("already__nested", None, "already__nested"),
        ("short", 63, "short"),
    ],
)
def test_table_name(name: str, limit: int | None, expected: str) -> None:
    assert table_name(name, limit) == expected


@pytest.mark.parametrize("name, limit", [("Very Long Table " * 10, 63), ("Ünïcode" * 20, 30), ("x" * 64, 63)])
def test_table_name_is_normalized_then_shortened(name: str, limit: int) -> None:
    result = table_name(name, limit)
    assert len(result.encode("utf-8")) <= limit
    assert result == shorten(normalize_identifier(name), limit)
    assert result == table_name(name, limit)


# -- column names: one source key, one column --------------------------------------------------------

@pytest.mark.parametrize(
    "source_key, limit, expected",
    [
        (("id",), None, "id"),
        (("reactions", "+1"), None, "reactions__plus_1"),
        (("reactions", "-1"), None, "reactions__minus_1"),
        (("Address", "Geo", "Lat"), None, "address__geo__lat"),
        # dataload's own prefix is never a user column's
        (("_dl_id",), None, "user_dl_id"),
        (("_DL_ID",), None, "user_dl_id"),
        (("_dl_load_id",), None, "user_dl_load_id"),
        (("_dl_parent_id",), None, "user_dl_parent_id"),
        (("meta", "_dl_id"), None, "meta___dl_id"),  # nested: the name does not start with the prefix
        (("_dl",), None, "_dl"),
        (("dl_id",), None, "dl_id"),
        (("x" * 70,), 63, shorten("x" * 70, 63)),
    ],
)
def test_column_name(source_key: tuple[str, ...], limit: int | None, expected: str) -> None:
    assert column_name(source_key, limit) == expected


def test_disambiguated_names_are_the_plain_name_plus_a_hash_of_the_path() -> None:
    name = disambiguated_name(("A b",))
    assert name.startswith("a_b_") and HASH_SUFFIX.search(name)
    assert disambiguated_name(("A b",)) == name  # the same in every run and process
    assert len({disambiguated_name(k) for k in [("A b",), ("a b",), ("A-B",), ("a", "b"), ("a__b",)]}) == 5
    assert len(disambiguated_name(("y" * 100,), 63).encode()) <= 63


D = disambiguated_name


@pytest.mark.parametrize(
    "seeds, batches, expected",
    [
        # no collision: plain names
        ([], [[("+1",), ("-1",)]], {("+1",): "plus_1", ("-1",): "minus_1"}),
        # one batch: the key in normal form keeps the plain name, whatever the order of keys
        ([], [[("A b",), ("a_b",)]], {("a_b",): "a_b", ("A b",): D(("A b",))}),
        ([], [[("a_b",), ("A b",)]], {("a_b",): "a_b", ("A b",): D(("A b",))}),
        # neither in normal form: sorted order
        ([], [[("a b",), ("A b",)]], {("A b",): "a_b", ("a b",): D(("a b",))}),
        ([], [[("A b",), ("a b",)]], {("A b",): "a_b", ("a b",): D(("a b",))}),
        # a nested path and a flat key that meet
        ([], [[("a__b",), ("a", "b")]], {("a", "b"): "a__b", ("a__b",): D(("a__b",))}),
        # later batches: whoever came first keeps its name
        ([], [[("A b",)], [("a_b",)]], {("A b",): "a_b", ("a_b",): D(("a_b",))}),
        # recorded in the schema: reused, even when a new colliding key arrives
        ([("a_b", ("A b",), True)], [[("a_b",), ("A b",)]], {("A b",): "a_b", ("a_b",): D(("a_b",))}),
        ([("x", ("A b",), True)], [[("A b",)]], {("A b",): "x"}),
        # a hinted column (no source key yet) is claimed by the first key that normalizes to it
        ([("id", None, True)], [[("ID",)]], {("ID",): "id"}),
        # a variant column is never claimed
        ([("price__v_text", None, False)], [[("price__v_text",)]], {("price__v_text",): D(("price__v_text",))}),
        # keys named like system columns
        ([], [[("_DL_ID",), ("_dl_id",)]], {("_dl_id",): "user_dl_id", ("_DL_ID",): D(("_DL_ID",))}),
        # a user key that looks exactly like another key's hashed name
        ([], [[("a_b",), ("A b",), (D(("A b",)),)]],
         {("a_b",): "a_b", (D(("A b",)),): D(("A b",)), ("A b",): D(("A b", D(("A b",))))}),
    ],
)
def test_column_names_resolve_every_source_key_to_a_column_of_its_own(
        seeds: list[tuple[str, tuple[str, ...] | None, bool]], batches: list[list[tuple[str, ...]]],
        expected: dict[tuple[str, ...], str]) -> None:
    names = ColumnNames(seeds, None)
    found: dict[tuple[str, ...], str] = {}
    for batch in batches:
        found.update(zip(batch, names.resolve(batch)))
    assert found == expected
    assert len(set(found.values())) == len(found)  # never two keys in one column
    assert names.resolve(list(found)) == list(found.values())  # stable once resolved


def test_column_names_fit_the_identifier_limit_and_stay_distinct() -> None:
    keys = [("L" * 80 + " x",), ("l" * 80 + "_x",), ("l" * 80 + "-x",)]
    resolved = ColumnNames([], 63).resolve(keys)
    assert len(set(resolved)) == 3
    assert all(len(name.encode()) <= 63 for name in resolved)


def test_a_column_keeps_its_source_key_through_json_and_reads_old_schemas() -> None:
    schema = Schema("s", {"t": Table("t", {"reactions__plus_1": Column("reactions__plus_1", "bigint",
                                                                        source_key=("reactions", "+1"))})})
    again = Schema.from_dict(json.loads(schema.to_json()))
    assert again.tables["t"].columns["reactions__plus_1"].source_key == ("reactions", "+1")
    assert again.content_hash() == schema.content_hash()
    old = {"name": "s", "tables": [{"name": "t", "columns": [{"name": "a", "data_type": "text"}]}]}
    assert Schema.from_dict(old).tables["t"].columns["a"].source_key is None


# -- child tables: one list, one table ----------------------------------------------------------------

def _schema(*tables: Table) -> Schema:
    return Schema("s", {t.name: t for t in tables})


@pytest.mark.parametrize(
    "schema, batches, expected",
    [
        # plain names, whatever the order of lists
        (None, [[("tags",), ("Labels",)]], {("tags",): "t__tags", ("Labels",): "t__labels"}),
        (None, [[("A b",), ("a_b",)]], {("a_b",): "t__a_b", ("A b",): "t__a_b_868c07dc"}),
        (None, [[("a_b",), ("A b",)]], {("a_b",): "t__a_b", ("A b",): "t__a_b_868c07dc"}),
        # later batches: the first list keeps its table
        (None, [[("A b",)], [("a_b",)]], {("A b",): "t__a_b", ("a_b",): "t__a_b_" + D(("a_b",))[-8:]}),
        # recorded in the schema: reused
        (_schema(Table("t"), Table("t__a_b", parent="t", source_key=("A b",))), [[("a_b",), ("A b",)]],
         {("A b",): "t__a_b", ("a_b",): "t__a_b_" + D(("a_b",))[-8:]}),
        # a child table of an older schema (no source key) is taken by the first list of its parent
        (_schema(Table("t"), Table("t__a_b", parent="t")), [[("A b",)]], {("A b",): "t__a_b"}),
        # never a root table's name, nor another parent's child table
        (_schema(Table("t"), Table("t__x")), [[("x",)]], {("x",): "t__x_" + D(("x",))[-8:]}),
        (_schema(Table("t"), Table("t__x", parent="other")), [[("x",)]], {("x",): "t__x_" + D(("x",))[-8:]}),
    ],
)
def test_child_tables_resolve_every_list_to_a_table_of_its_own(
        schema: Schema | None, batches: list[list[tuple[str, ...]]], expected: dict[tuple[str, ...], str]) -> None:
    from dataload.normalize.rows import TableNames

    names = TableNames(schema, None)
    found: dict[tuple[str, ...], str] = {}
    for batch in batches:
        found.update(zip(batch, (name for name, _ in names.child_tables_of("t", "t", batch))))
    assert found == expected
