"""The last run's trace, kept in the pipeline's working dir as ``trace.json``.

:meth:`dataload.Pipeline.run` saves it when it ends, failed or not; ``dataload pipeline NAME trace``
reads it back in a later process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from dataload.configuration import redact_url
from dataload.info import Trace
from dataload.package.storage import read_json, write_json

TRACE_FILE = "trace.json"


@contextmanager
def traced_run(working_dir: Path, trace: Trace) -> Iterator[Trace]:
    """Time the block as one run into ``trace`` (its start, length and error, if any), then save it."""
    started = time.perf_counter()
    trace.started_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    try:
        yield trace
    except BaseException as error:
        trace.error = redact_url(f"{type(error).__name__}: {error}")
        raise
    finally:
        trace.seconds = time.perf_counter() - started
        save_trace(working_dir, trace)


def save_trace(working_dir: Path, trace: Trace) -> None:
    """Write ``trace`` as the pipeline's last run (atomically)."""
    write_json(working_dir / TRACE_FILE, trace.asdict())


def read_trace(working_dir: Path) -> Trace | None:
    """The trace the last run saved, or None when no run finished here yet.

    >>> read_trace(Path("/nonexistent")) is None
    True
    """
    path = working_dir / TRACE_FILE
    return Trace.from_dict(read_json(path)) if path.exists() else None
