"""The code passes its linters: ``ruff check .`` and ``mypy --strict``, both configured in pyproject.toml.

Both tools are in the ``test`` extra; without them the test is skipped, or fails when ``CI`` is set.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from conftest import skip_or_fail_in_ci

ROOT = Path(__file__).resolve().parent.parent
TYPED_PACKAGES = ("dataload", "destinations", "sources")


def _require(tool: str) -> None:
    """Skip without ``tool`` (fail when ``CI`` is set)."""
    if importlib.util.find_spec(tool) is None:
        skip_or_fail_in_ci(f"{tool} is not installed", remedy="pip install -e '.[test]'")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    _require("ruff")
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_packages_pass_mypy_strict() -> None:
    """The engine, the destinations and the sources keep their own ``mypy --strict`` clean."""
    _require("mypy")
    packages = [name for name in TYPED_PACKAGES if (ROOT / name / "__init__.py").is_file()]
    result = _run("mypy", *packages)
    assert result.returncode == 0, result.stdout + result.stderr
