"""dataload: load data from APIs, databases and files into DuckDB, PostgreSQL and more.

>>> import dataload
>>> pipe = dataload.pipeline("demo", destination="duckdb", dataset_name="crm")  # doctest: +SKIP
>>> pipe.run([{"id": 1}], table_name="users")  # doctest: +SKIP
"""

import logging

from dataload._version import __version__
from dataload.config import config, secrets
from dataload.decorators import resource, source, transformer
from dataload.exceptions import (
    DataContractViolation,
    DataloadError,
    PipelineLockedError,
    ResourceError,
    SchemaError,
)
from dataload.facade import Pipeline
from dataload.incremental import Incremental, incremental
from dataload.pipelines import attach, pipeline
from dataload.resource import Resource, with_table_name
from dataload.schema.model import Schema
from dataload.sink import destination
from dataload.source import Source
from dataload.state import resource_state, state

logging.getLogger("dataload").addHandler(logging.NullHandler())  # the application decides where logs go

__all__ = [
    "DataContractViolation",
    "DataloadError",
    "Incremental",
    "Pipeline",
    "PipelineLockedError",
    "Resource",
    "ResourceError",
    "Schema",
    "SchemaError",
    "Source",
    "__version__",
    "attach",
    "config",
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
