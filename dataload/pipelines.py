"""The pipelines on this machine: create one, or reopen one by name."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataload.configuration.providers import project_dir_of
from dataload.context import SETTINGS_FILE
from dataload.exceptions import InvalidConfig, MissingConfig, PipelineError
from dataload.extract.limits import BufferLimits
from dataload.load.step import RetryPolicy
from dataload.package.storage import read_json
from dataload.progress import ProgressArg
from dataload.protocol import Destination
from dataload.registry import DestinationArg, resolve_destination

if TYPE_CHECKING:
    from dataload.facade import Pipeline


def pipelines_base(given: str | os.PathLike[str] | None = None) -> Path:
    """Where pipeline working directories live: ``given``, ``$DATALOAD_PIPELINES_DIR`` or ``~/.dataload/pipelines``."""
    return Path(given or os.environ.get("DATALOAD_PIPELINES_DIR") or Path.home() / ".dataload" / "pipelines")


def pipeline(
    pipeline_name: str | None = None,
    *,
    destination: DestinationArg = "duckdb",
    dataset_name: str | None = None,
    pipelines_dir: str | os.PathLike[str] | None = None,
    export_schema_path: str | os.PathLike[str] | None = None,
    import_schema_path: str | os.PathLike[str] | None = None,
    retry_policy: RetryPolicy | None = None,
    buffer_limits: BufferLimits | None = None,
    progress: ProgressArg = None,
) -> Pipeline:
    """Create (or reopen) a pipeline.

    The working directory is ``<pipelines_dir>/<pipeline_name>``; ``pipelines_dir`` defaults to
    ``$DATALOAD_PIPELINES_DIR`` or ``~/.dataload/pipelines``. A DuckDB destination without
    credentials writes ``<pipeline_name>.duckdb`` in the current directory.

    ``export_schema_path``: a folder where the live schema is written as
    ``<pipeline_name>.schema.yaml`` after every change. ``import_schema_path``: a folder with a
    user-edited copy of that file; when it changes, it wins over inference (pinned types, keys,
    hints) and columns removed from it are dropped.

    ``retry_policy``: how transient load errors are retried (default ``RetryPolicy()``).
    ``buffer_limits``: after how many rows or bytes a table's extraction buffer is written to a
    file, and after how many bytes or seconds a long extraction is loaded in parts while it runs
    (default ``BufferLimits()``; see ``docs/reliability.md``, "Streamed runs").
    ``progress``: ``"log"``, ``"tqdm"`` or ``"rich"`` to report items, rows and throughput while it
    runs (default ``RUNTIME__PROGRESS``, else none; see :mod:`dataload.progress`).

    >>> pipe = pipeline("demo", destination="duckdb", dataset_name="crm")  # doctest: +SKIP
    """
    name = pipeline_name or Path(sys.argv[0] or "dataload").stem or "dataload"
    if not name or any(c in name for c in "/\\\x00"):
        raise InvalidConfig(f"pipeline_name {name!r} must be a plain name (no slashes)")
    base = pipelines_base(pipelines_dir)
    from dataload.facade import Pipeline  # the engine loads when a pipeline is made, not to read the ones on disk

    return Pipeline(name, destination=destination, dataset_name=dataset_name or f"{name}_dataset",
                    pipelines_dir=base, local_dir=Path.cwd(),
                    export_schema_path=Path(export_schema_path) if export_schema_path else None,
                    import_schema_path=Path(import_schema_path) if import_schema_path else None,
                    retry_policy=retry_policy, buffer_limits=buffer_limits, progress=progress)


def attach(pipeline_name: str, *, destination: DestinationArg | None = None, dataset_name: str | None = None,
           pipelines_dir: str | os.PathLike[str] | None = None, retry_policy: RetryPolicy | None = None,
           buffer_limits: BufferLimits | None = None) -> Pipeline:
    """Reopen an existing pipeline by name, with the destination and dataset it last ran with.

    ``retry_policy`` and ``buffer_limits`` are as in :func:`pipeline` (they are not stored).

    >>> pipe = attach("github")  # doctest: +SKIP
    """
    base = pipelines_base(pipelines_dir)
    settings = stored_settings(pipeline_name, base)
    with project_dir_of(Path(settings["local_dir"])):  # credentials are looked up where the pipeline was made
        target = destination or _stored_destination(pipeline_name, settings)
    from dataload.facade import Pipeline

    return Pipeline(pipeline_name, destination=target, dataset_name=dataset_name or settings["dataset_name"],
                    pipelines_dir=base, local_dir=Path(settings["local_dir"]), retry_policy=retry_policy,
                    buffer_limits=buffer_limits)


def stored_settings(pipeline_name: str, pipelines_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What pipeline ``pipeline_name`` last ran with (``pipeline.json``: destination and its options
    without secrets, ``dataset_name``, ``local_dir``); an unknown name is refused listing the known ones."""
    base = pipelines_base(pipelines_dir)
    settings_path = base / pipeline_name / SETTINGS_FILE
    if not settings_path.exists():
        known = known_pipelines(base)
        raise PipelineError(f"no pipeline {pipeline_name!r} in {base}; "
                            + (f"known pipelines: {', '.join(known)}" if known else "no pipeline ran there yet")
                            + " (another folder: pipelines_dir= or $DATALOAD_PIPELINES_DIR)")
    settings: dict[str, Any] = read_json(settings_path)
    return settings


def known_pipelines(pipelines_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The names of the pipelines in ``pipelines_dir`` (default as in :func:`pipeline`), sorted.

    >>> known_pipelines("/nonexistent")
    []
    """
    base = pipelines_base(pipelines_dir)
    if not base.is_dir():
        return []
    return sorted(entry.name for entry in base.iterdir() if (entry / SETTINGS_FILE).is_file())


def _stored_destination(pipeline_name: str, settings: dict[str, Any]) -> Destination:
    """The destination ``pipeline.json`` names; credentials holding a secret are looked up again, never stored."""
    try:
        return resolve_destination(settings["destination"], **settings["destination_options"])
    except MissingConfig as missing:
        problem = (f"pipeline {pipeline_name!r} ran with {settings['destination']} credentials that hold a secret, "
                   "which are never written to its working dir, and none are configured: pass them with "
                   f"attach({pipeline_name!r}, destination=...) or set them in one of the places looked at:\n  "
                   + "\n  ".join(missing.looked_in))
    raise PipelineError(problem)
