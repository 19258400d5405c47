"""Streamed runs: a long extraction loads in parts while it runs, and a run that stops half way is undone.

When a run's extraction has written ``BufferLimits.part_bytes`` (or run ``part_seconds``), what it has
so far is sealed as a package of its own, a *part*, which a background thread normalizes and loads
while extraction goes on. Each part is an ordinary package (its own load id and ``_dl_loads`` row)
carrying the state as it was before the run; the last package of the run carries the new state, so
the state is committed once, after every part landed. Parts are made only where they can be undone:
every table of the run appends (a table that merges or replaces must land in one package: a run whose
resources name one is one package, and one a ``table_name`` callable routes rows to ends the parts at
its first row) and the destination can delete by load id (``Capabilities.deletes_loads``).

A run that stops before its last package is sealed (an error, SIGKILL) is undone: the rows of its
loaded parts are deleted by load id, its parts still on disk are removed, and the state stays where it
was, so the next run extracts it all again, exactly once. What to undo is recorded in the working dir
(``streamed_run.json``) *before* each part becomes a package, and the record is removed once the last
package is sealed: from then on the run's packages are finished like any pending package. A run
that fails undoes itself at once; if that fails too (the destination is down), the next run of the
pipeline undoes it before anything else (:func:`undo_unfinished_run`). The destination knows too: a
part's ``_dl_loads`` row has status 1 until the last package's commit sets it to 0, so a run whose
working dir is gone is undone from there (:func:`undo_unrecorded_parts`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import threading
from collections.abc import Iterator
from typing import cast

from dataload.context import PipelineContext
from dataload.crash import crash_point
from dataload.info import LoadInfo
from dataload.load.stage import load_normalized
from dataload.normalize.stage import normalize_extracted
from dataload.package.manifest import read_manifest
from dataload.package.storage import read_json, write_json
from dataload.protocol import DeletesLoads, DestinationClient

logger = logging.getLogger(__name__)

RECORD_FILE = "streamed_run.json"


class StreamedRun:
    """The parts of one run's extraction: recorded, then normalized and loaded on a thread of their own."""

    def __init__(self, ctx: PipelineContext, info: LoadInfo) -> None:
        self._ctx, self._info = ctx, info
        self._record = ctx.working_dir / RECORD_FILE
        self.sealed: list[str] = []  # load ids of the parts, in order
        self._to_load: queue.Queue[str | None] = queue.Queue()  # None: no more parts
        self._error: BaseException | None = None
        self._worker: threading.Thread | None = None

    def record(self, load_id: str) -> None:
        """Add ``load_id`` to the run's record; called before the part becomes a package."""
        self.sealed.append(load_id)
        write_json(self._record, {"parts": self.sealed})

    def load_soon(self, load_id: str) -> None:
        """Normalize and load the sealed part ``load_id`` on the run's thread, after the parts before it."""
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="dataload-parts", daemon=True)
            self._worker.start()
        self._to_load.put(load_id)

    def check(self) -> None:
        """Raise the error a part's normalize or load ended with, if one did."""
        if self._error is not None:
            raise self._error

    def wait(self) -> None:
        """Wait until every part handed over is loaded (or failed: raise its error)."""
        if self._worker is not None:
            self._to_load.put(None)
            self._worker.join()
            self._worker = None
        self.check()

    def complete(self) -> None:
        """The run's last package is sealed: its packages are now finished like any pending package."""
        if self.sealed:
            self._record.unlink()
            crash_point("stream.after_complete")

    def _work(self) -> None:
        progress = self._ctx.progress
        ctx = dataclasses.replace(self._ctx, progress=None if progress is None else progress.beside())
        while (load_id := self._to_load.get()) is not None:
            if self._error is not None:
                continue  # the run stops: what is left is undone
            try:
                normalize_extracted(ctx)
                load_normalized(ctx, self._info)
                crash_point("stream.after_part_loaded")
            except BaseException as error:  # handed to the extraction, which stops and undoes the run
                logger.warning("pipeline %s: package %s, a part of a streamed run, failed (%s); the run stops and "
                               "is undone, the package is not kept", ctx.pipeline_name, load_id,
                               type(error).__name__)
                self._error = error


@contextlib.contextmanager
def streamed_run(ctx: PipelineContext, info: LoadInfo) -> Iterator[StreamedRun | None]:
    """The run's :class:`StreamedRun`, or None where its destination cannot delete by load id or parts
    are switched off; a run that raises is undone (its thread stopped first)."""
    limits = ctx.buffer_limits
    if not ctx.destination.capabilities.deletes_loads or (limits.part_bytes is None and limits.part_seconds is None):
        yield None
        return
    run = StreamedRun(ctx, info)
    try:
        yield run
    except BaseException:
        with contextlib.suppress(BaseException):
            run.wait()  # its error, if it has one, is already part of the one raised
        _undo_logged(ctx)
        raise


def undo_unfinished_run(ctx: PipelineContext) -> None:
    """Undo the streamed run an earlier run left unfinished, as the working dir's record lists it, if there
    is one: delete what its parts loaded, remove its parts still on disk, then the record."""
    path = ctx.working_dir / RECORD_FILE
    if not path.exists():
        return
    with ctx.client() as client:
        _undo(ctx, cast(DeletesLoads, client), list(read_json(path)["parts"]))
    path.unlink()


def undo_unrecorded_parts(ctx: PipelineContext, client: DestinationClient) -> None:
    """Undo the parts ``client``'s destination records as unfinished (``_dl_loads`` status 1) that no package
    of the working dir completes: a streamed run that stopped half way in a working dir that is gone (a
    fresh one now, as on a CI runner). Called where every run reads the destination's state, before it."""
    if not ctx.destination.capabilities.deletes_loads:
        return
    deleting = cast(DeletesLoads, client)
    unfinished = deleting.unfinished_parts()
    if not unfinished:  # the usual case: no package manifest is read
        return
    completing = {part for stage, load_id in _packages(ctx)
                  for part in read_manifest(ctx.packages.path(stage, load_id)).completes}
    parts = [part for part in unfinished if part not in completing]
    if parts:
        _undo(ctx, deleting, parts)


def _undo(ctx: PipelineContext, client: DeletesLoads, parts: list[str]) -> None:
    client.delete_loads(parts)
    crash_point("stream.after_delete")
    for stage, load_id in _packages(ctx):
        if load_id in parts:
            ctx.packages.remove(stage, load_id)
    logger.warning("pipeline %s: undid a streamed run that did not finish (parts %s): their rows were deleted "
                   "and the state is as before it; this run extracts that data again", ctx.pipeline_name,
                   ", ".join(parts))


def _packages(ctx: PipelineContext) -> list[tuple[str, str]]:
    """(stage, load id) of every package in the working dir: pending, then failed."""
    return ctx.packages.pending() + [("failed", load_id) for load_id in ctx.packages.load_ids("failed")]


def _undo_logged(ctx: PipelineContext) -> None:
    try:
        undo_unfinished_run(ctx)
    except Exception as error:  # the record stays: the next run undoes it first
        logger.warning("pipeline %s: could not undo the parts of the run that failed (%s: %s); the next run "
                       "undoes them before anything else", ctx.pipeline_name, type(error).__name__, error)

