"""The retry policy of HTTP requests, one copy for every HTTP client of dataload.

:mod:`dataload.helpers.requests` (on ``requests``) and ``sources.rest_api.RESTClient`` (on
``httpx``, also async) both retry through :func:`retry_policy`: connection errors, timeouts and the statuses of a
:class:`RetryConfig` (429 and 5xx by default), with an exponential backoff capped at ``max_wait``
that a ``Retry-After`` header (seconds or an HTTP date) overrides. A client raises
:class:`RetryableStatus` from its attempt when the answer's status is worth another try, and
takes ``error.response`` back as the final answer when the attempts run out.

>>> attempts = iter([RetryableStatus("the busy response", 503, None), "answer"])
>>> def send():
...     outcome = next(attempts)
...     if isinstance(outcome, Exception):
...         raise outcome
...     return outcome
>>> retrying(RetryConfig(first_wait=0), transient=(OSError,), method="GET", url="http://h/x",
...          logger=logging.getLogger("demo"))(send)
'answer'
"""

from __future__ import annotations

import datetime
import email.utils
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tenacity

from dataload._state import count


@dataclass(frozen=True)
class RetryConfig:
    """How requests are retried on connection errors, timeouts and the ``statuses`` (429 and 5xx by default).

    The wait before retry ``n`` is ``first_wait * 2 ** (n - 1)`` capped at ``max_wait``; a
    ``Retry-After`` header (seconds or an HTTP date) wins, capped at ``max_retry_after``.
    ``attempts`` counts the first try: ``RetryConfig(attempts=1)`` never retries.

    >>> RetryConfig().attempts, RetryConfig(attempts=1).statuses
    (5, (429, 500, 502, 503, 504))
    >>> [RetryConfig(first_wait=1, max_wait=5).wait(n) for n in (1, 2, 3, 4)]
    [1.0, 2.0, 4.0, 5.0]
    >>> RetryConfig(max_retry_after=30).wait(1, retry_after="120")
    30.0
    """

    attempts: int = 5
    first_wait: float = 0.5
    max_wait: float = 10.0
    max_retry_after: float = 60.0
    statuses: tuple[int, ...] = (429, 500, 502, 503, 504)

    def wait(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 = the first try), given a ``Retry-After``."""
        after = retry_after_seconds(retry_after)
        if after is not None:
            return float(min(after, self.max_retry_after))
        return float(min(self.max_wait, self.first_wait * 2 ** (attempt - 1)))


class RetryableStatus(Exception):
    """Raised by an attempt whose answer has a status of :attr:`RetryConfig.statuses`; carries that ``response``."""

    def __init__(self, response: Any, status: int, retry_after: str | None) -> None:
        super().__init__(status)
        self.response = response
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: datetime.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date); None when absent or invalid.

    >>> retry_after_seconds("3")
    3.0
    >>> now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    >>> retry_after_seconds("Thu, 01 Jan 2026 00:00:05 GMT", now)
    5.0
    >>> retry_after_seconds("Thu, 01 Jan 2026 00:00:02 -0000", now)
    2.0
    >>> retry_after_seconds("soon") is None
    True
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" in an HTTP date: UTC
        when = when.replace(tzinfo=datetime.timezone.utc)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def retry_policy(config: RetryConfig, *, transient: tuple[type[BaseException], ...], method: str, url: object,
                 logger: logging.Logger, redacted: Callable[[Any], str] = str) -> dict[str, Any]:
    """The keyword arguments of :class:`tenacity.Retrying` (or ``AsyncRetrying``) for one request.

    It retries :class:`RetryableStatus` and the ``transient`` errors with :meth:`RetryConfig.wait`,
    and re-raises the last error when the attempts run out. Each retry is counted as
    ``http_retries`` in the trace of the resource being extracted (:func:`dataload.count`) and
    logged at WARNING on ``logger`` with its cause (``HTTP 503``, ``ConnectError: ...`` passed
    through ``redacted``) and ``url`` (already redacted by the caller).
    """
    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = error.retry_after if isinstance(error, RetryableStatus) else None
        return config.wait(state.attempt_number, retry_after)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        cause = (f"HTTP {error.status}" if isinstance(error, RetryableStatus)
                 else f"{type(error).__name__}: {redacted(error)}")
        sleep = state.next_action.sleep if state.next_action else 0.0
        count("http_retries")
        logger.warning("%s %s: %s, retry %d of %d in %.1f s", method, url, cause, state.attempt_number,
                       config.attempts - 1, sleep)

    return {"stop": tenacity.stop_after_attempt(config.attempts), "wait": wait,
            "retry": tenacity.retry_if_exception_type((RetryableStatus, *transient)),
            "before_sleep": before_sleep, "reraise": True}


def retrying(config: RetryConfig, *, transient: tuple[type[BaseException], ...], method: str, url: str,
             logger: logging.Logger, redacted: Callable[[Any], str] = str) -> tenacity.Retrying:
    """A :class:`tenacity.Retrying` with :func:`retry_policy`: call it with the attempt function and its arguments."""
    return tenacity.Retrying(**retry_policy(config, transient=transient, method=method, url=url, logger=logger,
                                            redacted=redacted))
