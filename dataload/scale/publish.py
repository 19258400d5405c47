"""Handing the packages of a partitioned run to the load stage, all of them or none.

The tasks write their packages into the stage ``partitioned`` of the pipeline's packages. Once
every partition succeeded and the packages were folded (one schema, the state on the last
package), ``ready.json`` lists them; only then are they moved, in order, to ``normalized``. A run
that stops before ``ready.json`` leaves nothing the next run loads (the stage is cleared, the
state did not move); one that stops after it has its moves finished by the next run
(:func:`resume_published`), which then loads them like any pending package.
"""

from __future__ import annotations

import logging
import shutil

from dataload.context import PipelineContext
from dataload.crash import crash_point
from dataload.package.storage import read_json, write_json

logger = logging.getLogger(__name__)

STAGE = "partitioned"
"""The stage (under the pipeline's ``packages``) where partition tasks write their packages."""

READY = "ready.json"


def publish(ctx: PipelineContext, load_ids: list[str]) -> None:
    """Record that the staged packages ``load_ids`` are complete, then move them to ``normalized``."""
    write_json(ctx.packages.root / STAGE / READY, {"load_ids": load_ids})
    crash_point("partitions.after_ready")
    resume_published(ctx)


def handing_over(ctx: PipelineContext) -> bool:
    """True when a partitioned run got as far as ``ready.json`` and not all its packages were moved yet."""
    return (ctx.packages.root / STAGE / READY).exists()


def resume_published(ctx: PipelineContext) -> list[str]:
    """Finish moving the packages of a partitioned run that got as far as ``ready.json``, and clear
    the stage of one that did not; returns the load ids moved to ``normalized``."""
    stage = ctx.packages.root / STAGE
    if not stage.is_dir():
        return []
    ready = stage / READY
    moved: list[str] = []
    if ready.exists():
        for load_id in read_json(ready)["load_ids"]:
            if ctx.packages.path(STAGE, load_id).is_dir():
                ctx.packages.move(load_id, STAGE, "normalized")
                moved.append(load_id)
    elif ctx.packages.load_ids(STAGE):
        logger.warning("pipeline %s: discarding the packages of partitioned run(s) that did not finish: %s "
                       "(nothing of them was loaded and the state did not move)",
                       ctx.pipeline_name, ", ".join(ctx.packages.load_ids(STAGE)))
    shutil.rmtree(stage)
    return moved
