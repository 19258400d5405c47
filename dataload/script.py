"""A pipeline script: run it whole as ``__main__``, or import it and run the source it exposes.

``dataload run SCRIPT`` runs it whole (:func:`run_script`). An Airflow DAG written by
``dataload deploy --to airflow`` runs it resource by resource (:func:`run_resources`) when the
script **exposes a source**: at module level it defines exactly one ``@dataload.source``
function (callable with no arguments: its parameters come from config, secrets or defaults) and
exactly one pipeline (``pipe = dataload.pipeline(...)``), and it runs them only under
``if __name__ == "__main__":`` (see :func:`imports_quietly`). Importing such a script has no effect beyond creating the
pipeline object. Imported this way, the script reads its config and secrets from ``.dataload/``
next to it (unless ``DATALOAD_PROJECT_DIR`` says otherwise), as it does when cron or GitHub
Actions run it in its folder. See ``docs/scheduling.md``.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import runpy
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from dataload._source import Source
from dataload.configuration.providers import PROJECT_DIR_ENV
from dataload.exceptions import InvalidConfig
from dataload.facade import Pipeline
from dataload.info import LoadInfo, recorded_load_infos


def run_script(path: Path, argv: Sequence[str] = ()) -> list[LoadInfo]:
    """Run the script as ``__main__`` (``sys.argv`` is ``[path, *argv]``, its folder first on ``sys.path``).

    Returns the :class:`LoadInfo` of every pipeline run the script made; its errors propagate.
    """
    with _as_program(path, argv), recorded_load_infos() as infos:
        runpy.run_path(str(path), run_name="__main__")
    return infos


@dataclass(frozen=True)
class ExposedSource:
    """What a script exposes: its source function, its pipeline, and the resources as tasks.

    ``tasks`` groups the selected resources: each root resource with the transformers it feeds,
    which run in the same task (a transformer alone would read its parent again).
    """

    source_function: str
    pipeline_variable: str
    tasks: list[list[str]]


def exposed_source(path: Path) -> ExposedSource | None:
    """Import the script (not as ``__main__``) and find the source and pipeline it exposes, or None.

    A script is imported only when its text shows it is safe to (:func:`imports_quietly`); the
    source function is then called once, to list its resources.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    functions = source_functions(tree)
    if len(functions) != 1 or not imports_quietly(tree):
        return None
    with _config_next_to(path):
        module = import_script(path)
        pipelines = [name for name, value in vars(module).items() if isinstance(value, Pipeline)]
        if len(pipelines) != 1:
            return None
        source = getattr(module, functions[0])()
    if not isinstance(source, Source):
        return None
    return ExposedSource(functions[0], pipelines[0], resource_tasks(source))


def resource_tasks(source: Source) -> list[list[str]]:
    """The selected resources of ``source`` grouped as tasks: a root resource, then every transformer it feeds.

    >>> import dataload
    >>> users = dataload.resource([{"id": 1}], name="users")
    >>> @dataload.transformer(data_from=users)
    ... def details(user):
    ...     yield {"id": user["id"]}
    >>> resource_tasks(Source("crm", [users, details, dataload.resource([], name="orders")]))
    [['users', 'details'], ['orders']]
    """
    selected = source.selected_resources
    fed: dict[str, list[str]] = {}
    roots = []
    for name, resource in selected.items():
        parent = resource.data_from.name if resource.data_from is not None else None
        if parent in selected:
            fed.setdefault(parent, []).append(name)
        else:
            roots.append(name)

    def with_fed(name: str) -> list[str]:
        return [name, *(child for fed_name in fed.get(name, []) for child in with_fed(fed_name))]

    return [with_fed(root) for root in roots]


def run_resources(path: Path, *, source_function: str, pipeline_variable: str, resources: Sequence[str]) -> LoadInfo:
    """Import the script and run only ``resources`` of its source through its pipeline (an Airflow task)."""
    with _config_next_to(path):
        module = import_script(path)
        pipe = getattr(module, pipeline_variable, None)
        factory = getattr(module, source_function, None)
        if not isinstance(pipe, Pipeline) or not callable(factory):
            raise InvalidConfig(f"script {path} no longer exposes the pipeline {pipeline_variable!r} and the source "
                                f"function {source_function!r} its DAG was written for; run dataload deploy again")
        source = factory()
        if not isinstance(source, Source):
            raise InvalidConfig(f"{source_function}() in {path} returned {type(source).__name__}, not a source")
        return pipe.run(source.with_resources(*resources))


def import_script(path: Path) -> ModuleType:
    """Import the script as a module (its ``if __name__ == "__main__":`` block does not run)."""
    name = f"dataload_script_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidConfig(f"cannot import {path}: it is not a Python file")
    module = importlib.util.module_from_spec(spec)
    with _as_program(path, ()):
        spec.loader.exec_module(module)
    return module


_RUNS = frozenset({"run", "extract", "normalize", "load", "retry_failed"})


def imports_quietly(tree: ast.Module) -> bool:
    """True when importing the script runs no pipeline: at module level it only imports, defines and
    assigns (calling no ``.run()``, ``.extract()``, ... ), and runs things under ``if __name__ == "__main__":``.

    >>> imports_quietly(ast.parse("import dataload\\npipe = dataload.pipeline('p')\\nif __name__ == '__main__':\\n"
    ...                           "    pipe.run([1])"))
    True
    >>> imports_quietly(ast.parse("import dataload\\ndataload.pipeline('p').run([{'id': 1}], table_name='t')"))
    False
    """
    defining = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
                ast.AnnAssign)
    for node in tree.body:
        if _is_main_guard(node) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            continue
        if not isinstance(node, defining):
            return False
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
                isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in _RUNS
                for call in ast.walk(node)):
            return False
    return True


def _is_main_guard(node: ast.stmt) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__" \
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)


def source_functions(tree: ast.Module) -> list[str]:
    """Names of the module-level functions of a script decorated with ``@dataload.source`` (read, not run).

    Both ``@dataload.source`` and ``@source`` (imported from dataload), with or without arguments.

    >>> source_functions(ast.parse("@dataload.source(name='gh')\\ndef github(): ...\\ndef other(): ..."))
    ['github']
    """
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and any(_is_source_decorator(decorator) for decorator in node.decorator_list)]


def _is_source_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr == "source" and isinstance(target.value, ast.Name) and target.value.id == "dataload"
    return isinstance(target, ast.Name) and target.id == "source"


@contextmanager
def _config_next_to(path: Path) -> Iterator[None]:
    """Config and secrets from ``.dataload/`` in the script's folder, unless ``DATALOAD_PROJECT_DIR`` is set."""
    if os.environ.get(PROJECT_DIR_ENV):
        yield
        return
    os.environ[PROJECT_DIR_ENV] = str(path.resolve().parent)
    try:
        yield
    finally:
        os.environ.pop(PROJECT_DIR_ENV, None)


@contextmanager
def _as_program(path: Path, argv: Sequence[str]) -> Iterator[None]:
    """``sys.argv`` and ``sys.path[0]`` as if ``python path argv...`` ran (the default pipeline name is the
    script's stem, and modules next to it import), restored after."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(path), *argv]
    sys.path.insert(0, str(path.resolve().parent))
    try:
        yield
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
