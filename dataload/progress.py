"""Progress of a running pipeline: items per resource, rows per table and throughput, while it runs.

``dataload.pipeline(..., progress="log" | "tqdm" | "rich")``, or ``RUNTIME__PROGRESS`` (``progress``
under ``[runtime]`` in ``.dataload/config.toml``); ``None`` (the default) reports nothing. The
stages call a :class:`Progress` at page (extract), chunk (normalize) and job (load: each table
with its children, or each file, as the destination writes it) granularity, never per row, and
only when one is set, so progress off costs nothing.

* ``log``: a line on the ``dataload.progress`` logger (INFO) at most every
  ``runtime.progress_interval`` seconds (default 5) while a step runs, and one when it ends;
* ``tqdm`` (``pip install "dataload[tqdm]"``) and ``rich`` (``pip install "dataload[rich]"``):
  one live counter per resource or table on stderr.

>>> progress = new_progress("log", interval=60)
>>> progress.begin("extract", "1.0"); progress.add("users", 500); progress.add("users", 250)
>>> progress.counts
{'users': 750}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, Union

from dataload.configuration import NOT_FOUND, lookup
from dataload.configuration.resolve import coerce_value
from dataload.exceptions import InvalidConfig, MissingDependencyError

ProgressArg = Union[Literal["log", "tqdm", "rich"], None]
KINDS = ("log", "tqdm", "rich")
DEFAULT_INTERVAL = 5.0
logger = logging.getLogger("dataload.progress")

_UNIT = {"extract": "items", "normalize": "rows", "load": "rows"}


class Progress:
    """Counts of the step running now (per resource in extract, per table after), reported by a subclass."""

    def __init__(self) -> None:
        self.step = ""
        self.load_id = ""
        self.counts: dict[str, int] = {}
        self.started = time.perf_counter()

    def begin(self, step: str, load_id: str) -> None:
        """A step of one package starts: counts start from zero."""
        self.step, self.load_id, self.counts, self.started = step, load_id, {}, time.perf_counter()

    def add(self, name: str, count: int) -> None:
        """``count`` more items of resource ``name`` (extract) or rows of table ``name`` (normalize, load)."""
        self.counts[name] = self.counts.get(name, 0) + count
        self._show(name, count)

    def end(self) -> None:
        """The step ended (also when it failed)."""

    def beside(self) -> Progress | None:
        """A report of the same kind for steps another thread runs at the same time (a streamed run's
        parts), or None where two cannot share the terminal (tqdm, rich)."""
        return None

    def _show(self, name: str, count: int) -> None:
        """Show the new counts."""

    def summary(self) -> str:
        """``extract 1.0: users 750 items (1,500/s), ...`` for the counts so far.

        >>> progress = Progress()
        >>> progress.begin("normalize", "1.0"); progress.counts = {"users": 3}
        >>> progress.summary().startswith("normalize 1.0: users 3 rows (")
        True
        """
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        unit = _UNIT.get(self.step, "items")
        counts = ", ".join(f"{name} {count:,} {unit} ({count / elapsed:,.0f}/s)" for name, count in self.counts.items())
        return f"{self.step} {self.load_id}: {counts or 'nothing yet'} after {elapsed:.1f} s"


class LogProgress(Progress):
    """A line on the ``dataload.progress`` logger at most every ``interval`` seconds, and one at each step's end."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        self.interval = interval
        self._last = 0.0

    def begin(self, step: str, load_id: str) -> None:
        """Start counting a step; the first line comes after ``interval`` seconds."""
        super().begin(step, load_id)
        self._last = self.started

    def _show(self, name: str, count: int) -> None:
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            logger.info("%s", self.summary())

    def end(self) -> None:
        """Log the step's totals."""
        if self.counts:
            logger.info("%s (done)", self.summary())

    def beside(self) -> Progress:
        """Another log report with the same interval: its lines name their own step and package."""
        return LogProgress(self.interval)


class TqdmProgress(Progress):
    """One tqdm counter per resource or table, on stderr."""

    def __init__(self) -> None:
        super().__init__()
        try:
            from tqdm import tqdm
        except ImportError:
            raise MissingDependencyError('progress="tqdm"', "tqdm", "tqdm") from None
        self._new_bar = tqdm
        self._bars: dict[str, Any] = {}

    def _show(self, name: str, count: int) -> None:
        bar = self._bars.get(name)
        if bar is None:
            bar = self._bars[name] = self._new_bar(desc=f"{self.step} {name}", unit=f" {_UNIT[self.step]}",
                                                   unit_scale=True, leave=True)
        bar.update(count)

    def end(self) -> None:
        """Close the step's counters."""
        for bar in self._bars.values():
            bar.close()
        self._bars = {}


class RichProgress(Progress):
    """One rich progress line per resource or table, on stderr."""

    def __init__(self) -> None:
        super().__init__()
        try:
            import rich.console
            import rich.progress
        except ImportError:
            raise MissingDependencyError('progress="rich"', "rich", "rich") from None
        self._rich = rich.progress
        self._console = rich.console.Console(stderr=True)
        self._live: Any = None
        self._tasks: dict[str, Any] = {}

    def _show(self, name: str, count: int) -> None:
        if self._live is None:
            columns = (self._rich.TextColumn("{task.description}"), self._rich.TextColumn("{task.completed:,.0f}"),
                       self._rich.TextColumn(_UNIT[self.step]), self._rich.TimeElapsedColumn())
            self._live = self._rich.Progress(*columns, console=self._console, transient=False)
            self._live.start()
        task = self._tasks.get(name)
        if task is None:
            task = self._tasks[name] = self._live.add_task(f"{self.step} {name}", total=None)
        self._live.update(task, advance=count)

    def end(self) -> None:
        """Stop the step's display."""
        if self._live is not None:
            self._live.stop()
        self._live, self._tasks = None, {}


@contextmanager
def step_of(progress: Progress | None, step: str, load_id: str) -> Iterator[Progress | None]:
    """Report one step of one package to ``progress`` (nothing when it is None), ending it however the block ends."""
    if progress is None:
        yield None
        return
    progress.begin(step, load_id)
    try:
        yield progress
    finally:
        progress.end()


def check_progress(progress: ProgressArg) -> ProgressArg:
    """``progress`` if it is one of ``log``, ``tqdm``, ``rich`` or None; else ``InvalidConfig``.

    >>> check_progress("log")
    'log'
    """
    if progress is not None and progress not in KINDS:
        raise InvalidConfig(f"progress {progress!r} is not one of {', '.join(KINDS)} (or None for no progress)")
    return progress


def new_progress(progress: ProgressArg, *, interval: float | None = None) -> Progress | None:
    """The reporter for ``progress``; when None, the ``runtime.progress`` setting's (None: progress is off).

    ``interval`` (log): seconds between lines, default ``runtime.progress_interval`` or 5.
    """
    kind = progress if progress is not None else _configured("progress", str)
    if kind is None:
        return None
    check_progress(kind)
    if kind == "tqdm":
        return TqdmProgress()
    if kind == "rich":
        return RichProgress()
    if interval is None:
        interval = _configured("progress_interval", float)
    return LogProgress(DEFAULT_INTERVAL if interval is None else interval)


def _configured(name: str, kind: type) -> Any:
    value = lookup(("runtime",), name)
    if value is NOT_FOUND or value in ("", None):
        return None
    try:
        return coerce_value(value, kind)
    except ValueError:
        raise InvalidConfig(f"runtime.{name} must be a {kind.__name__}, got {value!r}") from None
