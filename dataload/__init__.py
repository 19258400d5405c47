"""dataload: load data from APIs, databases and files into DuckDB, PostgreSQL and more.

>>> import dataload
>>> pipe = dataload.pipeline("demo", destination="duckdb", dataset_name="crm")  # doctest: +SKIP
>>> pipe.run([{"id": 1}], table_name="users")  # doctest: +SKIP

Importing this package is cheap: the exceptions and ``__version__`` are imported at once, every other
public name is imported on first use by the module ``__getattr__`` below (PEP 562), from the module
``_LAZY`` names for it. This is the one place that keeps ``import dataload`` from importing pyarrow,
numpy, duckdb, tenacity or asyncio; the modules behind the public names import what they need at their
top as usual. A new public name goes in ``__all__``, in ``_LAZY`` (tests/test_public_api.py resolves
every name of ``__all__``) and in the ``TYPE_CHECKING`` block, which is what type checkers read.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from dataload._version import __version__
from dataload.exceptions import (
    ConfigError,
    DataContractViolation,
    DataloadError,
    ExtractError,
    InvalidConfig,
    LoadError,
    MissingConfig,
    MissingDependencyError,
    NormalizeError,
    PackageBlockedError,
    PackageFormatError,
    PartitionError,
    PipelineError,
    PipelineLockedError,
    ResourceError,
    SchemaError,
    TerminalLoadError,
    TransientLoadError,
    UnsupportedOperation,
)

if TYPE_CHECKING:
    from dataload._incremental import Incremental, incremental
    from dataload._resource import Resource, with_table_name
    from dataload._source import Source
    from dataload._state import count, resource_state, state
    from dataload.configuration import config, secrets
    from dataload.dataset import Dataset
    from dataload.decorators import resource, source, transformer
    from dataload.extract.limits import BufferLimits
    from dataload.facade import Pipeline
    from dataload.info import LoadInfo
    from dataload.load.step import RetryPolicy
    from dataload.partition import Partition
    from dataload.pipelines import attach, pipeline
    from dataload.schema.model import Schema
    from dataload.sink import destination

_LAZY: dict[str, str] = {  # public name -> the module that defines it, imported on first use
    "Incremental": "dataload._incremental",
    "incremental": "dataload._incremental",
    "Resource": "dataload._resource",
    "with_table_name": "dataload._resource",
    "Source": "dataload._source",
    "count": "dataload._state",
    "resource_state": "dataload._state",
    "state": "dataload._state",
    "config": "dataload.configuration",
    "secrets": "dataload.configuration",
    "Dataset": "dataload.dataset",
    "resource": "dataload.decorators",
    "source": "dataload.decorators",
    "transformer": "dataload.decorators",
    "BufferLimits": "dataload.extract.limits",
    "Pipeline": "dataload.facade",
    "LoadInfo": "dataload.info",
    "RetryPolicy": "dataload.load.step",
    "Partition": "dataload.partition",
    "attach": "dataload.pipelines",
    "pipeline": "dataload.pipelines",
    "Schema": "dataload.schema.model",
    "destination": "dataload.sink",
}


def __getattr__(name: str) -> Any:
    """Import the module behind a lazily resolved public name, and keep the value for the next lookup."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dataload' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, lazily resolved ones included (so dir() and tab completion show them)."""
    return sorted(set(globals()) | set(_LAZY))


logging.getLogger("dataload").addHandler(logging.NullHandler())  # the application decides where logs go

__all__ = [
    "BufferLimits",
    "ConfigError",
    "DataContractViolation",
    "DataloadError",
    "Dataset",
    "ExtractError",
    "Incremental",
    "InvalidConfig",
    "LoadError",
    "LoadInfo",
    "MissingConfig",
    "MissingDependencyError",
    "NormalizeError",
    "PackageBlockedError",
    "PackageFormatError",
    "Partition",
    "PartitionError",
    "Pipeline",
    "PipelineError",
    "PipelineLockedError",
    "Resource",
    "ResourceError",
    "RetryPolicy",
    "Schema",
    "SchemaError",
    "Source",
    "TerminalLoadError",
    "TransientLoadError",
    "UnsupportedOperation",
    "__version__",
    "attach",
    "config",
    "count",
    "destination",
    "incremental",
    "pipeline",
    "resource",
    "resource_state",
    "secrets",
    "source",
    "state",
    "transformer",
    "with_table_name",
]
