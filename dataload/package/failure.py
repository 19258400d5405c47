"""Why a package failed: ``failure.json`` in the folder of a package in ``failed``.

The stage that sets a package aside (normalize or load) records the step, the error and the table
and file it names; ``dataload pipeline NAME failed-jobs`` shows it. A requeued package loses the
record (:func:`clear_failure`); failing again writes a new one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dataload.configuration import redact_url
from dataload.package.storage import read_json, write_json

FAILURE_FILE = "failure.json"


@dataclass(frozen=True)
class PackageFailure:
    """The step a package failed in, the error (type and message), and the table and file it names.

    >>> PackageFailure("1.0", "load", "TerminalLoadError", "no", "users", None, "2024-01-01T00:00:00+00:00").table
    'users'
    """

    load_id: str
    step: str
    error_type: str
    error: str
    table: str | None
    file: str | None
    failed_at: str


def record_failure(folder: Path, step: str, error: BaseException) -> None:
    """Write why the package in ``folder`` (in ``failed``) failed in ``step``."""
    failure = PackageFailure(folder.name, step, type(error).__name__, redact_url(str(error)),
                             _named(error, "table"), _named(error, "file"),
                             datetime.now(timezone.utc).isoformat(timespec="seconds"))
    write_json(folder / FAILURE_FILE, asdict(failure))


def read_failure(folder: Path) -> PackageFailure | None:
    """Why the package in ``folder`` failed, or None when nothing was recorded (a package failed before
    dataload recorded failures)."""
    path = folder / FAILURE_FILE
    return PackageFailure(**read_json(path)) if path.exists() else None


def clear_failure(folder: Path) -> None:
    """Forget the failure of a package that is tried again."""
    (folder / FAILURE_FILE).unlink(missing_ok=True)


def _named(error: BaseException, attribute: str) -> Any:
    value = getattr(error, attribute, None)
    return str(value) if value is not None else None
