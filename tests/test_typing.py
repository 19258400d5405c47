"""The public API type-checks in user code under ``mypy --strict`` (STYLE item 15).

``tests/typing/user_code.py`` uses every decorator form; mypy must accept it with no error (in
particular no "untyped decorator"), and must still catch a wrong argument to a source.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
USER_CODE = ROOT / "tests" / "typing" / "user_code.py"


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    # errors inside dataload itself are the package's own mypy run; here only the user's file counts
    command = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-error-summary", str(path)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_user_code_passes_mypy_strict():
    result = _mypy(USER_CODE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_catches_a_wrong_argument_to_a_source(tmp_path):
    bad = tmp_path / "bad_user_code.py"
    bad.write_text(
        "import dataload\n\n\n"
        "@dataload.source\n"
        "def shop(per_page: int = dataload.config.value) -> dataload.Resource:\n"
        "    return dataload.resource([{'id': 1}], name='orders')\n\n\n"
        "shop(per_page='many')\n"
    )
    result = _mypy(bad)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Argument "per_page" to "shop" has incompatible type "str"; expected "int"' in result.stdout


def test_user_code_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the DuckDB file of a destination given by name goes to the working directory
    namespace = runpy.run_path(str(USER_CODE))
    assert namespace["run_all"](tmp_path / "pipelines") > 0
