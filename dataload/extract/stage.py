"""The extract stage: a new package in ``extracting.tmp``, moved to ``extracted`` with its manifest.

The package carries a copy of the newest state (that of the newest pending package, else the
committed one) as the resources changed it; a package with no rows, no table to replace and an
unchanged state is not kept.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataload._state import bump_version, encode
from dataload.context import PipelineContext
from dataload.crash import crash_point
from dataload.exceptions import InvalidConfig
from dataload.extract.step import ExtractResult, extract_source
from dataload.info import StepInfo
from dataload.package.disk_full import out_of_room_stops
from dataload.package.manifest import Manifest, TableHintsRecord, write_manifest
from dataload.package.order import refuse_if_blocked
from dataload.package.storage import new_load_id
from dataload.progress import step_of
from dataload.run_input import as_source

if TYPE_CHECKING:  # the stage that loads parts is above extract: only its type is needed here
    from dataload.streaming import StreamedRun

logger = logging.getLogger(__name__)


def extract_package(ctx: PipelineContext, data: Any, hints: dict[str, Any],
                    parts: StreamedRun | None = None) -> str | None:
    """Extract ``data`` (with ``hints`` for plain data or a single resource) into a new package;
    returns its load id, or None when there was nothing to load.

    With ``parts``, a long extraction is sealed in parts as it goes, each handed to ``parts`` to be
    loaded while extraction goes on (:mod:`dataload.streaming`); the package returned is the last.
    """
    refuse_if_blocked(ctx.packages, ctx.pipeline_name, "new data")
    source = as_source(data, default_name=ctx.pipeline_name, **hints)
    previous = ctx.newest_state()
    document = copy.deepcopy(previous)
    package = _Package(ctx)
    try:
        with out_of_room_stops("extract", package.load_id):
            with step_of(ctx.progress, "extract", package.load_id) as progress:
                sink = None if parts is None else _Parts(package, parts, encode(previous))
                result = extract_source(source, package.folder / "extracted", document, limits=ctx.buffer_limits,
                                        max_identifier_length=ctx.max_identifier_length, progress=progress,
                                        parts=sink)
            if parts is not None:
                parts.wait()
            check_merge_support(ctx, result.table_hints)
            parts_sealed = [] if parts is None else parts.sealed
            # a package that changes state is loaded, to commit it; the last of a streamed run, to complete its parts
            kept = not result.is_empty or document != previous or bool(parts_sealed)
            if kept:
                bump_version(document)
                crash_point("extract.before_seal")  # the files are written; no manifest, still in extracting.tmp
                package.seal(result, encode(document), completes=parts_sealed)
            else:
                ctx.packages.remove("extracting.tmp", package.load_id)
                logger.info("pipeline %s: nothing to load (no rows, no table to replace, state unchanged)",
                            ctx.pipeline_name)
            if parts is not None:
                parts.complete()
    except BaseException:  # a package not sealed is not kept (nor its files, which may fill the disk)
        ctx.packages.remove("extracting.tmp", package.load_id)
        raise
    return package.load_id if kept else None


class _Package:
    """The package being extracted: a new load id and its folder in ``extracting.tmp``."""

    def __init__(self, ctx: PipelineContext) -> None:
        self.ctx = ctx
        self.load_id, self.folder = "", Path()
        self.begin()

    def begin(self) -> None:
        """Start a new package (after the one before was sealed)."""
        self.load_id = new_load_id()
        self.folder = self.ctx.packages.create("extracting.tmp", self.load_id)

    def seal(self, result: ExtractResult, state: dict[str, Any], *, stream_part: bool = False,
             completes: list[str] | None = None) -> None:
        """Write the manifest (with ``state``, encoded; see :class:`Manifest` for the rest) and move the
        package to ``extracted``."""
        write_manifest(self.folder, Manifest(self.load_id, result.table_hints, result.files, state, result.items,
                                             stream_part=stream_part, completes=list(completes or [])))
        self.ctx.packages.move(self.load_id, "extracting.tmp", "extracted")
        self.ctx.trace.record(StepInfo("extract", self.load_id, result.seconds, result.items,
                                       skipped=result.skipped, counts=result.counts))


class _Parts:
    """Seals the package being extracted as a part carrying ``state`` (the one before the run), hands it to
    ``run``, and goes on in a new package."""

    def __init__(self, package: _Package, run: StreamedRun, state: dict[str, Any]) -> None:
        self.package, self.run, self.state = package, run, state

    def seal(self, part: ExtractResult) -> Path:
        sealed = self.package.load_id
        self.run.record(sealed)  # before it is a package: whatever of the run is on disk or loaded is in the record
        crash_point("stream.before_part_sealed")
        self.package.seal(part, self.state, stream_part=True)
        crash_point("stream.after_part_sealed")
        self.run.load_soon(sealed)
        self.package.begin()
        folder = self.package.folder / "extracted"
        folder.mkdir()
        return folder

    def check(self) -> None:
        self.run.check()


def check_merge_support(ctx: PipelineContext, table_hints: dict[str, TableHintsRecord]) -> None:
    """Refuse a table whose merge strategy the destination does not support."""
    supported = ctx.destination.capabilities.merge_strategies
    for table, hints in table_hints.items():  # every merge has a key: extraction refuses one without
        if hints.write_disposition == "merge" and hints.merge_strategy not in supported:
            can = f"it supports {', '.join(supported)}" if supported else "it cannot merge"
            raise InvalidConfig(
                f"table {table!r} asks for merge strategy {hints.merge_strategy!r} but destination "
                f"{ctx.destination.name!r} does not support it ({can}); use write_disposition 'append' or "
                "'replace', or another strategy")
