"""Types arrive as declared and as the source typed them (docs/normalization.md "Types"), in DuckDB and PostgreSQL.

Every test loads a case, reads the column types from the destination's catalog and the values with
the destination's own driver, and compares them with what the source held.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.schema.model import Column, Schema, Table
from destinations import duckdb, postgres
from destinations.sql import quote

UTC = datetime.timezone.utc


class Target:
    """One destination with a dataset of its own: builds pipelines, reads types and rows back."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind, self.tmp_path = kind, tmp_path
        self.dataset = f"types_{uuid.uuid4().hex[:8]}"
        self.db_file = tmp_path / "types.duckdb"
        self.admin = postgres_connection() if kind == "postgres" else None

    def pipeline(self, **options: Any) -> dataload.Pipeline:
        destination = duckdb(str(self.db_file)) if self.kind == "duckdb" else postgres(POSTGRES_URL)
        return dataload.pipeline(f"p_{uuid.uuid4().hex[:8]}", destination=destination, dataset_name=self.dataset,
                                 pipelines_dir=self.tmp_path / "pipelines", **options)

    def _query(self, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        if self.admin is not None:
            return self.admin.execute(sql.replace("?", "%s"), parameters).fetchall()  # type: ignore[no-any-return]
        connection = duckdb_driver.connect(str(self.db_file), read_only=True)
        try:
            return connection.execute(sql, parameters).fetchall()
        finally:
            connection.close()

    def types(self, table: str) -> dict[str, str]:
        """Column -> type as the destination's catalog names it (precision and scale included)."""
        if self.kind == "duckdb":
            sql = ("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
                   "AND table_name = ? ORDER BY ordinal_position")
        else:
            sql = ("SELECT column_name, CASE WHEN data_type = 'numeric' THEN 'numeric(' || numeric_precision || ','"
                   " || numeric_scale || ')' ELSE data_type END FROM information_schema.columns "
                   "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position")
        return {name: kind for name, kind in self._query(sql, [self.dataset, table]) if not name.startswith("_dl_")}

    def values(self, table: str, column: str, order_by: str = "id") -> list[Any]:
        sql = f"SELECT {quote(column)} FROM {quote(self.dataset)}.{quote(table)} ORDER BY {quote(order_by)}"
        return [value for (value,) in self._query(sql, [])]

    def drop(self) -> None:
        if self.admin is not None:
            self.admin.execute(f"DROP SCHEMA IF EXISTS {quote(self.dataset)} CASCADE")
            self.admin.close()


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    made = Target(request.param, tmp_path)
    try:
        yield made
    finally:
        made.drop()


def expect(target: Target, duckdb_type: str, postgres_type: str) -> str:
    return duckdb_type if target.kind == "duckdb" else postgres_type


def normalize_step(pipe: dataload.Pipeline) -> Any:
    (step,) = [s for s in pipe.last_trace.steps if s.step == "normalize"]
    return step


# --- item 4: declared types coerce --------------------------------------------------------------------

@pytest.mark.parametrize("data_type, values, duckdb_type, postgres_type, stored", [
    ("text", [7, 8], "VARCHAR", "text", ["7", "8"]),
    ("bigint", ["7", "-12"], "BIGINT", "bigint", [7, -12]),
    ("double", ["1.5", "1e3"], "DOUBLE", "double precision", [1.5, 1000.0]),
    ("decimal", ["12.50", "-3"], "DECIMAL(38,9)", "numeric(38,9)", [decimal.Decimal("12.5"), decimal.Decimal(-3)]),
    ("timestamp", ["2024-03-01T10:00:00Z", "2024-03-01 12:00:00+02:00"], "TIMESTAMP WITH TIME ZONE",
     "timestamp with time zone", [datetime.datetime(2024, 3, 1, 10, tzinfo=UTC)] * 2),
    ("date", ["2024-03-01", "1999-12-31"], "DATE", "date", [datetime.date(2024, 3, 1), datetime.date(1999, 12, 31)]),
    ("bool", [0, 1], "BOOLEAN", "boolean", [False, True]),
    ("bool", ["true", "False"], "BOOLEAN", "boolean", [True, False]),
])
def test_a_declared_type_takes_values_that_convert_without_loss(target: Target, data_type: str, values: list[Any],
                                                                 duckdb_type: str, postgres_type: str,
                                                                 stored: list[Any]) -> None:
    pipe = target.pipeline()
    pipe.run([{"id": i, "code": v} for i, v in enumerate(values)], table_name="t",
             columns={"code": {"data_type": data_type}})
    assert target.types("t") == {"id": expect(target, "BIGINT", "bigint"), "code": expect(target, duckdb_type,
                                                                                           postgres_type)}
    assert target.values("t", "code") == stored
    assert normalize_step(pipe).not_converted == {}


def test_values_that_do_not_convert_go_to_a_variant_and_are_reported(target: Target, caplog: Any) -> None:
    pipe = target.pipeline()
    with caplog.at_level("WARNING", logger="dataload"):
        pipe.run([{"id": 1, "code": "7"}, {"id": 2, "code": "n/a"}, {"id": 3, "code": "007"}], table_name="t",
                 columns={"code": {"data_type": "bigint"}})
    assert target.types("t")["code__v_text"] == expect(target, "VARCHAR", "text")
    assert target.values("t", "code") == [7, None, None]
    assert target.values("t", "code__v_text") == [None, "n/a", "007"]  # "007" would not come back as written
    step = normalize_step(pipe)
    assert step.not_converted == {"t.code": 2}
    assert "t.code: 2" in str(step)
    assert any("2 value(s) of column t.code did not convert" in r.getMessage() for r in caplog.records)


def test_a_type_pinned_in_an_imported_schema_file_coerces(target: Target, tmp_path: Path) -> None:
    import_dir = tmp_path / "import"
    import_dir.mkdir()
    pipe = target.pipeline(import_schema_path=import_dir)
    pinned = Schema(pipe.pipeline_name, {"t": Table("t", {"code": Column("code", "text")})})
    (import_dir / f"{pipe.pipeline_name}.schema.yaml").write_text(yaml.safe_dump(pinned.to_dict()))
    pipe.run([{"id": 1, "code": 7}, {"id": 2, "code": 8}], table_name="t")
    assert target.types("t") == {"code": expect(target, "VARCHAR", "text"), "id": expect(target, "BIGINT", "bigint")}
    assert target.values("t", "code") == ["7", "8"]


def test_declared_types_coerce_arrow_columns_too(target: Target) -> None:
    pipe = target.pipeline()
    pipe.run(pa.table({"id": [1, 2, 3], "code": [7, 8, None], "flag": ["true", "maybe", "false"]}), table_name="t",
             columns={"code": {"data_type": "text"}, "flag": {"data_type": "bool"}})
    assert target.values("t", "code") == ["7", "8", None]
    assert target.values("t", "flag") == [True, None, False]
    assert target.values("t", "flag__v_text") == [None, "maybe", None]
    assert normalize_step(pipe).not_converted == {"t.flag": 1}


# --- item 5: Arrow and pandas types are kept --------------------------------------------------------------

def test_arrow_decimal_precision_and_integer_width_are_kept(target: Target) -> None:
    pipe = target.pipeline()
    pipe.run(pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "amount": pa.array([decimal.Decimal("12345678.25"), decimal.Decimal("-0.01")], pa.decimal128(10, 2)),
        "small": pa.array([-32768, 32767], pa.int16()),
        "medium": pa.array([-(2**31), 2**31 - 1], pa.int32()),
        "byte": pa.array([0, 255], pa.uint8()),
    }), table_name="t")
    assert target.types("t") == {
        "id": expect(target, "BIGINT", "bigint"), "amount": expect(target, "DECIMAL(10,2)", "numeric(10,2)"),
        "small": expect(target, "SMALLINT", "smallint"), "medium": expect(target, "INTEGER", "integer"),
        "byte": expect(target, "SMALLINT", "smallint")}
    assert target.values("t", "amount") == [decimal.Decimal("12345678.25"), decimal.Decimal("-0.01")]
    assert target.values("t", "small") == [-32768, 32767]
    assert target.values("t", "medium") == [-(2**31), 2**31 - 1]
    assert target.values("t", "byte") == [0, 255]


def test_python_decimals_get_the_default_decimal_not_their_tightest_type(target: Target) -> None:
    pipe = target.pipeline()
    pipe.run([{"id": 1, "d": decimal.Decimal("1.5")}, {"id": 2, "d": decimal.Decimal("22.25")}], table_name="t")
    pipe.run([{"id": 3, "d": decimal.Decimal("12345.123")}], table_name="t")  # wider than the first values
    assert target.types("t") == {"id": expect(target, "BIGINT", "bigint"),
                                 "d": expect(target, "DECIMAL(38,9)", "numeric(38,9)")}
    assert target.values("t", "d") == [decimal.Decimal("1.5"), decimal.Decimal("22.25"), decimal.Decimal("12345.123")]


def test_an_int_too_wide_for_a_kept_width_is_not_lost(target: Target) -> None:
    pipe = target.pipeline()
    pipe.run(pa.table({"id": [1], "n": pa.array([5], pa.int32())}), table_name="t")
    pipe.run([{"id": 2, "n": 2**40}], table_name="t")
    assert target.values("t", "n") == [5, None]
    assert target.values("t", "n__v_text") == [None, str(2**40)]  # a variant is never of the column's own type


def test_pandas_categoricals_and_nullable_ints_arrive_as_values(target: Target) -> None:
    pipe = target.pipeline()
    frame = pd.DataFrame({"id": [1, 2, 3], "colour": pd.Categorical(["red", "blue", "red"]),
                          "n": pd.array([1, None, 3], dtype="Int32")})
    pipe.run(frame, table_name="t")
    assert target.types("t")["colour"] == expect(target, "VARCHAR", "text")
    assert target.types("t")["n"] == expect(target, "INTEGER", "integer")
    assert target.values("t", "colour") == ["red", "blue", "red"]
    assert target.values("t", "n") == [1, None, 3]


def test_pandas_decimal_objects_get_room_and_arrow_typed_decimals_keep_theirs(target: Target) -> None:
    pipe = target.pipeline()
    typed = pd.array([decimal.Decimal("1.25"), None], dtype=pd.ArrowDtype(pa.decimal128(10, 2)))
    frame = pd.DataFrame({"id": [1, 2], "loose": [decimal.Decimal("1.5"), decimal.Decimal("-2.25")], "typed": typed})
    pipe.run(frame, table_name="t")
    assert target.types("t")["loose"] == expect(target, "DECIMAL(38,9)", "numeric(38,9)")
    assert target.types("t")["typed"] == expect(target, "DECIMAL(10,2)", "numeric(10,2)")
    assert target.values("t", "loose") == [decimal.Decimal("1.5"), decimal.Decimal("-2.25")]
    assert target.values("t", "typed") == [decimal.Decimal("1.25"), None]


def test_nanoseconds_cut_to_microseconds_are_reported(target: Target, caplog: Any) -> None:
    pipe = target.pipeline()
    at = pa.array([1_700_000_000_123_456_789, 1_700_000_000_123_456_000], pa.timestamp("ns", tz="UTC"))
    with caplog.at_level("WARNING", logger="dataload"):
        pipe.run(pa.table({"id": [1, 2], "at": at}), table_name="t")
    expected = datetime.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert [v.astimezone(UTC) for v in target.values("t", "at")] == [expected, expected]
    assert normalize_step(pipe).truncated == {"t.at": 1}
    assert any("1 value(s) of column t.at were cut to microseconds" in r.getMessage() for r in caplog.records)


# --- item 6: a new column takes a type that holds its first values --------------------------------------------

def test_a_decimal_wider_than_38_digits_makes_one_text_column(target: Target) -> None:
    pipe = target.pipeline()
    wide = decimal.Decimal("1" * 40)
    pipe.run([{"id": 1, "d": wide}], table_name="t")
    assert target.types("t") == {"id": expect(target, "BIGINT", "bigint"), "d": expect(target, "VARCHAR", "text")}
    assert target.values("t", "d") == [str(wide)]


@pytest.mark.parametrize("make", [
    lambda u: [{"id": 1, "u": np.uint64(u)}],
    lambda u: pd.DataFrame({"id": [1], "u": np.array([u], dtype=np.uint64)}),
], ids=["numpy-scalar", "pandas-uint64"])
def test_a_uint64_beyond_int64_makes_one_decimal_column(target: Target, make: Callable[[int], Any]) -> None:
    pipe = target.pipeline()
    pipe.run(make(2**63 + 5), table_name="t")
    assert target.types("t") == {"id": expect(target, "BIGINT", "bigint"),
                                 "u": expect(target, "DECIMAL(20,0)", "numeric(20,0)")}
    assert target.values("t", "u") == [decimal.Decimal(2**63 + 5)]


def test_a_wider_decimal_in_an_existing_decimal_column_goes_to_text_not_a_decimal_variant(target: Target) -> None:
    pipe = target.pipeline()
    pipe.run([{"id": 1, "d": decimal.Decimal("1.5")}], table_name="t")
    pipe.run([{"id": 2, "d": decimal.Decimal("1.123456789123")}], table_name="t")
    assert set(target.types("t")) == {"id", "d", "d__v_text"}
    assert target.values("t", "d__v_text") == [None, "1.123456789123"]


# --- issue 12: timedelta, Arrow duration, NaT ---------------------------------------------------------------

def test_timedeltas_and_durations_load_as_microseconds(target: Target) -> None:
    pipe = target.pipeline()
    week = datetime.timedelta(days=7, microseconds=3)
    pipe.run([{"id": 1, "took": datetime.timedelta(seconds=1.5)}, {"id": 2, "took": -week},
              {"id": 3, "took": None, "extra": {"nested": datetime.timedelta(seconds=2)}}], table_name="rows")
    assert target.types("rows")["took"] == expect(target, "BIGINT", "bigint")
    assert target.values("rows", "took") == [1_500_000, -(week // datetime.timedelta(microseconds=1)), None]
    assert target.values("rows", "extra__nested") == [None, None, 2_000_000]
    pipe.run(pa.table({"id": [1, 2], "took": pa.array([3, None], pa.duration("s"))}), table_name="arrow")
    assert target.types("arrow")["took"] == expect(target, "BIGINT", "bigint")
    assert target.values("arrow", "took") == [3_000_000, None]


def test_a_timedelta_among_other_types_and_pandas_nat_load(target: Target) -> None:
    pipe = target.pipeline()
    pipe.run([{"id": 1, "at": pd.NaT, "took": datetime.timedelta(seconds=1)},
              {"id": 2, "at": datetime.datetime(2024, 3, 1, tzinfo=UTC), "took": "n/a"}], table_name="t")
    assert [None if v is None else v.astimezone(UTC) for v in target.values("t", "at")] == \
        [None, datetime.datetime(2024, 3, 1, tzinfo=UTC)]
    assert target.values("t", "took") == [1_000_000, None]
    assert target.values("t", "took__v_text") == [None, "n/a"]
    frame = pd.DataFrame({"id": [1, 2], "at": [pd.Timestamp("2024-03-01", tz="UTC"), pd.NaT],
                          "took": [pd.Timedelta(seconds=2), pd.NaT]})
    pipe.run(frame, table_name="frame")
    assert target.values("frame", "took") == [2_000_000, None]
    assert [None if v is None else v.astimezone(UTC) for v in target.values("frame", "at")] == \
        [datetime.datetime(2024, 3, 1, tzinfo=UTC), None]


def test_worker_processes_report_what_did_not_convert(make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    from dataload.extract.limits import BufferLimits

    pipe = make_pipeline(buffer_limits=BufferLimits(segment_rows=50))  # many files, so two workers share them
    rows = [{"id": i, "n": "x" if i % 10 == 0 else str(i)} for i in range(200)]
    pipe.extract(iter([rows[start:start + 50] for start in range(0, 200, 50)]), table_name="t",
                 columns={"n": {"data_type": "bigint"}})
    pipe.normalize(workers=2)
    step = normalize_step(pipe)
    assert step.processes == 2
    assert step.not_converted == {"t.n": 20}
    pipe.load()
    loaded = sorted(pipe.dataset().table("t").rows(), key=lambda r: r["id"])
    assert [r["n"] for r in loaded] == [None if i % 10 == 0 else i for i in range(200)]
    assert [r["n__v_text"] for r in loaded] == ["x" if i % 10 == 0 else None for i in range(200)]
