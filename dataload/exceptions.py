"""Every error dataload raises, rooted in :class:`DataloadError`.

The tree (each class is named for what the user has to do about it)::

    DataloadError
    ├── ConfigError
    │   ├── MissingConfig            a config value or secret was not found anywhere
    │   └── InvalidConfig            a value was found but is not usable (``.errors``)
    ├── SchemaError                  data that cannot be given a table/column (``.table``, ``.column``)
    │   └── DataContractViolation    a ``freeze`` contract refused data (``.table``, ``.column``, ``.mode``)
    ├── ExtractError
    │   ├── ResourceError            a resource raised (``.resource``), the cause is chained
    │   └── PartitionError           a partition of a partitioned run failed for good (``.partition``)
    ├── NormalizeError               a value could not be normalized (``.table``, ``.column``)
    ├── LoadError
    │   ├── TransientLoadError       worth retrying (connection lost, lock timeout)
    │   └── TerminalLoadError        retrying will not help (``.table``, ``.file``)
    ├── PipelineError                misuse of a pipeline or a failed/pending package (``.load_id``)
    │   ├── PipelineLockedError      another process is running the same pipeline
    │   ├── PackageBlockedError      an older package failed: newer data waits (``.load_id``)
    │   ├── UnsupportedOperation     the destination cannot do what was asked (read back a function sink)
    │   └── PipelineRunFailed        a run an orchestrator started failed (``.code``, ``.retryable``);
    │                                in ``dataload.integrations``, not importable from ``dataload``
    └── MissingDependencyError       an optional driver is not installed (also an ``ImportError``)

``InvalidConfig`` is for arguments and configuration that are wrong before anything runs; a
refusal at run time is a ``PipelineError``. Every class here is also importable from ``dataload``.
All errors keep their constructor arguments so they pickle across worker processes.
"""

from __future__ import annotations

from typing import Any


class DataloadError(Exception):
    """Root of every error raised by dataload.

    >>> isinstance(ResourceError("users", "boom"), DataloadError)
    True
    """

    _init_args: tuple[Any, ...] = ()

    def _remember(self, *init_args: Any) -> None:
        self._init_args = init_args

    def __reduce__(self) -> Any:
        return (type(self), self._init_args or self.args)


class ConfigError(DataloadError):
    """Configuration could not be resolved."""


class MissingConfig(ConfigError):
    """A required config value or secret was not found; the message lists where it was looked for."""

    def __init__(self, key: str, looked_in: list[str]) -> None:
        where = "\n  ".join(looked_in)
        super().__init__(f"missing value for {key!r}; looked for:\n  {where}")
        self.key, self.looked_in = key, looked_in
        self._remember(key, looked_in)


class InvalidConfig(ConfigError):
    """A configuration value was found but is not valid; ``.errors`` lists every problem."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors: list[str] = list(errors or [message])
        self._remember(message, self.errors)


class SchemaError(DataloadError):
    """Data cannot be mapped onto a table or column; ``.table`` and ``.column`` name the place."""

    def __init__(self, message: str, table: str | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.table, self.column = table, column
        self._remember(message, table, column)


class DataContractViolation(SchemaError):
    """A ``freeze`` schema contract refused a new table, column or data type."""

    def __init__(
        self,
        message: str,
        table: str | None = None,
        column: str | None = None,
        mode: str = "freeze",
        entity: str = "columns",
        value: Any = None,
    ) -> None:
        Exception.__init__(self, message)
        self.table, self.column, self.mode, self.entity, self.value = table, column, mode, entity, value
        self._remember(message, table, column, mode, entity, value)


class ExtractError(DataloadError):
    """Extraction failed."""


class ResourceError(ExtractError):
    """A resource raised while producing items; ``.resource`` names it and the cause is chained."""

    def __init__(self, resource: str, message: str) -> None:
        super().__init__(f"resource {resource!r} failed: {message}")
        self.resource = resource
        self._remember(resource, message)


class PartitionError(ExtractError):
    """A partition of a partitioned run (``pipe.run(..., executor=...)``) failed for good.

    ``.partition`` is its label (resource, index, bounds); nothing of the run was loaded and the
    state stayed, so a re-run (on the same, recorded partitions) loads every row once.

    >>> PartitionError("orders[3] key_range=...", "boom").partition
    'orders[3] key_range=...'
    """

    def __init__(self, partition: str, message: str) -> None:
        super().__init__(f"partition {partition} failed: {message}")
        self.partition = partition
        self._remember(partition, message)


class NormalizeError(DataloadError):
    """A value could not be normalized into a table row."""

    def __init__(self, message: str, table: str | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.table, self.column = table, column
        self._remember(message, table, column)


class LoadError(DataloadError):
    """Loading a package into the destination failed."""


class TransientLoadError(LoadError):
    """A load step failed in a way that is worth retrying (connection lost, lock timeout)."""


class TerminalLoadError(LoadError):
    """A load job failed for good; ``.table`` and ``.file`` name what failed."""

    def __init__(self, message: str, table: str | None = None, file: str | None = None) -> None:
        super().__init__(message)
        self.table, self.file = table, file
        self._remember(message, table, file)


class PipelineError(DataloadError):
    """The pipeline cannot go on (misuse, or a failed package that needs a decision)."""


class PipelineLockedError(PipelineError):
    """Another process holds the lock of the same pipeline working directory."""


class MissingDependencyError(DataloadError, ImportError):
    """An optional package is needed; the message says which ``pip install`` brings it."""

    def __init__(self, what: str, extra: str, package: str) -> None:
        super().__init__(f"{what} needs the package {package!r}: pip install \"dataload[{extra}]\"")
        self.what, self.extra, self.package = what, extra, package
        self._remember(what, extra, package)


class PackageBlockedError(PipelineError):
    """An older package failed, so newer data waits: packages land in the order they were extracted.

    ``.load_id`` names the failed package; retry it (``pipe.retry_failed()``) or drop it
    (``pipe.drop_failed()``) and run again.
    """

    def __init__(self, message: str, load_id: str) -> None:
        super().__init__(message)
        self.load_id = load_id
        self._remember(message, load_id)


class UnsupportedOperation(PipelineError):
    """The destination cannot do what was asked, e.g. read back the data a function destination received."""


class PackageFormatError(PipelineError):
    """A pending load package was written in a manifest format this version of dataload does not read.

    ``.load_id`` names the package; the message says where it is and what to do.
    """

    def __init__(self, message: str, load_id: str) -> None:
        super().__init__(message)
        self.load_id = load_id
        self._remember(message, load_id)
