"""Disk full while writing load files (issue 17, "Faults"): in extract and in normalize.

A real child process (``crash_scripts/resume_child.py``, the pipeline of ``test_resume.py``) runs out
of room while it writes a package: either the pipelines dir is a small tmpfs filled up to a few KB
("no space left on device"), or the child runs under a file-size limit (``RLIMIT_FSIZE`` with
``SIGXFSZ`` ignored: "file too large"). Where ``mount -t tmpfs`` is not allowed, the tmpfs case
runs under the file-size limit too, so neither case skips. The child must stop with one line naming
the step, the package and the file; nothing lands; the next run, with room again, lands every row
exactly once.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_resume import EARLIER, MORE, ROWS, assert_clean, child, child_command, child_env, cursor, db_ids, db_load_ids

ROOM = 4096  # bytes left free on the tmpfs; the file-size limit of the other case (a segment is ~10 KB)
TMPFS_SIZE = "16m"


def file_size_limit() -> None:
    """In the child before it starts: files cannot grow past ``ROOM``; writes fail with EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # ignored dispositions survive exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (ROOM, resource.RLIM_INFINITY))


class SmallDisk:
    """How the child runs out of room: ``fill()`` before the child starts, ``free()`` after it."""

    def __init__(self, pipelines: Path, tmpfs: bool) -> None:
        self.pipelines, self.tmpfs = pipelines, tmpfs
        self.ballast = pipelines / "ballast"
        self.expected = ("No space left on device", errno.ENOSPC) if tmpfs else ("File too large", errno.EFBIG)

    def fill(self) -> None:
        if self.tmpfs:
            stat = os.statvfs(self.pipelines)
            with open(self.ballast, "wb") as handle:
                handle.write(b"\0" * (stat.f_bavail * stat.f_frsize - ROOM))

    def free(self) -> None:
        self.ballast.unlink(missing_ok=True)

    @property
    def preexec(self) -> Callable[[], None] | None:
        return None if self.tmpfs else file_size_limit


def mount_tmpfs(folder: Path) -> bool:
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        print(f"mount -t tmpfs is not allowed here ({mounted.stderr.strip()}): using a file-size limit")
    return mounted.returncode == 0


@pytest.fixture(params=["tmpfs", "file_size_limit"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SmallDisk]:
    pipelines = tmp_path / "pipelines"
    tmpfs = request.param == "tmpfs" and mount_tmpfs(pipelines)
    try:
        yield SmallDisk(pipelines, tmpfs)
    finally:
        if tmpfs:
            subprocess.run(["umount", str(pipelines)], check=True)


def run_out_of_room(tmp_path: Path, disk: SmallDisk, workers: int) -> subprocess.CompletedProcess[str]:
    disk.fill()
    try:
        env = child_env() | {"NORMALIZE__WORKERS": str(workers)}
        return subprocess.run(child_command(tmp_path, ROWS, "none"), env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, preexec_fn=disk.preexec)
    finally:
        disk.free()


def error_line(stderr: str) -> str:
    """The last line of the child's traceback: the error it stopped with."""
    return stderr.strip().splitlines()[-1]


STEPS = [("extract", "extracting.tmp", 1), ("normalize", "normalizing.tmp", 1),
         ("normalize", "normalizing.tmp", 2)]  # the error of a worker process crosses back to the run


@pytest.mark.parametrize("step, stage, workers", STEPS, ids=["extract", "normalize", "normalize-2-workers"])
def test_out_of_room_while_writing_a_package_stops_clearly_and_the_next_run_lands_every_row_once(
        tmp_path: Path, disk: SmallDisk, step: str, stage: str, workers: int) -> None:
    db = tmp_path / "resume.duckdb"
    pipe = child.build(disk.pipelines, db)
    pipe.run(child.items(EARLIER))
    waiting = [pipe.extract(child.items(ROWS))] if step == "normalize" else []  # the child normalizes it first
    loads_before = db_load_ids(db)

    failed = run_out_of_room(tmp_path, disk, workers)
    assert failed.returncode == 1, failed.stderr
    line = error_line(failed.stderr)
    reason, number = disk.expected
    assert line.startswith(f"OSError: [Errno {number}] {step} of package "), failed.stderr
    assert f" stopped, {reason.lower()}: '{disk.pipelines}/resume/packages/{stage}/" in line, line  # and the file
    assert db_ids(db) == list(range(EARLIER)) and db_load_ids(db) == loads_before  # nothing of the run landed
    assert cursor(pipe) == EARLIER - 1
    left = sorted(p.relative_to(disk.pipelines) for p in disk.pipelines.rglob("*") if p.is_file()
                  and stage in p.parts)
    assert left == [], f"half-written files left behind: {left}"
    assert pipe.pending_packages() == waiting
    assert pipe.failed_packages() == []  # no space is not the package's fault: it stays pending

    info = pipe.run(child.items(ROWS + MORE))
    assert info.resumed == waiting
    ids = db_ids(db)
    assert ids == list(range(ROWS + MORE)), f"missing or duplicated rows: {len(ids)} rows, {len(set(ids))} distinct"
    assert cursor(pipe) == ROWS + MORE - 1
    loads = db_load_ids(db)
    assert len(loads) == len(set(loads)) == len(loads_before) + len(info.load_ids)
    assert_clean(pipe)

