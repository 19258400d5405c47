"""The coordinator of a partitioned run: plan the partitions, run them as tasks, fold, publish.

``pipe.run(source, executor=...)`` comes here (:func:`run_partitioned`) instead of the extract and
normalize stages:

1. every selected resource is split into its partitions (:meth:`dataload.Resource.partitions`) by
   :func:`dataload.scale.plan.plan_run`; the plan is recorded in the working dir
   (``partition_plan.json``) until the run's packages are published, so a run that failed is re-run
   on the same partitions;
2. each partition is extracted and normalized into a package of its own by a task
   (:mod:`dataload.scale.task`) on the executor (:mod:`dataload.scale.executors`);
3. :func:`finish_run`: a partition that fails for good (after its retries) fails the run with a
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

An orchestrator that runs each partition as a task of its own (:mod:`dataload.integrations.airflow`)
takes the same three steps: :func:`dataload.facade.plan_partitions` (step 1) in a task of its own,
:func:`run_planned` in one task per partition, and :func:`dataload.facade.finish_partitions` (which calls
:func:`finish_run`) in a last task.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

from dataload._state import bump_version, decode, encode
from dataload.context import PipelineContext
from dataload.exceptions import PartitionError
from dataload.info import StepInfo
from dataload.normalize.parallel import merged_schema
from dataload.normalize.stage import normalize_package, seal_normalized
from dataload.package.manifest import read_manifest, write_manifest
from dataload.package.storage import write_json
from dataload.run_input import as_source
from dataload.scale.executors import ExecutorArg, check_executor, run_tasks
from dataload.scale.fold import fold_states
from dataload.scale.plan import PartitionedRun, PlannedPartition, forget_plan, plan_run
from dataload.scale.publish import STAGE, handing_over, publish, resume_published
from dataload.scale.staging import Staging
from dataload.scale.task import PartitionOutcome, run_partition
from dataload.schema.model import Schema

logger = logging.getLogger(__name__)


def run_partitioned(ctx: PipelineContext, data: Any, hints: dict[str, Any], executor: ExecutorArg,
                    retries: int, staging: Staging | None = None) -> list[str]:
    """Extract and normalize every partition of ``data`` on ``executor`` into packages ready to load;
    returns their load ids (none when nothing changed)."""
    check_executor(executor)
    source = as_source(data, default_name=ctx.pipeline_name, **hints)
    run = plan_run(ctx, source, staging)
    tasks = [run.task(index, source.selected_resources, staging) for index in range(len(run.partitions))]
    logger.info("pipeline %s: running %d partition(s) on %s", ctx.pipeline_name, len(tasks), executor)
    try:
        outcomes = run_tasks(executor, run_partition, tasks, retries=retries,
                             names=[f"dataload-{ctx.pipeline_name}-{task.load_id}" for task in tasks])
    except BaseException:
        _unstage(staging, run)
        raise
    return finish_run(ctx, run, outcomes, staging)


def run_planned(run: PartitionedRun, index: int, data: Any, staging_options: Mapping[str, Any] | None = None,
                **hints: Any) -> PartitionOutcome:
    """Extract and normalize partition ``index`` of ``run`` (planned by :func:`~dataload.scale.plan.plan_run`)
    into its package: for an orchestrator that runs each partition as a task of its own. ``data`` (and
    ``hints``) are what the run was planned from, built again where this task runs; ``staging_options`` go
    with the run's ``staging_url``. Holds no lock: the tasks of one run may run at once."""
    source = as_source(data, default_name=run.pipeline_name, **hints)
    return run_partition(run.task(index, source.selected_resources, run.staging(staging_options)))


def orchestrated_outcomes(run: PartitionedRun, found: Sequence[Mapping[str, Any] | None]) -> list[Any]:
    """Per partition of ``run``, in order, the outcome among ``found`` (``PartitionOutcome`` documents an
    orchestrator kept, in any order; None where a task left none) with its load id, or an error saying
    that its task left none."""
    by_load_id = {document["load_id"]: document for document in found if document is not None}
    return [PartitionOutcome.from_dict(by_load_id[p.load_id]) if p.load_id in by_load_id
            else LookupError(f"no outcome was recorded for its package {p.load_id}: its task (number {index} of the "
                             "run's partition tasks) failed or did not run; see that task's log")
            for index, p in enumerate(run.partitions)]


def finish_run(ctx: PipelineContext, run: PartitionedRun, outcomes: Sequence[Any],
               staging: Staging | None) -> list[str]:
    """Fold the schemas and states of ``run``'s partitions (per partition its ``PartitionOutcome``, or the
    exception it failed with) and publish their packages; returns their load ids (none when nothing changed).

    A failed partition raises :class:`~dataload.exceptions.PartitionError` naming it, having deleted the
    run's packages (the recorded plan stays, for the re-run). Call it holding the pipeline's lock.
    """
    try:
        return _fold_and_publish(ctx, run, list(outcomes), staging)
    finally:  # published, failed or nothing to load: the staged copies are not needed any more
        _unstage(staging, run)


def resume_handover(ctx: PipelineContext, run: PartitionedRun) -> bool:
    """True when an earlier finish of ``run`` got as far as publishing it (``ready.json`` written), having
    finished moving its packages to ``normalized`` and forgotten its plan; False when it did not."""
    if not handing_over(ctx) and not any(ctx.packages.path("normalized", p.load_id).is_dir() for p in run.partitions):
        return False
    resume_published(ctx)
    forget_plan(ctx)
    return True


def _fold_and_publish(ctx: PipelineContext, run: PartitionedRun, outcomes: list[Any],
                      staging: Staging | None) -> list[str]:
    _raise_if_failed(ctx, run, outcomes)
    done: list[tuple[PlannedPartition, PartitionOutcome]] = list(zip(run.partitions, outcomes))
    if staging is not None:
        for planned, _ in done:
            staging.download(planned.load_id, ctx.packages.path(STAGE, planned.load_id))
    _raise_if_failed(ctx, run, [outcome if ctx.packages.path(STAGE, planned.load_id).is_dir() else FileNotFoundError(
        f"its package {ctx.packages.path(STAGE, planned.load_id)} is not there (another run of the pipeline cleared "
        "it, or its task ran where this working dir is not: give the run a staging_url)")
        for planned, outcome in done])
    state = decode(run.state)
    folded_state = fold_states(state, [decode(outcome.state) for _, outcome in done])
    kept = [(planned, outcome) for planned, outcome in done if _has_data(ctx, planned.load_id)]
    if not kept and folded_state != state:  # no rows but a state to commit: the last package carries it
        kept = done[-1:]
    for load_id in {p.load_id for p, _ in done} - {p.load_id for p, _ in kept}:
        ctx.packages.remove(STAGE, load_id)
    if not kept:
        forget_plan(ctx)
        logger.info("pipeline %s: nothing to load (no rows, no table to replace, state unchanged)", ctx.pipeline_name)
        return []
    folded = _folded_schema(ctx, run, kept)
    load_ids = [planned.load_id for planned, _ in kept]
    _seal(ctx, load_ids, folded, state, folded_state)
    publish(ctx, load_ids)
    forget_plan(ctx)
    for planned, outcome in kept:
        logger.info("pipeline %s: partition %s is package %s (its process peaked at %.0f MB)", ctx.pipeline_name,
                    planned.partition.label, planned.load_id, outcome.peak_rss_mb)
        ctx.trace.record(StepInfo("extract", planned.load_id, outcome.extract_seconds, outcome.items))
        ctx.trace.record(StepInfo("normalize", planned.load_id, outcome.normalize_seconds, outcome.rows))
    return load_ids


def _raise_if_failed(ctx: PipelineContext, run: PartitionedRun, outcomes: list[Any]) -> None:
    failed = [(planned, error) for planned, error in zip(run.partitions, outcomes) if isinstance(error, BaseException)]
    if not failed:
        return
    shutil.rmtree(ctx.packages.root / STAGE, ignore_errors=True)
    (planned, error), others = failed[0], [p.partition.label for p, _ in failed[1:]]
    more = f" (partition(s) {', '.join(others)} failed too)" if others else ""
    raise PartitionError(planned.partition.label,
                         f"{type(error).__name__}: {error}{more}; nothing of this run was loaded and the state did "
                         "not move: the next run extracts the same partitions again") from error


def _unstage(staging: Staging | None, run: PartitionedRun) -> None:
    """Delete the run's staged copies; one that cannot be deleted is left with a warning naming it (it is never
    taken again: a run's load ids are new)."""
    if staging is None:
        return
    for planned in run.partitions:
        try:
            staging.remove(planned.load_id)
        except OSError as error:
            logger.warning("could not delete the staged package %s/%s: %s", staging.url, planned.load_id, error)


def _has_data(ctx: PipelineContext, load_id: str) -> bool:
    """The partition's package has rows or a table to replace (an empty package is not loaded)."""
    manifest = read_manifest(ctx.packages.path(STAGE, load_id))
    return any(manifest.items.values()) or any(h.write_disposition == "replace" for h in manifest.table_hints.values())


def _folded_schema(ctx: PipelineContext, run: PartitionedRun,
                   kept: list[tuple[PlannedPartition, PartitionOutcome]]) -> Schema:
    """The partitions' schemas folded into the run's in order; a partition that disagrees with the
    ones before it is normalized again against the folded schema (its values go to variant columns)."""
    folded = Schema.from_dict(run.schema)
    for planned, outcome in kept:
        merged = merged_schema(Schema.from_dict(folded.to_dict()), [Schema.from_dict(outcome.schema)])
        if merged is not None:
            folded = merged
            continue
        logger.info("pipeline %s: partition %s inferred other types than the partitions before it; normalizing "
                    "it again in this process", ctx.pipeline_name, planned.partition.label)
        folder = ctx.packages.path(STAGE, planned.load_id)
        manifest = read_manifest(folder)
        shutil.rmtree(folder / "files", ignore_errors=True)
        result = normalize_package(folder / "extracted", manifest.extracted_files, folder, folded, manifest.table_hints,
                                   planned.load_id, max_identifier_length=ctx.max_identifier_length,
                                   arrow_files=run.arrow_files, workers=1)
        seal_normalized(folder, manifest, result, folded)
    folded.bump_version()
    ctx.save_schema(folded)
    return folded


def _seal(ctx: PipelineContext, load_ids: list[str], schema: Schema, state: dict[str, Any],
          folded_state: dict[str, Any]) -> None:
    """Give every package the folded schema, the last one the folded state and the others the state as it was."""
    bump_version(folded_state)
    schema_document = schema.to_dict()
    for index, load_id in enumerate(load_ids):
        folder = ctx.packages.path(STAGE, load_id)
        manifest = read_manifest(folder)
        manifest.state = encode(folded_state if index == len(load_ids) - 1 else state)
        write_manifest(folder, manifest)
        write_json(folder / "schema.json", schema_document)
        shutil.rmtree(folder / "extracted", ignore_errors=True)
