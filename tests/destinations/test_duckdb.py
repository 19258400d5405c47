"""DuckDB-only behaviour: dataset names DuckDB reserves are refused before anything runs."""

from __future__ import annotations

import duckdb as duckdb_driver
import pytest

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
