"""Workload registry for the benchmark suite.

A workload is a :class:`Workload` entry in :data:`REGISTRY`. Adding one means
writing one small module with four functions and one registry line:

* ``build_input(rows, seed)`` -> any picklable object; deterministic for a seed.
  Called once per (workload, rows, seed, input_version); the result is cached
  on disk under ``benchmarks/.cache/`` and loaded by every measurement process.
* ``run_ours(inp, workdir)`` -> handle: the timed work done with dataload.
* ``run_reference(inp, workdir)`` -> handle: the same work done by the engine
  with no library in between (timed the same way, in the same run).
* ``verify(mode, inp, workdir, handle)`` -> rows found in the destination;
  raises :class:`VerificationError` when they are not what the input holds.
  Runs after the timed region.

Optional: ``setup(mode, inp, workdir)`` for untimed preparation (e.g. the first
merge load of W6; it runs in its own process before each measurement, so it adds
neither time nor peak RSS to it), ``unavailable()`` returning a reason string when the
workload cannot run here (e.g. no PostgreSQL server), so it is skipped,
``timed_rows(rows)`` when the timed run handles fewer rows than the size (W6 merges
10 % of its table: the table shows and verifies that many), ``scale_of(rows)`` for a
memory-scale workload (W7, W7PG, W9, W10: ours runs at ``scale_of(rows)`` and at ``rows``,
there is no reference process, and the table reports the ratio of the two peak RSS values),
``note``, a line printed under the table when its columns read differently (W11),
``serve(inp)``, a context manager the measuring process enters before the timed run and leaves
after it (also when it fails): it starts what the run talks to and yields the input the run and
``verify`` get (W8: an HTTP server in a process of its own, its URL added to the input), and
``preload``, modules both sides import before the timed region (W8: httpx),
``prepare(rows)``, a context manager ``run.py`` enters once per size before the first measurement
that needs it and leaves when the run ends (shared by workloads with the same ``prepare``): it builds
what every measurement reads (W5: the PostgreSQL source table, dropped after) and yields environment
variables for the measurement processes (W5: where the table is), ``small_of(rows)``: ours also runs
at that size (no reference), and a note shows its peak RSS beside the one at ``rows`` (W5), and
``label``, the name shown in the table when it differs from ``name`` (``W5 native``), and
``run_reference2(inp, workdir)`` with ``reference2``, a second reference where issue 19 defines the
workload's reference differently from ours (W1: DuckDB ``read_json`` of the rows as JSONL; W4: one
psycopg ``COPY`` of the rows): measured like the first, alternating with it, ``verify``-ed with mode
``"reference2"``, shown as the columns ``ref2 seconds`` and ``ours/ref2``; ``reference2`` says in a
few words what it is (a note under the table).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

BENCH_DIR = Path(__file__).resolve().parent.parent
CACHE_DIR = BENCH_DIR / ".cache"
SEED = 20240501


class VerificationError(AssertionError):
    """Raised when a destination does not hold what the workload loaded."""


def no_reference(inp: Any, workdir: Path) -> Any:
    """``run_reference`` of a memory-scale workload: it compares two sizes of ours, never calls this."""
    raise NotImplementedError("a memory-scale workload compares two sizes of ours; it has no reference run")


def _no_setup(mode: str, inp: Any, workdir: Path) -> None:
    return None


def _always_available() -> Optional[str]:
    return None


def _all_rows(rows: int) -> int:
    return rows


class Workload(NamedTuple):
    """One benchmark workload: how to build its input, run it both ways and verify it."""

    name: str
    title: str
    default_rows: int
    quick_rows: int
    build_input: Callable[[int, int], Any]
    run_ours: Callable[[Any, Path], Any]
    run_reference: Callable[[Any, Path], Any]
    verify: Callable[[str, Any, Path, Any], int]
    input_version: int = 1
    setup: Callable[[str, Any, Path], None] = _no_setup
    unavailable: Callable[[], Optional[str]] = _always_available
    timed_rows: Callable[[int], int] = _all_rows
    scale_of: Optional[Callable[[int], int]] = None
    note: str = ""
    serve: Callable[[Any], AbstractContextManager[Any]] = nullcontext
    preload: tuple[str, ...] = ()
    prepare: Optional[Callable[[int], AbstractContextManager[dict[str, str]]]] = None
    small_of: Optional[Callable[[int], int]] = None
    label: str = ""
    run_reference2: Optional[Callable[[Any, Path], Any]] = None
    reference2: str = ""

    @property
    def display(self) -> str:
        """The name shown in the results table (``label``, or ``name``)."""
        return self.label or self.name

    @property
    def modes(self) -> tuple[str, ...]:
        """The sides measured against each other, in the order one repeat runs them."""
        return ("reference", "ours") + (("reference2",) if self.run_reference2 is not None else ())

    def runner(self, mode: str) -> Callable[[Any, Path], Any]:
        """The timed function of ``mode`` (``ours``, ``reference`` or ``reference2``)."""
        run = {"ours": self.run_ours, "reference": self.run_reference, "reference2": self.run_reference2}[mode]
        if run is None:
            raise ValueError(f"{self.name} has no second reference (run_reference2)")
        return run

    @property
    def has_setup(self) -> bool:
        """Whether the workload prepares something (untimed) before each measurement."""
        return self.setup is not _no_setup

    @property
    def env_var(self) -> str:
        """Environment variable that overrides the row count, e.g. ``DATALOAD_BENCH_W1_ROWS``."""
        return f"DATALOAD_BENCH_{self.name}_ROWS"

    def rows(self, quick: bool) -> int:
        """Row count to use: the env var wins, then ``--quick``, then the default."""
        value = os.environ.get(self.env_var)
        if value:
            return int(value.replace("_", ""))
        return self.quick_rows if quick else self.default_rows

    def cache_path(self, rows: int, seed: int = SEED) -> Path:
        """Where the generated input for ``rows`` is cached."""
        return CACHE_DIR / "inputs" / f"{self.name}-{rows}-seed{seed}-v{self.input_version}.pickle"


def _registry() -> dict[str, Workload]:
    from . import w1, w2, w3, w4, w5, w6, w7, w7pg, w8, w9, w10, w11, w12, w13

    return {w.name: w for w in (w1.WORKLOAD, w2.WORKLOAD, w3.WORKLOAD, w4.WORKLOAD, *w5.WORKLOADS, w6.WORKLOAD,
                                w7.WORKLOAD, w7pg.WORKLOAD, w8.WORKLOAD, w9.WORKLOAD, w10.WORKLOAD, w11.WORKLOAD,
                                w12.WORKLOAD, *w13.WORKLOADS)}


REGISTRY: dict[str, Workload] = _registry()
