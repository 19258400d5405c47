"""The plan of a partitioned run: its partitions, their packages and what every task starts from, as plain data.

:func:`plan_run` splits the selected resources of a source into partitions (recording the split in
``partition_plan.json`` until the run's packages are published, so a run that failed is re-run on the
same partitions) and answers with a :class:`PartitionedRun`: the load id and folder of each partition's
package, the state and schema every partition starts from and the settings its task needs. It is
JSON-able (:meth:`PartitionedRun.to_dict`), so an orchestrator can hand it from the task that planned
the run to the tasks that run its partitions on other workers, and :func:`record_run` keeps it in the
working dir for the task that finishes the run (:mod:`dataload.scale.coordinator`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dataload._resource import Resource
from dataload._source import Source
from dataload._state import decode, encode
from dataload.context import PipelineContext
from dataload.drop import with_imported_schema
from dataload.exceptions import InvalidConfig
from dataload.extract.limits import BufferLimits
from dataload.normalize.arrow_files import arrow_load_files
from dataload.package.order import refuse_if_blocked
from dataload.package.storage import new_load_id, part_load_id, read_json, write_json
from dataload.partition import Partition
from dataload.scale.publish import STAGE
from dataload.scale.staging import Staging
from dataload.scale.task import PartitionTask

logger = logging.getLogger(__name__)

PLAN_FILE = "partition_plan.json"
"""In the working dir: each resource's partitions, as planned by a run whose packages are not published yet."""
RUN_FILE = "partition_run.json"
"""In the working dir: the :class:`PartitionedRun` an orchestrator's finish task takes up (:func:`record_run`)."""


@dataclass(frozen=True)
class PlannedPartition:
    """One partition of a run: the resource it restricts (by name), the partition, its package's id and folder."""

    resource: str
    partition: Partition
    load_id: str
    folder: str


@dataclass(frozen=True)
class PartitionedRun:
    """A planned partitioned run: its id (the first part of its packages' load ids), its partitions in order,
    the (encoded) state and the schema every partition starts from, and its tasks' settings."""

    run_id: str
    pipeline_name: str
    source_name: str
    source_settings: dict[str, Any]  # max_table_nesting and schema_contract of the source
    partitions: list[PlannedPartition]
    state: dict[str, Any]
    schema: dict[str, Any]
    max_identifier_length: int | None
    arrow_files: bool
    limits: BufferLimits
    staging_url: str | None = None  # set: the tasks stage their packages there (its options are never recorded)

    def task(self, index: int, resources: Mapping[str, Resource], staging: Staging | None) -> PartitionTask:
        """The task of partition ``index``, its resource taken by name from ``resources`` (a source's selected
        resources, built where the task runs)."""
        planned = self.partitions[index]
        if planned.resource not in resources:
            raise InvalidConfig(f"source {self.source_name!r} has no selected resource {planned.resource!r}, which "
                                f"partition {planned.partition.label} of run {self.run_id} reads")
        return PartitionTask(planned.partition, resources[planned.resource].for_partition(planned.partition),
                             self.source_name, self.source_settings, planned.load_id, planned.folder, self.state,
                             self.schema, self.max_identifier_length, self.arrow_files, self.limits, staging)

    def staging(self, options: Mapping[str, Any] | None) -> Staging | None:
        """Where the run's packages are staged, with the storage ``options`` (None: in the working dir)."""
        return Staging(self.staging_url, dict(options or {})) if self.staging_url else None

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-able data (partition arguments such as dates are tagged to come back typed)."""
        document = dataclasses.asdict(self)
        document["partitions"] = [{"resource": p.resource, "partition": encode(p.partition.to_dict()),
                                   "load_id": p.load_id, "folder": p.folder} for p in self.partitions]
        return document

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> PartitionedRun:
        """Read a run written by :meth:`to_dict`."""
        partitions = [PlannedPartition(p["resource"], Partition.from_dict(decode(p["partition"])), p["load_id"],
                                       p["folder"]) for p in document["partitions"]]
        return cls(**{**document, "partitions": partitions, "limits": BufferLimits(**document["limits"])})


def plan_run(ctx: PipelineContext, source: Source, staging: Staging | None) -> PartitionedRun:
    """Split the selected resources of ``source`` into partitions (as recorded by a run that did not publish,
    else as planned now, then recorded), each with a new package; call it holding the pipeline's lock."""
    refuse_if_blocked(ctx.packages, ctx.pipeline_name, "new data")
    planned = _planned(ctx, list(source.selected_resources.values()))
    run_id = new_load_id()
    load_ids = [part_load_id(run_id, index) for index in range(len(planned))]
    return PartitionedRun(
        run_id, ctx.pipeline_name, source.name,
        {"max_table_nesting": source.max_table_nesting, "schema_contract": source.schema_contract},
        [PlannedPartition(resource.name, partition, load_id, str(ctx.packages.path(STAGE, load_id).absolute()))
         for (resource, partition), load_id in zip(planned, load_ids)],
        encode(ctx.newest_state()), with_imported_schema(ctx, ctx.schema()).to_dict(), ctx.max_identifier_length,
        arrow_load_files(ctx.destination.capabilities), ctx.buffer_limits,
        staging.url if staging is not None else None)


def record_run(ctx: PipelineContext, run: PartitionedRun) -> None:
    """Keep ``run`` in the working dir for the task that finishes it (:func:`recorded_run`)."""
    write_json(ctx.working_dir / RUN_FILE, run.to_dict())


def recorded_run(ctx: PipelineContext, run_id: str) -> PartitionedRun | None:
    """The run :func:`record_run` kept, if it is ``run_id``; None when no run is recorded (its packages were
    published); an error when another run was planned since."""
    path = ctx.working_dir / RUN_FILE
    if not path.exists():
        return None
    run = PartitionedRun.from_dict(read_json(path))
    if run.run_id != run_id:
        raise InvalidConfig(f"pipeline {ctx.pipeline_name}: the partitioned run recorded in {path} is {run.run_id}, "
                            f"not {run_id}: another run of the pipeline was planned since (let one run of a pipeline "
                            "run at a time, e.g. max_active_runs=1); run it again")
    return run


def forget_plan(ctx: PipelineContext) -> None:
    """The run's packages were published (or it had nothing to load): the next run plans anew."""
    (ctx.working_dir / PLAN_FILE).unlink(missing_ok=True)
    (ctx.working_dir / RUN_FILE).unlink(missing_ok=True)


def _planned(ctx: PipelineContext, resources: list[Resource]) -> list[tuple[Resource, Partition]]:
    """Each resource with each of its partitions: as recorded by a run that did not publish, else as
    the resources plan them now (and then recorded)."""
    path = ctx.working_dir / PLAN_FILE
    recorded: dict[str, list[dict[str, Any]]] = decode(read_json(path)) if path.exists() else {}
    plan: dict[str, list[Partition]] = {}
    for resource in resources:
        stored = recorded.get(resource.name)
        if stored is not None:
            logger.info("pipeline %s: resource %s runs on the %d partition(s) recorded by a run that did not "
                        "finish", ctx.pipeline_name, resource.name, len(stored))
        plan[resource.name] = [Partition.from_dict(p) for p in stored] if stored is not None else resource.partitions()
        if len(plan[resource.name]) > 1 and resource.hints.write_disposition.name == "replace":
            raise InvalidConfig(f"resource {resource.name!r} has write disposition 'replace' and "
                                f"{len(plan[resource.name])} partitions, which would replace each other's rows; load "
                                "it with 'append' or 'merge', or without partitions")
    write_json(path, encode({name: [p.to_dict() for p in found] for name, found in plan.items()}))
    return [(resource, partition) for resource in resources for partition in plan[resource.name]]
