"""The public API is curated: __all__ is exact, every name is documented, importing does nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dataload

PUBLIC = {
    "DataContractViolation", "DataloadError", "Incremental", "Pipeline", "PipelineLockedError", "Resource",
    "ResourceError", "Schema", "SchemaError", "Source", "__version__", "attach", "config", "destination",
    "incremental",
    "pipeline", "resource", "resource_state", "secrets", "source", "state", "transformer", "with_table_name",
}
ROOT = Path(__file__).resolve().parent.parent


def test_all_lists_exactly_the_public_names():
    assert set(dataload.__all__) == PUBLIC
    assert all(hasattr(dataload, name) for name in PUBLIC)


def test_every_public_name_has_a_docstring():
    missing = [n for n in PUBLIC - {"__version__"} if not (getattr(dataload, n).__doc__ or "").strip()]
    assert missing == []


def test_every_public_name_is_in_the_docs():
    text = (ROOT / "README.md").read_text() + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    undocumented = [n for n in PUBLIC - {"__version__", "Incremental", "Resource", "Source", "Schema", "Pipeline"}
                    if n not in text]
    assert undocumented == []


def test_import_has_no_side_effects(tmp_path):
    script = ("import os, sys; before = dict(os.environ); import dataload; "
              "assert dict(os.environ) == before; "
              "assert not any(m.startswith(('destinations', 'sources')) for m in sys.modules), 'eager import'")
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True)
    assert list(tmp_path.iterdir()) == []


def test_destination_decorator_is_not_shadowed_by_the_protocol_module():
    import dataload.destination as protocol_module  # noqa: F401  (the Protocol lives in this module)

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
