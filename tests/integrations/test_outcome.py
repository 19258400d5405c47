"""What every orchestrator integration keeps of a run: the result, or a failure that says whether to retry."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import duckdb as duckdb_driver
import pytest

import dataload
from dataload.exit_codes import ExitCode
from dataload.integrations.outcome import PipelineRunFailed, load_result
from tests.integrations.tools import rows


def test_a_run_that_loaded_gives_its_load_info_as_json(make_pipeline: Callable[..., dataload.Pipeline],
                                                        tmp_path: Path) -> None:
    pipe = make_pipeline("shop")
    result = load_result(lambda: pipe.run([{"id": 1}, {"id": 2}], table_name="orders"))
    assert json.loads(json.dumps(result))["rows"] == {"orders": 2}
    assert result["pipeline_name"] == "shop" and result["has_data"] is True and len(result["load_ids"]) == 1
    assert rows(tmp_path / "shop.duckdb", "SELECT id FROM ds.orders ORDER BY id") == [(1,), (2,)]


def _failed_package(pipe: dataload.Pipeline, database: Path) -> None:
    with duckdb_driver.connect(str(database)) as connection:  # the destination refuses ids of 100 and more
        connection.execute("CREATE SCHEMA ds; CREATE TABLE ds.items (id BIGINT CHECK (id < 100))")
    pipe.run([{"id": 1}, {"id": 500}], table_name="items")


def _contract_violation(pipe: dataload.Pipeline, database: Path) -> None:
    pipe.run(dataload.resource([{"id": 1}], name="frozen", schema_contract="freeze"))


def _missing_secret(pipe: dataload.Pipeline, database: Path) -> None:
    @dataload.source
    def crm(token: str = dataload.secrets.value) -> dataload.Resource:
        return dataload.resource([{"token": token}], name="users")

    pipe.run(crm())


def _resource_bug(pipe: dataload.Pipeline, database: Path) -> None:
    def broken() -> list[dict[str, int]]:
        raise ValueError("bug in the resource")

    pipe.run(dataload.resource(broken, name="broken"))


@pytest.mark.parametrize("run, code, retryable, named", [
    (_failed_package, ExitCode.FAILED_PACKAGE, False, "items"),
    (_contract_violation, ExitCode.CONTRACT, False, "'frozen'"),
    (_missing_secret, ExitCode.CONFIG, False, "sources.crm.token"),
    (_resource_bug, ExitCode.ERROR, True, "broken"),
])
def test_a_failed_run_says_why_and_whether_a_retry_can_help(
        make_pipeline: Callable[..., dataload.Pipeline], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        run: Callable[[dataload.Pipeline, Path], None], code: ExitCode, retryable: bool, named: str) -> None:
    monkeypatch.chdir(tmp_path)  # no .dataload/ of the checkout's
    pipe = make_pipeline("failing")
    with pytest.raises(PipelineRunFailed) as raised:
        load_result(lambda: run(pipe, tmp_path / "failing.duckdb"))  # type: ignore[func-returns-value]
    failure = raised.value
    assert (failure.code, failure.retryable) == (code, retryable)
    assert named in str(failure) and failure.__cause__ is not None
    copy = pickle.loads(pickle.dumps(failure))  # orchestrators ship errors between processes
    assert (copy.code, str(copy)) == (failure.code, str(failure))
