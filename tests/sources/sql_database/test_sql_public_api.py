"""The public API of ``sources.sql_database`` is curated: ``__all__`` is exact, every name is documented
(docstring and docs/sql_database.md), and the package uses only public names of ``dataload``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import dataload
import sources.sql_database as sql_database

ROOT = Path(__file__).resolve().parents[3]
PUBLIC = {"BACKENDS", "ReadPlan", "ReflectionLevel", "ValueDoesNotFit", "sql_database", "sql_table"}
PUBLIC_MODULES = {"dataload", "dataload.configuration"}  # the documented public modules the source may use


def test_all_lists_exactly_the_public_names() -> None:
    assert set(sql_database.__all__) == PUBLIC
    assert all(hasattr(sql_database, name) for name in PUBLIC)


def test_every_public_name_is_documented() -> None:
    objects = {name: getattr(sql_database, name) for name in PUBLIC - {"BACKENDS", "ReflectionLevel"}}
    assert [name for name, obj in objects.items() if not (obj.__doc__ or "").strip()] == []
    page = (ROOT / "docs" / "sql_database.md").read_text()
    assert [name for name in PUBLIC if not re.search(rf"`[^`]*\b{name}\b[^`]*`", page)] == []


def test_the_package_imports_only_public_names_of_dataload() -> None:
    private = []
    for path in (ROOT / "sources" / "sql_database").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dataload"):
                if node.module not in PUBLIC_MODULES:
                    private.append(f"{path.name}: from {node.module}")
                elif node.module == "dataload":
                    private += [f"{path.name}: {a.name}" for a in node.names if a.name not in dataload.__all__]
            elif isinstance(node, ast.Import):
                private += [f"{path.name}: import {a.name}" for a in node.names
                            if a.name.startswith("dataload") and a.name not in PUBLIC_MODULES]
    assert private == []
