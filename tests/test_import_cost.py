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


def test_the_command_s_help_imports_no_heavy_dependency() -> None:
    """``dataload --help`` builds every command's parser: the modules that define them import the engine only
    inside the handlers."""
    code = (f"import sys, contextlib, io\nfrom dataload.cli.main import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):\n"
            f"    main(['--help'])\n"
            f"assert 'deploy' in out.getvalue(), out.getvalue()\n"
            f"print(' '.join(m for m in {(*HEAVY, 'yaml', 'dataload.facade')!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []


def test_python_dash_m_dataload_is_the_command() -> None:
    done = subprocess.run([sys.executable, "-m", "dataload", "version"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    import dataload

    assert dataload.__version__ in done.stdout
