"""``dataload``: the command's parser assembly and dispatch.

Each command lives in its own module of ``dataload.cli``; a module plugs in by exposing
``add_parser(subparsers)``, which adds its command(s) and sets ``handler`` (a function taking the
parsed arguments and returning the exit code) with ``set_defaults``. Add a module to
:data:`COMMANDS` to register it.

``--log-level`` (default WARNING) sets which of dataload's log records go to stderr; ``--debug``
(before or after the command) prints the traceback of an error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from dataload.cli import deploy, init_command, pipeline_commands, run, version_command
from dataload.cli.failure import DEBUG_ENV, debugging, error_text

#: The command modules of ``dataload``, in the order ``--help`` lists them: the registration point.
COMMANDS = (init_command, pipeline_commands, run, deploy, version_command)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit code 2), pointing to ``--help``.

    Subcommands' parsers are of the same class (``add_subparsers`` makes them so).
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dataload`` command."""
    parser = _Parser(prog="dataload", description="Start, run, schedule, inspect and manage dataload pipelines.")
    parser.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="log records shown on stderr (default WARNING; INFO: one line per step of a package)")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.add_parser(subparsers)
    _accept_debug_after_the_command(subparsers)
    return parser


_DEBUG_HELP = f"print the traceback of an error (also: --log-level DEBUG, or ${DEBUG_ENV}=1)"


def _accept_debug_after_the_command(subparsers: Any) -> None:
    """``--debug`` on every (sub)command too; SUPPRESS: absent there, the value given before the command stays."""
    for command in subparsers.choices.values():
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _accept_debug_after_the_command(action)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code.

    An error is one line on stderr and exit code 1 (2: the command line itself is wrong); its
    traceback is shown when debugging (see :mod:`dataload.cli.failure`).
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")  # no-op if set up
    from dataload.exceptions import DataloadError

    try:
        code: int = args.handler(args)
        return code
    except BrokenPipeError:  # the reader went away (``dataload ... | head``): not an error
        sys.stderr.close()
        return 0
    except Exception as error:
        text = error_text(error, debug=debugging(args), expected=isinstance(error, DataloadError))
        print(f"error: {text}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
