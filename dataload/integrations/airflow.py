"""Airflow: a source as one task per resource, chained so one pipeline never runs twice at once.

:func:`dataload_tasks` is for a DAG file of your own; :func:`script_tasks` is what the DAG that
``dataload deploy --to airflow`` writes calls. A task returns ``LoadInfo.asdict()`` (Airflow keeps
it as the task's XCom ``return_value``). A configuration error, a contract violation or a failed
package fails the task for good (``AirflowFailException``: no retry); anything else raises
:class:`~dataload.integrations.outcome.PipelineRunFailed` and Airflow retries it as the task's
``retries`` say. Airflow 2.7+ and 3 work; ``pip install "dataload[airflow]"``.

The tasks of one pipeline share its working dir, and a pipeline runs in one process at a time
(:mod:`dataload.lock`): the tasks are chained one after the other, and the DAG should have
``max_active_runs=1`` (a task that still meets the lock is retried).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import Any

from dataload.exceptions import MissingDependencyError
from dataload.integrations.inputs import PipelineArg, SourceArg, call_source
from dataload.integrations.outcome import PipelineRunFailed, load_result, load_results, load_source
from dataload.script import resource_tasks, run_resources, run_script


def dataload_tasks(source: SourceArg, *, pipeline: PipelineArg, task_id_prefix: str = "load_",
                   **operator_options: Any) -> list[Any]:
    """One ``PythonOperator`` per resource of ``source`` (a resource with the transformers it feeds), in the
    source's order, each depending on the one before; call it inside ``with DAG(...)``.

    ``operator_options`` (``retries``, ``retry_delay``, ``pool``, ...) go to every operator.
    Returns the operators, first to last, to chain others before or after them.
    """
    groups = resource_tasks(call_source(source))
    return _chained({task_id: partial(load_source, source, pipeline, group)
                     for task_id, group in task_ids(groups, task_id_prefix).items()}, operator_options)


def script_tasks(script: str | Path, *, source_function: str | None, pipeline_variable: str | None,
                 tasks: dict[str, list[str]], **operator_options: Any) -> list[Any]:
    """The tasks of a DAG written by ``dataload deploy --to airflow``: for each entry of ``tasks`` (task id:
    resources) the script's source ``source_function`` restricted to those resources, through the module-level
    pipeline ``pipeline_variable`` (:func:`dataload.script.run_resources`); with no source function, one task
    ``run_script`` running the whole script as ``dataload run`` does."""
    path = Path(script)
    if source_function is None or pipeline_variable is None:
        return _chained({"run_script": partial(load_results, partial(run_script, path))}, operator_options)
    return _chained({task_id: partial(load_result, partial(run_resources, path, source_function=source_function,
                                                           pipeline_variable=pipeline_variable, resources=group))
                     for task_id, group in tasks.items()}, operator_options)


def task_ids(groups: Sequence[Sequence[str]], prefix: str = "load_") -> dict[str, list[str]]:
    """An Airflow task id (letters, digits, ``_``, ``-``, ``.``) per resource group, named by its first resource.

    >>> task_ids([["users", "user details"], ["users"]])
    {'load_users': ['users', 'user details'], 'load_users_1': ['users']}
    """
    ids: dict[str, list[str]] = {}
    for group in groups:
        task_id = prefix + re.sub(r"[^A-Za-z0-9_.-]", "_", group[0])
        ids[task_id if task_id not in ids else f"{task_id}_{len(ids)}"] = list(group)
    return ids


def _chained(runs: dict[str, Callable[[], Any]], operator_options: dict[str, Any]) -> list[Any]:
    python_operator, _ = _airflow()
    operators = [python_operator(task_id=task_id, python_callable=partial(_as_task, run), **operator_options)
                 for task_id, run in runs.items()]
    for before, after in zip(operators, operators[1:]):
        before >> after
    return operators


def _as_task(run: Callable[[], Any]) -> Any:
    """Run one task; a failure a retry cannot mend becomes ``AirflowFailException`` (no retry)."""
    try:
        return run()
    except PipelineRunFailed as failure:
        if failure.retryable:
            raise
        _, fail_exception = _airflow()
        raise fail_exception(str(failure)) from failure


_AIRFLOW_MODULES = (("airflow.providers.standard.operators.python", "airflow.sdk.exceptions"),  # Airflow 3
                    ("airflow.operators.python", "airflow.exceptions"))  # Airflow 2


def _airflow() -> tuple[Any, type[Exception]]:
    """``PythonOperator`` and ``AirflowFailException`` from where this Airflow keeps them."""
    for operators, exceptions in _AIRFLOW_MODULES:
        try:
            return import_module(operators).PythonOperator, import_module(exceptions).AirflowFailException
        except ImportError:
            continue
    raise MissingDependencyError("dataload.integrations.airflow", "airflow", "apache-airflow")
