"""How many workers the normalize and load steps use.

An explicit ``workers=`` argument (``pipe.normalize(workers=4)``, ``pipe.load(workers=8)``) wins
over the configuration: ``NORMALIZE__WORKERS`` / ``LOAD__WORKERS`` in the environment, or
``workers`` under ``[normalize]`` / ``[load]`` in ``.dataload/config.toml``. Without either,
normalize starts worker processes only for packages big enough to pay for them (one per 256 MB
of extracted data, up to half the machine's cores: none on 2 cores), and load jobs run on
``min(8, cores)`` threads.
"""

from __future__ import annotations

import os

from dataload.configuration import NOT_FOUND, lookup
from dataload.configuration.resolve import coerce_value
from dataload.exceptions import InvalidConfig

MAX_DEFAULT_LOAD_WORKERS = 8
MAX_DEFAULT_PACKAGE_WORKERS = 4


def configured_workers(step: str, explicit: int | None = None, key: str = "workers") -> int | None:
    """``explicit``, else the ``<step>.<key>`` setting, else None (the step's default).

    >>> configured_workers("load", 3)
    3
    """
    value: object = explicit
    if value is None:
        value = lookup((step,), key)
        if value is NOT_FOUND:
            return None
        try:
            value = coerce_value(value, int)
        except ValueError:
            raise InvalidConfig(f"{step}.{key} must be a whole number, got {value!r}") from None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidConfig(f"{step}.{key} must be a whole number of at least 1, got {value!r}")
    return value


def load_workers(explicit: int | None = None) -> int:
    """Threads a destination may use for the jobs of one package (see :func:`configured_workers`)."""
    return configured_workers("load", explicit) or min(MAX_DEFAULT_LOAD_WORKERS, available_cores())


def package_load_workers(packages: int) -> int:
    """Packages of one partitioned run loaded at once where the destination takes concurrent loads:
    ``LOAD__PACKAGE_WORKERS`` (``package_workers`` under ``[load]``), else ``min(packages, 4)``."""
    return configured_workers("load", None, "package_workers") or min(packages, MAX_DEFAULT_PACKAGE_WORKERS)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1
