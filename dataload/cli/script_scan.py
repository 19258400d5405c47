"""What a pipeline script needs, read from its text and its folder (nothing in it runs).

``dataload deploy`` writes these into scheduler files: the pipeline's name, and the environment
variables of the secrets the script's pipeline reads. Secrets are found in two places:

* the keys of ``.dataload/secrets.toml`` next to the script (``[sources.github] token`` →
  ``SOURCES__GITHUB__TOKEN``); only the names are read out, never a value;
* the parameters whose default is ``dataload.secrets.value``: of a ``@dataload.source``
  function (``SOURCES__<SOURCE>__<PARAM>``), of a resource or transformer function
  (``SOURCES__<PARAM>``, the key tried wherever the resource runs), and the secrets a destination
  declares it reads (its ``project_setup``), when it is given by name or built without them
  (``DESTINATION__POSTGRES__CREDENTIALS``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dataload.configuration.providers import CONFIG_DIR, TomlProvider, env_name

_RESOURCE_DECORATORS = ("resource", "transformer")


def pipeline_name(script: Path) -> str:
    """The name the script gives ``dataload.pipeline(...)`` (a literal), else the script's stem (the default).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     script = Path(folder, "crm.py")
    ...     _ = script.write_text("import dataload\\npipe = dataload.pipeline('crm_sync', destination='duckdb')")
    ...     pipeline_name(script)
    'crm_sync'
    """
    for call in _calls(_parse(script)):
        if _called_name(call) == "pipeline":
            given = call.args[0] if call.args else _keyword(call, "pipeline_name")
            if isinstance(given, ast.Constant) and isinstance(given.value, str) and given.value:
                return given.value
    return script.stem


def secret_env_names(script: Path) -> list[str]:
    """Environment variable names of every secret the script's pipeline reads, sorted."""
    tree = _parse(script)
    names = {env_name(key) for key in _toml_keys(script.parent / CONFIG_DIR / "secrets.toml")}
    names |= set(_marked_parameters(tree))
    for call in _calls(tree):
        called = _called_name(call)
        destination = _keyword(call, "destination")
        if called == "pipeline" and isinstance(destination, ast.Constant) and isinstance(destination.value, str):
            names.update(env_name(("destination", destination.value, key))
                         for key in _destination_secrets(destination.value))
        elif called is not None and called != "pipeline" and not call.args:
            names.update(env_name(("destination", called, key)) for key in _destination_secrets(called)
                         if _keyword(call, key) is None)
    return sorted(_without_shadowed(names))


def _destination_secrets(name: str) -> list[str]:
    """The secret keys the destination ``name`` declares it reads (none for a name that is not a destination)."""
    from dataload.registry import available, project_setup

    if name not in available():
        return []
    try:
        return list(project_setup(name).secrets)
    except ImportError:  # a third-party destination that cannot be imported here: nothing known of it
        return []


def _without_shadowed(names: set[str]) -> set[str]:
    """Drop ``SOURCES__<PARAM>`` (from a resource) where a more specific key of the same name is known."""
    specific = {name.rsplit("__", 1)[-1] for name in names if name.count("__") > 1}
    return {name for name in names if name.count("__") > 1 or name.split("__", 1)[-1] not in specific}


def _marked_parameters(tree: ast.Module) -> Iterator[str]:
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        secrets = [arg.arg for arg, default in _defaults(node.args) if _is_secrets_value(default)]
        for decorator in node.decorator_list:
            kind = _called_name(decorator.func if isinstance(decorator, ast.Call) else decorator)
            if kind == "source":
                given = _keyword(decorator, "name") if isinstance(decorator, ast.Call) else None
                source = given.value if isinstance(given, ast.Constant) and isinstance(given.value, str) \
                    else node.name
                yield from (env_name(("sources", source, param)) for param in secrets)
            elif kind in _RESOURCE_DECORATORS:
                yield from (env_name(("sources", param)) for param in secrets)


def _defaults(args: ast.arguments) -> Iterator[tuple[ast.arg, ast.expr | None]]:
    positional = [*args.posonlyargs, *args.args]
    yield from zip(positional[len(positional) - len(args.defaults):], args.defaults)
    yield from zip(args.kwonlyargs, args.kw_defaults)


def _is_secrets_value(node: ast.expr | None) -> bool:
    """``dataload.secrets.value`` or ``secrets.value``."""
    if not isinstance(node, ast.Attribute) or node.attr != "value":
        return False
    owner = node.value
    return (isinstance(owner, ast.Name) and owner.id == "secrets") or (
        isinstance(owner, ast.Attribute) and owner.attr == "secrets"
        and isinstance(owner.value, ast.Name) and owner.value.id == "dataload")


def _toml_keys(path: Path) -> Iterator[tuple[str, ...]]:
    """Every leaf key of a TOML file (names only: the values are not looked at)."""
    document = TomlProvider(path).get(())

    def walk(node: Any, key: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        if isinstance(node, dict):
            for name, child in node.items():
                yield from walk(child, (*key, name))
        elif key:
            yield key

    yield from walk(document if isinstance(document, dict) else {}, ())


def _parse(script: Path) -> ast.Module:
    return ast.parse(script.read_text(encoding="utf-8"), filename=str(script))


def _calls(tree: ast.Module) -> Iterator[ast.Call]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _called_name(node: ast.expr) -> str | None:
    """``pipeline`` for ``dataload.pipeline(...)`` or ``pipeline(...)``, and the like."""
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else None


def _keyword(call: ast.expr, name: str) -> ast.expr | None:
    if not isinstance(call, ast.Call):
        return None
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)
