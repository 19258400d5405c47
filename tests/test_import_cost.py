"""`import dataload` imports none of the heavy dependencies: they load when a public name is first used."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pyarrow", "numpy", "duckdb", "tenacity", "httpx", "asyncio")


def test_import_dataload_imports_no_heavy_dependency() -> None:
    code = f"import sys, dataload; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []


def test_a_public_name_is_imported_on_first_use() -> None:
    code = "import sys, dataload; dataload.Pipeline; print('pyarrow' in sys.modules, dataload.Pipeline.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "dataload.facade"]
