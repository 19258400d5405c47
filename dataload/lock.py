"""One process at a time per pipeline working directory (an advisory file lock)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dataload.exceptions import PipelineLockedError

LOCK_FILE = ".lock"
"""The lock's file in the working directory (it outlives ``pipe.drop()``: removing it could let two runs in)."""


@contextmanager
def pipeline_lock(working_dir: Path, pipeline_name: str) -> Iterator[None]:
    """Hold the pipeline's lock; raise :class:`PipelineLockedError` at once if another process has it.

    The lock is released by the operating system when the process dies, so a killed run never
    leaves a stale lock behind.
    """
    path = working_dir / LOCK_FILE
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise PipelineLockedError(
                f"pipeline {pipeline_name!r} is being run by {holder} (lock {path}); wait for it to finish "
                "and run again") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
