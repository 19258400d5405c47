"""Load step: load one normalized package, retrying transient errors with backoff."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from dataload.configuration import redact_url
from dataload.exceptions import TransientLoadError
from dataload.load.errors import destination_call
from dataload.protocol import DestinationClient, LoadPackage

if TYPE_CHECKING:
    from tenacity import RetryCallState, Retrying

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient load failure is retried.

    >>> RetryPolicy().attempts
    4
    """

    attempts: int = 4
    first_wait: float = 0.5
    max_wait: float = 8.0


@dataclass(frozen=True)
class LoadOutcome:
    """What :func:`load_with_retries` did: ``loaded`` False when an earlier run had loaded the package;
    ``retries`` the (redacted) cause of each retried attempt."""

    loaded: bool
    retries: list[str]

    @property
    def attempts(self) -> int:
        """How many tries the load took."""
        return len(self.retries) + 1


def load_with_retries(open_client: Callable[[], DestinationClient], package: LoadPackage,
                      policy: RetryPolicy) -> LoadOutcome:
    """Load ``package`` with a fresh client per attempt, retrying transient errors by ``policy``."""
    retries: list[str] = []
    for attempt in _retrying(policy, f"load of package {package.load_id}", retries):
        with attempt:
            number = attempt.retry_state.attempt_number
            if logger.isEnabledFor(logging.DEBUG):
                tables = ", ".join(dict.fromkeys(f.table for f in package.files)) or "no table"
                logger.debug("package %s, attempt %d: %d file(s) into %s", package.load_id, number,
                             len(package.files), tables)
            loaded = destination_call(lambda: _load_once(open_client, package),
                                      f"load of package {package.load_id}")
            if number > 1:
                logger.info("package %s loaded on attempt %d", package.load_id, number)
            # already there on a retry: our own earlier attempt committed before its error
            return LoadOutcome(loaded or number > 1, retries)
    raise AssertionError("unreachable")  # pragma: no cover


def _load_once(open_client: Callable[[], DestinationClient], package: LoadPackage) -> bool:
    client = open_client()
    try:
        return client.load_package(package)
    finally:
        client.close()


def with_retries(work: Callable[[], T], policy: RetryPolicy, *, what: str) -> T:
    """Run ``work`` (a read from the destination), its errors classified; transient ones are retried."""
    return _retrying(policy, what)(lambda: destination_call(work, what))


def _retrying(policy: RetryPolicy, what: str, retries: list[str] | None = None) -> Retrying:
    """Retry :class:`TransientLoadError` by ``policy``, logging each retry with its (redacted) cause
    (and appending the cause to ``retries``)."""
    # imported here: reading a pipeline's files (dataload pipeline NAME info) never needs tenacity
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

    def log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        cause = redact_url(str(error))
        if retries is not None:
            retries.append(cause)
        logger.warning("%s failed (attempt %d of %d): %s; retrying in %.1f s", what, state.attempt_number,
                       policy.attempts, cause, state.upcoming_sleep)

    return Retrying(stop=stop_after_attempt(policy.attempts), reraise=True, before_sleep=log,
                    wait=wait_exponential(multiplier=policy.first_wait, max=policy.max_wait),
                    retry=retry_if_exception_type(TransientLoadError))
