"""How a command says it failed: one line on stderr naming the exit code, and the code returned."""

from __future__ import annotations

import sys

from dataload.exit_codes import ExitCode


def fail(command: str, code: ExitCode, reason: str) -> int:
    """Print ``dataload <command>: <what> (exit <code>): <reason>`` as one line on stderr; returns the code.

    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     fail("run", ExitCode.LOCKED, "pipeline 'crm' is being run\\nwait for it")
    6
    >>> err.getvalue()
    "dataload run: pipeline locked (exit 6): pipeline 'crm' is being run; wait for it\\n"
    """
    from dataload.cli.main import one_line

    print(f"dataload {command}: {code.label} (exit {int(code)}): {one_line(reason)}", file=sys.stderr)
    return int(code)
