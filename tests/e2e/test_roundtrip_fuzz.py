"""Round-trip fuzzing (issue 17): generated nested records are loaded into DuckDB, rebuilt from the
root and child tables (``_dl_id`` / ``_dl_parent_id`` / ``_dl_list_idx``) read with DuckDB's own
driver, and compared with what ``docs/normalization.md`` says they become (:func:`expected_records`,
a reference written from that page: names, collisions, child tables, types, lossless conversions and
variant columns). Any difference is a bug in the engine or in the page.

CI runs a bounded number of examples, derandomized, so a run is the same on every machine; failures
shrink to a minimal example, which Hypothesis prints with the ``@reproduce_failure`` line that
replays it. ``DATALOAD_FUZZ_EXAMPLES=5000`` runs that many random examples (a new seed each run,
printed on failure); see ``docs/reliability.md``.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import math
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dataload
from destinations import duckdb

SourceKey = tuple[str, ...]
INT64 = (-(2**63), 2**63 - 1)
SYSTEM = ("_dl_id", "_dl_parent_id", "_dl_list_idx", "_dl_root_id", "_dl_load_id")

# -- profiles: bounded and replayable in CI, thousands on demand -------------------------------------
EXAMPLES = os.environ.get("DATALOAD_FUZZ_EXAMPLES")
settings.register_profile("dataload-ci", max_examples=60, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dataload-long", max_examples=int(EXAMPLES or 0) or 1, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ = settings.get_profile("dataload-long" if EXAMPLES else "dataload-ci")


# -- the strategy: nested JSON-like records ----------------------------------------------------------
# keys that collide after normalization ("a b" / "a_b" / "A B", "A" / "a"), spelled signs, a leading
# digit, dataload's own prefix, unicode; plus any printable text
COLLIDING_KEYS = ["a", "A", "a b", "a_b", "A B", "a-b", "b", "B", "+1", "-1", "plus_1", "2fa", "_2fa", "",
                  "_dl_id", "_DL_ID", "user_dl_id", "value", "a__b", "a__v_text", "Ünïcode", "ünïcode", "日本"]
KEY_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6)
KEYS = st.one_of(st.sampled_from(COLLIDING_KEYS), KEY_TEXT)

INTS = st.one_of(
    st.integers(-1000, 1000), st.sampled_from([0, 1, INT64[0], INT64[1]]),
    st.integers(INT64[0], INT64[1]),
    st.integers(-(10**29) + 1, 10**29 - 1),  # beyond 64 bits: decimal(38, 9)
    st.integers(10**29, 10**40) | st.integers(-(10**40), -(10**29)),  # more than 29 digits: text
)
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1e308, 5e-324, -1.5]))
DECIMALS = st.decimals(min_value=decimal.Decimal("-1e20"), max_value=decimal.Decimal("1e20"), places=9,
                       allow_nan=False, allow_infinity=False) | st.decimals(places=2, allow_nan=False,
                                                                              allow_infinity=False,
                                                                              min_value=-1000, max_value=1000)


@st.composite
def iso_timestamps(draw: st.DrawFn) -> str:
    """ISO 8601 date-times, with and without fractions, with ``Z``, an offset or none."""
    instant = draw(st.datetimes(min_value=datetime.datetime(1900, 1, 2), max_value=datetime.datetime(2100, 12, 30)))
    text = instant.isoformat(timespec=draw(st.sampled_from(["seconds", "microseconds", "milliseconds"])))
    offset = draw(st.sampled_from(["", "Z", "+00:00", "+05:30", "-08:00", "+14:00"]))
    return text + offset


TEXTS = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
    st.sampled_from(["", "n/a", "7", "-12", "007", "+5", "1.5", "12.50", "1e3", ".5", "true", "FALSE", "yes",
                     "2024-01-01", "nan", "inf", "9223372036854775808"]),
    iso_timestamps(),
)
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, DECIMALS, TEXTS)


def nested(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Dicts, lists of dicts and lists of scalars (empty ones too), a few levels deep."""
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.dictionaries(KEYS, inner, max_size=4),
            st.lists(st.dictionaries(KEYS, inner, max_size=3), max_size=3),
            st.lists(leaves, max_size=3),
        ),
        max_leaves=12,
    )


RECORDS = st.lists(st.dictionaries(KEYS, nested(SCALARS), min_size=1, max_size=5), min_size=1, max_size=6)


# -- the reference: what docs/normalization.md says the records become -------------------------------
def normalize_identifier(key: str) -> str:
    """snake_case, as the table in "Names" says."""
    name = re.sub(r"[^\w]+", "_", _spelled(key).lower())
    if not name:
        return "_empty"
    return "_" + name if name[0].isdigit() else name


def _spelled(key: str) -> str:
    """``+`` anywhere and a leading ``-`` before a digit as words of their own."""
    pieces = re.split(r"(\+|^-(?=[0-9]))", key)  # the signs at the odd positions
    spelled = [{"+": "plus", "-": "minus"}[w] if i % 2 else w for i, w in enumerate(pieces)]
    return " ".join(w for w in spelled if w)


def path_name(source_key: SourceKey) -> str:
    return "__".join(normalize_identifier(k) for k in source_key)


def plain_column(source_key: SourceKey) -> str:
    name = path_name(source_key)
    return "user" + name if name.startswith("_dl_") else name


def key_hash(source_key: SourceKey) -> str:
    """"8 characters of a hash of the key's path": the SHA-256 of the path as a JSON array."""
    return hashlib.sha256(json.dumps(list(source_key)).encode("utf-8")).hexdigest()[:8]


def claim_order(source_key: SourceKey) -> tuple[bool, SourceKey]:
    """Keys already in normal form first, then the others, each in sorted order."""
    return path_name(source_key) != "__".join(source_key), source_key


def claim_names(keys: list[SourceKey], plain: Any, taken: set[str], disambiguated: Any) -> dict[SourceKey, str]:
    """"One key, one column": the plain name if free, else the plain name plus ``_`` and the key's hash."""
    names = {}
    for source_key in sorted(set(keys), key=claim_order):
        name = plain(source_key)
        if name in taken:
            name = disambiguated(source_key)
        taken.add(name)
        names[source_key] = name
    return names


@dataclass
class RefTable:
    """The rows one table gets from the records, by source key, before names and types."""

    path: str  # the unshortened name children are named from
    rows: list[dict[SourceKey, Any]] = field(default_factory=list)
    keys: dict[SourceKey, None] = field(default_factory=dict)
    children: dict[SourceKey, RefTable] = field(default_factory=dict)
    links: list[tuple[int, SourceKey, int]] = field(default_factory=list)  # (parent row, list key, child row)
    name: str = ""


def flatten(table: RefTable, record: Any) -> int:
    row: dict[SourceKey, Any] = {}
    table.rows.append(row)
    index = len(table.rows) - 1
    _flatten_into(table, row, index, (), record if isinstance(record, dict) else {"value": record})
    return index


def _flatten_into(table: RefTable, row: dict[SourceKey, Any], index: int, prefix: SourceKey,
                  record: dict[str, Any]) -> None:
    for key, value in record.items():
        path = (*prefix, key)
        if isinstance(value, dict):
            _flatten_into(table, row, index, path, value)
        elif isinstance(value, list):
            child = table.children.setdefault(path, RefTable(""))
            for position, item in enumerate(value):
                table.links.append((index, path, flatten(child, item)))
                child.rows[-1][("_position",)] = position
        else:
            table.keys[path] = None
            row[path] = value


def name_tables(table: RefTable, name: str, taken: set[str]) -> None:
    """Child tables ``<table>__<field>``, named among the lists of one parent like columns."""
    table.name = name
    names = claim_names(list(table.children), lambda k: f"{table.path}__{path_name(k)}", taken,
                        lambda k: f"{table.path}__{path_name(k)}_{key_hash(k)}")
    for source_key, child in table.children.items():
        child.path = names[source_key]
    for source_key, child in table.children.items():
        name_tables(child, names[source_key], taken)


def kind_of(value: Any) -> str:
    """The column type of one value (the "Types" table)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        if INT64[0] <= value <= INT64[1]:
            return "bigint"
        return "decimal" if len(str(abs(value))) <= 29 else "text"
    if isinstance(value, float):
        return "double"
    if isinstance(value, decimal.Decimal):
        return "decimal" if len(value.as_tuple().digits) <= 38 else "text"
    assert isinstance(value, str)
    return "text"


ISO_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
                           r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INTEGER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")
NUMBER_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def text_type(texts: list[str]) -> str:
    """``timestamp`` when every text is an ISO 8601 date-time, ``date`` when every one is ``YYYY-MM-DD``."""
    if texts and all(ISO_DATE.fullmatch(t) for t in texts):
        return "date"
    if texts and all(ISO_TIMESTAMP.fullmatch(t) for t in texts):
        return "timestamp"
    return "text"


def column_type(values: list[Any]) -> str:
    kinds = [kind_of(v) for v in values]
    if set(kinds) <= {"bigint", "double"}:
        return "double" if "double" in kinds else "bigint"
    if set(kinds) <= {"bigint", "decimal"}:
        return "decimal" if "decimal" in kinds else "bigint"
    main = kinds[0]
    return text_type([str(v) for v, k in zip(values, kinds) if k == "text"]) if main == "text" else main


MISSING = object()
NINE_PLACES, WIDE = decimal.Decimal("1e-9"), decimal.Context(prec=80)


def stored_as(value: Any, data_type: str) -> Any:
    """``value`` in a column of ``data_type`` when it converts without loss ("Declared types and
    lossless conversions"), else ``MISSING``; the value as DuckDB gives it back."""
    kind = kind_of(value)
    if data_type == "text":
        if kind == "text" or isinstance(value, decimal.Decimal) or (isinstance(value, int) and kind != "bool"):
            return str(value)
    elif data_type == "bigint":
        if kind == "bigint":
            return value
        if isinstance(value, str) and INTEGER_TEXT.fullmatch(value) and INT64[0] <= int(value) <= INT64[1]:
            return int(value)
    elif data_type == "double":
        if kind == "double" or (isinstance(value, (int, decimal.Decimal)) and kind != "bool"):
            return float(value)  # ints of any size and decimals: the nearest double
        if isinstance(value, str) and NUMBER_TEXT.fullmatch(value):
            return float(value)
    elif data_type == "decimal":  # decimal(38, 9): 29 digits before the point, 9 after
        exact = None
        if isinstance(value, (int, decimal.Decimal)) and kind != "bool":
            exact = decimal.Decimal(value)
        elif (isinstance(value, float) and math.isfinite(value)) or (
                isinstance(value, str) and NUMBER_TEXT.fullmatch(value)):
            exact = decimal.Decimal(value)
        if exact is None or exact.copy_abs() >= 10**29:
            return MISSING
        rounded = exact.quantize(NINE_PLACES, context=WIDE)
        if isinstance(value, (int, decimal.Decimal)) and rounded != exact:
            return MISSING  # more decimals than the column's scale
        return rounded
    elif data_type == "bool":
        if kind == "bool":
            return value
        if kind == "bigint" and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif data_type == "timestamp":
        if isinstance(value, str) and ISO_TIMESTAMP.fullmatch(value):
            return parse_timestamp(value)
    elif data_type == "date":
        if isinstance(value, str) and ISO_DATE.fullmatch(value):
            return datetime.date.fromisoformat(value)
    return MISSING


def parse_timestamp(text: str) -> datetime.datetime:
    """An ISO 8601 date-time as the instant it names (naive ones are UTC)."""
    parsed = datetime.datetime.fromisoformat(text.replace("z", "Z"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)).astimezone(
        datetime.timezone.utc)


def typed_columns(table: RefTable, columns: dict[SourceKey, str]) -> list[dict[str, Any]]:
    """Each row of ``table`` as {column: value as stored}, values that do not fit in variant columns."""
    out: list[dict[str, Any]] = [{} for _ in table.rows]
    user_columns = set(columns.values())
    for source_key, column in columns.items():
        present = [(i, row[source_key]) for i, row in enumerate(table.rows) if row.get(source_key) is not None]
        if not present:
            continue  # only None: no column
        data_type = column_type([v for _, v in present])
        leftovers: dict[str, list[tuple[int, Any]]] = {}
        for i, value in present:
            stored = stored_as(value, data_type)
            if stored is MISSING:
                leftovers.setdefault(kind_of(value), []).append((i, value))
            else:
                out[i][column] = stored
        for kind, values in leftovers.items():
            variant_type = text_type([str(v) for _, v in values]) if kind == "text" else kind
            variant = f"{column}__v_{variant_type}"
            if variant in user_columns:
                variant = f"{variant}_{key_hash((variant,))}"
            for i, value in values:
                stored = stored_as(value, variant_type)
                out[i][variant] = stored if stored is not MISSING else str(value)
    return out


def expected_records(records: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
    """The records as docs/normalization.md says they come back: {column: value} plus
    {child table: [child records in list order]}."""
    root = RefTable(table)
    for record in records:
        flatten(root, record)
    name_tables(root, table, {table})
    return _assemble(root)


def _assemble(table: RefTable) -> list[dict[str, Any]]:
    columns = claim_names([k for k in table.keys if k != ("_position",)], plain_column, set(),
                          lambda k: f"{plain_column(k)}_{key_hash(k)}")
    rows = typed_columns(table, columns)
    for source_key, child in table.children.items():
        child_rows = _assemble(child)
        for parent_row, list_key, child_row in table.links:
            if list_key == source_key:
                rows[parent_row].setdefault(child.name, []).append(child_rows[child_row])
    return rows


# -- loading and rebuilding -------------------------------------------------------------------------
def rebuilt_records(db: Path, dataset: str, table: str) -> list[dict[str, Any]]:
    """The root table's rows with their child rows nested back, read with DuckDB's own driver.

    A child table's parent is found from the data alone: the table whose ``_dl_id`` values its
    ``_dl_parent_id`` values are. Every child row must have a parent, and list positions must run 0..n-1.
    """
    con = duckdb_driver.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                                           [dataset]).fetchall() if not r[0].startswith("_dl_")]
        tables = {}
        for name in names:
            cursor = con.execute(f'SELECT * FROM "{dataset}"."{name}"')
            header = [d[0] for d in cursor.description]
            tables[name] = [dict(zip(header, row)) for row in cursor.fetchall()]
    finally:
        con.close()
    by_id: dict[int, tuple[str, dict[str, Any]]] = {}
    for name, rows in tables.items():
        for row in rows:
            assert row["_dl_id"] not in by_id, f"{name}: _dl_id {row['_dl_id']} twice"
            by_id[row["_dl_id"]] = (name, row)
    nested_rows: dict[int, dict[str, Any]] = {
        row["_dl_id"]: {k: v for k, v in row.items() if k not in SYSTEM and v is not None} for _, row in by_id.values()}
    children: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for name, row in by_id.values():
        if name == table:
            continue
        parent = row["_dl_parent_id"]
        assert parent in by_id, f"{name}: row {row['_dl_id']} has no parent ({parent})"
        children.setdefault((parent, name), []).append((row["_dl_list_idx"], row["_dl_id"]))
    for (parent, name), items in children.items():
        positions = sorted(items)
        assert [p for p, _ in positions] == list(range(len(positions))), f"{name}: list positions {positions}"
        nested_rows[parent][name] = [nested_rows[i] for _, i in positions]
    return [nested_rows[row["_dl_id"]] for row in tables.get(table, [])]


def canonical(value: Any) -> Any:
    """A form where equal means "same type, same value" (floats by repr: -0.0 and NaN compare)."""
    if isinstance(value, dict):
        return tuple(sorted((k, canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(canonical(v) for v in value)
    if isinstance(value, float):
        return ("double", repr(value))
    if isinstance(value, decimal.Decimal):
        return ("decimal", str(value.normalize(WIDE)) if value else "0")
    if isinstance(value, datetime.datetime):
        return ("timestamp", value.astimezone(datetime.timezone.utc).isoformat())
    return (type(value).__name__, value)


def as_canonical(records: list[dict[str, Any]]) -> list[Any]:
    return sorted((canonical(r) for r in records), key=repr)


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One DuckDB file for every example (each loads its own dataset): opening a new file per example is slow."""
    return tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb"


def load(db: Path, records: list[dict[str, Any]]) -> str:
    """Load ``records`` into table ``t`` of a new dataset of ``db``; returns the dataset."""
    name = f"fuzz_{uuid.uuid4().hex[:10]}"
    pipe = dataload.pipeline(name, destination=duckdb(str(db)), dataset_name=name,
                             pipelines_dir=db.parent / "pipelines")
    pipe.run(records, table_name="t")
    return name


def assert_round_trip(db: Path, records: list[dict[str, Any]]) -> None:
    dataset = load(db, records)
    got, want = as_canonical(rebuilt_records(db, dataset, "t")), as_canonical(expected_records(records, "t"))
    extra, missing = [r for r in got if r not in want], [r for r in want if r not in got]
    assert got == want, f"records: {records!r}\nloaded, not expected: {extra}\nexpected, not loaded: {missing}"


@FUZZ
@given(records=RECORDS)
def test_records_come_back_as_the_documented_normalization_says(fuzz_db: Path, records: list[dict[str, Any]]) -> None:
    assert_round_trip(fuzz_db, records)


def test_the_reference_names_keys_as_the_docs_table_says() -> None:
    """The reference's naming against the examples of docs/normalization.md, so it cannot drift from them."""
    examples = {"Signed Up": "signed_up", "2fa": "_2fa", "a-b.c": "a_b_c", "": "_empty", "!!!": "_",
                "Ünïcode": "ünïcode", "+1": "plus_1", "-1": "minus_1", "c++": "c_plus_plus"}
    assert {k: normalize_identifier(k) for k in examples} == examples
    assert plain_column(("_dl_id",)) == "user_dl_id" and plain_column(("reactions", "+1")) == "reactions__plus_1"
    assert f"a_b_{key_hash(('A b',))}" == "a_b_868c07dc"



# -- regression tests: the shrunk examples of bugs the fuzzer found -----------------------------------
def rows_of(db: Path, dataset: str, table: str) -> list[dict[str, Any]]:
    """The user columns of ``table`` (sorted by name), row by row in list order, read with DuckDB's driver."""
    con = duckdb_driver.connect(str(db), read_only=True)
    try:
        header = [d[0] for d in con.execute(f'SELECT * FROM "{dataset}"."{table}" LIMIT 0').description]
        columns = sorted(c for c in header if c not in SYSTEM)
        order = "_dl_list_idx" if "_dl_list_idx" in header else "_dl_id"
        quoted = ", ".join(f'"{c}"' for c in columns)
        query = f'SELECT {quoted} FROM "{dataset}"."{table}" ORDER BY {order}'
        return [dict(zip(columns, row)) for row in con.execute(query).fetchall()]
    finally:
        con.close()


def test_a_bool_after_a_float_goes_to_a_bool_variant_not_into_the_double_column(fuzz_db: Path) -> None:
    """Arrow made ``[0.0, False]`` a double ``[0.0, 0.0]``: the bool was silently changed into a number."""
    dataset = load(fuzz_db, [{"a": None}, {"a": [0.0, False]}])
    assert rows_of(fuzz_db, dataset, "t__a") == [{"value": 0.0, "value__v_bool": None},
                                                 {"value": None, "value__v_bool": False}]


def test_a_decimal_in_a_text_column_is_its_own_text(fuzz_db: Path) -> None:
    """``Decimal("0.00")`` next to text became ``"0E-9"`` (the text of a decimal(38, 9) array), not ``"0.00"``."""
    dataset = load(fuzz_db, [{"a": [10**29, decimal.Decimal("0.00"), decimal.Decimal("1.5"), 7]}])
    assert [row["value"] for row in rows_of(fuzz_db, dataset, "t__a")] == [str(10**29), "0.00", "1.5", "7"]


def test_a_number_too_wide_for_a_decimal_column_goes_to_a_text_variant_unchanged(fuzz_db: Path) -> None:
    """Arrow cast the 36-digit ``-587919206991348453199330873094176768`` into decimal(38, 9) as
    ``-90649733153273583492224620990.107222016`` (it wraps around): a wrong number, silently."""
    wide = -587919206991348453199330873094176768
    dataset = load(fuzz_db, [{"a": [decimal.Decimal("-1.5"), wide, str(wide), "12.50"]}])
    assert rows_of(fuzz_db, dataset, "t__a") == [
        {"value": decimal.Decimal("-1.5"), "value__v_text": None},
        {"value": None, "value__v_text": str(wide)},
        {"value": None, "value__v_text": str(wide)},
        {"value": decimal.Decimal("12.5"), "value__v_text": None}]


def test_a_decimal_in_a_double_column_is_the_nearest_double(fuzz_db: Path) -> None:
    """Arrow's decimal-to-double cast gave ``-0.9900000000000001`` for ``Decimal("-0.99")``."""
    dataset = load(fuzz_db, [{"a": [2405794577822550.0, decimal.Decimal("-0.99"), decimal.Decimal("16.50")]}])
    assert [row["value"] for row in rows_of(fuzz_db, dataset, "t__a")] == [2405794577822550.0, -0.99, 16.5]
