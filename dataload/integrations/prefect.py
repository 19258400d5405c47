"""Prefect: a pipeline run as a Prefect task whose retries skip what a retry cannot mend, and a flow per source.

:func:`load_task` makes a task ``(source, pipeline, resources=None) -> LoadInfo.asdict()`` to call
in a flow of your own; :func:`dataload_flow` makes a flow that runs it once per resource of a
source (a resource with the transformers it feeds), one after the other, and returns their
results. The task retries ``retries`` times, except after a configuration error, a contract
violation or a failed package (its ``retry_condition_fn`` says no): those fail at once. Results
are plain JSON, so Prefect can persist them. ``pip install "dataload[prefect]"`` (Prefect 3).
"""

from __future__ import annotations

from typing import Any

from dataload.exceptions import MissingDependencyError
from dataload.integrations.inputs import PipelineArg, SourceArg, call_source
from dataload.integrations.outcome import PipelineRunFailed, load_source
from dataload.script import resource_tasks


def load_task(*, retries: int = 2, retry_delay_seconds: float = 10, **task_options: Any) -> Any:
    """A Prefect task running ``pipeline`` on ``source`` (only ``resources`` of it, when given).

    ``task_options`` go to ``prefect.task`` (``name``, ``tags``, ``timeout_seconds``, ...); the
    task never caches (a pipeline run must run).
    """
    prefect, no_cache = _prefect()

    options = {"name": "dataload load", "cache_policy": no_cache, **task_options}
    return prefect.task(load_source, retries=retries, retry_delay_seconds=retry_delay_seconds,
                        retry_condition_fn=_worth_retrying, **options)


def dataload_flow(source: SourceArg, *, pipeline: PipelineArg, name: str | None = None, retries: int = 2,
                  retry_delay_seconds: float = 10, **flow_options: Any) -> Any:
    """A Prefect flow loading ``source`` through ``pipeline``: a :func:`load_task` run per resource, in order;
    it returns their ``LoadInfo.asdict()`` results. ``flow_options`` go to ``prefect.flow``."""
    prefect, _ = _prefect()
    groups = resource_tasks(call_source(source))
    task = load_task(retries=retries, retry_delay_seconds=retry_delay_seconds)

    def load_source() -> list[dict[str, Any]]:
        return [task.with_options(name=f"load {group[0]}")(source, pipeline, group) for group in groups]

    return prefect.flow(load_source, name=name or f"dataload {call_source(source).name}", **flow_options)


def _worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry condition: retry unless the run failed for a reason a retry cannot mend."""
    error = state.result(raise_on_failure=False)
    return not (isinstance(error, PipelineRunFailed) and not error.retryable)


def _prefect() -> tuple[Any, Any]:
    try:
        import prefect
        from prefect.cache_policies import NO_CACHE
    except ImportError:
        raise MissingDependencyError("dataload.integrations.prefect", "prefect", "prefect") from None
    return prefect, NO_CACHE
