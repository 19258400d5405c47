"""User code of ``sources.github`` and ``sources.stripe``; ``tests/sources/test_api_sources_surface.py``
runs ``mypy --strict`` on it. Importing it builds nothing; the functions are never called."""

from __future__ import annotations

from typing import Any

import dataload
from sources.github import API_URL, github_config, github_repo
from sources.rest_api import rest_api_source
from sources.stripe import stripe_account, stripe_config


def github_issues() -> dataload.Source:
    return github_repo("octo-org", "hello-world", access_token=None, base_url=API_URL, items=("issues",),
                       per_page=50, updated_since="2024-01-01T00:00:00Z")


def github_from_config() -> dataload.Source:
    return github_repo()  # owner, repo and token from sources.github.*


def github_with_releases() -> dataload.Source:
    config: dict[str, Any] = github_config("octo-org", "hello-world", items=("issues",))
    config["resources"].append({"name": "releases", "endpoint": "repos/octo-org/hello-world/releases"})
    return rest_api_source(config, name="github")


def stripe() -> dataload.Source:
    return stripe_account("rk_test_x", items=("customers", "events"), limit=10, events_since=1_700_000_000)


def stripe_from_config() -> tuple[dataload.Source, dict[str, Any]]:
    return stripe_account(), stripe_config("rk_test_x")
