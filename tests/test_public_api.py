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
    "MissingConfig", "MissingDependencyError", "NormalizeError", "PackageBlockedError", "PipelineError",
    "PipelineLockedError", "ResourceError", "SchemaError", "TerminalLoadError", "TransientLoadError",
    "UnsupportedOperation",
}
PUBLIC = ERRORS | {
    "BufferLimits", "Dataset", "Incremental", "LoadInfo", "Pipeline", "Resource", "RetryPolicy", "Schema", "Source",
    "__version__", "attach", "config", "destination", "incremental",
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


PIPELINE_RENAMED_ON_STAGES = pytest.mark.xfail(reason="dataload/pipeline.py is renamed on the stages branch of "
                                                      "issue 13; drop this mark when it is merged")


@pytest.mark.parametrize("name", [pytest.param(n, marks=PIPELINE_RENAMED_ON_STAGES) if n == "pipeline" else n
                                  for n in sorted(PUBLIC - {"__version__"})])
def test_no_public_name_is_shadowed_by_a_submodule(name):
    """No submodule ``dataload.<name>`` exists, or it is the very object ``dataload.<name>`` is: a
    submodule named like a public name is shadowed by it (``import dataload.config as cfg`` used to
    give the marker object, not the module)."""
    submodules = {module.name for module in pkgutil.iter_modules(dataload.__path__)}
    if name in submodules:
        assert getattr(dataload, name) is importlib.import_module(f"dataload.{name}")


def test_destination_decorator_is_the_function_sink():
    assert callable(dataload.destination) and dataload.destination.__module__ == "dataload.sink"
