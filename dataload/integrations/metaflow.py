"""Metaflow: run a pipeline inside a step, the same code locally and on remote compute (``@resources``, ...).

:func:`run_pipeline` runs a source through a pipeline in the current step and keeps
``LoadInfo.asdict()`` as the step's artifact ``load_info`` (``self.load_info``, read back with
Metaflow's client). Give the pipeline as a function making it, called inside the step: a step may
run in another process or machine, and a pipeline restores its state from the destination when
its working dir is new (see ``docs/orchestrators.md``).

A failed run raises :class:`~dataload.integrations.outcome.PipelineRunFailed`, which fails the step.
Metaflow's ``@retry`` retries any failure, so a configuration error, a contract violation or a
failed package is remembered in the artifact ``dataload_failure``: a retry of that attempt fails at
once with the same reason, without running the pipeline again. ``pip install "dataload[metaflow]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dataload.exceptions import MissingDependencyError
from dataload.exit_codes import ExitCode
from dataload.integrations.inputs import PipelineArg, SourceArg
from dataload.integrations.outcome import PipelineRunFailed, load_source

FAILURE_ARTIFACT = "dataload_failure"
"""The artifact a failure no retry can mend leaves on the failed attempt: ``{"code": ..., "message": ...}``."""


def run_pipeline(flow: Any, source: SourceArg, *, pipeline: PipelineArg, resources: Sequence[str] | None = None,
                 artifact: str = "load_info") -> dict[str, Any]:
    """Run ``pipeline`` on ``source`` (only ``resources`` of it, when given) in the current step of ``flow``
    (the ``FlowSpec``, ``self``); returns ``LoadInfo.asdict()``, also kept as the artifact ``artifact``."""
    _refuse_hopeless_retry()
    try:
        result = load_source(source, pipeline, resources)
    except PipelineRunFailed as failure:
        if not failure.retryable:
            setattr(flow, FAILURE_ARTIFACT, {"code": int(failure.code), "message": str(failure)})
        raise
    setattr(flow, artifact, result)
    return result


def _refuse_hopeless_retry() -> None:
    """On a retry, fail at once if the attempt before failed for a reason a retry cannot mend."""
    try:
        from metaflow import Task, current
    except ImportError:
        raise MissingDependencyError("dataload.integrations.metaflow", "metaflow", "metaflow") from None
    if not current.is_running_flow or current.retry_count == 0:
        return
    before = Task(current.pathspec, attempt=current.retry_count - 1)
    if FAILURE_ARTIFACT in before:
        failure = before[FAILURE_ARTIFACT].data
        raise PipelineRunFailed(ExitCode(failure["code"]), f"not retried, attempt {current.retry_count - 1} failed "
                                f"for a reason a retry cannot mend: {failure['message']}")
