"""Every example in a docstring of the engine, the destinations and the sources runs as written.

Each module of the packages is imported and its examples are run with :mod:`doctest` (``...``
matches anything); the test fails with the report of every failing example. Examples that need
a server, credentials or files of their own are marked ``# doctest: +SKIP``.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dataload", "destinations", "sources")


def _module_names() -> Iterator[str]:
    """Every module of the packages that exist in this checkout, packages included (``__main__`` runs: not it)."""
    for package in PACKAGES:
        if not (ROOT / package / "__init__.py").is_file():
            continue
        yield package
        for module in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if not module.name.endswith(".__main__"):
                yield module.name


def _run_examples(module_name: str) -> tuple[int, list[str]]:
    """How many examples of the module ran, and a report of each docstring whose examples failed."""
    module = importlib.import_module(module_name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures = []
    for test in doctest.DocTestFinder().find(module):
        report = io.StringIO()  # not sys.stdout: doctest replaces that while an example runs
        result = runner.run(test, out=report.write)
        if result.failed:
            failures.append(report.getvalue())
    return runner.tries, failures


def test_every_docstring_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    attempted, failures = 0, []
    for name in _module_names():
        tries, failed = _run_examples(name)
        attempted += tries
        failures += failed
    if failures:
        pytest.fail(f"{len(failures)} docstring(s) with failing examples:\n" + "".join(failures), pytrace=False)
    assert attempted > 0, "no docstring example found: the modules were not walked"
    assert list(tmp_path.iterdir()) == [], "an example left files behind"
