"""W4: W1's flat dicts at 1,000,000 rows -> PostgreSQL.

* ours: the W1 resource (pages of 1,000) loaded by a pipeline into the ``postgres`` destination.
* reference: ``pyarrow.Table.from_pylist(rows)`` written as CSV by pyarrow and sent with one
  psycopg ``COPY ... FROM STDIN (FORMAT csv)`` into a table of the same column types.
* second reference (issue 19's definition): one psycopg ``COPY ... FROM STDIN`` of the rows,
  ``copy.write_row`` per row (psycopg's own text encoding, no Arrow), into the same table.

Each measurement uses a schema of its own (``bench_w4_<pid>_<random>``), dropped after verification.
Skipped when no PostgreSQL answers at ``DATALOAD_TEST_POSTGRES``
(default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import VerificationError, Workload, w1
from ._common import (
    POSTGRES_URL,
    count_sql,
    drop_postgres_schema,
    load_postgres,
    postgres_unavailable,
    query_postgres,
    unique_dataset,
)

TABLE = "w4"
SCHEMA_PREFIX = "bench_w4"
_TYPES = {"id": "bigint", "customer_id": "bigint", "quantity": "bigint", "unit_price": "double precision",
          "discount": "double precision", "is_paid": "boolean", "is_gift": "boolean", "product": "text",
          "customer_email": "text", "created_at": "timestamptz", "ship_date": "date", "note": "text"}


def run_ours(rows: list[dict[str, Any]], workdir: Path) -> Any:
    """Load the rows through a dataload pipeline into PostgreSQL; returns the pipeline (its steps are timed)."""
    import dataload

    @dataload.resource(name=TABLE)
    def w4_rows():
        for start in range(0, len(rows), w1.PAGE_SIZE):
            yield rows[start:start + w1.PAGE_SIZE]

    return load_postgres("bench_w4", workdir, SCHEMA_PREFIX, w4_rows())


def run_reference(rows: list[dict[str, Any]], workdir: Path) -> str:
    """from_pylist + pyarrow CSV + one COPY FROM STDIN; returns the schema."""
    import io

    import psycopg
    import pyarrow as pa
    import pyarrow.csv as csv

    schema = unique_dataset(SCHEMA_PREFIX)
    table = pa.Table.from_pylist(rows)
    buffer = io.BytesIO()
    csv.write_csv(table, buffer, csv.WriteOptions(include_header=False))
    with psycopg.connect(POSTGRES_URL) as con, con.cursor() as cur:
        _create_table(cur, schema, table.column_names)
        with cur.copy(f'COPY "{schema}"."{TABLE}" FROM STDIN (FORMAT csv)') as copy:
            copy.write(buffer.getvalue())
    return schema


def run_reference2(rows: list[dict[str, Any]], workdir: Path) -> str:
    """One COPY FROM STDIN with psycopg's ``write_row`` per row; returns the schema."""
    import operator

    import psycopg

    schema, names = unique_dataset(SCHEMA_PREFIX), list(rows[0])
    values = operator.itemgetter(*names)
    quoted = ", ".join(f'"{c}"' for c in names)
    with psycopg.connect(POSTGRES_URL) as con, con.cursor() as cur:
        _create_table(cur, schema, names)
        with cur.copy(f'COPY "{schema}"."{TABLE}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(values(row))
    return schema


def _create_table(cursor: Any, schema: str, names: list[str]) -> None:
    """The measurement's schema and a table with the columns ``names`` in their types."""
    columns = ", ".join(f'"{c}" {_TYPES[c]}' for c in names)
    cursor.execute(f'CREATE SCHEMA "{schema}"')
    cursor.execute(f'CREATE TABLE "{schema}"."{TABLE}" ({columns})')


def verify(mode: str, rows: list[dict[str, Any]], workdir: Path, handle: Any) -> int:
    """Count the rows, then drop the measurement's schema (``handle``: ours' pipeline, or a reference's schema)."""
    schema = handle if isinstance(handle, str) else handle.dataset_name
    try:
        found = query_postgres(count_sql(TABLE, dataset=schema))[0][0]
    finally:
        drop_postgres_schema(schema)
    if found != len(rows):
        raise VerificationError(f"W4 {mode}: {found} rows in {schema}.{TABLE}, expected {len(rows)}")
    return int(found)


WORKLOAD = Workload(
    name="W4",
    title="flat dicts, pages of 1,000 -> PostgreSQL",
    default_rows=1_000_000,
    quick_rows=50_000,
    build_input=w1.build_input,
    run_ours=run_ours,
    run_reference=run_reference,
    verify=verify,
    unavailable=postgres_unavailable,
    run_reference2=run_reference2,
    reference2="one psycopg COPY of the rows, write_row per row, no Arrow (issue 19's reference)",
)
