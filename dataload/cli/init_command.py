"""``dataload init SOURCE DESTINATION``: start a project in the current folder.

Writes ``SOURCE_pipeline.py``, ``.dataload/config.toml``, ``.dataload/secrets.toml`` (placeholders
for the credentials the source and the destination read), ``requirements.txt`` and the sample
files of the source's template, and adds ``.dataload/secrets.toml`` to ``.gitignore``. A file that
exists is never overwritten without ``--force``: every target is checked before anything is
written. ``--list-sources`` and ``--list-destinations`` print what can be chosen.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dataload.cli.failure import fail
from dataload.cli.init_files import SECRETS_FILE, gitignore_text, project_files
from dataload.cli.init_sources import GENERIC_DESCRIPTION, VERIFIED, SourceTemplate, source_template
from dataload.cli.writing import write_files
from dataload.exceptions import DataloadError
from dataload.exit_codes import ExitCode


def add_parser(commands: Any) -> None:
    """Register ``dataload init`` under ``commands``."""
    init = commands.add_parser(
        "init", help="start a project in the current folder: a pipeline script for SOURCE and DESTINATION, "
                     "its .dataload/ config and secrets, requirements.txt")
    init.add_argument("source", nargs="?", help="a verified source (see --list-sources), or any other name for a "
                                                "source of your own (a Python identifier)")
    init.add_argument("destination", nargs="?", help="where the data goes (see --list-destinations)")
    init.add_argument("--openapi", metavar="SPEC", help="rest_api only: fill the script's config from this OpenAPI "
                                                        "document (a JSON or YAML file)")
    init.add_argument("--base-url", metavar="URL", help="with --openapi: the API's URL, when the document's server "
                                                        "URL is relative or another server is wanted")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.add_argument("--list-sources", action="store_true", help="list the verified sources and exit")
    init.add_argument("--list-destinations", action="store_true", help="list the destinations and exit")
    init.set_defaults(handler=init_command)


def init_command(args: argparse.Namespace) -> int:
    """Write the project's files (or list the choices); returns the exit code."""
    if args.list_sources or args.list_destinations:
        _print_choices(args.list_sources, args.list_destinations)
        return 0
    if not args.source or not args.destination:
        return fail("init", ExitCode.USAGE, "give a SOURCE and a DESTINATION, e.g. dataload init rest_api duckdb "
                                            "(see dataload init --list-sources and --list-destinations)")
    from dataload.registry import available, declared_capabilities, project_setup

    try:
        template = source_template(args.source)
    except ValueError as error:
        return fail("init", ExitCode.USAGE, f"{error}; nothing was written")
    if args.destination not in available():
        return fail("init", ExitCode.USAGE, f"unknown destination {args.destination!r}: choose one of "
                                            f"{', '.join(sorted(available()))}; nothing was written")
    if args.openapi and template.name != "rest_api":
        return fail("init", ExitCode.USAGE, f"--openapi is for the rest_api source, not {template.name!r}; "
                                            "nothing was written")
    if args.base_url and not args.openapi:
        return fail("init", ExitCode.USAGE, "--base-url goes with --openapi SPEC; nothing was written")
    try:
        openapi = _openapi_config(args.openapi, args.base_url) if args.openapi else None
    except DataloadError as error:  # a document openapi_config cannot use
        hint = " (here: --base-url URL)" if "base_url=" in str(error) and not args.base_url else ""
        return fail("init", ExitCode.CONFIG, f"--openapi {args.openapi}: {error}{hint}; nothing was written")
    try:
        capabilities = declared_capabilities(args.destination)
        files = project_files(template, args.destination, project_setup(args.destination),
                              can_merge=capabilities is None or bool(capabilities.merge_strategies), openapi=openapi)
    except DataloadError as error:  # a destination that cannot be imported
        return fail("init", ExitCode.CONFIG, f"{error}; nothing was written")
    return _write(Path.cwd(), template, args.destination, files, force=args.force)


def _openapi_config(spec: str, base_url: str | None) -> dict[str, Any]:
    from sources.rest_api import openapi_config  # dataload never imports sources at module level

    return openapi_config(Path(spec), base_url=base_url)


def _write(folder: Path, template: SourceTemplate, destination: str, files: dict[str, str], *, force: bool) -> int:
    """Write ``files`` into ``folder`` (none if one exists and not ``force``), update .gitignore, say what was done."""
    existing = write_files("init", folder, files, force=force)
    if existing is None:
        return int(ExitCode.USAGE)
    gitignore = folder / ".gitignore"
    ignored = gitignore_text(gitignore.read_text(encoding="utf-8") if gitignore.exists() else None)
    if ignored is not None:
        gitignore.write_text(ignored, encoding="utf-8")
    script = f"{template.name}_pipeline.py"
    print(f"Wrote a {template.name} pipeline loading into {destination} in {folder}:")
    for path in files:
        print(f"  {path}" + ("  (overwritten)" if path in existing else ""))
    print(f"  .gitignore  ({'added' if ignored is not None else 'already lists'} {SECRETS_FILE})")
    if any("<" in line for line in files[SECRETS_FILE].splitlines() if not line.startswith("#")):
        print(f"Replace the <placeholders> in {SECRETS_FILE} (or set the environment variables named there), then:")
    else:
        print("Next:")
    print("  pip install -r requirements.txt")
    print(f"  dataload run {script}")
    return 0


def _print_choices(sources: bool, destinations: bool) -> None:
    rows: list[tuple[str, str]] = []
    if sources:
        rows += [(name, template.setup.description) for name, template in VERIFIED.items()]
        rows.append(("<any other name>", GENERIC_DESCRIPTION))
    if destinations:
        from dataload.registry import available, project_setup

        rows += [(name, project_setup(name).description) for name in sorted(available())]
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
