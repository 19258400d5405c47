"""Pipeline: the facade users call; ``run()`` = reconcile, finish pending, extract, normalize, load.

Each stage lives in the module that owns it and works on a :class:`~dataload.context.PipelineContext`:
:mod:`dataload.extract.stage`, :mod:`dataload.normalize.stage`, :mod:`dataload.load.stage`,
:mod:`dataload.sync` (restore from the destination), :mod:`dataload.drop` (schema changes without
data) and :mod:`dataload.package.order` (ordering and failed packages). See ``docs/architecture.md``.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dataload.context import SETTINGS_FILE, PipelineContext
from dataload.dataset import Dataset
from dataload.drop import drop_columns, drop_resources
from dataload.extract.limits import BufferLimits
from dataload.extract.stage import extract_package
from dataload.info import LoadInfo, Trace, record
from dataload.load.stage import load_normalized
from dataload.load.step import RetryPolicy
from dataload.lock import LOCK_FILE, pipeline_lock
from dataload.normalize.stage import normalize_extracted
from dataload.package import order
from dataload.package.storage import packages_of, read_json, write_json
from dataload.progress import ProgressArg, check_progress, new_progress
from dataload.registry import DestinationArg, resolve_destination
from dataload.run_input import as_source
from dataload.run_trace import traced_run
from dataload.scale.coordinator import finish_run, orchestrated_outcomes, resume_handover, run_partitioned
from dataload.scale.executors import ExecutorArg
from dataload.scale.plan import PartitionedRun, plan_run, record_run, recorded_run
from dataload.scale.publish import resume_published
from dataload.scale.staging import staging_for
from dataload.schema.files import SchemaFiles
from dataload.schema.model import Schema
from dataload.sql_client import SqlClient
from dataload.streaming import streamed_run, undo_unfinished_run
from dataload.sync import reconcile

logger = logging.getLogger(__name__)


class Pipeline:
    """Moves data from sources into one dataset of one destination, remembering where it stopped.

    Create it with :func:`dataload.pipeline`, reopen it with :func:`dataload.attach`.
    """

    def __init__(self, pipeline_name: str, *, destination: DestinationArg, dataset_name: str,
                 pipelines_dir: Path, local_dir: Path, retry_policy: RetryPolicy | None = None,
                 buffer_limits: BufferLimits | None = None, export_schema_path: Path | None = None,
                 import_schema_path: Path | None = None, progress: ProgressArg = None) -> None:
        self.pipeline_name = pipeline_name
        self.destination = resolve_destination(destination)
        self.destination.check_dataset_name(dataset_name)  # a name it reserves is refused before anything runs
        self.dataset_name = dataset_name
        self.working_dir = pipelines_dir / pipeline_name
        self.retry_policy = retry_policy or RetryPolicy()
        self.buffer_limits = buffer_limits or BufferLimits()
        self._progress = check_progress(progress)
        self.last_trace = Trace()
        self._local_dir = local_dir
        self._schema_files = SchemaFiles(self.pipeline_name, export_schema_path, import_schema_path,
                                         self.working_dir / "imported_schema.hash")
        self._packages = packages_of(self.working_dir)

    def _context(self) -> PipelineContext:
        """The stages' view of this pipeline, with its settings as they are now."""
        return PipelineContext(self.pipeline_name, self.destination, self.dataset_name, self.working_dir,
                               self._local_dir, self.retry_policy, self.buffer_limits, self._schema_files,
                               self._packages, self.last_trace)

    # -- stored documents ---------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        """The committed pipeline state (a copy): what the last loaded package recorded."""
        return self._context().state()

    @property
    def default_schema(self) -> Schema:
        """The pipeline's schema as the last normalize left it."""
        return self._context().schema()

    # -- the stages ---------------------------------------------------------------------------
    def run(self, data: Any = None, *, executor: ExecutorArg | None = None, partition_retries: int = 2,
            staging_url: str | None = None, staging_options: dict[str, Any] | None = None, **hints: Any) -> LoadInfo:
        """Load pending packages, then extract, normalize and load ``data`` (if given).

        What ran is in :attr:`last_trace`, also saved in the working dir (:mod:`dataload.run_trace`).

        ``hints`` (``table_name``, ``write_disposition``, ``primary_key``, ``merge_key``,
        ``columns``, ``schema_contract``) apply to plain data or a single resource.

        ``executor`` (``"threads"``, ``"processes"`` or a ``distributed.Client``) runs the extract and
        normalize of each partition of each resource as a task of its own, each tried
        ``partition_retries`` more times when it raises; the packages are loaded in order and the
        state is committed once, with the last one (see ``docs/scale-out.md``). ``staging_url`` (an
        fsspec URL, e.g. ``s3://bucket/prefix``; storage options in ``staging_options``) is where the
        workers write the packages for the coordinator, instead of the working dir.
        """
        started = time.perf_counter()
        with self._traced() as ctx:
            info = self._start(ctx)
            if data is not None:
                if executor is None:
                    with streamed_run(ctx, info) as parts:
                        extract_package(ctx, data, hints, parts)
                    normalize_extracted(ctx)
                else:
                    staging = staging_for(staging_url, staging_options)
                    run_partitioned(ctx, data, hints, executor, partition_retries, staging)
                load_normalized(ctx, info)
        info.seconds = time.perf_counter() - started
        return record(info)

    def extract(self, data: Any, **hints: Any) -> str | None:
        """Extract ``data`` into a new package; returns its load id, or None when there was nothing to load."""
        with self._lock() as ctx:
            reconcile(ctx)
            return extract_package(ctx, data, hints)

    def normalize(self, *, workers: int | None = None) -> list[str]:
        """Normalize every extracted package; returns their load ids.

        ``workers``: processes per package (default: ``NORMALIZE__WORKERS``, else decided by the
        package's size and the machine's cores; see :mod:`dataload.concurrency`).
        """
        with self._lock() as ctx:
            return normalize_extracted(ctx, workers)

    def load(self, *, workers: int | None = None) -> LoadInfo:
        """Load every normalized package.

        ``workers``: threads the destination may use for a package's jobs (default:
        ``LOAD__WORKERS``, else ``min(8, cores)``; see :mod:`dataload.concurrency`).
        """
        with self._lock() as ctx:
            info = ctx.new_info()
            load_normalized(ctx, info, workers)
            return record(info)

    def _start(self, ctx: PipelineContext) -> LoadInfo:
        """What every run does first: reconcile with the destination, then finish pending packages."""
        reconcile(ctx)
        return self._finish_pending(ctx)

    def _finish_pending(self, ctx: PipelineContext) -> LoadInfo:
        info = ctx.new_info()
        resume_published(ctx)  # the packages of a partitioned run that stopped while handing them over
        pending = [load_id for _, load_id in ctx.packages.pending()]
        if pending:
            logger.warning("pipeline %s: finishing %d package(s) left pending by an earlier run: %s",
                           self.pipeline_name, len(pending), ", ".join(pending))
            info.resumed = pending
            normalize_extracted(ctx)
            load_normalized(ctx, info)
        info.failed = ctx.packages.load_ids("failed")
        if info.failed:
            logger.warning("pipeline %s has failed package(s) %s kept in %s; fix the cause and call "
                           "pipe.retry_failed(), or pipe.drop_failed() to discard them", self.pipeline_name,
                           ", ".join(info.failed), ctx.packages.root / "failed")
        return info

    # -- failed packages ------------------------------------------------------------------------
    def pending_packages(self) -> list[str]:
        """Load ids of packages extracted or normalized but not loaded yet."""
        return [load_id for _, load_id in self._packages.pending()]

    def failed_packages(self) -> list[str]:
        """Load ids of packages whose content normalize or load could not handle (kept on disk for inspection).

        Newer data waits for them: see ``docs/reliability.md``.
        """
        return self._packages.load_ids("failed")

    def retry_failed(self) -> LoadInfo:
        """Move failed packages back to the stage they failed in and finish them, oldest first.

        Traced like a run (:attr:`last_trace`, saved in the working dir).
        """
        with self._traced() as ctx:
            order.requeue_failed(ctx.packages)
            info = ctx.new_info()
            normalize_extracted(ctx)
            load_normalized(ctx, info)
            return record(info)

    def drop_failed(self) -> list[str]:
        """Delete failed packages; their data is not loaded, and the state stays as before them
        (an incremental resource reads their rows again on the next run)."""
        with self._lock() as ctx:
            return order.drop_failed(ctx.packages)

    # -- destination ----------------------------------------------------------------------------
    def sync_destination(self) -> bool:
        """Reconcile the local state and schema with the destination's record; True when they changed.

        Every run does this first; the rules are in :mod:`dataload.sync`.
        """
        with self._lock() as ctx:
            return reconcile(ctx)

    def dataset(self) -> Dataset:
        """The loaded tables, read back through the destination."""
        tables = [t.name for t in self.default_schema.data_tables()]
        return Dataset(self._context().client, tables)

    def sql_client(self) -> SqlClient:
        """A context manager running SQL on the destination: ``with pipe.sql_client() as sql: ...``."""
        return SqlClient(self._context().client)

    def drop(self, resources: list[str] | None = None) -> list[str]:
        """Drop what the pipeline loaded.

        With ``resources``: drop their tables (and child tables) from the destination and the
        schema, and reset their state, so the next run loads them from scratch; returns the
        dropped tables. Without: empty the local working directory (packages, state, schema;
        only the lock file stays); the destination keeps its data and the next run restores from it.
        """
        if resources is None:
            with self._lock():  # everything but the lock file itself goes while the lock is held
                for entry in self.working_dir.iterdir():
                    if entry.is_dir():
                        shutil.rmtree(entry)
                    elif entry.name != LOCK_FILE:
                        entry.unlink()
            return []
        with self._lock() as ctx:
            reconcile(ctx)
            return drop_resources(ctx, set(resources))

    def drop_columns(self, table: str, columns: list[str]) -> None:
        """Retire columns on purpose: drop them from the schema and the destination in one transaction.

        They come back only if later data brings them again.
        """
        with self._lock() as ctx:
            reconcile(ctx)
            drop_columns(ctx, table, columns)

    # -- helpers -----------------------------------------------------------------------------
    @contextmanager
    def _lock(self) -> Iterator[PipelineContext]:
        """Hold the pipeline's lock; only then write the settings and clear what a crashed run left behind."""
        self.working_dir.mkdir(parents=True, exist_ok=True)
        with pipeline_lock(self.working_dir, self.pipeline_name):
            self._remember_settings()
            self._packages.discard_incomplete()
            ctx = self._context()
            undo_unfinished_run(ctx)
            yield dataclasses.replace(ctx, progress=new_progress(self._progress))

    @contextmanager
    def _traced(self) -> Iterator[PipelineContext]:
        """:meth:`_lock`, with what happens traced as a run: a new :attr:`last_trace`, saved in the working dir."""
        self.last_trace = Trace()
        with self._lock() as ctx, traced_run(self.working_dir, self.last_trace):
            yield ctx

    def _remember_settings(self) -> None:
        """Write what :func:`attach` needs to reopen this pipeline (never credentials that are secret)."""
        path = self.working_dir / SETTINGS_FILE
        spec = self.destination.attach_spec()
        settings = {"destination": self.destination.name, "destination_options": spec,
                    "dataset_name": self.dataset_name, "local_dir": str(self._local_dir)}
        if not path.exists() or read_json(path) != settings:
            write_json(path, settings)

    def __repr__(self) -> str:
        return (f"Pipeline({self.pipeline_name!r}, destination={self.destination.name!r}, "
                f"dataset_name={self.dataset_name!r})")


# -- a partitioned run in steps an orchestrator runs as tasks of their own ------------------------------------
def plan_partitions(pipe: Pipeline, data: Any, *, staging_url: str | None = None,
                    staging_options: Mapping[str, Any] | None = None) -> PartitionedRun:
    """Step 1 of a partitioned run whose partitions an orchestrator runs as tasks of its own
    (:mod:`dataload.integrations.airflow`): holding ``pipe``'s lock, what :meth:`Pipeline.run` does first
    (reconcile, finish pending packages), then plan the partitions of ``data`` and record the run in the
    working dir for :func:`finish_partitions`.

    Step 2 is :func:`dataload.scale.coordinator.run_planned` for each partition of the returned run (sent
    to those tasks as ``run.to_dict()``); ``staging_url`` is as for :meth:`Pipeline.run`.
    """
    with pipe._traced() as ctx:
        pipe._start(ctx)
        run = plan_run(ctx, as_source(data, default_name=pipe.pipeline_name), staging_for(staging_url, staging_options))
        record_run(ctx, run)
    return run


def finish_partitions(pipe: Pipeline, run_id: str, outcomes: Sequence[Mapping[str, Any] | None], *,
                      staging_options: Mapping[str, Any] | None = None) -> LoadInfo:
    """Step 3: holding ``pipe``'s lock, fold and publish the packages of the run :func:`plan_partitions`
    recorded as ``run_id``, given its tasks' ``outcomes`` (``PartitionOutcome.to_dict()`` documents in any
    order, None for a task that left none), then load them and commit the state once, with the last.

    A partition without an outcome raises :class:`~dataload.exceptions.PartitionError` naming it (nothing
    loaded, state unchanged; the plan stays for the next run). Called again (an orchestrator's retry) after
    the packages were published, or while they were being handed over, it finishes the hand-over and loads
    whatever is still pending, each package once.
    """
    started = time.perf_counter()
    with pipe._traced() as ctx:
        run = recorded_run(ctx, run_id)
        if run is not None and not resume_handover(ctx, run):
            finish_run(ctx, run, orchestrated_outcomes(run, outcomes), run.staging(staging_options))
        info = ctx.new_info()
        load_normalized(ctx, info)
    info.seconds = time.perf_counter() - started
    return record(info)
