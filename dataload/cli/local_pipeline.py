"""A pipeline as its working dir records it, read from local files only (never the destination).

``info``, ``trace``, ``schema``, ``failed-jobs`` and ``--list`` need nothing else, so they work
without credentials and with the destination offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataload.context import read_schema, read_state
from dataload.info import Trace
from dataload.package.failure import PackageFailure, read_failure
from dataload.package.manifest import Manifest, read_manifest
from dataload.package.storage import PackageStorage, packages_of
from dataload.pipelines import pipelines_base, stored_settings
from dataload.run_trace import read_trace
from dataload.schema.model import Schema


@dataclass(frozen=True)
class LocalPackage:
    """A package on disk: its stage (``extracted``, ``normalized`` or ``failed``), folder and manifest."""

    load_id: str
    stage: str
    folder: Path
    manifest: Manifest

    @property
    def failure(self) -> PackageFailure | None:
        """Why a ``failed`` package failed (None when not failed or not recorded)."""
        return read_failure(self.folder) if self.stage == "failed" else None


@dataclass(frozen=True)
class LocalPipeline:
    """The working dir of pipeline ``name``: settings, committed state, schema, packages and last trace."""

    name: str
    working_dir: Path
    settings: dict[str, Any]

    @classmethod
    def open(cls, name: str, pipelines_dir: str | os.PathLike[str] | None) -> LocalPipeline:
        """The pipeline ``name`` in ``pipelines_dir``; an unknown name is refused listing the known ones."""
        settings = stored_settings(name, pipelines_dir)
        return cls(name, pipelines_base(pipelines_dir) / name, settings)

    @property
    def destination(self) -> str:
        """The name of the destination the pipeline last ran with."""
        return str(self.settings["destination"])

    @property
    def dataset(self) -> str:
        """The dataset the pipeline last loaded into."""
        return str(self.settings["dataset_name"])

    def state(self) -> dict[str, Any]:
        """The committed state (decoded)."""
        return read_state(self.working_dir)

    def has_committed(self) -> bool:
        """True once a package (or a drop) was committed to the destination from this working dir."""
        return bool(self.state().get("_state_version", 0))

    def schema(self) -> Schema:
        """The schema as the last normalize or commit left it."""
        return read_schema(self.working_dir, self.name)

    def trace(self) -> Trace | None:
        """The last run's trace, or None before the first run."""
        return read_trace(self.working_dir)

    def packages(self) -> list[LocalPackage]:
        """Every package on disk (pending or failed), oldest first."""
        storage = packages_of(self.working_dir)
        found = [(stage, load_id) for stage in ("extracted", "normalized", "failed")
                 for load_id in storage.load_ids(stage)]
        return [self._package(storage, stage, load_id) for stage, load_id in sorted(found, key=lambda p: p[1])]

    @staticmethod
    def _package(storage: PackageStorage, stage: str, load_id: str) -> LocalPackage:
        folder = storage.path(stage, load_id)
        return LocalPackage(load_id, stage, folder, read_manifest(folder))
