"""Load a GitHub repository's issues, pull requests, comments and reactions into DuckDB.

Run from anywhere::

    python examples/github_pipeline.py OWNER REPO        # e.g. duckdb duckdb-web

Configuration (environment variables, or the same keys under ``[sources.github]`` in
``.dataload/config.toml`` and ``.dataload/secrets.toml``):

* ``SOURCES__GITHUB__ACCESS_TOKEN``: a personal access token (a fine-grained one with read access
  to issues is enough). Optional for a public repository, but without it GitHub allows 60
  requests an hour, and comments and reactions take a request per issue that has any.
* ``SOURCES__GITHUB__OWNER`` / ``SOURCES__GITHUB__REPO``: the repository, when not given on the
  command line.
* ``SOURCES__GITHUB__BASE_URL``: the API, ``https://api.github.com`` by default (GitHub
  Enterprise: ``https://HOST/api/v3``).

The DuckDB file ``github_pipeline.duckdb`` is written in the current directory, the pipeline's
state under ``~/.dataload/pipelines`` (or ``$DATALOAD_PIPELINES_DIR``). Run it again and only the
issues updated since the last run are requested, and merged into the tables.
"""

from __future__ import annotations

import sys
from typing import Any

import dataload
from sources.github import API_URL, github_repo


def configured(key: str, default: Any = None, *, secret: bool = False) -> Any:
    """The value of ``key`` in dataload's configuration (environment, ``.dataload/*.toml``), or ``default``."""
    try:
        return dataload.secrets[key] if secret else dataload.config[key]
    except dataload.MissingConfig:
        return default


def main(argv: list[str]) -> None:
    """Load the repository named on the command line (or in the configuration), then print what was loaded."""
    source = github_repo(
        *argv[:2],  # OWNER REPO; when absent, sources.github.owner / .repo from the configuration
        access_token=configured("sources.github.access_token", secret=True),
        base_url=configured("sources.github.base_url", API_URL),
    )
    pipe = dataload.pipeline(pipeline_name="github_pipeline", destination="duckdb", dataset_name="github_data")
    print(pipe.run(source))

    print("\nTables in dataset 'github_data':")
    dataset = pipe.dataset()
    for name in dataset.tables:  # repos, issues (pull requests too), issues__labels, comments, reactions, ...
        print(f"  {name:<20} {dataset.table(name).arrow().num_rows:>7} rows")


if __name__ == "__main__":
    main(sys.argv[1:])
