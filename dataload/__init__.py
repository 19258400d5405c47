"""dataload: load data from APIs, databases and files into DuckDB, PostgreSQL and more.

>>> import dataload
>>> pipe = dataload.pipeline("demo", destination="duckdb", dataset_name="crm")  # doctest: +SKIP
>>> pipe.run([{"id": 1}], table_name="users")  # doctest: +SKIP
"""

import logging

from dataload._incremental import Incremental, incremental
from dataload._resource import Resource, with_table_name
from dataload._source import Source
from dataload._state import count, resource_state, state
from dataload._version import __version__
from dataload.configuration import config, secrets
from dataload.dataset import Dataset
from dataload.decorators import resource, source, transformer
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
from dataload.extract.limits import BufferLimits
from dataload.facade import Pipeline
from dataload.info import LoadInfo
from dataload.load.step import RetryPolicy
from dataload.partition import Partition
from dataload.pipelines import attach, pipeline
from dataload.schema.model import Schema
from dataload.sink import destination

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
