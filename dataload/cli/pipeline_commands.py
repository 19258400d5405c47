"""``dataload pipeline NAME ACTION``: inspect and manage one pipeline.

    dataload pipeline NAME info          where it is, destination, state and schema versions, packages
    dataload pipeline NAME schema        the schema as YAML (or --format json)
    dataload pipeline NAME loads         the loads recorded in the destination
    dataload pipeline NAME retry         load failed packages again
    dataload pipeline NAME drop-failed   discard failed packages
    dataload pipeline NAME drop --resources a,b   drop resources' tables and reset their state

Other modules add actions in :func:`add_parser` with one line each: ``module.add_actions(add_action)``,
where ``add_action(name, help=..., handler=...)`` returns the action's parser (``handler`` takes the
parsed arguments, with ``args.name`` and ``args.pipelines_dir``, and returns the exit code).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from functools import partial
from typing import Any

from dataload.cli.show import command as show_command

Handler = Callable[[argparse.Namespace], int]
AddAction = Callable[..., argparse.ArgumentParser]


def add_parser(subparsers: Any) -> None:
    """Add ``pipeline`` and its actions to the ``dataload`` command."""
    pipe = subparsers.add_parser("pipeline", help="inspect or manage one pipeline")
    pipe.add_argument("name", help="the pipeline name")
    pipe.add_argument("--pipelines-dir", help="where pipelines live (default $DATALOAD_PIPELINES_DIR or "
                                              "~/.dataload/pipelines)")
    actions = pipe.add_subparsers(dest="action", required=True)
    add_action: AddAction = partial(_add_action, actions)
    add_actions(add_action)
    show_command.add_actions(add_action, open_pipeline)
    # Actions of other modules plug in here, one line each: e.g. ``pipeline_show.add_actions(add_action)``.


def _add_action(actions: Any, name: str, *, help: str, handler: Handler) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help)
    parser.set_defaults(handler=handler)
    return parser


def add_actions(add_action: AddAction) -> None:
    """The inspection and management actions of this module."""
    add_action("info", help="destination, dataset, state and schema versions, pending and failed packages",
               handler=_run_info)
    schema = add_action("schema", help="print the schema", handler=_run_schema)
    schema.add_argument("--format", choices=("yaml", "json"), default="yaml")
    add_action("loads", help="the loads recorded in the destination (_dl_loads)", handler=_run_loads)
    add_action("retry", help="load failed packages again", handler=_run_retry)
    add_action("drop-failed", help="discard failed packages", handler=_run_drop_failed)
    drop = add_action("drop", help="drop resources' tables from the destination and reset their state",
                      handler=_run_drop)
    drop.add_argument("--resources", required=True, help="comma-separated resource names")


def open_pipeline(args: argparse.Namespace) -> Any:
    """The pipeline ``args.name`` in ``args.pipelines_dir``, reopened with its stored destination."""
    import dataload

    return dataload.attach(args.name, pipelines_dir=args.pipelines_dir)


def _run_info(args: argparse.Namespace) -> int:
    pipe = open_pipeline(args)
    schema = pipe.default_schema
    info = {
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
    print(json.dumps(info, indent=2, default=str))
    return 0


def _run_schema(args: argparse.Namespace) -> int:
    pipe = open_pipeline(args)
    if args.format == "json":
        print(pipe.default_schema.to_json())
        return 0
    import yaml

    print(yaml.safe_dump(pipe.default_schema.to_dict(), sort_keys=False, allow_unicode=True), end="")
    return 0


def _run_loads(args: argparse.Namespace) -> int:
    for row in open_pipeline(args).dataset().table("_dl_loads").rows():
        print(f"{row['load_id']}  {row['inserted_at']}  schema {row['schema_version_hash']}")
    return 0


def _run_retry(args: argparse.Namespace) -> int:
    print(open_pipeline(args).retry_failed())
    return 0


def _run_drop_failed(args: argparse.Namespace) -> int:
    print("dropped: " + (", ".join(open_pipeline(args).drop_failed()) or "nothing"))
    return 0


def _run_drop(args: argparse.Namespace) -> int:
    dropped = open_pipeline(args).drop(resources=[r.strip() for r in args.resources.split(",") if r.strip()])
    print("dropped tables: " + (", ".join(dropped) or "none"))
    return 0
