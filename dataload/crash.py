"""Named crash points: a testing aid that kills the process at a chosen line of the engine.

Set ``DATALOAD_CRASH_AT=<point>[:<n>]`` and the process kills itself with SIGKILL once it has
passed :func:`crash_point` with that name ``n`` times (default: once; a pass may count several, as
``extract.after_items`` counts the items of a page); tests use it to check that a run killed there
resumes. Destinations call it too (``load.after_job``), so a third-party destination can be killed
at the same points. The variable is read once, at import; unset, a crash point is a call
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


def armed(name: str) -> bool:
    """True when ``DATALOAD_CRASH_AT`` names ``name`` (to skip counting work for a point that is not set)."""
    return _TARGET is not None and _TARGET[0] == name


def crash_point(name: str, passes: int = 1) -> None:
    """Kill this process with SIGKILL here if ``DATALOAD_CRASH_AT`` names ``name`` and its count of
    passes (``passes`` more with this one) has reached n."""
    global _passes
    if _TARGET is None or _TARGET[0] != name:
        return
    _passes += passes
    if _passes >= _TARGET[1]:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
