"""GitHub: a repository, its issues (pull requests included), their comments and reactions.

:func:`github_repo` is the source; :func:`github_config` is the ``rest_api_source`` config it is
built from, for users who want to add endpoints or change options before building it.

>>> config = github_config("octo-org", "hello-world", items=("issues",))
>>> [resource["name"] for resource in config["resources"]]
['repos', 'issues']
>>> source = github_repo("duckdb", "duckdb", access_token=None)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import dataload
from sources.rest_api import rest_api_resources

__all__ = ["API_URL", "ITEMS", "github_config", "github_repo"]

API_URL = "https://api.github.com"
"""The REST API of github.com; a GitHub Enterprise server's is ``https://<host>/api/v3``."""
ITEMS = ("issues", "comments", "reactions")
"""What :func:`github_repo` can load besides the repository record: its tables, in dependency order."""
_API_VERSION = "2022-11-28"
_IGNORE_GONE_ISSUE = [{"status_code": 404, "action": "ignore"}]  # an issue deleted or moved between the two requests


@dataload.source(name="github")
def github_repo(owner: str = dataload.config.value, repo: str = dataload.config.value, *,
                access_token: str | None = dataload.secrets.value, base_url: str = API_URL,
                items: Sequence[str] = ITEMS, per_page: int = 100,
                updated_since: str = "1970-01-01T00:00:00Z") -> list[dataload.Resource]:
    """The repository ``owner/repo``: tables ``repos``, ``issues``, ``comments`` and ``reactions``.

    ``repos`` is the repository record. ``issues`` holds issues and pull requests (a pull request
    has ``pull_request__url`` set), merged on ``id`` and loaded incrementally: each run asks for
    those updated at or after the last ``updated_at`` seen (GitHub's ``since``), starting at
    ``updated_since``. ``comments`` and ``reactions`` are read for each issue loaded that has some
    (by its ``comments`` and ``reactions.total_count``), with the issue's ``number`` in
    ``_issues_number``. ``items`` picks the tables (``comments`` and ``reactions`` need ``issues``).
    ``access_token`` (config key ``sources.github.access_token``) is sent as a bearer token to
    ``base_url``'s host only; pass ``None`` for anonymous access to a public repository (GitHub
    then allows 60 requests an hour).
    """
    return rest_api_resources(github_config(owner, repo, access_token=access_token, base_url=base_url,
                                            items=items, per_page=per_page, updated_since=updated_since))


def github_config(owner: str, repo: str, *, access_token: str | None = None, base_url: str = API_URL,
                  items: Sequence[str] = ITEMS, per_page: int = 100,
                  updated_since: str = "1970-01-01T00:00:00Z") -> dict[str, Any]:
    """The ``rest_api_source`` config :func:`github_repo` builds (same options), as a plain dict to edit."""
    unknown = [item for item in items if item not in ITEMS]
    if unknown:
        raise dataload.InvalidConfig(f"github_repo: unknown items {unknown}: choose from {', '.join(ITEMS)}")
    if "issues" not in items and set(items) & {"comments", "reactions"}:
        raise dataload.InvalidConfig("github_repo: comments and reactions are read per issue: add 'issues' to items")
    path = f"repos/{quote(owner, safe='')}/{quote(repo, safe='')}"
    client: dict[str, Any] = {
        "base_url": base_url,
        "paginator": {"type": "header_link"},
        "headers": {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": _API_VERSION},
    }
    if access_token:
        client["auth"] = {"type": "bearer", "token": access_token}
    resources: list[dict[str, Any]] = [
        {"name": "repos", "endpoint": {"path": path, "paginator": {"type": "single_page"}, "data_selector": "$"}},
        {"name": "issues", "endpoint": {
            "path": f"{path}/issues",
            "params": {"state": "all", "sort": "updated", "direction": "asc", "per_page": per_page},
            "incremental": {"cursor_path": "updated_at", "initial_value": updated_since, "start_param": "since"}}},
    ]
    for child, has_some in (("comments", _has_comments), ("reactions", _has_reactions)):
        resources.append({"name": child, "include_from_parent": ["number"], "parent_filter": has_some, "endpoint": {
            "path": f"{path}/issues/{{resources.issues.number}}/{child}", "params": {"per_page": per_page},
            "response_actions": _IGNORE_GONE_ISSUE}})
    wanted = {"repos", *items}
    return {
        "client": client,
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
        "resources": [resource for resource in resources if resource["name"] in wanted],
    }


def _has_comments(issue: dict[str, Any]) -> bool:
    """Whether the issue's comments are worth a request (its ``comments`` count; unknown: yes)."""
    return bool(issue.get("comments", 1))


def _has_reactions(issue: dict[str, Any]) -> bool:
    """Whether the issue's reactions are worth a request (its ``reactions.total_count``; unknown: yes)."""
    return bool((issue.get("reactions") or {}).get("total_count", 1))
