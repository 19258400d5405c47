"""Reconcile the local state with the destination's record, at the start of every run.

The destination is the record of what landed: a package's state is committed to
``_dl_pipeline_state`` in the transaction that loads its data, and the local ``state.json`` is only
ever a copy of a committed state. So at the start of ``run()``, ``extract()``, ``drop(resources=...)``
and ``drop_columns()`` the pipeline reads the newest state the destination holds for it (one small
query) and decides with :func:`decide`:

* ``keep``: the destination holds the local state's version (the usual case), or holds nothing and
  there is nothing local either;
* ``restore``: there is no local state (a fresh working dir) and the destination has one;
* ``newer``: the destination's state has a higher version: another working dir loaded since, or a
  run died after the destination committed (e.g. inside ``drop(resources=...)``) but before the
  local files were rewritten;
* ``lost``: the destination does not hold the local state: it was wiped or restored from a backup,
  or the pipeline now points at a new destination (run from another folder, a fresh DuckDB file).
  A warning names the pipeline, dataset and destination.

In every case but ``keep`` the destination's state becomes the local state (none: an empty state,
so every resource loads from scratch), and its schema replaces the local one when it is newer.
Packages extracted but not loaded yet keep their data and are loaded next; their state is replaced
by the destination's, so they never claim rows the destination does not hold. Destinations that
keep no state (``Capabilities.keeps_state=False``, e.g. a function) are not asked.

Before the state is read, parts of a streamed run the destination records as unfinished, which no
package of the working dir completes, are undone (:func:`dataload.streaming.undo_unrecorded_parts`):
their run stopped half way in a working dir that is gone.
"""

from __future__ import annotations

import logging
from typing import Any

from dataload._state import encode, new_state
from dataload.context import PipelineContext
from dataload.load.step import with_retries
from dataload.package.manifest import read_manifest, write_manifest
from dataload.package.storage import write_json
from dataload.streaming import undo_unrecorded_parts

logger = logging.getLogger(__name__)


def decide(local: dict[str, Any], stored: dict[str, Any] | None) -> str:
    """``keep``, ``restore``, ``newer`` or ``lost`` for the ``local`` state and the destination's ``stored`` one.

    >>> decide({"_state_version": 3, "_state_hash": "a"}, {"_state_version": 3, "_state_hash": "a"})
    'keep'
    >>> decide({"_state_version": 3, "_state_hash": "a"}, None)
    'lost'
    """
    local_version = int(local.get("_state_version", 0))
    if stored is None:
        return "keep" if local_version == 0 else "lost"
    stored_version = int(stored.get("_state_version", 0))
    if stored_version == local_version and stored.get("_state_hash") == local.get("_state_hash"):
        return "keep"
    if local_version == 0:
        return "restore"
    return "newer" if stored_version > local_version else "lost"


def reconcile(ctx: PipelineContext) -> bool:
    """Apply :func:`decide` to the pipeline's local state and the destination's; True when the local one changed."""
    if not ctx.destination.capabilities.keeps_state:
        return False
    local = ctx.state()
    stored = with_retries(lambda: _stored_state(ctx), ctx.retry_policy, what="reading the stored state")
    verdict = decide(local, stored)
    if verdict == "keep":
        return False
    _log(ctx, verdict, local, stored)
    document = stored if stored is not None else encode(new_state())
    ctx.write_state(document)
    _rebase_pending(ctx, document)
    schema = with_retries(lambda: _stored_schema(ctx), ctx.retry_policy, what="reading the stored schema")
    if schema is not None and schema.get("version", 0) > ctx.schema().version:
        write_json(ctx.working_dir / "schema.json", schema)
    return True


def _stored_state(ctx: PipelineContext) -> dict[str, Any] | None:
    with ctx.client() as client:
        undo_unrecorded_parts(ctx, client)  # their state rows go too: the stored state is read after
        return client.stored_state(ctx.pipeline_name)


def _stored_schema(ctx: PipelineContext) -> dict[str, Any] | None:
    with ctx.client() as client:
        return client.stored_schema(ctx.pipeline_name)


def _rebase_pending(ctx: PipelineContext, document: dict[str, Any]) -> None:
    """Give packages not loaded yet the destination's state (their data stays and is loaded next).

    Packages newer than a pending one whose state the destination holds keep theirs: that package
    was committed by a run killed before it updated the working dir, and their states already
    build on it (replacing them would move the cursor back to it, and their rows would be
    extracted and loaded a second time).
    """
    pending = [(ctx.packages.path(stage, load_id), read_manifest(ctx.packages.path(stage, load_id)))
               for stage, load_id in ctx.packages.pending()]
    committed = [i for i, (_, manifest) in enumerate(pending) if _same_state(manifest.state, document)]
    for folder, manifest in pending[:committed[-1] + 1] if committed else pending:
        manifest.state = document
        write_manifest(folder, manifest)


def _same_state(state: dict[str, Any], document: dict[str, Any]) -> bool:
    return all(state.get(key) == document.get(key) for key in ("_state_version", "_state_hash"))


def _log(ctx: PipelineContext, verdict: str, local: dict[str, Any], stored: dict[str, Any] | None) -> None:
    where = f"dataset {ctx.dataset_name!r} on destination {ctx.destination.name!r}"
    stored_version = stored.get("_state_version", 0) if stored is not None else None
    if verdict == "restore":
        logger.info("pipeline %s: restored state (version %s) and schema from %s", ctx.pipeline_name,
                    stored_version, where)
    elif verdict == "newer":
        logger.info("pipeline %s: %s holds a newer state (version %s) than the local one (version %s); "
                    "continuing from it", ctx.pipeline_name, where, stored_version, local.get("_state_version"))
    else:
        then = "none, so every resource loads from scratch" if stored is None else f"its version {stored_version}"
        logger.warning("pipeline %s: %s holds none of the loads the local state (version %s) came from (wiped, "
                       "restored from a backup, or a new destination); continuing from the destination's state: %s",
                       ctx.pipeline_name, where, local.get("_state_version"), then)
