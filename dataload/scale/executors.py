"""Where partition tasks run: threads, worker processes, or a Dask ``distributed.Client``.

``executor="threads"`` runs the tasks in a thread pool of this process, ``"processes"`` in fresh
worker processes (``spawn``: a script that passes it needs ``if __name__ == "__main__":``, as
with :mod:`multiprocessing`), and a ``distributed.Client`` submits them to its cluster. Dask is
never imported here: a client is recognized by the module its class comes from.

Each task that raises is tried again up to ``retries`` times (on Dask: ``client.submit(...,
retries=)``; a worker that dies mid-task is also rescheduled by Dask itself, up to its
``distributed.scheduler.allowed-failures``). What comes back is, per task and in order, its
result or the exception of its last attempt.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import Executor as PoolExecutor
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Union

from dataload.concurrency import available_cores
from dataload.exceptions import InvalidConfig

ExecutorArg = Union[str, Any]
"""``"threads"``, ``"processes"`` or a ``distributed.Client``."""

EXECUTOR_NAMES = ("threads", "processes")

Outcome = Union[Any, BaseException]


def is_dask_client(executor: Any) -> bool:
    """True for a ``distributed.Client`` (without importing Dask)."""
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "submit")


def check_executor(executor: ExecutorArg) -> None:
    """Refuse anything but the executor names and a Dask client, listing what is accepted."""
    if executor in EXECUTOR_NAMES or is_dask_client(executor):
        return
    raise InvalidConfig(f"executor must be one of {', '.join(map(repr, EXECUTOR_NAMES))} or a "
                        f"distributed.Client, not {executor!r}")


def run_tasks(executor: ExecutorArg, func: Callable[[Any], Any], tasks: Sequence[Any], *, retries: int,
              names: Sequence[str]) -> list[Outcome]:
    """Run ``func(task)`` for every task on ``executor``; per task its result or its last exception.

    ``names`` are the tasks' keys on a Dask cluster (shown in its dashboard).
    """
    check_executor(executor)
    if is_dask_client(executor):
        return _on_dask(executor, func, tasks, retries, names)
    call: Callable[[Any], Any] = func if executor == "threads" else _Pickled(func)
    outcomes: list[Outcome] = [None] * len(tasks)
    pending = list(range(len(tasks)))
    for _ in range(retries + 1):  # a fresh pool each round: a killed worker process breaks a process pool
        with _pool(executor, len(pending)) as pool:
            futures = {i: pool.submit(call, _payload(executor, tasks[i])) for i in pending}
            for i, future in futures.items():
                outcomes[i] = _outcome(future)
        pending = [i for i in pending if isinstance(outcomes[i], BaseException)]
        if not pending:
            break
    return outcomes


def _pool(executor: str, tasks: int) -> PoolExecutor:
    workers = max(1, min(tasks, available_cores()))
    if executor == "threads":
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dataload-partition")
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def _on_dask(client: Any, func: Callable[[Any], Any], tasks: Sequence[Any], retries: int,
             names: Sequence[str]) -> list[Outcome]:
    futures = [client.submit(func, task, retries=retries, pure=False, key=name) for task, name in zip(tasks, names)]
    outcomes: list[Outcome] = []
    for future in futures:
        error = future.exception()  # waits for the task; None when it succeeded
        outcomes.append(error if error is not None else future.result())
    return outcomes


def _outcome(future: Future[Any]) -> Outcome:
    error = future.exception()
    return error if error is not None else future.result()


def _payload(executor: ExecutorArg, task: Any) -> Any:
    """The task as sent to a worker process: pickled with cloudpickle when it is installed (resources
    made from closures and lambdas travel too), else with pickle."""
    if executor != "processes":
        return task
    try:
        import cloudpickle  # type: ignore[import-untyped]
    except ImportError:
        return pickle.dumps(task)
    return cloudpickle.dumps(task)


class _Pickled:
    """``func`` called with a task sent as bytes by :func:`_payload` (``func`` is a module-level function)."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func

    def __call__(self, payload: bytes) -> Any:
        return self.func(pickle.loads(payload))
