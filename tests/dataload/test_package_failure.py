"""A failed package keeps why it failed (failure.json): the step, the error and the table it names."""

from __future__ import annotations

import duckdb as duckdb_driver
import pytest

import dataload
from dataload.package.failure import read_failure
from destinations import duckdb


def test_a_load_failure_is_recorded_with_the_table_and_cleared_on_retry(make_pipeline, tmp_path):
    db = tmp_path / "checked.duckdb"
    with duckdb_driver.connect(str(db)) as con:  # a table of the destination refuses ids of 100 and more
        con.execute("CREATE SCHEMA ds; CREATE TABLE ds.items (id BIGINT CHECK (id < 100))")
    pipe = make_pipeline("fails_in_load", destination=duckdb(str(db)))
    with pytest.raises(dataload.TerminalLoadError):
        pipe.run([{"id": 1}, {"id": 500}], table_name="items")
    (load_id,) = pipe.failed_packages()
    failure = read_failure(pipe.working_dir / "packages" / "failed" / load_id)
    assert failure is not None and (failure.load_id, failure.step, failure.table) == (load_id, "load", "items")
    assert failure.error_type == "TerminalLoadError" and "CHECK constraint failed" in failure.error
    assert failure.file is not None and failure.file.startswith(str(pipe.working_dir / "packages" / "failed"))
    with duckdb_driver.connect(str(db)) as con:  # the cause fixed: the table accepts any id
        con.execute("DROP TABLE ds.items; CREATE TABLE ds.items (id BIGINT)")
    pipe.retry_failed()
    assert pipe.failed_packages() == [] and not (pipe.working_dir / "packages" / "failed" / load_id).exists()
    with duckdb_driver.connect(str(db)) as con:
        assert con.execute("SELECT id FROM ds.items ORDER BY id").fetchall() == [(1,), (500,)]


def test_a_normalize_failure_is_recorded_and_recorded_again_when_the_retry_fails(make_pipeline):
    pipe = make_pipeline("fails_in_normalize")
    pipe.run([{"id": 1}], table_name="items")
    with pytest.raises(dataload.DataContractViolation):
        pipe.run([{"id": 2, "extra": "x"}], table_name="items", schema_contract="freeze")
    (load_id,) = pipe.failed_packages()
    failure = read_failure(pipe.working_dir / "packages" / "failed" / load_id)
    assert failure is not None and (failure.step, failure.table, failure.file) == ("normalize", "items", None)
    assert "new column 'extra'" in failure.error
    with pytest.raises(dataload.DataContractViolation):
        pipe.retry_failed()  # still frozen: it fails again, and the record is written again
    assert read_failure(pipe.working_dir / "packages" / "failed" / load_id) is not None
