"""The public surface of ``sources.github`` and ``sources.stripe``: exact ``__all__``, docstrings, names in
docs/sources.md, imports without side effects, and user code that passes ``mypy --strict``."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {
    "sources.github": {"API_URL", "ITEMS", "github_config", "github_repo"},
    "sources.stripe": {"API_URL", "API_VERSION", "ITEMS", "stripe_account", "stripe_config"},
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_all_lists_exactly_the_public_names_each_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == PUBLIC[module_name]
    assert (module.__doc__ or "").strip()
    functions = [name for name in module.__all__ if callable(getattr(module, name))]
    assert [name for name in functions if not (getattr(module, name).__doc__ or "").strip()] == []
    docs = (ROOT / "docs" / "sources.md").read_text()
    assert [name for name in module.__all__ if f"`{name}" not in docs and f"{name}(" not in docs] == []


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_import_has_no_side_effects(module_name: str, tmp_path: Path) -> None:
    script = ("import os, socket\n"
              "class Offline(socket.socket):\n"
              "    def connect(self, address): raise AssertionError(f'network at import: {address}')\n"
              "socket.socket = Offline\n"
              f"before = dict(os.environ)\nimport {module_name}\nassert dict(os.environ) == before\n")
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True)
    assert list(tmp_path.iterdir()) == []


def test_user_code_passes_mypy_strict() -> None:
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    user_code = ROOT / "tests" / "typing" / "api_sources_user_code.py"
    command = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-error-summary",
               str(user_code)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
