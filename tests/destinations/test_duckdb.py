"""DuckDB-only behaviour: reserved dataset names are refused; appended rows leave no free space in the file."""

from __future__ import annotations

import duckdb as duckdb_driver
import pyarrow as pa
import pytest

import dataload
from dataload.exceptions import InvalidConfig
from destinations import duckdb


@pytest.mark.parametrize("name", ["information_schema", "pg_catalog", "temp", "System", "memory", "dataload_db"])
def test_a_reserved_schema_name_is_refused_before_anything_runs(make_pipeline, tmp_path, name):
    path = tmp_path / "names.duckdb"
    with pytest.raises(InvalidConfig) as caught:
        make_pipeline("reserved", destination=duckdb(str(path)), dataset_name=name)
    assert repr(name) in str(caught.value) and "reserved" in str(caught.value)
    assert not (tmp_path / "pipelines" / "reserved").exists() and not path.exists()


def test_main_is_an_ordinary_dataset(make_pipeline, tmp_path):
    pipe = make_pipeline("plain", destination=duckdb(str(tmp_path / "main.duckdb")), dataset_name="main")
    pipe.run([{"id": 1}], table_name="t")
    with duckdb_driver.connect(str(tmp_path / "main.duckdb")) as connection:
        assert connection.execute("SELECT id FROM main.t").fetchall() == [(1,)]


def test_appended_rows_leave_no_free_blocks_in_the_file(make_pipeline, tmp_path):
    # many batches are inserted by several DuckDB threads, each leaving a partly filled row group; a
    # vacuuming checkpoint rewrote those and left about a third of the file as free blocks
    path = tmp_path / "appends.duckdb"
    pipe = make_pipeline("appends", destination=duckdb(str(path)))
    rows = 300_000
    table = pa.table({"id": pa.array(range(rows)), "name": [f"name {i % 977}" for i in range(rows)],
                      "x": pa.array([i * 0.5 for i in range(rows)])})
    batches = dataload.resource(lambda: iter(table.to_batches(max_chunksize=4_400)), name="t")
    for _ in range(3):
        pipe.run(batches())

    with duckdb_driver.connect(str(path)) as connection:
        assert connection.execute("SELECT free_blocks FROM pragma_database_size()").fetchall() == [(0,)]
        loaded = connection.execute("SELECT id, name, x, count(*) FROM ds.t GROUP BY ALL ORDER BY id").fetchall()
    assert loaded == [(*row.values(), 3) for row in table.to_pylist()]  # every row, three times, unchanged
