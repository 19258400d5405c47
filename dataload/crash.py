"""Named crash points: a testing aid that kills the process at a chosen line of the engine.

Set ``DATALOAD_CRASH_AT=<point>[:<n>]`` and the process kills itself with SIGKILL the ``n``-th time
(default: the first) it passes :func:`crash_point` with that name; tests use it to check that a
run killed there resumes. The variable is read once, at import; unset, a crash point is a call
that returns at once. The points are listed in ``docs/reliability.md``.

>>> crash_point("normalize.after_move")  # DATALOAD_CRASH_AT unset: nothing happens
"""

from __future__ import annotations

import os
import signal
import sys


def _parse(setting: str | None) -> tuple[str, int] | None:
    """``"point:3"`` → ``("point", 3)``; ``"point"`` → ``("point", 1)``; unset or empty → None."""
    if not setting:
        return None
    point, _, count = setting.rpartition(":")
    if point and count.isdigit():
        return point, int(count)
    return setting, 1


_TARGET = _parse(os.environ.get("DATALOAD_CRASH_AT"))
_passes = 0


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL here if ``DATALOAD_CRASH_AT`` names ``name`` (and this is its n-th pass)."""
    global _passes
    if _TARGET is None or _TARGET[0] != name:
        return
    _passes += 1
    if _passes == _TARGET[1]:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
