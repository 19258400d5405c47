"""The native Arrow backend: a SELECT streamed from PostgreSQL as Arrow batches by the ADBC driver.

Values and Arrow types are compared with what psycopg reads from the same table; the WHERE of
an incremental-style query carries bound parameters (a hostile string among them).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import dataload
from conftest import POSTGRES_URL, postgres_connection

sa = pytest.importorskip("sqlalchemy")
pytest.importorskip("adbc_driver_postgresql")

from sources.sql_database.native import native_arrow_batches  # noqa: E402

HOSTILE = "x'); DROP TABLE t; -- \\ %s $1 \""
COLUMNS = {
    "id": "bigint PRIMARY KEY",
    "amount": "numeric(12,2)",
    "big_amount": "numeric(38,10)",
    "name": "text",
    "created_at": "timestamptz",
    "flag": "boolean",
    "score": "double precision",
    "day": "date",
    "local_time": "timestamp",
    "free_numeric": "numeric",
    "uid": "uuid",
    "doc": "jsonb",
    "payload": "bytea",
    "small": "integer",
}
ROWS = [
    (1, Decimal("1234567890.12"), Decimal("1234567890123456789012345678.0123456789"), "ann",
     dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), True, 1.5, dt.date(2024, 1, 1),
     dt.datetime(2024, 1, 1, 8, 30, 0, 123456), Decimal("3.14159265358979323846264338327950288419716939937510"),
     uuid.UUID("12345678-1234-5678-1234-567812345678"), '{"a": [1, 2]}', b"\x00\x01\xff", 7),
    (2, Decimal("-0.01"), Decimal("0.0000000001"), HOSTILE,
     dt.datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=dt.timezone.utc), False, -2.25e300, dt.date(1970, 1, 1),
     dt.datetime(1999, 12, 31, 23, 59, 59), Decimal("-1"), uuid.UUID("00000000-0000-0000-0000-000000000000"),
     '"text"', b"", -2_147_483_648),
    (3, None, None, None, None, None, None, None, None, None, None, None, None, None),
]
ARROW_TYPES = {
    "id": pa.int64(), "amount": pa.decimal128(12, 2), "big_amount": pa.decimal128(38, 10), "name": pa.string(),
    "created_at": pa.timestamp("us", tz="UTC"), "flag": pa.bool_(), "score": pa.float64(), "day": pa.date32(),
    "local_time": pa.timestamp("us"), "free_numeric": pa.string(), "uid": pa.string(), "doc": pa.string(),
    "payload": pa.binary(), "small": pa.int32(),
}


def expected_value(column: str, value: Any) -> Any:
    """What the Arrow batch holds for a psycopg value: UTC instants, canonical uuid and numeric text."""
    if value is None:
        return None
    if column == "created_at":
        return value.astimezone(dt.timezone.utc)
    if column in ("uid", "free_numeric"):
        return str(value)
    if column == "payload":
        return bytes(value)
    if column == "doc":
        return json.dumps(value)  # jsonb's text form: ", " and ": " between items
    return value


@pytest.fixture
def schema() -> Iterator[str]:
    """A unique PostgreSQL schema holding table ``t`` (every column type and one row of NULLs), dropped after."""
    admin = postgres_connection()
    name = f"native_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE SCHEMA "{name}"')
    columns = ", ".join(f'"{c}" {t}' for c, t in COLUMNS.items())
    admin.execute(f'CREATE TABLE "{name}".t ({columns})')
    with admin.cursor() as cursor:
        placeholders = ", ".join(["%s"] * len(COLUMNS))
        cursor.executemany(f'INSERT INTO "{name}".t VALUES ({placeholders})', ROWS)
    yield name
    admin.execute(f'DROP SCHEMA "{name}" CASCADE')
    admin.close()


@pytest.fixture
def engine() -> Iterator[Any]:
    engine = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


def table_of(engine: Any, schema: str, name: str = "t") -> Any:
    return sa.Table(name, sa.MetaData(), schema=schema, autoload_with=engine)


def source_rows(schema: str, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """The table's rows as psycopg reads them, ordered by id."""
    admin = postgres_connection()
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'SELECT * FROM "{schema}".t {where} ORDER BY id', params)
            names = [d.name for d in cursor.description]
            return [{n: expected_value(n, v) for n, v in zip(names, row)} for row in cursor.fetchall()]
    finally:
        admin.close()


def read_all(engine: Any, select: Any, chunk_size: int = 1_000) -> pa.Table:
    batches = list(native_arrow_batches(engine, select, chunk_size))
    return pa.Table.from_batches(batches)


def test_every_column_type_reads_back_equal_to_the_source(engine: Any, schema: str) -> None:
    table = table_of(engine, schema)
    result = read_all(engine, sa.select(table).order_by(table.c.id))
    assert {f.name: f.type for f in result.schema} == ARROW_TYPES
    assert result.to_pylist() == source_rows(schema)
    assert result.column("created_at")[0].as_py() == dt.datetime(2024, 1, 1, 10, 0, tzinfo=dt.timezone.utc)


def test_a_where_on_bound_parameters_selects_the_same_rows_as_the_server(engine: Any, schema: str) -> None:
    table = table_of(engine, schema)
    since = dt.datetime(2024, 1, 1, 10, 0, tzinfo=dt.timezone.utc)
    select = (sa.select(table).where(table.c.created_at >= since, table.c.name == HOSTILE)
              .order_by(table.c.id))
    result = read_all(engine, select)
    assert result.to_pylist() == source_rows(schema, "WHERE created_at >= %s AND name = %s", (since, HOSTILE))
    assert result.column("id").to_pylist() == [2]
    others = read_all(engine, sa.select(table.c.id).where(table.c.name != HOSTILE, table.c.id.in_([1, 2, 3])))
    assert others.column("id").to_pylist() == [1]
    assert read_all(engine, sa.select(table.c.id)).num_rows == 3  # the hostile text ran no SQL of its own


@pytest.mark.parametrize("bound", [False, True], ids=["whole table", "bound WHERE"])
def test_a_small_chunk_size_streams_several_batches(engine: Any, schema: str, bound: bool) -> None:
    admin = postgres_connection()
    admin.execute(f'CREATE TABLE "{schema}".many AS SELECT i::bigint AS id, md5(i::text) AS word '
                  "FROM generate_series(1, 2500) AS i")
    admin.close()
    many = table_of(engine, schema, "many")
    select = sa.select(many).order_by(many.c.id)
    if bound:
        select = select.where(many.c.id > 500)
    batches = list(native_arrow_batches(engine, select, 300))
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    assert max(b.num_rows for b in batches) == 300
    ids = pa.Table.from_batches(batches).column("id").to_pylist()
    first = 501 if bound else 1
    assert ids == list(range(first, 2501))
    assert len(batches) >= (2500 - first + 1) // 300


def test_a_resource_of_native_batches_loads_into_duckdb(engine: Any, schema: str,
                                                         make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    table = table_of(engine, schema)
    columns = ["id", "amount", "big_amount", "name", "created_at", "flag", "score", "day", "uid"]
    select = sa.select(*(table.c[c] for c in columns)).order_by(table.c.id)
    pipe = make_pipeline()
    pipe.run(dataload.resource(native_arrow_batches(engine, select, 2), name="t"))
    with pipe.sql_client() as client:
        loaded = client.execute(f'SELECT {", ".join(columns)} FROM ds.t ORDER BY id').fetchall()
        types = dict(client.execute("SELECT column_name, data_type FROM information_schema.columns "
                                    "WHERE table_schema = 'ds' AND table_name = 't'").fetchall())
    source = [tuple(row[c] for c in columns) for row in source_rows(schema)]
    assert [tuple(v.astimezone(dt.timezone.utc) if isinstance(v, dt.datetime) else v for v in row)
            for row in loaded] == source
    assert (types["amount"], types["big_amount"], types["created_at"]) == (
        "DECIMAL(12,2)", "DECIMAL(38,10)", "TIMESTAMP WITH TIME ZONE")


def test_a_money_column_is_refused_with_its_name_not_read_as_cents(engine: Any, schema: str) -> None:
    admin = postgres_connection()
    admin.execute(f'CREATE TABLE "{schema}".prices (id bigint, price money)')
    admin.execute(f"INSERT INTO \"{schema}\".prices VALUES (1, 12.50)")
    admin.close()
    with pytest.raises(dataload.SchemaError, match="price.*money.*numeric") as caught:
        read_all(engine, sa.select(table_of(engine, schema, "prices")))
    assert caught.value.column == "price"


def test_lists_of_numeric_and_uuid_arrive_as_lists_of_their_text(engine: Any) -> None:
    query = sa.select(sa.literal_column("ARRAY[1.5, NULL, 2.25]::numeric(5,2)[]").label("amounts"),
                      sa.literal_column("ARRAY['12345678-1234-5678-1234-567812345678'::uuid]").label("ids"),
                      sa.literal_column("NULL::numeric[]").label("none"))
    result = read_all(engine, query)
    assert result.schema.types == [pa.list_(pa.string())] * 3
    assert result.to_pylist() == [{"amounts": ["1.50", None, "2.25"], "ids": ["12345678-1234-5678-1234-567812345678"],
                                   "none": None}]


@pytest.mark.parametrize("sql_type, value", [("inet", "192.168.0.1"), ("int4range", "[1,5)"), ("xml", "<a/>")])
def test_a_type_the_driver_reads_as_wire_bytes_is_refused_with_its_name(engine: Any, sql_type: str,
                                                                         value: str) -> None:
    query = sa.select(sa.literal_column(f"'{value}'::{sql_type}").label("odd"))
    with pytest.raises(dataload.SchemaError, match="'odd'.*PostgreSQL.*wire format: cast it to text") as caught:
        read_all(engine, query)
    assert caught.value.column == "odd"


def test_a_numeric_nan_is_refused_with_its_column_not_dropped(engine: Any, schema: str) -> None:
    admin = postgres_connection()
    admin.execute(f'CREATE TABLE "{schema}".ratios (id bigint, ratio numeric(10,4))')
    admin.execute(f"INSERT INTO \"{schema}\".ratios VALUES (1, 0.5), (2, 'NaN')")
    admin.close()
    with pytest.raises(dataload.SchemaError, match=r"'ratio'.*decimal128\(10, 4\)") as caught:
        read_all(engine, sa.select(table_of(engine, schema, "ratios")))
    assert caught.value.column == "ratio"


def test_a_failed_connection_is_an_extract_error_that_shows_no_password(schema: str,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    url = sa.make_url(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = sa.create_engine(url.set(password="s3cr3t-pw", port=1))  # nothing listens on port 1
    select = sa.select(sa.table("t", sa.column("id"), schema=schema))
    caplog.set_level("DEBUG")
    with pytest.raises(dataload.ExtractError, match=rf"{schema}\.t.*:\*\*\*@") as caught:
        list(native_arrow_batches(engine, select, 10))
    assert "s3cr3t-pw" not in str(caught.value) and caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert "native read of" in caplog.text and "s3cr3t-pw" not in caplog.text


def test_another_database_is_refused_with_the_backends_that_read_it(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(dataload.InvalidConfig, match="sqlite.*PostgreSQL.*pyarrow"):
        list(native_arrow_batches(engine, sa.select(sa.table("t", sa.column("id"))), 10))


def test_without_the_driver_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch, engine: Any) -> None:
    monkeypatch.setitem(sys.modules, "adbc_driver_postgresql.dbapi", None)  # as if not installed
    with pytest.raises(dataload.MissingDependencyError, match=r'pip install "dataload\[sql_native\]"'):
        list(native_arrow_batches(engine, sa.select(sa.table("t", sa.column("id"))), 10))


def test_chunk_size_must_be_positive(engine: Any) -> None:
    with pytest.raises(dataload.InvalidConfig, match="chunk_size"):
        list(native_arrow_batches(engine, sa.select(sa.table("t", sa.column("id"))), 0))


def test_the_docs_examples_run_and_print_what_they_say(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    postgres_connection().close()  # skip (or fail in CI) without a server
    page = (Path(__file__).resolve().parents[3] / "docs" / "sql_native.md").read_text()
    code = "\n".join(block.split("```", 1)[0] for block in page.split("```python\n")[1:])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATALOAD_PIPELINES_DIR", str(tmp_path / "pipelines"))
    exec(compile(code, "docs/sql_native.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == ["{'orders': 1000}", "[100, 100]", "decimal128(12, 2)"]
