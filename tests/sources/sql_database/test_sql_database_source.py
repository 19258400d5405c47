"""``sql_database`` and ``sql_table`` options, on real databases, loaded and read back from the destination."""

from __future__ import annotations

import datetime
import decimal
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqldb_fixtures import DuckTarget, SourceDb, make_source_db, target_fixture  # noqa: F401

import dataload
from conftest import POSTGRES_URL, postgres_connection
from destinations import postgres
from sources.sql_database import sql_database, sql_table

SHOP = (
    "CREATE TABLE {s}customers (id integer PRIMARY KEY, name varchar(40) NOT NULL, vip smallint)",
    "CREATE TABLE {s}orders (id integer PRIMARY KEY, customer_id integer, total numeric(10, 2), note varchar(40))",
    "INSERT INTO {s}customers VALUES (1, 'Ann', 1), (2, 'Bob', 0)",
    "INSERT INTO {s}orders VALUES (10, 1, 9.99, 'first'), (11, 2, 120.50, NULL), (12, 1, 0.01, 'small')",
)
CUSTOMERS = [{"id": 1, "name": "Ann", "vip": 1}, {"id": 2, "name": "Bob", "vip": 0}]
ORDERS = [{"id": 10, "customer_id": 1, "total": decimal.Decimal("9.99"), "note": "first"},
          {"id": 11, "customer_id": 2, "total": decimal.Decimal("120.50"), "note": None},
          {"id": 12, "customer_id": 1, "total": decimal.Decimal("0.01"), "note": "small"}]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[SourceDb]:
    """A SQLite database with customers and orders."""
    db = make_source_db("sqlite", tmp_path)
    db.run(*SHOP)
    yield db
    db.drop()


def test_sql_database_reads_every_table_with_its_primary_key_and_merges_with_no_config(
        shop: SourceDb, target: DuckTarget) -> None:
    source = sql_database(shop.url, write_disposition="merge")
    assert sorted(source.resources) == ["customers", "orders"]
    assert source.resources["orders"].hints.primary_key == ("id",)
    pipe = target.pipeline()
    pipe.run(source)
    assert target.rows("customers") == CUSTOMERS and target.rows("orders") == ORDERS

    shop.run("UPDATE orders SET note = 'changed' WHERE id = 11")
    pipe.run(sql_database(shop.url, write_disposition="merge"))
    assert target.rows("orders") == [ORDERS[0], {**ORDERS[1], "note": "changed"}, ORDERS[2]]


def test_table_names_and_include_views_choose_the_resources(shop: SourceDb) -> None:
    shop.run("CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100")
    assert list(sql_database(shop.url, table_names=["orders"]).resources) == ["orders"]
    assert sorted(sql_database(shop.url).resources) == ["customers", "orders"]
    with_views = sql_database(shop.url, include_views=True)
    assert sorted(with_views.resources) == ["big_orders", "customers", "orders"]
    assert list(with_views.resources["big_orders"]) == [{"id": 11, "total": decimal.Decimal("120.50")}]


@pytest.mark.parametrize("level, total_type, vip_type", [
    ("minimal", "DECIMAL(38,9)", "BIGINT"),
    ("full", "DECIMAL(10,2)", "BIGINT"),
    ("full_with_precision", "DECIMAL(10,2)", "SMALLINT"),
])
def test_reflection_level_decides_how_much_of_the_types_is_taken(shop: SourceDb, target: DuckTarget, level: str,
                                                                 total_type: str, vip_type: str) -> None:
    target.pipeline().run(sql_database(shop.url, reflection_level=level))  # type: ignore[arg-type]
    assert target.types("orders")["total"] == total_type
    assert target.types("customers")["vip"] == vip_type
    assert target.rows("orders") == ORDERS


def test_a_reflection_level_that_does_not_exist_is_refused(shop: SourceDb) -> None:
    with pytest.raises(dataload.InvalidConfig, match="reflection_level must be one of minimal, full"):
        sql_table(shop.url, table="orders", reflection_level="types")  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["sqlalchemy", "pyarrow"])
def test_included_and_excluded_columns_choose_what_is_read(shop: SourceDb, target: DuckTarget, backend: str) -> None:
    pipe = target.pipeline()
    pipe.run(sql_table(shop.url, table="orders", included_columns=["id", "total", "note"], excluded_columns=["note"],
                       backend=backend))
    assert target.rows("orders") == [{"id": r["id"], "total": r["total"]} for r in ORDERS]


def test_an_unknown_column_is_refused_naming_the_table_and_its_columns(shop: SourceDb) -> None:
    with pytest.raises(dataload.InvalidConfig, match=r"table 'orders' has no column\(s\) \['totl'\]; its columns: id"):
        sql_table(shop.url, table="orders", excluded_columns=["totl"])


def test_an_unknown_table_is_refused_naming_the_tables_there_are(shop: SourceDb) -> None:
    with pytest.raises(dataload.InvalidConfig, match="no table or view 'order' .*there are: customers, orders"):
        sql_table(shop.url, table="order")


def test_callbacks_change_the_table_the_query_and_the_types(shop: SourceDb, target: DuckTarget) -> None:
    seen_tables: list[str] = []

    def adapt_table(table: sa.Table) -> None:
        seen_tables.append(table.name)
        table.c.note.type = sa.String(5)

    def adapt_query(select: sa.Select[Any], table: sa.Table) -> sa.Select[Any]:
        return select.where(table.c.customer_id == 1)

    def adapt_type(sqltype: Any) -> Any:
        return sa.Float() if isinstance(sqltype, sa.Numeric) else None

    target.pipeline().run(sql_table(shop.url, table="orders", table_adapter_callback=adapt_table,
                                    query_adapter_callback=adapt_query, type_adapter_callback=adapt_type))
    assert seen_tables == ["orders"]
    assert target.types("orders")["total"] == "DOUBLE"
    assert [(r["id"], r["total"]) for r in target.rows("orders")] == [(10, 9.99), (12, 0.01)]


def test_defer_table_reflect_reflects_when_the_resource_runs(tmp_path: Path, target: DuckTarget) -> None:
    db = make_source_db("sqlite", tmp_path)
    try:
        db.run("CREATE TABLE placeholder (x INTEGER)")
        later = sql_table(db.url, table="orders", defer_table_reflect=True, backend="pyarrow")
        db.run(*[s for s in SHOP if "orders" in s])  # the table exists only after the resource was made
        target.pipeline().run(later)
    finally:
        db.drop()
    assert target.rows("orders") == ORDERS


@pytest.mark.parametrize("backend, kind", [("sqlalchemy", list), ("pyarrow", pa.RecordBatch),
                                           ("pandas", pd.DataFrame)])
def test_each_backend_yields_chunks_of_chunk_size_rows(shop: SourceDb, backend: str, kind: type) -> None:
    resource = sql_table(shop.url, table="orders", backend=backend, chunk_size=2)
    chunks = list(resource.add_map(lambda chunk: chunk))  # pages come through whole
    sizes = [len(c) if not isinstance(c, pa.RecordBatch) else c.num_rows for c in chunks]
    assert all(isinstance(c, (kind, dict)) for c in chunks)
    if backend == "sqlalchemy":
        assert [row["id"] for row in chunks] == [10, 11, 12]  # pages are unpacked into rows
    else:
        assert sizes == [2, 1]


def test_sqlalchemy_rows_are_plain_dicts_the_garbage_collector_need_not_scan(shop: SourceDb) -> None:
    """Keys are plain ``str`` (not SQLAlchemy's ``quoted_name``): a dict of plain keys and scalar values
    is not tracked by the garbage collector, so pages of rows do not make every full collection slower."""
    rows = list(sql_table(shop.url, table="orders", backend="sqlalchemy", chunk_size=2))
    assert [row["id"] for row in rows] == [10, 11, 12]
    assert {type(key) for row in rows for key in row} == {str}
    assert not any(gc.is_tracked(row) for row in rows)


def test_an_unknown_backend_is_refused_listing_the_backends(shop: SourceDb) -> None:
    with pytest.raises(dataload.InvalidConfig, match="backend 'arrow' is not one of sqlalchemy, pyarrow, pandas"):
        sql_table(shop.url, table="orders", backend="arrow")


def test_credentials_come_from_config(shop: SourceDb, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__SQL_DATABASE__CREDENTIALS", shop.url)
    assert sorted(sql_database().resources) == ["customers", "orders"]
    assert list(sql_table(table="customers")) == CUSTOMERS


def test_missing_credentials_say_where_they_were_looked_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCES__SQL_DATABASE__CREDENTIALS", raising=False)
    with pytest.raises(dataload.MissingConfig, match="SOURCES__SQL_DATABASE__CREDENTIALS"):
        sql_table(table="orders")


def test_the_password_never_shows_in_errors(tmp_path: Path) -> None:
    db = make_source_db("postgres", tmp_path)  # trust auth: the password is ignored, but must not be shown
    try:
        url = POSTGRES_URL.replace("postgres@", "postgres:s3cret-pw@")
        with pytest.raises(dataload.InvalidConfig) as missing:
            sql_table(url, table="nowhere", schema=db.schema)
        with pytest.raises(dataload.DataloadError) as unreachable:
            sql_table(url.replace(":5432", ":1"), table="orders")
    finally:
        db.drop()
    for raised in (missing, unreachable):
        text = "".join(str(e) for e in (raised.value, raised.value.__cause__, raised.value.__context__) if e)
        assert "s3cret-pw" not in text and "***" in text, text


@pytest.mark.parametrize(("kind", "extra_column", "reader"), [("postgres", "", "COPY"),
                                                          ("postgres", ", doc jsonb", "ServerCursor"),
                                                          ("mariadb", "", "SSCursor")])
def test_rows_stream_from_a_server_side_cursor(kind: str, extra_column: str, reader: str, tmp_path: Path) -> None:
    """Rows are read chunk by chunk: from a server-side cursor, or on PostgreSQL (where no column needs the rows
    fetched: a ``jsonb`` does) from a streamed ``COPY``."""
    db = make_source_db(kind, tmp_path)
    cursors: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: cursors.append(
                        "COPY" if statement.startswith("COPY") else type(cursor).__name__)
                    if "FROM" in statement and "numbers" in statement else None)
    try:
        db.run(f"CREATE TABLE {{s}}numbers (id integer PRIMARY KEY{extra_column})",
               "INSERT INTO {s}numbers (id) VALUES " + ", ".join(f"({i})" for i in range(1000)))
        batches = list(sql_table(db.engine, table="numbers", schema=db.schema, backend="pyarrow", chunk_size=300))
    finally:
        db.drop()
    assert [b.num_rows for b in batches] == [300, 300, 300, 100]
    assert cursors == [reader]


def test_a_mariadb_table_loads_into_postgresql(tmp_path: Path) -> None:
    db = make_source_db("mariadb", tmp_path)
    admin = postgres_connection()
    dataset = f"from_maria_{tmp_path.name[-6:].replace('-', '_')}"
    try:
        db.run(*SHOP)
        pipe = dataload.pipeline("maria_to_pg", destination=postgres(POSTGRES_URL), dataset_name=dataset,
                                 pipelines_dir=tmp_path / "pipelines")
        pipe.run(sql_database(db.url, schema=db.schema, backend="pyarrow"))
        rows = admin.execute(f'SELECT id, customer_id, total, note FROM "{dataset}".orders ORDER BY id').fetchall()
        types = dict(admin.execute("SELECT column_name, data_type || coalesce('(' || numeric_precision || ',' || "
                                   "numeric_scale || ')', '') FROM information_schema.columns WHERE table_schema = %s "
                                   "AND table_name = 'orders'", [dataset]).fetchall())
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
        admin.close()
        db.drop()
    assert [dict(zip(["id", "customer_id", "total", "note"], row)) for row in rows] == ORDERS
    assert types["total"] == "numeric(10,2)" and types["id"].startswith("bigint")


def test_timestamps_of_a_sqlite_table_arrive_as_utc(tmp_path: Path, target: DuckTarget) -> None:
    db = make_source_db("sqlite", tmp_path)
    try:
        db.run("CREATE TABLE ticks (id INTEGER PRIMARY KEY, at DATETIME)",
               "INSERT INTO ticks VALUES (1, '2024-05-01 10:30:00.000000')")
        target.pipeline().run(sql_table(db.url, table="ticks", backend="pyarrow"))
    finally:
        db.drop()
    (row,) = target.rows("ticks")
    assert row["at"].astimezone(datetime.timezone.utc) == datetime.datetime(2024, 5, 1, 10, 30,
                                                                            tzinfo=datetime.timezone.utc)


def test_mariadb_timestamps_arrive_in_utc_and_the_session_time_zone_is_given_back(tmp_path: Path) -> None:
    db = make_source_db("mariadb", tmp_path)
    engine = sa.create_engine(db.url, poolclass=sa.pool.StaticPool)  # one connection: the session is the user's
    try:
        db.run("CREATE TABLE {s}stamps (id integer PRIMARY KEY, at timestamp NULL)",  # written in UTC (the fixture)
               "INSERT INTO {s}stamps VALUES (1, '2024-05-01 10:30:00'), (2, '2024-05-01 11:30:00')")
        with engine.connect() as connection:
            connection.exec_driver_sql("SET time_zone = '+05:00'")
        # stopped after the first chunk: rows are still unread on the unbuffered cursor when the zone is set back
        rows = list(sql_table(engine, table="stamps", schema=db.schema, chunk_size=1).add_limit(1))
        with engine.connect() as connection:
            zone = connection.exec_driver_sql("SELECT @@session.time_zone").scalar()
    finally:
        engine.dispose()
        db.drop()
    assert rows == [{"id": 1, "at": datetime.datetime(2024, 5, 1, 10, 30)}]  # naive UTC, as dataload reads it
    assert zone == "+05:00"


@pytest.mark.parametrize("backend", ["sqlalchemy", "pyarrow", "native"])
def test_names_that_need_quoting_are_read_and_pushed_into_the_sql(backend: str, tmp_path: Path,
                                                                  target: DuckTarget) -> None:
    db = make_source_db("postgres", tmp_path)
    try:
        db.run('CREATE TABLE {s}"Order Items" ("Item ID" integer PRIMARY KEY, "Unit Price" numeric(8, 2), '
               '"select" text)',
               """INSERT INTO {s}"Order Items" VALUES (1, 2.50, 'a'), (2, 3.75, 'b'), (3, 1.00, 'c')""")
        cursor = dataload.incremental("Item ID", initial_value=2)
        target.pipeline().run(sql_table(db.url, table="Order Items", schema=db.schema, backend=backend,
                                        incremental=cursor))
    finally:
        db.drop()
    assert target.rows("order_items", order_by="item_id") == [
        {"item_id": 2, "unit_price": decimal.Decimal("3.75"), "select": "b"},
        {"item_id": 3, "unit_price": decimal.Decimal("1.00"), "select": "c"}]


@pytest.mark.parametrize("rows, chunk_size", [(7, 3), (6, 3), (1, 3), (1, 1)])
def test_the_sqlalchemy_backend_reads_every_chunk_once(tmp_path: Path, target: DuckTarget, rows: int,
                                                        chunk_size: int) -> None:
    """Rows after the first chunk may come from the driver's cursor itself: none lost, doubled or changed."""
    expected = [{"id": i, "total": decimal.Decimal(f"{i}.25"), "note": None if i % 2 else f"n{i}",
                 "at": datetime.datetime(2026, 1, i, 12, 30, tzinfo=datetime.timezone.utc)} for i in range(1, rows + 1)]
    for kind in ("sqlite", "postgres", "mariadb"):
        (tmp_path / kind).mkdir()
        db = make_source_db(kind, tmp_path / kind)
        stamp = "timestamptz" if kind == "postgres" else "timestamp"
        values = ", ".join(f"({r['id']}, {r['total']}, {'NULL' if r['note'] is None else repr(r['note'])}, "
                           f"'{r['at']:%Y-%m-%d %H:%M:%S}')" for r in expected)
        try:
            db.run("CREATE TABLE {s}paged (id integer PRIMARY KEY, total numeric(8, 2), note varchar(8), "
                   f"at {stamp})",
                   f"INSERT INTO {{s}}paged VALUES {values}")
            resource = sql_table(db.engine, table="paged", schema=db.schema, backend="sqlalchemy",
                                 chunk_size=chunk_size)
            target.pipeline(f"paged_{kind}").run(resource, table_name=f"paged_{kind}")
        finally:
            db.drop()
        assert sorted(target.rows(f"paged_{kind}"), key=lambda r: r["id"]) == expected, kind
