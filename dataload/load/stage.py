"""The load stage: each ``normalized`` package is committed to the destination, oldest first (a
partitioned run's middle packages in parallel where the destination declares ``concurrent_loads``).

The destination commits the package's data, schema and state in one transaction (retried by
:func:`~dataload.load.step.load_with_retries`); only then is the local ``state.json`` rewritten
and the package removed. A package the destination refuses for good moves to ``failed``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from dataload.concurrency import load_workers, package_load_workers
from dataload.context import PipelineContext
from dataload.crash import crash_point
from dataload.exceptions import DataloadError, TerminalLoadError
from dataload.info import LoadInfo, StepInfo
from dataload.load.step import LoadOutcome, load_with_retries
from dataload.package.failure import record_failure
from dataload.package.manifest import Manifest, read_manifest
from dataload.package.order import refuse_if_blocked
from dataload.package.storage import read_json, run_of
from dataload.progress import Progress, step_of
from dataload.protocol import JobsDone, LoadPackage, PackageFile
from dataload.schema.model import Schema

logger = logging.getLogger(__name__)


def load_normalized(ctx: PipelineContext, info: LoadInfo, workers: int | None = None) -> None:
    """Load every ``normalized`` package, oldest first, recording what landed in ``info``.

    ``workers``: threads the destination may use for a package's jobs (see
    :func:`dataload.concurrency.load_workers`). Where the destination declares
    ``concurrent_loads``, the packages of one partitioned run load in parallel (see :func:`_load_run`).
    """
    threads = load_workers(workers)
    load_ids = ctx.packages.load_ids("normalized")
    runs = _runs(load_ids) if ctx.destination.capabilities.concurrent_loads else [[i] for i in load_ids]
    for run in runs:
        _load_run(ctx, info, run, threads)


def _runs(load_ids: list[str]) -> list[list[str]]:
    """``load_ids`` grouped into runs: the packages of one partitioned run (:func:`~dataload.package.storage.run_of`)
    together, every other package alone."""
    runs: list[list[str]] = []
    for load_id in load_ids:
        run = run_of(load_id)
        if runs and run is not None and run_of(runs[-1][-1]) == run:
            runs[-1].append(load_id)
        else:
            runs.append([load_id])
    return runs


def _load_run(ctx: PipelineContext, info: LoadInfo, load_ids: list[str], threads: int) -> None:
    """Load the packages of one run: the first alone (it creates the tables and columns of the folded
    schema, so the others change none), the middle ones on up to ``LOAD__PACKAGE_WORKERS`` threads in
    any order, the last (it carries the folded state) only after all the others committed, so the
    cursor never passes unloaded rows. A package that fails lets the ones in flight finish; the run stops."""
    middle = load_ids[1:-1]
    parallel = package_load_workers(len(middle)) if middle else 1
    for load_id in load_ids:  # before any of them loads: one failing in parallel must not block the others
        refuse_if_blocked(ctx.packages, ctx.pipeline_name, f"package {load_id}", newer_than=load_id)
    if parallel <= 1:
        for load_id in load_ids:
            _load_one(ctx, info, load_id, threads)
        return
    _load_one(ctx, info, load_ids[0], threads)
    failure: DataloadError | None = None
    # the packages in flight are one step of the progress report: each would otherwise restart its counts
    with _load_step(ctx, f"{middle[0]}..{middle[-1]}") as report, \
            ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="dataload-package") as pool:
        futures = {pool.submit(_commit, ctx, info, load_id, threads, report): load_id for load_id in middle}
        for future in as_completed(futures):
            try:
                _finish(ctx, info, futures[future], *future.result())
            except DataloadError as error:  # the others in flight still commit and are recorded
                failure = failure or error
    if failure is not None:
        raise failure
    _load_one(ctx, info, load_ids[-1], threads)


def _load_one(ctx: PipelineContext, info: LoadInfo, load_id: str, threads: int) -> None:
    """Load and finish the package ``load_id``, reported to the progress as a step of its own."""
    with _load_step(ctx, load_id) as report:
        committed = _commit(ctx, info, load_id, threads, report)
    _finish(ctx, info, load_id, *committed)


@contextlib.contextmanager
def _load_step(ctx: PipelineContext, label: str) -> Iterator[JobsDone | None]:
    """A load step called ``label`` in the progress report: the reporter of its jobs (None without progress)."""
    with step_of(ctx.progress, "load", label) as progress:
        yield None if progress is None else _reporter(progress)


def _commit(ctx: PipelineContext, info: LoadInfo, load_id: str, threads: int,
            report: JobsDone | None) -> tuple[LoadOutcome, Manifest, float]:
    """Load the package ``load_id`` into the destination, telling ``report`` of each job done; one the
    destination refuses moves to ``failed``."""
    started = time.perf_counter()
    package, manifest = read_package(ctx, load_id, threads)
    if report is not None:
        package.on_job_done = report
    try:
        outcome = load_with_retries(ctx.new_client, package, ctx.retry_policy)
    except TerminalLoadError as error:
        kept = ctx.packages.move(load_id, "normalized", "failed")
        info.failed.append(load_id)
        moved = str(ctx.packages.path("normalized", load_id))
        failed = TerminalLoadError(
            f"{str(error).replace(moved, str(kept))}\nThe package is kept in {kept}: fix the cause and call "
            "pipe.retry_failed(), or pipe.drop_failed() to discard it.",
            table=error.table, file=(error.file or "").replace(moved, str(kept)) or None)
        record_failure(kept, "load", failed)
        raise failed from error
    return outcome, manifest, started


def _finish(ctx: PipelineContext, info: LoadInfo, load_id: str, outcome: LoadOutcome, manifest: Manifest,
            started: float) -> None:
    """After the package ``load_id`` committed: save its state locally, remove it, record it in ``info``."""
    crash_point("load.after_commit")
    ctx.write_state(manifest.state)
    crash_point("state.after_save")
    ctx.packages.remove("normalized", load_id)
    if not outcome.loaded:
        logger.info("package %s was already in the destination (an earlier run loaded it)", load_id)
        return
    info.load_ids.append(load_id)
    info.add_package(manifest)
    ctx.trace.record(StepInfo("load", load_id, time.perf_counter() - started, manifest.rows,
                              retries=outcome.retries))


def _reporter(progress: Progress) -> JobsDone:
    """A :attr:`LoadPackage.on_job_done` that adds each file's rows to ``progress`` once (a retried
    attempt writes the same files again), from whichever thread the destination's job ran on, for
    one package or for several loading at once."""
    counted: set[Path] = set()
    lock = threading.Lock()

    def report(files: list[PackageFile]) -> None:
        with lock:
            for file in files:
                if file.path not in counted:
                    counted.add(file.path)
                    progress.add(file.table, file.rows)

    return report


def read_package(ctx: PipelineContext, load_id: str, workers: int) -> tuple[LoadPackage, Manifest]:
    """The ``normalized`` package ``load_id`` as the destination loads it, and its manifest."""
    folder = ctx.packages.path("normalized", load_id)
    manifest = read_manifest(folder)
    files = [PackageFile.from_entry(f, folder) for f in manifest.files]
    schema = Schema.from_dict(read_json(folder / "schema.json"))
    roots = [t for t in manifest.table_hints if t in schema.tables]
    return LoadPackage(load_id, ctx.pipeline_name, schema, files, manifest.state, roots, folder=folder,
                       workers=workers, stream_part=manifest.stream_part, completes=manifest.completes), manifest
