"""The coordinator of a partitioned run: plan the partitions, run them as tasks, fold, publish.

``pipe.run(source, executor=...)`` comes here instead of the extract and normalize stages:

1. every selected resource is split into its partitions (:meth:`dataload.Resource.partitions`);
   the plan is recorded in the working dir (``partition_plan.json``) until the run's packages are
   published, so a run that failed is re-run on the same partitions;
2. each partition is extracted and normalized into a package of its own by a task
   (:mod:`dataload.scale.task`) on the executor (:mod:`dataload.scale.executors`);
3. a partition that fails for good (after its retries) fails the run with a
   :class:`~dataload.exceptions.PartitionError` naming it; the other partitions' packages are
   deleted, so nothing of the run is loaded and the state stays where it was;
4. the partitions' schemas are folded in order with the rule normalize workers use
   (:func:`dataload.normalize.parallel.merged_schema`); a partition that disagrees on a type is
   normalized again here against the folded schema, which puts its values in a variant column;
5. the states are folded (:mod:`dataload.scale.fold`); every package but the last carries the
   state as it was, the last the folded one, so the state is committed once, with the last
   package, after every other package landed (:mod:`dataload.load.stage`). A table with write
   disposition ``replace`` cannot be split: its partitions would replace each other;
6. the packages are published to ``normalized`` (:mod:`dataload.scale.publish`) for the load stage.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any

from dataload._resource import Resource
from dataload._state import bump_version, decode, encode
from dataload.context import PipelineContext
from dataload.drop import with_imported_schema
from dataload.exceptions import InvalidConfig, PartitionError
from dataload.info import StepInfo
from dataload.normalize.arrow_files import arrow_load_files
from dataload.normalize.parallel import merged_schema
from dataload.normalize.stage import normalize_package, seal_normalized
from dataload.package.manifest import read_manifest, write_manifest
from dataload.package.order import refuse_if_blocked
from dataload.package.storage import new_load_id, read_json, write_json
from dataload.partition import Partition
from dataload.run_input import as_source
from dataload.scale.executors import ExecutorArg, check_executor, run_tasks
from dataload.scale.fold import fold_states
from dataload.scale.publish import STAGE, publish
from dataload.scale.staging import Staging
from dataload.scale.task import PartitionOutcome, PartitionTask, run_partition
from dataload.schema.model import Schema

logger = logging.getLogger(__name__)

PLAN_FILE = "partition_plan.json"


def run_partitioned(ctx: PipelineContext, data: Any, hints: dict[str, Any], executor: ExecutorArg,
                    retries: int, staging: Staging | None = None) -> list[str]:
    """Extract and normalize every partition of ``data`` on ``executor`` into packages ready to load;
    returns their load ids (none when nothing changed)."""
    check_executor(executor)
    refuse_if_blocked(ctx.packages, ctx.pipeline_name, "new data")
    source = as_source(data, default_name=ctx.pipeline_name, **hints)
    planned = _planned(ctx, list(source.selected_resources.values()))
    state = ctx.newest_state()
    schema = with_imported_schema(ctx, ctx.schema())
    first = new_load_id()
    settings = {"max_table_nesting": source.max_table_nesting, "schema_contract": source.schema_contract}
    arrow_files = arrow_load_files(ctx.destination.capabilities)
    tasks = [PartitionTask(partition, resource.for_partition(partition), source.name, settings,
                           f"{first}.{index:06d}", str(ctx.packages.path(STAGE, f"{first}.{index:06d}").absolute()),
                           encode(state), schema.to_dict(), ctx.max_identifier_length, arrow_files,
                           ctx.buffer_limits, staging)
             for index, (resource, partition) in enumerate(planned)]
    logger.info("pipeline %s: running %d partition(s) on %s", ctx.pipeline_name, len(tasks), executor)
    try:
        return _run_and_publish(ctx, tasks, executor, retries, state, schema, staging)
    finally:  # published, failed or nothing to load: the staged copies are not needed any more
        if staging is not None:
            _unstage(staging, tasks)


def _run_and_publish(ctx: PipelineContext, tasks: list[PartitionTask], executor: ExecutorArg, retries: int,
                     state: dict[str, Any], schema: Schema, staging: Staging | None) -> list[str]:
    """Run the partition tasks, fold their schemas and states and publish their packages; their load ids."""
    outcomes = run_tasks(executor, run_partition, tasks, retries=retries,
                         names=[f"dataload-{ctx.pipeline_name}-{task.load_id}" for task in tasks])
    _raise_if_failed(ctx, tasks, outcomes)
    done = [(task, outcome) for task, outcome in zip(tasks, outcomes) if isinstance(outcome, PartitionOutcome)]
    if staging is not None:
        for task, _ in done:
            staging.download(task.load_id, ctx.packages.path(STAGE, task.load_id))
    folded_state = fold_states(state, [decode(outcome.state) for _, outcome in done])
    kept = [(task, outcome) for task, outcome in done if _has_data(ctx, task)]
    if not kept and folded_state != state:  # no rows but a state to commit: the last package carries it
        kept = done[-1:]
    for load_id in {task.load_id for task, _ in done} - {task.load_id for task, _ in kept}:
        ctx.packages.remove(STAGE, load_id)
    if not kept:
        (ctx.working_dir / PLAN_FILE).unlink(missing_ok=True)
        logger.info("pipeline %s: nothing to load (no rows, no table to replace, state unchanged)", ctx.pipeline_name)
        return []
    folded = _folded_schema(ctx, schema, [task for task, _ in kept], [outcome for _, outcome in kept])
    _seal(ctx, [task for task, _ in kept], folded, state, folded_state)
    load_ids = [task.load_id for task, _ in kept]
    publish(ctx, load_ids)
    (ctx.working_dir / PLAN_FILE).unlink(missing_ok=True)
    for task, outcome in kept:
        logger.info("pipeline %s: partition %s is package %s (its process peaked at %.0f MB)", ctx.pipeline_name,
                    task.partition.label, task.load_id, outcome.peak_rss_mb)
        ctx.trace.record(StepInfo("extract", task.load_id, outcome.extract_seconds, outcome.items))
        ctx.trace.record(StepInfo("normalize", task.load_id, outcome.normalize_seconds, outcome.rows))
    return load_ids


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


def _raise_if_failed(ctx: PipelineContext, tasks: list[PartitionTask], outcomes: list[Any]) -> None:
    failed = [(task, error) for task, error in zip(tasks, outcomes) if isinstance(error, BaseException)]
    if not failed:
        return
    shutil.rmtree(ctx.packages.root / STAGE, ignore_errors=True)
    (task, error), others = failed[0], [task.partition.label for task, _ in failed[1:]]
    more = f" (partition(s) {', '.join(others)} failed too)" if others else ""
    raise PartitionError(task.partition.label,
                         f"{type(error).__name__}: {error}{more}; nothing of this run was loaded and the state did "
                         "not move: the next run extracts the same partitions again") from error


def _unstage(staging: Staging, tasks: list[PartitionTask]) -> None:
    """Delete the tasks' staged copies; one that cannot be deleted is left with a warning naming it (it is never
    taken again: a run's load ids are new)."""
    for task in tasks:
        try:
            staging.remove(task.load_id)
        except OSError as error:
            logger.warning("could not delete the staged package %s/%s: %s", staging.url, task.load_id, error)


def _has_data(ctx: PipelineContext, task: PartitionTask) -> bool:
    """The partition's package has rows or a table to replace (an empty package is not loaded)."""
    manifest = read_manifest(ctx.packages.path(STAGE, task.load_id))
    return any(manifest.items.values()) or any(h.write_disposition == "replace" for h in manifest.table_hints.values())


def _folded_schema(ctx: PipelineContext, base: Schema, tasks: list[PartitionTask],
                   outcomes: list[PartitionOutcome]) -> Schema:
    """The partitions' schemas folded into ``base`` in order; a partition that disagrees with the
    ones before it is normalized again against the folded schema (its values go to variant columns)."""
    folded = base
    for task, outcome in zip(tasks, outcomes):
        merged = merged_schema(Schema.from_dict(folded.to_dict()), [Schema.from_dict(outcome.schema)])
        if merged is not None:
            folded = merged
            continue
        logger.info("pipeline %s: partition %s inferred other types than the partitions before it; normalizing "
                    "it again in this process", ctx.pipeline_name, task.partition.label)
        folder = ctx.packages.path(STAGE, task.load_id)
        manifest = read_manifest(folder)
        shutil.rmtree(folder / "files", ignore_errors=True)
        result = normalize_package(folder / "extracted", manifest.extracted_files, folder, folded, manifest.table_hints,
                                   task.load_id, max_identifier_length=ctx.max_identifier_length,
                                   arrow_files=task.arrow_files, workers=1)
        seal_normalized(folder, manifest, result, folded)
    folded.bump_version()
    ctx.save_schema(folded)
    return folded


def _seal(ctx: PipelineContext, tasks: list[PartitionTask], schema: Schema, state: dict[str, Any],
          folded_state: dict[str, Any]) -> None:
    """Give every package the folded schema, the last one the folded state and the others the state as it was."""
    bump_version(folded_state)
    schema_document = schema.to_dict()
    for index, task in enumerate(tasks):
        folder = ctx.packages.path(STAGE, task.load_id)
        manifest = read_manifest(folder)
        manifest.state = encode(folded_state if index == len(tasks) - 1 else state)
        write_manifest(folder, manifest)
        write_json(folder / "schema.json", schema_document)
        shutil.rmtree(folder / "extracted", ignore_errors=True)
