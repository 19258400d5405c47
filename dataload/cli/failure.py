"""How a command says it failed: one line on stderr (naming the exit code), and the code returned."""

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
