"""The sources ``dataload init`` knows: the verified sources, each with its template, and the generic one.

Each verified source is declared once here, with what ``init`` writes for it (a
:class:`~dataload.protocol.ProjectSetup`: its config and secrets under ``[sources.<name>]``, the
keys its function reads); its script is ``templates/init/<name>.py.tmpl``. Any other name gets
``generic.py.tmpl``. Destinations declare theirs on their own class (see :mod:`dataload.registry`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from dataload.protocol import ProjectSetup

if TYPE_CHECKING:
    from importlib.abc import Traversable

GENERIC = "generic"
GENERIC_DESCRIPTION = "your own source: a resource generator with sample rows that runs at once"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class SourceTemplate:
    """A source ``init`` can scaffold: what it writes for it, and the sample files its script reads."""

    name: str
    setup: ProjectSetup
    sample_files: tuple[str, ...] = ()  # paths under templates/init/, written at the same place in the project


VERIFIED = {template.name: template for template in (
    SourceTemplate("rest_api", ProjectSetup(
        "any REST API, declared as a config dict (endpoints, auth, paginators); --openapi SPEC fills it in")),
    SourceTemplate("sql_database", ProjectSetup(
        "the tables of a SQL database through SQLAlchemy (PostgreSQL, MySQL/MariaDB, SQLite, ...)",
        extras=("sql_database",),
        secrets={"credentials": "postgresql+psycopg://loader:<password>@localhost:5432/shop"})),
    SourceTemplate("filesystem", ProjectSetup(
        "CSV, JSONL and Parquet files in a local folder or a bucket, read incrementally by modification date",
        config={"bucket_url": "sample_data"}), sample_files=("sample_data/orders.csv",)),
    SourceTemplate("github", ProjectSetup(
        "a GitHub repository: issues and pull requests, comments, reactions",
        config={"owner": "octocat", "repo": "Hello-World"},
        secrets={"access_token": "<a GitHub personal access token>"})),
    SourceTemplate("stripe", ProjectSetup(
        "a Stripe account: customers, invoices with their line items, events",
        secrets={"api_key": "<a Stripe secret key: sk_... or rk_...>"})),
)}


def source_template(name: str) -> SourceTemplate:
    """The verified source ``name``, or the generic template for any other identifier.

    >>> source_template("github").setup.secrets
    {'access_token': '<a GitHub personal access token>'}
    >>> source_template("shop").setup.description
    'your own source: a resource generator with sample rows that runs at once'
    """
    if name in VERIFIED:
        return VERIFIED[name]
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid source name {name!r}: use a Python identifier (letters, digits and _, not "
                         "starting with a digit), e.g. my_api")
    return SourceTemplate(name, ProjectSetup(GENERIC_DESCRIPTION))


def template_file(relative: str) -> Traversable:
    """A file under ``dataload/cli/templates/init/`` (shipped in the package; read with ``read_text``)."""
    folder = resources.files("dataload.cli").joinpath("templates").joinpath("init")
    for part in relative.split("/"):
        folder = folder.joinpath(part)
    return folder


def script_template(template: SourceTemplate) -> str:
    """The text of the template of ``template``'s script."""
    name = template.name if template.name in VERIFIED else GENERIC
    return template_file(f"{name}.py.tmpl").read_text(encoding="utf-8")
