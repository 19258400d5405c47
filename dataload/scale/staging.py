"""Packages staged on an fsspec URL that the partition workers and the coordinator share.

With ``pipe.run(source, executor=..., staging_url="s3://bucket/prefix")`` (or the config key
``partitions.staging_url``) a task writes its package into a temporary folder on its worker, then
uploads it to ``<staging_url>/<load_id>/``: it first deletes what an earlier attempt left there,
uploads every file, and writes :data:`COMPLETE` last. The coordinator copies a package back into
its working dir only when :data:`COMPLETE` is there (a task killed mid-upload left none), into a
temporary folder renamed into place, and deletes the staged copy once the package is published.
fsspec is imported only here, when a staging URL is given. Storage options (credentials) travel
with the task and are never logged.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataload.configuration import NOT_FOUND, lookup
from dataload.exceptions import InvalidConfig

COMPLETE = "_complete"
"""The file written last under a staged package: without it the package is not taken."""


@dataclass(frozen=True)
class Staging:
    """An fsspec URL packages are staged under, and its storage options (``repr`` hides them)."""

    url: str
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def _filesystem(self) -> tuple[Any, str]:
        try:
            import fsspec  # type: ignore[import-untyped]
        except ImportError as error:
            raise InvalidConfig(f"staging_url {self.url!r} needs fsspec: pip install 'dataload[filesystem]'") \
                from error
        filesystem, root = fsspec.core.url_to_fs(self.url, **dict(self.options))
        return filesystem, root.rstrip("/")

    def upload(self, folder: Path, load_id: str) -> None:
        """Put ``folder`` at ``<url>/<load_id>`` (an earlier attempt's copy deleted first), :data:`COMPLETE` last."""
        filesystem, root = self._filesystem()
        target = f"{root}/{load_id}"
        try:
            if filesystem.exists(target):
                filesystem.rm(target, recursive=True)
            files = sorted(p for p in folder.rglob("*") if p.is_file())
            remotes = [f"{target}/{path.relative_to(folder).as_posix()}" for path in files]
            for remote_folder in sorted({remote.rsplit("/", 1)[0] for remote in remotes}):
                filesystem.makedirs(remote_folder, exist_ok=True)  # local filesystems need the folders
            if files:  # one call: asynchronous filesystems (s3, gcs, ...) upload the files concurrently
                filesystem.put([str(path) for path in files], remotes)
            filesystem.pipe_file(f"{target}/{COMPLETE}", b"")
        except OSError as error:
            raise OSError(f"could not stage package {load_id} at {self.url}/{load_id}: {error}") from error

    def download(self, load_id: str, folder: Path) -> None:
        """Copy the complete package ``<url>/<load_id>`` into ``folder`` (via a temporary folder renamed into
        place); refuse one without :data:`COMPLETE`."""
        filesystem, root = self._filesystem()
        source = f"{root}/{load_id}"
        if not filesystem.exists(f"{source}/{COMPLETE}"):
            raise InvalidConfig(f"the staged package at {self.url}/{load_id} is incomplete (no {COMPLETE} marker: "
                                "its task did not finish uploading); it is not loaded")
        temporary = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}")
        try:
            remotes = [path for path in filesystem.find(source) if path[len(source) + 1:] != COMPLETE]
            local_paths = [temporary / path[len(source) + 1:] for path in remotes]
            for local in local_paths:
                local.parent.mkdir(parents=True, exist_ok=True)
            if remotes:  # one call, concurrent on asynchronous filesystems
                filesystem.get(remotes, [str(local) for local in local_paths])
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(temporary, folder)
        except OSError as error:
            raise OSError(f"could not copy the staged package {self.url}/{load_id} into {folder}: {error}") from error
        finally:
            shutil.rmtree(temporary, ignore_errors=True)

    def remove(self, load_id: str) -> None:
        """Delete the staged copy of ``load_id`` (nothing when there is none)."""
        filesystem, root = self._filesystem()
        if filesystem.exists(f"{root}/{load_id}"):
            filesystem.rm(f"{root}/{load_id}", recursive=True)


def staging_for(url: str | None, options: Mapping[str, Any] | None) -> Staging | None:
    """The staging of a run: ``url`` if given, else the config key ``partitions.staging_url`` (env
    ``PARTITIONS__STAGING_URL``); None (packages in the working dir) when neither is set."""
    if url is None:
        configured = lookup(("partitions",), "staging_url")
        url = None if configured is NOT_FOUND else str(configured)
    return Staging(url, dict(options or {})) if url else None
