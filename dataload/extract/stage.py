"""The extract stage: a new package in ``extracting.tmp``, moved to ``extracted`` with its manifest.

The package carries a copy of the newest state (that of the newest pending package, else the
committed one) as the resources changed it; a package with no rows, no table to replace and an
unchanged state is not kept.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from dataload._state import bump_version, encode
from dataload.context import PipelineContext
from dataload.crash import crash_point
from dataload.exceptions import InvalidConfig
from dataload.extract.step import extract_source
from dataload.info import StepInfo
from dataload.package.disk_full import out_of_room_stops
from dataload.package.manifest import Manifest, TableHintsRecord, write_manifest
from dataload.package.order import refuse_if_blocked
from dataload.package.storage import new_load_id
from dataload.progress import step_of
from dataload.run_input import as_source

logger = logging.getLogger(__name__)


def extract_package(ctx: PipelineContext, data: Any, hints: dict[str, Any]) -> str | None:
    """Extract ``data`` (with ``hints`` for plain data or a single resource) into a new package;
    returns its load id, or None when there was nothing to load."""
    refuse_if_blocked(ctx.packages, ctx.pipeline_name, "new data")
    source = as_source(data, default_name=ctx.pipeline_name, **hints)
    load_id = new_load_id()
    folder = ctx.packages.create("extracting.tmp", load_id)
    previous = ctx.newest_state()
    document = copy.deepcopy(previous)
    try:
        with out_of_room_stops("extract", load_id):
            with step_of(ctx.progress, "extract", load_id) as progress:
                result = extract_source(source, folder / "extracted", document, limits=ctx.buffer_limits,
                                        max_identifier_length=ctx.max_identifier_length, progress=progress)
            check_merge_support(ctx, result.table_hints)
            if result.is_empty and document == previous:  # a package that changes state is loaded, to commit it
                ctx.packages.remove("extracting.tmp", load_id)
                logger.info("pipeline %s: nothing to load (no rows, no table to replace, state unchanged)",
                            ctx.pipeline_name)
                return None
            bump_version(document)
            crash_point("extract.before_seal")  # the files are written; no manifest, still in extracting.tmp
            write_manifest(folder, Manifest(load_id, result.table_hints, result.files, encode(document),
                                            result.items))
            ctx.packages.move(load_id, "extracting.tmp", "extracted")
    except BaseException:  # a package not sealed is not kept (nor its files, which may fill the disk)
        ctx.packages.remove("extracting.tmp", load_id)
        raise
    ctx.trace.record(StepInfo("extract", load_id, result.seconds, result.items, skipped=result.skipped,
                                    counts=result.counts))
    return load_id


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
