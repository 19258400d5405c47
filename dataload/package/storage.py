"""Load package folders and their stages.

A package lives under ``<working_dir>/packages/<stage>/<load_id>/``. It is written in a stage
ending in ``.tmp`` and renamed into the next stage only when complete, so a crash at any point
leaves either the previous complete stage or nothing to redo:

``extracting.tmp`` → ``extracted`` → ``normalizing.tmp`` → ``normalized`` → (loaded: removed)
and ``failed`` for packages whose content a step could not handle, kept for inspection.

Normalize writes the next stage as a copy and removes the previous one after the move, so a crash
in between leaves the same package in two stages; :meth:`PackageStorage.discard_incomplete` keeps
the later, complete one. Every move passes the crash points ``before_move.<source>.<target>`` and
``after_move.<source>.<target>`` (see :mod:`dataload.crash`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from dataload.crash import crash_point
from dataload.exceptions import PipelineError
from dataload.package.disk_full import naming_the_file

STAGES = ("extracting.tmp", "extracted", "normalizing.tmp", "normalized", "failed")


def new_load_id() -> str:
    """A sortable load id (seconds since the epoch with microseconds)."""
    return f"{time.time():.6f}"


def part_load_id(run_id: str, index: int) -> str:
    """The load id of package ``index`` of a run that makes several packages (a partitioned run):
    ``<run_id>.<index>``, sorting after ``run_id`` and in index order.

    >>> part_load_id("1733212345.000001", 3), run_of(part_load_id("1733212345.000001", 3)), run_of("1733212345.5")
    ('1733212345.000001.000003', '1733212345.000001', None)
    """
    return f"{run_id}.{index:06d}"


def run_of(load_id: str) -> str | None:
    """The run a package made by :func:`part_load_id` belongs to; None for a package that is a run of its own."""
    if load_id.count(".") != 2:
        return None
    return load_id.rsplit(".", 1)[0]


class PackageStorage:
    """The packages of one pipeline working directory.

    >>> PackageStorage(Path("pipelines/new")).load_ids("extracted")
    []
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, stage: str, load_id: str) -> Path:
        """Folder of package ``load_id`` in ``stage``."""
        return self.root / stage / load_id

    def create(self, stage: str, load_id: str) -> Path:
        """Create an empty package folder in ``stage`` (a temporary stage)."""
        path = self.path(stage, load_id)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def load_ids(self, stage: str) -> list[str]:
        """Load ids in ``stage``, oldest first."""
        folder = self.root / stage
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir())

    def move(self, load_id: str, source: str, target: str) -> Path:
        """Atomically move a package from stage ``source`` to ``target``."""
        destination = self.path(target, load_id)
        destination.parent.mkdir(parents=True, exist_ok=True)
        _fsync_tree(self.path(source, load_id))
        crash_point(f"before_move.{source}.{target}")
        os.replace(self.path(source, load_id), destination)
        _fsync_dir(destination.parent)
        crash_point(f"after_move.{source}.{target}")
        return destination

    def remove(self, stage: str, load_id: str) -> None:
        """Delete a package folder."""
        shutil.rmtree(self.path(stage, load_id), ignore_errors=True)

    def discard_incomplete(self) -> list[str]:
        """Remove what a crash left behind; returns the ids of the packages removed from a stage.

        That is every package in a temporary stage, and the ``extracted`` copy of a package that is
        already ``normalized`` (a crash between normalize's move and its cleanup).
        """
        removed = []
        for stage in ("extracting.tmp", "normalizing.tmp"):
            for load_id in self.load_ids(stage):
                self.remove(stage, load_id)
                removed.append(load_id)
        for load_id in set(self.load_ids("extracted")) & set(self.load_ids("normalized")):
            self.remove("extracted", load_id)
            removed.append(load_id)
        return removed

    def pending(self) -> list[tuple[str, str]]:
        """(stage, load_id) of every package that still has to be normalized or loaded."""
        found = [("extracted", i) for i in self.load_ids("extracted")]
        found += [("normalized", i) for i in self.load_ids("normalized")]
        return sorted(found, key=lambda pair: pair[1])


def packages_of(working_dir: Path) -> PackageStorage:
    """The packages of the pipeline whose working dir is ``working_dir`` (in ``packages/``)."""
    return PackageStorage(working_dir / "packages")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        with naming_the_file(tmp), open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, default=str)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)  # no half-written file left behind (a full disk, an interrupt)
        raise
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """Read a JSON file written by :func:`write_json`; a file that is not JSON is a :class:`PipelineError`
    naming it (someone edited or truncated it: :func:`write_json` replaces files whole)."""
    with open(path, encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as exc:
            raise PipelineError(f"{path} is not valid JSON ({exc}): it was changed outside dataload; restore it, "
                                "or restore state and schema from the destination (pipe.sync_destination())") from None


def fsync_file(path: str | Path) -> None:
    """Flush a written file's data to disk (cheap when it was flushed before)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for folder, _, files in os.walk(path):
        for name in files:
            fsync_file(os.path.join(folder, name))
        _fsync_dir(Path(folder))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
