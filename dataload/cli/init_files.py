"""The text of each file ``dataload init`` writes, from the source's template and the declared setups.

Nothing here touches the disk but reading the package's templates: :func:`project_files` returns
the files as ``{relative path: text}``, and :mod:`dataload.cli.init_command` checks and writes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from string import Template
from typing import Any

from dataload.cli.init_sources import SourceTemplate, script_template, template_file
from dataload.configuration.providers import CONFIG_DIR, env_name
from dataload.protocol import ProjectSetup

SECRETS_FILE = f"{CONFIG_DIR}/secrets.toml"
CONFIG_FILE = f"{CONFIG_DIR}/config.toml"
Sections = dict[tuple[str, ...], dict[str, str]]
"""TOML tables (``("sources", "github")``) to their keys and values."""

# the REST API the rest_api template reads without --openapi: public, no key needed
_POKEAPI: dict[str, Any] = {
    "client": {"base_url": "https://pokeapi.co/api/v2/", "paginator": {"type": "json_link", "next_url_path": "next"},
               "data_selector": "results"},
    "resources": [
        {"name": "pokemon", "primary_key": "name", "write_disposition": "merge",
         "endpoint": {"path": "pokemon", "params": {"limit": 100}}},
        {"name": "berry", "primary_key": "name", "write_disposition": "replace"},
    ],
}
_SECRET_PLACEHOLDER = re.compile(r"'<(sources\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+)>'")


def project_files(template: SourceTemplate, destination: str, destination_setup: ProjectSetup, *,
                  can_merge: bool = True, openapi: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Every file to write, by path relative to the project folder (``.gitignore`` aside).

    ``can_merge``: whether the destination merges (else the templates' tables are appended to).
    ``openapi``: the ``rest_api_source`` config made from an OpenAPI document (rest_api only).
    """
    script, api_secrets = _script(template, destination, can_merge, openapi)
    source_section = ("sources", template.name)
    config: Sections = {source_section: dict(template.setup.config),
                        ("destination", destination): dict(destination_setup.config)}
    secrets: Sections = {source_section: dict(template.setup.secrets), **api_secrets,
                         ("destination", destination): dict(destination_setup.secrets)}
    files = {
        f"{template.name}_pipeline.py": script,
        CONFIG_FILE: toml_text(_CONFIG_HEADER, config),
        SECRETS_FILE: toml_text(_SECRETS_HEADER, secrets),
        "requirements.txt": requirement([*template.setup.extras, *destination_setup.extras]) + "\n",
    }
    for sample in template.sample_files:
        files[sample] = template_file(sample).read_text(encoding="utf-8")
    return files


def requirement(extras: Iterable[str]) -> str:
    """The requirement line for dataload with ``extras``.

    >>> requirement(["postgres", "sql_database", "postgres"])
    'dataload[postgres,sql_database]'
    >>> requirement([])
    'dataload'
    """
    wanted = sorted(set(extras))
    return f"dataload[{','.join(wanted)}]" if wanted else "dataload"


def toml_text(header: str, sections: Sections) -> str:
    """A TOML document: ``header`` as comments, then each table that has keys, with each key's
    environment variable (which wins over the file) in a comment.

    >>> print(toml_text("Config.", {("destination", "filesystem"): {"bucket_url": "lake"}, ("sources", "x"): {}}))
    # Config.
    <BLANKLINE>
    [destination.filesystem]
    bucket_url = "lake"  # or DESTINATION__FILESYSTEM__BUCKET_URL
    <BLANKLINE>
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for section, values in sections.items():
        if values:
            lines += ["", f"[{'.'.join(section)}]"]
            lines += [f"{key} = {json.dumps(value)}  # or {env_name((*section, key))}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def gitignore_text(existing: str | None) -> str | None:
    """``.gitignore`` with the secrets file ignored, or None when it already is.

    >>> gitignore_text("venv/")
    'venv/\\n.dataload/secrets.toml\\n'
    >>> gitignore_text("/.dataload/secrets.toml\\n") is None
    True
    """
    text = existing or ""
    if any(line.strip().lstrip("/") == SECRETS_FILE for line in text.splitlines()):
        return None
    return text + ("\n" if text and not text.endswith("\n") else "") + SECRETS_FILE + "\n"


def _script(template: SourceTemplate, destination: str, can_merge: bool,
            openapi: Mapping[str, Any] | None) -> tuple[str, Sections]:
    """The pipeline script, and the secrets its REST config reads (rest_api only)."""
    values = {"source": template.name, "SOURCE_UPPER": template.name.upper(), "destination": destination,
              "write_disposition": "merge" if can_merge else "append",
              "write_note": "rows with a known primary key are updated" if can_merge
              else f"{destination} cannot merge: rows are added"}
    api_secrets: Sections = {}
    if template.name == "rest_api":
        config, api_secrets = python_config(_without_merge(openapi or _POKEAPI) if not can_merge
                                            else (openapi or _POKEAPI), indent=4)
        what = "the list endpoints of an OpenAPI document" if openapi else "PokeAPI's pokemon and berries"
        values.update(config=config, what=what, options=" --openapi SPEC" if openapi else "")
    return Template(script_template(template)).substitute(values), api_secrets


def _without_merge(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with its merged resources appended to instead (for a destination that cannot merge)."""
    resources = [{**entry, "write_disposition": "append"} if isinstance(entry, Mapping)
                 and entry.get("write_disposition") == "merge" else entry for entry in config["resources"]]
    return {**config, "resources": resources}


def python_config(config: Mapping[str, Any], *, indent: int) -> tuple[str, Sections]:
    """``config`` as a Python literal to place at ``indent`` spaces, its secret placeholders
    (``"<sources.api.token>"``, as :func:`sources.rest_api.openapi_config` writes them) replaced by
    ``dataload.secrets["sources.api.token"]``; and the secrets read, for secrets.toml.

    >>> text, secrets = python_config({"auth": {"type": "bearer", "token": "<sources.shop.token>"}}, indent=0)
    >>> text
    "{'auth': {'type': 'bearer', 'token': dataload.secrets['sources.shop.token']}}"
    >>> secrets
    {('sources', 'shop'): {'token': '<your token>'}}
    """
    secrets: Sections = {}

    def lookup(match: re.Match[str]) -> str:
        *section, key = match.group(1).split(".")
        secrets.setdefault(tuple(section), {})[key] = f"<your {key}>"
        return f"dataload.secrets[{match.group(1)!r}]"

    return _SECRET_PLACEHOLDER.sub(lookup, _literal(config, indent)), secrets


def _literal(value: Any, indent: int, lead: int = 0) -> str:
    """``repr(value)``, on one line if it fits in 110 columns (after ``lead`` characters on its first
    line), else one item a line, indented by 4 more than ``indent``.

    >>> print(_literal({"resources": [{"name": "a" * 50}, {"name": "b" * 50}]}, 0))
    {
        'resources': [
            {'name': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'},
            {'name': 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'},
        ],
    }
    """
    flat = repr(value)
    if indent + lead + len(flat) <= 110 or not isinstance(value, (Mapping, list)) or not value:
        return flat
    inner = " " * (indent + 4)
    if isinstance(value, Mapping):
        items = [f"{inner}{key!r}: {_literal(item, indent + 4, len(repr(key)) + 2)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + ",\n" + " " * indent + "}"
    items = [f"{inner}{_literal(item, indent + 4)}" for item in value]
    return "[\n" + ",\n".join(items) + ",\n" + " " * indent + "]"


_CONFIG_HEADER = """Configuration of the pipeline in this folder, written by `dataload init`.
Environment variables win over this file (the name in the comment after each key), and
.dataload/secrets.toml wins too. See docs/cli.md ("init")."""
_SECRETS_HEADER = """Secrets of the pipeline in this folder, written by `dataload init`: replace each <placeholder>.
Never commit this file (.gitignore lists it); on a scheduler, set the environment variables
named in the comments instead."""
