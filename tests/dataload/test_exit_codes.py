"""Which exit code each error of a pipeline script gets (the table of docs/scheduling.md)."""

from __future__ import annotations

import pytest

import dataload
from dataload.exit_codes import ExitCode, exit_code_for


def _raised_from(error: Exception, cause: BaseException) -> Exception:
    try:
        raise error from cause
    except Exception as raised:
        return raised


@pytest.mark.parametrize("error, expected", [
    (dataload.MissingConfig("sources.crm.token", []), ExitCode.CONFIG),
    (dataload.InvalidConfig("bad"), ExitCode.CONFIG),
    (dataload.MissingDependencyError("postgres", "postgres", "psycopg"), ExitCode.CONFIG),
    (ModuleNotFoundError("No module named 'psycopg'"), ExitCode.CONFIG),
    (dataload.DataContractViolation("frozen", table="users", column="email"), ExitCode.CONTRACT),
    (dataload.PipelineLockedError("busy"), ExitCode.LOCKED),
    (dataload.TerminalLoadError("refused", table="users"), ExitCode.FAILED_PACKAGE),
    (dataload.PackageBlockedError("waiting", load_id="1.0"), ExitCode.FAILED_PACKAGE),
    (dataload.NormalizeError("bad value", table="users"), ExitCode.FAILED_PACKAGE),
    (dataload.TransientLoadError("still down after the retries"), ExitCode.ERROR),
    (dataload.SchemaError("no table"), ExitCode.ERROR),
    (KeyError("id"), ExitCode.ERROR),
    (_raised_from(dataload.ResourceError("users", "boom"), dataload.DataContractViolation("x")), ExitCode.CONTRACT),
    (_raised_from(RuntimeError("wrapped"), dataload.MissingConfig("k", [])), ExitCode.CONFIG),
])
def test_exit_code_for(error: BaseException, expected: ExitCode) -> None:
    assert exit_code_for(error) is expected


def test_codes_are_distinct_and_stable() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0, "ERROR": 1, "USAGE": 2, "CONFIG": 3, "FAILED_PACKAGE": 4, "CONTRACT": 5, "LOCKED": 6,
        "SCHEMA_CHANGED": 7}
