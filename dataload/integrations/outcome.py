"""What an orchestrator keeps of a pipeline run: ``LoadInfo.asdict()``, or a failure saying whether to retry.

Every integration runs a pipeline through :func:`load_source` (or :func:`load_result`, or
:func:`load_results` for a whole script), and turns :class:`PipelineRunFailed` into its tool's failure. The reasons are
those of ``dataload run``'s exit codes (:mod:`dataload.exit_codes`); only an error that may pass
by itself (a destination down after dataload's own retries, another run holding the pipeline's
lock, a bug that raised) is worth retrying. A configuration error, a contract violation or a
failed package fails the same way on every try, so the orchestrator is told not to retry it.

>>> PipelineRunFailed(ExitCode.CONFIG, "missing value for 'sources.crm.token'").retryable
False
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dataload.exceptions import PipelineError
from dataload.exit_codes import ExitCode, exit_code_for
from dataload.info import LoadInfo
from dataload.integrations.inputs import PipelineArg, SourceArg, call_source, open_pipeline

T = TypeVar("T")

RETRYABLE = frozenset({ExitCode.ERROR, ExitCode.LOCKED})
"""The exit reasons a later try may not meet again."""


class PipelineRunFailed(PipelineError):
    """A pipeline run an orchestrator started failed: ``.code`` says why (an :class:`ExitCode`), ``.retryable``
    whether a retry can help, ``.load_info`` what the run did before it stopped (``LoadInfo.asdict()``, or
    None when it raised). The error it comes from, if any, is its ``__cause__``."""

    def __init__(self, code: ExitCode, message: str, load_info: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code.label}: {message}")
        self.code, self.load_info = ExitCode(code), load_info
        self._remember(code, message, load_info)

    @property
    def retryable(self) -> bool:
        """True when a retry can succeed (see :data:`RETRYABLE`)."""
        return self.code in RETRYABLE


def load_result(run: Callable[[], LoadInfo]) -> dict[str, Any]:
    """Call ``run`` (a pipeline run) and return its ``LoadInfo.asdict()``.

    Raises :class:`PipelineRunFailed` when ``run`` raised or left a failed package.
    """
    return _checked(run_step(run))


def run_step(step: Callable[[], T]) -> T:
    """Call ``step`` (a pipeline run, or a step of one) and return what it returns; an error it raises becomes
    :class:`PipelineRunFailed` with the exit reason of that error."""
    try:
        return step()
    except PipelineRunFailed:
        raise
    except Exception as error:
        raise PipelineRunFailed(exit_code_for(error), f"{type(error).__name__}: {error}") from error


def load_source(source: SourceArg, pipeline: PipelineArg, resources: Sequence[str] | None = None) -> dict[str, Any]:
    """Run ``pipeline`` on ``source`` (only ``resources`` of it, when given) through :func:`load_result`."""
    chosen = call_source(source)
    pipe = open_pipeline(pipeline)
    return load_result(lambda: pipe.run(chosen.with_resources(*resources) if resources else chosen))


def load_results(run: Callable[[], list[LoadInfo]]) -> list[dict[str, Any]]:
    """Like :func:`load_result`, for a call that runs pipelines several times (a whole script)."""
    return [_checked(info) for info in run_step(run)]


def _checked(info: LoadInfo) -> dict[str, Any]:
    if info.failed:
        raise PipelineRunFailed(
            ExitCode.FAILED_PACKAGE,
            f"pipeline {info.pipeline_name}: package(s) {', '.join(info.failed)} failed and are kept on disk; see "
            f"`dataload pipeline {info.pipeline_name} failed-jobs`, then retry or drop them", info.asdict())
    return info.asdict()

