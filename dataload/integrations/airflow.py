"""Airflow: a source as one task per resource, chained so one pipeline never runs twice at once, or as one
task per partition.

:func:`dataload_tasks` is for a DAG file of your own; :func:`script_tasks` is what the DAG that
``dataload deploy --to airflow`` writes calls. A task returns ``LoadInfo.asdict()`` (Airflow keeps
it as the task's XCom ``return_value``). A configuration error, a contract violation or a failed
package fails the task for good (``AirflowFailException``: no retry); anything else raises
:class:`~dataload.integrations.outcome.PipelineRunFailed` and Airflow retries it as the task's
``retries`` say. Airflow 2.7+ and 3 work; ``pip install "dataload[airflow]"``.

The tasks of one pipeline share its working dir, and a pipeline runs in one process at a time
(:mod:`dataload.lock`): the tasks are chained one after the other, and the DAG should have
``max_active_runs=1`` (a task that still meets the lock is retried).

With ``per_partition=True`` the run is split as ``pipe.run(source, executor=...)`` splits it
(``docs/scale-out.md``), in three steps of :mod:`dataload.facade` and :mod:`dataload.scale.coordinator`:
a *plan* task plans the partitions under the pipeline's lock and records the run in the working dir
(the run also goes to the partition tasks as its XCom ``partitioned_run``); one *mapped* task per
partition (``.expand``) extracts and normalizes it into its package, without the lock (they may run at
once), and returns its outcome as its XCom; a *finish* task (``trigger_rule="all_done"``) folds, publishes
and loads the packages under the lock and commits the state once. A partition that failed for good fails
the finish naming it, with nothing loaded and the state unchanged, and without the finish's retries
(they would meet the same outcomes); the next DAG run makes the same partitions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import Any, TypeVar

from dataload.exceptions import InvalidConfig, MissingDependencyError, PartitionError
from dataload.facade import finish_partitions, plan_partitions
from dataload.integrations.inputs import PipelineArg, SourceArg, call_source, open_pipeline
from dataload.integrations.outcome import PipelineRunFailed, load_result, load_results, load_source, run_step
from dataload.scale.coordinator import run_planned
from dataload.scale.plan import PartitionedRun
from dataload.script import resource_tasks, run_resources, run_script

T = TypeVar("T")

RUN_KEY = "partitioned_run"
"""The XCom key under which the plan task of ``dataload_tasks(..., per_partition=True)`` keeps the planned run."""


def dataload_tasks(source: SourceArg, *, pipeline: PipelineArg, task_id_prefix: str = "load_",
                   per_partition: bool = False, staging_url: str | None = None,
                   staging_options: dict[str, Any] | None = None, **operator_options: Any) -> list[Any]:
    """One ``PythonOperator`` per resource of ``source`` (a resource with the transformers it feeds), in the
    source's order, each depending on the one before; call it inside ``with DAG(...)``.

    With ``per_partition=True``: a plan task ``<prefix>plan``, one mapped task ``<prefix>partition`` per
    partition of the source's resources, and a finish task ``<prefix>finish`` returning ``LoadInfo.asdict()``
    (see the module's docs); ``staging_url`` and ``staging_options`` are as for ``pipe.run(executor=...)``.

    ``operator_options`` (``retries``, ``retry_delay``, ``pool``, ...) go to every operator.
    Returns the operators, first to last, to chain others before or after them.
    """
    if per_partition:
        return _partition_tasks(source, pipeline, task_id_prefix, staging_url, staging_options, operator_options)
    if staging_url is not None or staging_options is not None:
        raise InvalidConfig("dataload_tasks: staging_url and staging_options are for per_partition=True (the tasks "
                            "per resource run whole resources, with no packages to stage)")
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


def _partition_tasks(source: SourceArg, pipeline: PipelineArg, prefix: str, staging_url: str | None,
                     staging_options: dict[str, Any] | None, operator_options: dict[str, Any]) -> list[Any]:
    """The plan task, the partition tasks mapped over what it returns, and the finish task."""
    python_operator, _ = _airflow()
    ids = {step: prefix + step for step in ("plan", "partition", "finish")}
    plan = python_operator(task_id=ids["plan"], python_callable=partial(
        _plan_task, source=source, pipeline=pipeline, staging_url=staging_url, staging_options=staging_options),
        **operator_options)
    partitions = python_operator.partial(task_id=ids["partition"], python_callable=partial(
        _partition_task, source=source, plan_task=ids["plan"], staging_options=staging_options),
        **operator_options).expand(op_kwargs=plan.output)
    finish = python_operator(task_id=ids["finish"], python_callable=partial(
        _finish_task, pipeline=pipeline, plan_task=ids["plan"], partition_task=ids["partition"],
        staging_options=staging_options), **{**operator_options, "trigger_rule": "all_done"})
    plan >> partitions >> finish
    return [plan, partitions, finish]


def _plan_task(ti: Any, *, source: SourceArg, pipeline: PipelineArg, staging_url: str | None,
               staging_options: dict[str, Any] | None) -> list[dict[str, int]]:
    """Plan the run and keep it as the XCom :data:`RUN_KEY`; the partition tasks' ``op_kwargs``, one per partition."""
    def plan() -> list[dict[str, int]]:
        run = plan_partitions(open_pipeline(pipeline), call_source(source), staging_url=staging_url,
                              staging_options=staging_options)
        ti.xcom_push(key=RUN_KEY, value=run.to_dict())
        return [{"index": index} for index in range(len(run.partitions))]
    return _as_task(partial(run_step, plan))


def _partition_task(ti: Any, index: int, *, source: SourceArg, plan_task: str,
                    staging_options: dict[str, Any] | None) -> dict[str, Any]:
    """Extract and normalize partition ``index`` of the planned run; its outcome is the task's XCom."""
    run = PartitionedRun.from_dict(ti.xcom_pull(task_ids=plan_task, key=RUN_KEY))
    return _as_task(partial(run_step, lambda: run_planned(run, index, call_source(source), staging_options).to_dict()))


def _finish_task(ti: Any, *, pipeline: PipelineArg, plan_task: str, partition_task: str,
                 staging_options: dict[str, Any] | None) -> dict[str, Any]:
    """Fold, publish and load the partitions' packages; ``LoadInfo.asdict()``."""
    document = ti.xcom_pull(task_ids=plan_task, key=RUN_KEY)
    if document is None:
        _, fail_exception = _airflow()
        raise fail_exception(f"task {plan_task} planned no partitioned run (it failed: see its log); nothing to finish")
    run = PartitionedRun.from_dict(document)
    outcomes = ti.xcom_pull(task_ids=partition_task, map_indexes=list(range(len(run.partitions)))) \
        if run.partitions else []
    try:
        return _as_task(partial(load_result, lambda: finish_partitions(open_pipeline(pipeline), run.run_id, outcomes,
                                                                       staging_options=staging_options)))
    except PipelineRunFailed as failure:
        if not isinstance(failure.__cause__, PartitionError):
            raise
        # the partitions' outcomes are what they are: retrying this task alone cannot mend a failed one
        _, fail_exception = _airflow()
        raise fail_exception(f"{failure}\nFix its cause and run the DAG again: it makes the same partitions "
                             "(the others' packages were deleted, so a finish alone cannot load them).") from failure


def _chained(runs: dict[str, Callable[[], Any]], operator_options: dict[str, Any]) -> list[Any]:
    python_operator, _ = _airflow()
    operators = [python_operator(task_id=task_id, python_callable=partial(_as_task, run), **operator_options)
                 for task_id, run in runs.items()]
    for before, after in zip(operators, operators[1:]):
        before >> after
    return operators


def _as_task(run: Callable[[], T]) -> T:
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
