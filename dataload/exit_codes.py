"""Exit codes of ``dataload run`` (and the other commands) that a scheduler can act on.

=====  ==================  =====================================================================
code   name                meaning
=====  ==================  =====================================================================
0      ``OK``              loaded, or nothing to load
1      ``ERROR``           any other error (a bug in the script, a destination down after retries)
2      ``USAGE``           the command line was wrong (an unknown option, an invalid ``--schedule``)
3      ``CONFIG``          configuration missing or invalid, or a dependency not installed
4      ``FAILED_PACKAGE``  a load package failed (kept on disk: retry or drop it)
5      ``CONTRACT``        a schema contract refused data
6      ``LOCKED``          another process is running the same pipeline
7      ``SCHEMA_CHANGED``  ``--fail-on-schema-change``: the data loaded but the schema changed
=====  ==================  =====================================================================

>>> exit_code_for(PipelineLockedError("busy"))
<ExitCode.LOCKED: 6>
"""

from __future__ import annotations

import enum

from dataload.exceptions import (
    ConfigError,
    DataContractViolation,
    MissingDependencyError,
    NormalizeError,
    PackageBlockedError,
    PackageFormatError,
    PipelineLockedError,
    TerminalLoadError,
)


class ExitCode(enum.IntEnum):
    """The exit codes of the ``dataload`` command (the table is in :mod:`dataload.exit_codes`)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    CONFIG = 3
    FAILED_PACKAGE = 4
    CONTRACT = 5
    LOCKED = 6
    SCHEMA_CHANGED = 7

    @property
    def label(self) -> str:
        """What the code means, for messages: ``"failed package"``."""
        return _LABELS[self]


_LABELS = {ExitCode.OK: "loaded", ExitCode.ERROR: "error", ExitCode.USAGE: "usage error",
           ExitCode.CONFIG: "configuration error", ExitCode.FAILED_PACKAGE: "failed package",
           ExitCode.CONTRACT: "contract violation", ExitCode.LOCKED: "pipeline locked",
           ExitCode.SCHEMA_CHANGED: "schema changed"}


# most specific first: DataContractViolation is a SchemaError, MissingDependencyError an ImportError
_BY_ERROR: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], ExitCode], ...] = (
    (DataContractViolation, ExitCode.CONTRACT),
    (PipelineLockedError, ExitCode.LOCKED),
    ((ConfigError, MissingDependencyError, ModuleNotFoundError), ExitCode.CONFIG),
    ((TerminalLoadError, PackageBlockedError, PackageFormatError, NormalizeError), ExitCode.FAILED_PACKAGE),
)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for an error a pipeline script raised; its causes (``raise ... from``) are searched too,
    so a contract violation a resource wrapped is still a contract violation.

    >>> exit_code_for(MissingDependencyError("postgres", "postgres", "psycopg"))
    <ExitCode.CONFIG: 3>
    >>> exit_code_for(ValueError("bug"))
    <ExitCode.ERROR: 1>
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for kinds, code in _BY_ERROR:
            if isinstance(current, kinds):
                return code
        current = current.__cause__
    return ExitCode.ERROR
