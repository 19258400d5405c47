"""``dataload``: inspect and manage pipelines from the shell.

    dataload pipeline NAME info          where it is, destination, state and schema versions, packages
    dataload pipeline NAME schema        the schema as YAML (or --format json)
    dataload pipeline NAME loads         the loads recorded in the destination
    dataload pipeline NAME retry         load failed packages again
    dataload pipeline NAME drop-failed   discard failed packages
    dataload pipeline NAME drop --resources a,b   drop resources' tables and reset their state
    dataload run SCRIPT [--fail-on-schema-change]   run a pipeline script; exit codes in docs/scheduling.md
    dataload deploy SCRIPT --schedule CRON --to cron|github-actions|airflow   run it on a schedule
    dataload version

``--log-level`` (default WARNING) sets which of dataload's log records go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from dataload.cli import deploy as deploy_cli
from dataload.cli import run as run_cli


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dataload`` command."""
    parser = argparse.ArgumentParser(prog="dataload", description="Inspect and manage dataload pipelines.")
    parser.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="log records shown on stderr (default WARNING; INFO: one line per step of a package)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print the dataload version")
    run_cli.add_parser(commands)
    deploy_cli.add_parser(commands)
    pipe = commands.add_parser("pipeline", help="inspect or manage one pipeline")
    pipe.add_argument("name", help="the pipeline name")
    pipe.add_argument("--pipelines-dir", help="where pipelines live (default $DATALOAD_PIPELINES_DIR or "
                                              "~/.dataload/pipelines)")
    actions = pipe.add_subparsers(dest="action", required=True)
    actions.add_parser("info", help="destination, dataset, state and schema versions, pending and failed packages")
    schema = actions.add_parser("schema", help="print the schema")
    schema.add_argument("--format", choices=("yaml", "json"), default="yaml")
    actions.add_parser("loads", help="the loads recorded in the destination (_dl_loads)")
    actions.add_parser("retry", help="load failed packages again")
    actions.add_parser("drop-failed", help="discard failed packages")
    drop = actions.add_parser("drop", help="drop resources' tables from the destination and reset their state")
    drop.add_argument("--resources", required=True, help="comma-separated resource names")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")  # no-op if set up
    if args.command == "version":
        from dataload import __version__

        print(__version__)
        return 0
    if hasattr(args, "handler"):
        return int(args.handler(args))
    from dataload.exceptions import DataloadError

    try:
        return _pipeline_command(args)
    except DataloadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (``dataload ... | head``): not an error
        sys.stderr.close()
        return 0


def _pipeline_command(args: argparse.Namespace) -> int:
    import dataload

    pipe = dataload.attach(args.name, pipelines_dir=args.pipelines_dir)
    if args.action == "info":
        print(json.dumps(_info(pipe), indent=2, default=str))
    elif args.action == "schema":
        _print_schema(pipe, args.format)
    elif args.action == "loads":
        for row in pipe.dataset().table("_dl_loads").rows():
            print(f"{row['load_id']}  {row['inserted_at']}  schema {row['schema_version_hash']}")
    elif args.action == "retry":
        print(pipe.retry_failed())
    elif args.action == "drop-failed":
        print("dropped: " + (", ".join(pipe.drop_failed()) or "nothing"))
    elif args.action == "drop":
        dropped = pipe.drop(resources=[r.strip() for r in args.resources.split(",") if r.strip()])
        print("dropped tables: " + (", ".join(dropped) or "none"))
    return 0


def _info(pipe: Any) -> dict[str, Any]:
    schema = pipe.default_schema
    return {
        "pipeline": pipe.pipeline_name,
        "working_dir": str(pipe.working_dir),
        "destination": pipe.destination.name,
        "dataset": pipe.dataset_name,
        "state_version": pipe.state.get("_state_version", 0),
        "schema_version": schema.version,
        "tables": [t.name for t in schema.data_tables()],
        "pending_packages": pipe.pending_packages(),
        "failed_packages": pipe.failed_packages(),
    }


def _print_schema(pipe: Any, fmt: str) -> None:
    if fmt == "json":
        print(pipe.default_schema.to_json())
        return
    import yaml

    print(yaml.safe_dump(pipe.default_schema.to_dict(), sort_keys=False, allow_unicode=True), end="")


if __name__ == "__main__":
    sys.exit(main())
