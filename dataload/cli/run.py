"""``dataload run SCRIPT``: run a pipeline script and exit with a code a scheduler can act on.

The codes are :class:`dataload.exit_codes.ExitCode`; a failure ends with one line on stderr,
``dataload run: <what> (exit <code>): <reason>``. The traceback of an error that is not dataload's
(a bug in the script) is printed first with ``--debug`` or ``DATALOAD_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dataload.cli.failure import debugging, error_text, fail
from dataload.exit_codes import ExitCode, exit_code_for


def add_parser(commands: Any) -> None:
    """Register ``dataload run`` under ``commands``."""
    run = commands.add_parser(
        "run", help="run a pipeline script; the exit code says what happened (0 loaded, 3 config, 4 failed "
                    "package, 5 contract, 6 locked, 7 schema changed; see docs/scheduling.md)")
    run.add_argument("script", help="the pipeline script (a Python file)")
    run.add_argument("--fail-on-schema-change", action="store_true",
                     help=f"exit {int(ExitCode.SCHEMA_CHANGED)} when the run changed the schema (after loading)")
    run.add_argument("script_args", nargs="*", metavar="-- ARG",
                     help="arguments passed on to the script (after --: dataload run SCRIPT -- --day 2024-01-01)")
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run ``args.script``; returns the exit code."""
    from dataload.script import run_script

    script = Path(args.script)
    if not script.is_file():
        return fail("run", ExitCode.USAGE, f"no script {script}: give the path of a pipeline script (a .py file)")
    try:
        infos = run_script(script, args.script_args)
    except SystemExit as stop:  # the script's own sys.exit(): its code stands
        return _code_of(stop)
    except Exception as error:
        code = exit_code_for(error)
        from dataload.exceptions import DataloadError

        expected = code is not ExitCode.ERROR or isinstance(error, DataloadError)
        text = error_text(error, debug=debugging(args), expected=expected)
        return fail("run", code, f"{type(error).__name__}: {text}" if expected else text)
    failed = [load_id for info in infos for load_id in info.failed]
    if failed:
        return fail("run", ExitCode.FAILED_PACKAGE, f"failed package(s) {', '.join(failed)} kept on disk: retry them "
                    "(dataload pipeline NAME retry) or drop them (dataload pipeline NAME drop-failed)")
    changes = [change for info in infos for change in info.schema_changes]
    if args.fail_on_schema_change and changes:
        return fail("run", ExitCode.SCHEMA_CHANGED, "the data was loaded and the schema changed: " + "; ".join(changes))
    return ExitCode.OK


def _code_of(stop: SystemExit) -> int:
    if stop.code is None or isinstance(stop.code, int):
        return stop.code or 0
    print(stop.code, file=sys.stderr)
    return int(ExitCode.ERROR)
