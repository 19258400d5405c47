"""One boundary classifies what a destination call raises: transient (retried) or terminal (failed/)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

import dataload
from dataload.load.errors import classify
from destinations import duckdb


@pytest.mark.parametrize("error, expected", [
    (ConnectionError("reset by peer"), dataload.TransientLoadError),
    (ConnectionRefusedError("refused"), dataload.TransientLoadError),
    (TimeoutError("timed out"), dataload.TransientLoadError),
    (socket.timeout("timed out"), dataload.TransientLoadError),
    (OSError("disk full"), dataload.TransientLoadError),
    (dataload.TransientLoadError("lock timeout"), dataload.TransientLoadError),
    (KeyError("id"), dataload.TerminalLoadError),
    (TypeError("unsupported operand"), dataload.TerminalLoadError),
    (ValueError("bad value"), dataload.TerminalLoadError),
    (RuntimeError("driver said no"), dataload.TerminalLoadError),
    (dataload.TerminalLoadError("constraint", table="t"), dataload.TerminalLoadError),
    (dataload.InvalidConfig("wrong password"), dataload.InvalidConfig),
])
def test_classification(error, expected):
    classified = classify(error, "destination 'x'", table="t")
    assert type(classified) is expected
    if not isinstance(error, dataload.DataloadError):
        assert str(classified) == f"destination 'x': {type(error).__name__}: {error}"
    else:
        assert classified is error  # a dataload error already says what it means


def test_a_terminal_error_names_the_table():
    assert classify(KeyError("id"), "destination 'x'", table="users").table == "users"  # type: ignore[attr-defined]


def test_urls_are_redacted_in_the_message():
    error = classify(RuntimeError("cannot reach postgresql://u:s3cret@db/x"), "load")
    assert "s3cret" not in str(error)


class _Broken:
    """DuckDB, except that the client's ``method`` raises ``error`` (counting the calls)."""

    def __init__(self, path: Path, method: str, error: Exception) -> None:
        self.inner = duckdb(str(path))
        self.name, self.capabilities = self.inner.name, self.inner.capabilities
        self.method, self.error, self.calls = method, error, 0

    def client(self, **options: Any) -> Any:
        client = self.inner.client(**options)

        def fail(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            raise self.error

        setattr(client, self.method, fail)
        return client

    def check_dataset_name(self, name: str) -> None:
        self.inner.check_dataset_name(name)

    def attach_spec(self) -> dict[str, Any]:
        return self.inner.attach_spec()


def test_a_plain_error_from_a_destination_fails_the_package_instead_of_blocking_every_run(make_pipeline, tmp_path):
    broken = _Broken(tmp_path / "b.duckdb", "load_package", RuntimeError("bug in the destination"))
    pipe = make_pipeline(destination=broken, retry_policy=dataload.RetryPolicy(attempts=3, first_wait=0.01))
    with pytest.raises(dataload.TerminalLoadError, match="RuntimeError: bug in the destination"):
        pipe.run([{"id": 1}], table_name="t")
    assert broken.calls == 1
    assert pipe.failed_packages() and not pipe.pending_packages()


@pytest.mark.parametrize("error, expected, calls", [
    (ConnectionError("lost"), dataload.TransientLoadError, 2),
    (KeyError("state"), dataload.TerminalLoadError, 1),
])
def test_reads_of_the_stored_state_are_classified_at_the_same_boundary(make_pipeline, tmp_path, error, expected,
                                                                       calls):
    broken = _Broken(tmp_path / "b.duckdb", "stored_state", error)
    pipe = make_pipeline(destination=broken, retry_policy=dataload.RetryPolicy(attempts=2, first_wait=0.01))
    with pytest.raises(expected, match="reading the stored state"):
        pipe.run([{"id": 1}], table_name="t")
    assert broken.calls == calls
