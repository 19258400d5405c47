"""One partition task: extract and normalize one partition of a resource into a load package folder.

The task is plain data (picklable, sent to a thread, a process or a Dask worker); it writes the
package the same way the extract and normalize stages do (an ``extracted`` folder, the load
files, ``package.json`` and ``schema.json``), against its own copies of the pipeline's state and
schema, and answers with what the coordinator folds: the schema it ended with, the state its
resource left, and the rows per table. The folder is shared by the worker and the coordinator
(the pipeline's working dir on one machine; a shared mount for a cluster).
"""

from __future__ import annotations

import resource as os_resource
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dataload._resource import Resource
from dataload._source import Source
from dataload._state import decode, encode
from dataload.extract.limits import BufferLimits
from dataload.extract.step import extract_source
from dataload.normalize.stage import normalize_package, seal_normalized
from dataload.package.manifest import Manifest
from dataload.partition import Partition
from dataload.scale.staging import Staging
from dataload.schema.model import Schema


@dataclass(frozen=True)
class PartitionTask:
    """What a worker needs to extract and normalize one partition into ``folder``."""

    partition: Partition
    resource: Resource  # already restricted to the partition
    source_name: str
    source_settings: dict[str, Any]  # max_table_nesting and schema_contract of the source
    load_id: str
    folder: str
    state: dict[str, Any]  # encoded
    schema: dict[str, Any]
    max_identifier_length: int | None
    arrow_files: bool
    limits: BufferLimits
    staging: Staging | None = None  # set: the package is written on the worker, then uploaded there


@dataclass
class PartitionOutcome:
    """What a finished task hands back: the schema and the (encoded) state it ended with, the items
    extracted and rows normalized per table, its seconds and its process's peak memory."""

    load_id: str
    schema: dict[str, Any]
    state: dict[str, Any]
    items: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    extract_seconds: float = 0.0
    normalize_seconds: float = 0.0
    peak_rss_mb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-able data (what an orchestrator keeps of a partition's task)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> PartitionOutcome:
        """Read an outcome written by :meth:`to_dict`."""
        return cls(**document)


def run_partition(task: PartitionTask) -> PartitionOutcome:
    """Extract and normalize ``task``'s partition into ``task.folder`` (written anew), or into a temporary
    folder uploaded to ``task.staging``."""
    if task.staging is None:
        return _write_package(task, Path(task.folder))
    with tempfile.TemporaryDirectory(prefix=f"dataload-{task.load_id}-") as temporary:
        outcome = _write_package(task, Path(temporary) / task.load_id)
        task.staging.upload(Path(temporary) / task.load_id, task.load_id)
    return outcome


def _write_package(task: PartitionTask, folder: Path) -> PartitionOutcome:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    source = Source(task.source_name, [task.resource], **task.source_settings)
    document = decode(task.state)
    extracted = extract_source(source, folder / "extracted", document, limits=task.limits,
                               max_identifier_length=task.max_identifier_length)
    schema = Schema.from_dict(task.schema)
    manifest = Manifest(task.load_id, extracted.table_hints, extracted.files, encode(document), extracted.items)
    result = normalize_package(folder / "extracted", extracted.files, folder, schema, extracted.table_hints,
                               task.load_id, max_identifier_length=task.max_identifier_length,
                               arrow_files=task.arrow_files, workers=1)
    seal_normalized(folder, manifest, result, schema)
    return PartitionOutcome(task.load_id, schema.to_dict(), manifest.state, extracted.items, result.rows,
                            extracted.seconds, result.seconds, _peak_rss_mb())


def _peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MB (``ru_maxrss``: KB on Linux, bytes on macOS)."""
    peak = os_resource.getrusage(os_resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
