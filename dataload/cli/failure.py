"""How a command says it failed: one line on stderr (naming the exit code), and the code returned.

The traceback policy of every command is here (:func:`error_text`): an error is one line; its
traceback is printed before it only when debugging, with ``--debug`` (before or after the command),
``--log-level DEBUG`` or the environment variable ``DATALOAD_DEBUG=1`` (:func:`debugging`).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from dataload.exit_codes import ExitCode

DEBUG_ENV = "DATALOAD_DEBUG"
"""Set (to anything but ``0`` or nothing) to print the traceback of every error, as ``--debug`` does."""


def fail(command: str, code: ExitCode, reason: str) -> int:
    """Print ``dataload <command>: <what> (exit <code>): <reason>`` as one line on stderr; returns the code.

    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     fail("run", ExitCode.LOCKED, "pipeline 'crm' is being run\\nwait for it")
    6
    >>> err.getvalue()
    "dataload run: pipeline locked (exit 6): pipeline 'crm' is being run; wait for it\\n"
    """
    print(f"dataload {command}: {code.label} (exit {int(code)}): {one_line(reason)}", file=sys.stderr)
    return int(code)


def one_line(message: str) -> str:
    r"""``message`` on one line: its lines joined, a list after a colon kept readable.

    >>> one_line("failed on table 't'\nThe package is kept in p: fix it.")
    "failed on table 't'; The package is kept in p: fix it."
    >>> one_line("set one of the places looked at:\n  env X\n  secrets.toml")
    'set one of the places looked at: env X; secrets.toml'
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    joined = lines[0] if lines else ""
    for line in lines[1:]:
        joined += (" " if joined.endswith(":") else "; ") + line
    return joined


def debugging(args: argparse.Namespace) -> bool:
    """Whether the command runs with tracebacks: ``--debug``, ``--log-level DEBUG`` or ``$DATALOAD_DEBUG``."""
    return bool(getattr(args, "debug", False)) or getattr(args, "log_level", None) == "DEBUG" \
        or os.environ.get(DEBUG_ENV, "0") not in ("", "0")


def error_text(error: BaseException, *, debug: bool, expected: bool) -> str:
    """``error`` as one line for stderr; when ``debug``, its traceback is printed on stderr first.

    An expected error (dataload's own, whose message says what to do) is its message; any other
    (a bug, in a script or in dataload) is ``Type: message`` and, unless ``debug``, how to see the traceback.

    >>> error_text(KeyError("missing"), debug=False, expected=False)
    "KeyError: 'missing' (--debug or DATALOAD_DEBUG=1 shows the traceback)"
    """
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    text = one_line(str(error))
    if expected:
        return text
    return f"{type(error).__name__}: {text}" + ("" if debug else f" (--debug or {DEBUG_ENV}=1 shows the traceback)")
