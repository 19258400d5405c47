"""sources.rest_api's public names: each has a docstring and is shown in docs/rest_api.md (STYLE 1 and 15)."""

from __future__ import annotations

import re
from pathlib import Path

import sources.rest_api as rest_api

DOCS = (Path(__file__).resolve().parents[3] / "docs" / "rest_api.md").read_text()


def test_every_public_name_has_a_docstring() -> None:
    undocumented = [name for name in rest_api.__all__ if not (getattr(rest_api, name).__doc__ or "").strip()]
    assert not undocumented


def test_every_public_name_is_in_the_docs() -> None:
    code = "\n".join(re.findall(r"```.*?```|`[^`\n]+`", DOCS, re.DOTALL))
    missing = [name for name in rest_api.__all__ if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", code)]
    assert not missing


def test_all_lists_what_the_package_exports() -> None:
    assert sorted(rest_api.__all__) == sorted(name for name in vars(rest_api) if not name.startswith("_")
                                              and name not in ("annotations",)
                                              and not isinstance(getattr(rest_api, name), type(rest_api)))
