"""The public API is curated: __all__ is exact, every name has a docstring, importing does nothing.

That every name is in the docs is tested in tests/test_docs.py.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import dataload

ERRORS = {
    "ConfigError", "DataContractViolation", "DataloadError", "ExtractError", "InvalidConfig", "LoadError",
    "MissingConfig", "MissingDependencyError", "NormalizeError", "PackageBlockedError", "PackageFormatError",
    "PartitionError", "PipelineError",
    "PipelineLockedError", "ResourceError", "SchemaError", "TerminalLoadError", "TransientLoadError",
    "UnsupportedOperation",
}
PUBLIC = ERRORS | {
    "BufferLimits", "Dataset", "Incremental", "LoadInfo", "Partition", "Pipeline", "Resource", "RetryPolicy",
    "Schema", "Source",
    "__version__", "attach", "config", "count", "destination", "incremental",
    "pipeline", "resource", "resource_state", "secrets", "source", "state", "transformer", "with_table_name",
}
ROOT = Path(__file__).resolve().parent.parent


def test_all_lists_exactly_the_public_names():
    assert set(dataload.__all__) == PUBLIC
    assert all(hasattr(dataload, name) for name in PUBLIC)


def test_every_public_name_has_a_docstring():
    missing = [n for n in PUBLIC - {"__version__"} if not (getattr(dataload, n).__doc__ or "").strip()]
    assert missing == []


def test_import_has_no_side_effects(tmp_path):
    script = ("import os, sys; before = dict(os.environ); import dataload; "
              "assert dict(os.environ) == before; "
              "assert not any(m.startswith(('destinations', 'sources')) for m in sys.modules), 'eager import'")
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", sorted(PUBLIC - {"__version__"}))
def test_no_public_name_is_shadowed_by_a_submodule(name):
    """No submodule ``dataload.<name>`` exists, or it is the very object ``dataload.<name>`` is: a
    submodule named like a public name is shadowed by it (``import dataload.config as cfg`` used to
    give the marker object, not the module)."""
    submodules = {module.name for module in pkgutil.iter_modules(dataload.__path__)}
    if name in submodules:
        assert getattr(dataload, name) is importlib.import_module(f"dataload.{name}")


def test_destination_decorator_is_the_function_sink():
    assert callable(dataload.destination) and dataload.destination.__module__ == "dataload.sink"


PIPELINE_MEMBERS = {
    "pipeline_name", "destination", "dataset_name", "working_dir", "retry_policy", "buffer_limits", "last_trace",
    "state", "default_schema", "run", "extract", "normalize", "load", "pending_packages", "failed_packages",
    "retry_failed", "drop_failed", "sync_destination", "dataset", "sql_client", "drop", "drop_columns",
}


def test_pipeline_is_a_thin_facade_with_few_public_members(tmp_path):
    """The stages live in their own modules (docs/architecture.md); Pipeline only calls them."""
    pipe = dataload.pipeline("facade", destination="duckdb", pipelines_dir=tmp_path)
    public = {name for name in dir(pipe) if not name.startswith("_")}
    assert public == PIPELINE_MEMBERS
    assert len(public) <= 22
