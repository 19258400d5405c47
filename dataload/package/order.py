"""Packages land in the order they were extracted; failed packages wait for a decision.

A package whose content normalize or load could not handle moves to ``failed`` and is kept for
inspection. Nothing newer is extracted or loaded while an older package is failed (or not
normalized yet): a retried package could overwrite newer rows, and a cursor could pass rows that
never landed. :func:`requeue_failed` moves failed packages back to the stage they failed in,
:func:`drop_failed` deletes them.
"""

from __future__ import annotations

from dataload.exceptions import PackageBlockedError
from dataload.package.failure import clear_failure
from dataload.package.storage import PackageStorage


def refuse_if_blocked(packages: PackageStorage, pipeline_name: str, waiting: str,
                      newer_than: str | None = None) -> None:
    """Raise :class:`PackageBlockedError` if a package older than ``newer_than`` failed or is not
    normalized yet (without ``newer_than``: if any package failed); ``waiting`` names what waits."""
    name = pipeline_name
    failed = packages.load_ids("failed")
    if failed and (newer_than is None or failed[0] < newer_than):
        raise PackageBlockedError(
            f"pipeline {name!r}: {waiting} waits for package {failed[0]}, which failed and is kept in "
            f"{packages.path('failed', failed[0])}; packages land in the order they were extracted. Fix "
            f"the cause and call pipe.retry_failed() (CLI: dataload pipeline {name} retry), or discard the "
            f"failed package(s) with pipe.drop_failed() (CLI: dataload pipeline {name} drop-failed)",
            load_id=failed[0])
    extracted = packages.load_ids("extracted")
    if newer_than is not None and extracted and extracted[0] < newer_than:
        raise PackageBlockedError(
            f"pipeline {name!r}: {waiting} waits for the older package {extracted[0]}, which is not normalized "
            "yet; packages land in the order they were extracted: call pipe.run() or pipe.normalize() first",
            load_id=extracted[0])


def requeue_failed(packages: PackageStorage) -> list[str]:
    """Move every failed package back to the stage it failed in (``normalized`` if it has load files,
    else ``extracted``); returns their load ids, oldest first."""
    requeued = packages.load_ids("failed")
    for load_id in requeued:
        folder = packages.path("failed", load_id)
        normalized = (folder / "files").exists()
        clear_failure(folder)
        packages.move(load_id, "failed", "normalized" if normalized else "extracted")
    return requeued


def drop_failed(packages: PackageStorage) -> list[str]:
    """Delete every failed package; returns their load ids."""
    dropped = packages.load_ids("failed")
    for load_id in dropped:
        packages.remove("failed", load_id)
    return dropped
