"""``dataload pipeline NAME ACTION``: inspect and manage one pipeline; ``dataload pipeline --list``.

``info``, ``trace``, ``schema``, ``failed-jobs`` and ``--list`` read the working dir only (no
credentials needed); ``loads``, ``load-package`` of a loaded package, ``retry``, ``drop`` and
``sync`` reach the destination, with credentials looked up in the folder the pipeline was made in.
``--pipelines-dir`` goes before or after the action.

Other modules add actions in :func:`add_parser` with one line each: ``module.add_actions(add_action)``
(the contract is in :mod:`dataload.cli.actions`).
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from typing import TYPE_CHECKING, Any

from dataload.cli import pipeline_reports as reports
from dataload.cli.actions import AddAction, Handler, fail, open_local, open_pipeline
from dataload.cli.show import command as show_command

if TYPE_CHECKING:
    from dataload.cli.destination_loads import RecordedLoad
    from dataload.cli.local_pipeline import LocalPipeline

_PIPELINES_DIR_HELP = "where pipelines live (default $DATALOAD_PIPELINES_DIR or ~/.dataload/pipelines)"


def add_parser(subparsers: Any) -> None:
    """Add ``pipeline`` and its actions to the ``dataload`` command."""
    pipe = subparsers.add_parser("pipeline", help="inspect or manage one pipeline (--list: the known pipelines)",
                                 description="Inspect or manage one pipeline; --list shows the known pipelines.")
    name = pipe.add_argument("name", metavar="NAME", help="the pipeline name (leave it out with --list)")
    # One argument, but may be missing (--list). Not nargs="?": argparse would then read the name as the
    # action when an option comes between them (``pipeline NAME --pipelines-dir DIR info``).
    name.required = False
    pipe.add_argument("--list", action="store_true", help="list the known pipelines: destination, dataset, last run")
    pipe.add_argument("--pipelines-dir", help=_PIPELINES_DIR_HELP)
    pipe.set_defaults(handler=partial(_run_list_or_refuse, pipe))
    actions = pipe.add_subparsers(dest="action", metavar="ACTION")
    add_action: AddAction = partial(_add_action, actions)
    add_actions(add_action)
    show_command.add_actions(add_action)
    # Actions of other modules plug in here, one line each: e.g. ``pipeline_show.add_actions(add_action)``.


def _add_action(actions: Any, name: str, *, help: str, handler: Handler) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help, description=help[0].upper() + help[1:])
    # SUPPRESS: given after the action it wins, else the value given before the action stays
    parser.add_argument("--pipelines-dir", default=argparse.SUPPRESS, help=_PIPELINES_DIR_HELP)
    parser.set_defaults(handler=handler)
    return parser


def add_actions(add_action: AddAction) -> None:
    """The inspection and management actions of this module."""
    info = add_action("info", help="destination, dataset, last run, pending and failed packages, state and tables "
                                   "(local files only)", handler=_run_info)
    info.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or JSON")
    trace = add_action("trace", help="the last run's steps with timings, rows per table and load attempts",
                       handler=_run_trace)
    trace.add_argument("--format", choices=("text", "json"), default="text",
                       help="text (default) or JSON (the trace's asdict())")
    schema = add_action("schema", help="the schema: tables and columns as text, or as YAML or JSON",
                        handler=_run_schema)
    schema.add_argument("--format", choices=("text", "yaml", "json"), default="text",
                        help="text (default: tables and columns), or the whole schema document as YAML or JSON")
    add_action("loads", help="the loads recorded in the destination (_dl_loads) with status and rows per table",
               handler=_run_loads)
    add_action("failed-jobs", help="each failed package with the step, table and error it failed on",
               handler=_run_failed_jobs)
    package = add_action("load-package", help="files, tables, rows and stage of one package (default: the newest)",
                         handler=_run_load_package)
    package.add_argument("load_id", nargs="?", metavar="LOAD_ID", help="the package's load id (default: the newest)")
    add_action("retry", help="load failed packages again", handler=_run_retry)
    add_action("drop-failed", help="discard failed packages (their data is not loaded)", handler=_run_drop_failed)
    drop = add_action("drop", help="drop resources' tables from the destination and reset their state, "
                                   "after a confirmation", handler=_run_drop)
    drop.add_argument("resources", nargs="+", metavar="RESOURCE", help="a resource of the pipeline")
    drop.add_argument("--yes", action="store_true", help="drop without asking (needed without a terminal)")
    add_action("sync", help="restore the local state and schema from the destination", handler=_run_sync)


def _run_list_or_refuse(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if not args.list:
        parser.error("give a pipeline NAME and an action (dataload pipeline NAME info), or --list")
    from dataload.cli.local_pipeline import LocalPipeline
    from dataload.pipelines import known_pipelines, pipelines_base

    names = known_pipelines(args.pipelines_dir)
    if not names:
        print(f"no pipelines in {pipelines_base(args.pipelines_dir)}")
        return 0
    rows = [("NAME", "DESTINATION", "DATASET", "LAST RUN")]
    for name in names:
        local = LocalPipeline.open(name, args.pipelines_dir)
        trace = local.trace()
        last = "never" if trace is None else f"{trace.started_at} {'ok' if trace.error is None else 'failed'}"
        rows.append((name, local.destination, local.dataset, last))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(value.ljust(width) for value, width in zip(row, widths)) + "  " + row[3])
    return 0


def _run_info(args: argparse.Namespace) -> int:
    info = reports.info_data(open_local(args))
    print(json.dumps(info, indent=2, default=str) if args.format == "json" else reports.info_text(info))
    return 0


def _run_trace(args: argparse.Namespace) -> int:
    trace = open_local(args).trace()
    if trace is None:
        print(f"pipeline {args.name} has not run yet (no trace)")
    else:
        print(json.dumps(trace.asdict(), indent=2) if args.format == "json" else reports.trace_text(args.name, trace))
    return 0


def _run_schema(args: argparse.Namespace) -> int:
    schema = open_local(args).schema()
    if args.format == "json":
        print(schema.to_json())
    elif args.format == "yaml":
        import yaml

        print(yaml.safe_dump(schema.to_dict(), sort_keys=False, allow_unicode=True), end="")
    else:
        print(reports.schema_text(schema))
    return 0


def _run_loads(args: argparse.Namespace) -> int:
    local = open_local(args)
    loads = _recorded_loads_or_none(args, local)
    if not loads:
        print(f"no loads yet: pipeline {args.name} has loaded nothing into {local.destination} dataset "
              f"{local.dataset}")
        return 0
    for load in loads:
        print(f"{load.load_id}  {load.inserted_at}  {load.status_text}  {reports.rows_text(load.rows)}")
    return 0


def _recorded_loads_or_none(args: argparse.Namespace, local: LocalPipeline) -> list[RecordedLoad] | None:
    """The destination's loads; None when the destination has no record and nothing was committed from here."""
    from dataload.cli.destination_loads import recorded_loads

    try:
        return recorded_loads(open_pipeline(args))
    except Exception:
        if local.has_committed():
            raise
        return None  # a dataset never loaded into has no _dl_loads table: its read fails


def _run_failed_jobs(args: argparse.Namespace) -> int:
    failed = [p for p in open_local(args).packages() if p.stage == "failed"]
    print("\n".join(reports.failure_text(p) for p in failed) or "no failed packages")
    return 0


def _run_load_package(args: argparse.Namespace) -> int:
    local = open_local(args)
    on_disk = {p.load_id: p for p in local.packages()}
    wanted = args.load_id or (max(on_disk) if on_disk else None)
    if wanted in on_disk:
        print(reports.package_text(on_disk[wanted]))
        return 0
    loads = {load.load_id: load for load in _recorded_loads_or_none(args, local) or []}
    wanted = wanted or (max(loads) if loads else None)
    if wanted is None:
        print(f"pipeline {args.name} has no package on disk and no load in {local.destination} dataset "
              f"{local.dataset}")
        return 0
    if wanted not in loads:
        return fail(f"pipeline {args.name} has no package {wanted}; known: {', '.join(sorted([*loads, *on_disk]))}")
    load = loads[wanted]
    print(f"package {wanted}: loaded at {load.inserted_at} into {local.destination} dataset {local.dataset} "
          f"({load.status_text})")
    print("tables (rows in the destination):")
    print("\n".join(f"  {table}: {count} row(s)" for table, count in load.rows.items()) or "  none")
    print("files: none kept (a package's files are removed once it is loaded)")
    return 0


def _run_retry(args: argparse.Namespace) -> int:
    print(open_pipeline(args).retry_failed())
    return 0


def _run_drop_failed(args: argparse.Namespace) -> int:
    print("dropped: " + (", ".join(open_pipeline(args).drop_failed()) or "nothing"))
    return 0


def _run_drop(args: argparse.Namespace) -> int:
    from dataload.drop import refuse_unknown_resources, resource_tables

    local = open_local(args)
    resources = set(args.resources)
    refuse_unknown_resources(args.name, resources, local.schema(), local.state())
    tables = ", ".join(resource_tables(local.schema(), resources)) or "no table"
    question = (f"drop tables {tables} of resource(s) {', '.join(args.resources)} from {local.destination} dataset "
                f"{local.dataset} and reset their state?")
    if not args.yes:
        if not sys.stdin.isatty():
            return fail(f"{question} Not without a confirmation: stdin is not a terminal, pass --yes to drop")
        if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing dropped")
            return 1
    dropped = open_pipeline(args).drop(resources=sorted(resources))
    print("dropped tables: " + (", ".join(dropped) or "none"))
    return 0


def _run_sync(args: argparse.Namespace) -> int:
    pipe = open_pipeline(args)
    where = f"{pipe.destination.name} dataset {pipe.dataset_name}"
    if pipe.sync_destination():
        print(f"restored state and schema of {args.name} from {where}")
    else:
        print(f"{args.name} is in step with {where}: nothing to restore")
    return 0
