"""What every stage of a pipeline works with: its working directory, packages, destination and settings.

:class:`~dataload.facade.Pipeline` builds one per call and hands it to the stage modules
(:mod:`dataload.extract.stage`, :mod:`dataload.normalize.stage`, :mod:`dataload.load.stage`,
:mod:`dataload.sync`, :mod:`dataload.drop`, :mod:`dataload.package.order`). The working directory
holds ``state.json`` (the committed state), ``schema.json`` (the schema as the last normalize or
commit left it), ``pipeline.json`` (what :func:`dataload.attach` reopens) and ``packages/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataload._state import decode, new_state
from dataload.extract.limits import BufferLimits
from dataload.info import LoadInfo, Trace
from dataload.load.step import RetryPolicy
from dataload.package.manifest import read_manifest
from dataload.package.storage import PackageStorage, read_json, write_json
from dataload.progress import Progress
from dataload.protocol import Destination, DestinationClient
from dataload.schema.files import SchemaFiles
from dataload.schema.model import Schema

SETTINGS_FILE = "pipeline.json"
"""In a pipeline's working dir: what :func:`dataload.attach` reopens it with (never a secret)."""


def read_state(working_dir: Path) -> dict[str, Any]:
    """The committed state (decoded) in ``working_dir``, or a new one when nothing was committed yet."""
    path = working_dir / "state.json"
    return decode(read_json(path)) if path.exists() else new_state()


def read_schema(working_dir: Path, pipeline_name: str) -> Schema:
    """The schema in ``working_dir`` as the last normalize or commit left it (empty before the first)."""
    path = working_dir / "schema.json"
    return Schema.from_dict(read_json(path)) if path.exists() else Schema(pipeline_name)


@dataclass(frozen=True)
class PipelineContext:
    """One pipeline's working directory, destination and settings, as the stages read and write them."""

    pipeline_name: str
    destination: Destination
    dataset_name: str
    working_dir: Path
    local_dir: Path
    retry_policy: RetryPolicy
    buffer_limits: BufferLimits
    schema_files: SchemaFiles
    packages: PackageStorage
    trace: Trace
    progress: Progress | None = None  # set while a run, extract, normalize or load holds the lock

    @property
    def max_identifier_length(self) -> int | None:
        """The destination's longest identifier (None: no limit)."""
        return self.destination.capabilities.max_identifier_length

    def state(self) -> dict[str, Any]:
        """The committed state (decoded): what the last loaded package recorded."""
        return read_state(self.working_dir)

    def write_state(self, document: dict[str, Any]) -> None:
        """Record ``document`` (encoded) as the committed state; only after the destination committed it."""
        write_json(self.working_dir / "state.json", document)

    def newest_state(self) -> dict[str, Any]:
        """The state of the newest pending package (decoded), else the committed one."""
        for stage, load_id in reversed(self.packages.pending()):
            state: dict[str, Any] = decode(read_manifest(self.packages.path(stage, load_id)).state)
            return state
        return self.state()

    def schema(self) -> Schema:
        """The pipeline's schema as the last normalize or commit left it."""
        return read_schema(self.working_dir, self.pipeline_name)

    def save_schema(self, schema: Schema) -> None:
        """Make ``schema`` the pipeline's schema, and export it (see :class:`~dataload.schema.files.SchemaFiles`)."""
        write_json(self.working_dir / "schema.json", schema.to_dict())
        self.schema_files.export(schema)

    def new_client(self) -> DestinationClient:
        """A fresh client of the destination for this pipeline's dataset (the caller closes it)."""
        return self.destination.client(dataset_name=self.dataset_name, pipeline_name=self.pipeline_name,
                                       local_dir=self.local_dir)

    @contextmanager
    def client(self) -> Iterator[DestinationClient]:
        """A client of the destination, closed at the end of the block."""
        client = self.new_client()
        try:
            yield client
        finally:
            client.close()

    def new_info(self) -> LoadInfo:
        """An empty :class:`LoadInfo` for this pipeline."""
        return LoadInfo(self.pipeline_name, self.destination.name, self.dataset_name)
