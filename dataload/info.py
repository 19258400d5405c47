"""Results of pipeline steps, readable when printed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from dataload.package.manifest import Manifest


@dataclass
class StepInfo:
    """One step of one package: which step, how long, rows per table, and in how many processes.

    ``skipped`` counts, per resource, the ``None`` items the extraction skipped; ``counts``, per
    resource, the events its code counted with :func:`dataload.count` (retries, skipped rows, ...);
    ``retries`` (load): the cause of each retried attempt, credentials redacted (``attempts`` is
    one more);
    ``not_converted`` and ``truncated`` (normalize): per ``"table.column"``, values that did not
    convert to the column's type (they are in a variant column) and values cut to microseconds.

    >>> str(StepInfo("extract", "1.0", 0.5, {"users": 3}))
    'extract 1.0: 0.50 s, users: 3'
    >>> str(StepInfo("extract", "1.0", 0.5, {"users": 3}, counts={"users": {"http_retries": 2}}))
    'extract 1.0: 0.50 s, users: 3; users: http_retries: 2'
    >>> str(StepInfo("normalize", "1.0", 0.5, processes=2))
    'normalize 1.0: 0.50 s in 2 processes'
    >>> StepInfo.from_dict(StepInfo("load", "1.0", 0.5, {"users": 3}, retries=["timeout"]).asdict()).attempts
    2
    """

    step: str
    load_id: str
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    discarded: dict[str, int] = field(default_factory=dict)
    processes: int = 1
    skipped: dict[str, int] = field(default_factory=dict)
    not_converted: dict[str, int] = field(default_factory=dict)
    truncated: dict[str, int] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    retries: list[str] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        """How many tries the step took (more than 1: transient errors were retried)."""
        return len(self.retries) + 1

    def asdict(self) -> dict[str, Any]:
        """The step as JSON-serialisable data (read back with :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepInfo:
        """Read a step written by :meth:`asdict` (fields it lacks take their defaults, others are ignored)."""
        return cls(**{name: value for name, value in data.items() if name in _STEP_FIELDS})

    def __str__(self) -> str:
        counts = ", ".join(f"{t}: {n}" for t, n in self.rows.items())
        return (f"{self.step} {self.load_id}: {self.seconds:.2f} s"
                + (f" in {self.processes} processes" if self.processes > 1 else "")
                + (f" after {self.attempts} attempts" if self.attempts > 1 else "") + (f", {counts}" if counts else "")
                + _counted("discarded by contract", self.discarded)
                + _counted("skipped None items:", self.skipped)
                + _counted("not converted to the column type (in variant columns)", self.not_converted)
                + _counted("cut to microseconds", self.truncated)
                + "".join(_counted(f"{resource}:", events) for resource, events in self.counts.items())
                + "".join(f"; retried after: {cause}" for cause in self.retries))


_STEP_FIELDS = frozenset(f.name for f in fields(StepInfo))


def _counted(what: str, counts: dict[str, int]) -> str:
    listed = ", ".join(f"{name}: {n}" for name, n in counts.items())
    return f"; {what} {listed}" if listed else ""


@dataclass
class LoadInfo:
    """What a run (or a load) did: packages loaded, rows per table, schema changes and timings.

    ``resumed`` lists packages an earlier run left pending that this call loaded first. With no
    ``load_ids`` it prints "nothing to load" (no package was made, no load recorded).

    >>> LoadInfo("github", "duckdb", "github_data", load_ids=["1.0"], rows={"issues": 3}).asdict()["rows"]
    {'issues': 3}
    """

    pipeline_name: str
    destination: str
    dataset_name: str
    load_ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    schema_changes: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    discarded_rows: dict[str, int] = field(default_factory=dict)
    discarded_values: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def has_data(self) -> bool:
        """True when at least one row was loaded."""
        return any(self.rows.values())

    def asdict(self) -> dict[str, Any]:
        """What the run did as JSON-serialisable data (``json.dumps(info.asdict())``), ``has_data`` included."""
        return {**asdict(self), "has_data": self.has_data}

    def add_package(self, manifest: Manifest) -> None:
        """Count the rows, schema changes and contract discards of one more loaded package."""
        for target, counts in ((self.rows, manifest.rows), (self.discarded_rows, manifest.discarded_rows),
                               (self.discarded_values, manifest.discarded_values)):
            for table, count in counts.items():
                target[table] = target.get(table, 0) + count
        self.schema_changes.extend(manifest.schema_changes)

    def __str__(self) -> str:
        where = f"{self.destination} dataset {self.dataset_name}"
        lines = [f"Pipeline {self.pipeline_name} loaded {len(self.load_ids)} package(s) into {where} in "
                 f"{self.seconds:.2f} s" if self.load_ids else
                 f"Pipeline {self.pipeline_name}: nothing to load into {where} ({self.seconds:.2f} s)"]
        if self.resumed:
            lines.append(f"  finished {len(self.resumed)} package(s) left pending by an earlier run: "
                         + ", ".join(self.resumed))
        for load_id in self.load_ids:
            lines.append(f"  load id {load_id}")
        for table, count in sorted(self.rows.items()):
            lines.append(f"  {table}: {count} row(s)")
        for change in self.schema_changes:
            lines.append(f"  schema: {change}")
        for table, count in sorted(self.discarded_rows.items()):
            lines.append(f"  contract: discarded {count} row(s) of {table}")
        for table, count in sorted(self.discarded_values.items()):
            lines.append(f"  contract: discarded {count} value(s) in {table}")
        for load_id in self.failed:
            lines.append(f"  FAILED package {load_id} is kept on disk; see pipe.failed_packages()")
        return "\n".join(lines)


_RECORDED: ContextVar[list[LoadInfo] | None] = ContextVar("dataload_recorded_load_infos", default=None)


@contextmanager
def recorded_load_infos() -> Iterator[list[LoadInfo]]:
    """Within, every :class:`LoadInfo` a pipeline returns (``run``, ``load``, ``retry_failed``) is
    also appended to the list yielded: ``dataload run`` reads them to choose its exit code.

    >>> with recorded_load_infos() as infos:
    ...     _ = record(LoadInfo("shop", "duckdb", "shop_data"))
    >>> len(infos)
    1
    """
    infos: list[LoadInfo] = []
    token = _RECORDED.set(infos)
    try:
        yield infos
    finally:
        _RECORDED.reset(token)


def record(info: LoadInfo) -> LoadInfo:
    """Hand ``info`` to the innermost :func:`recorded_load_infos` block, if any; returns it."""
    infos = _RECORDED.get()
    if infos is not None:
        infos.append(info)
    return info


@dataclass
class Trace:
    """Per-step timings and row counts of the last run.

    ``started_at`` (ISO 8601, UTC) and ``seconds``: when the run started and how long it took;
    ``error``: why it stopped, if it failed. Every run saves it in the working dir
    (:mod:`dataload.run_trace`); ``dataload pipeline NAME trace`` prints it.

    >>> Trace.from_dict(Trace([StepInfo("load", "1.0", 0.5)], error="boom").asdict()).error
    'boom'
    """

    steps: list[StepInfo] = field(default_factory=list)
    started_at: str | None = None
    seconds: float = 0.0
    error: str | None = None

    def asdict(self) -> dict[str, Any]:
        """The trace as JSON-serialisable data (read back with :meth:`from_dict`)."""
        return {"started_at": self.started_at, "seconds": self.seconds, "error": self.error,
                "steps": [step.asdict() for step in self.steps]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """Read a trace written by :meth:`asdict`."""
        return cls([StepInfo.from_dict(step) for step in data.get("steps", [])], data.get("started_at"),
                   data.get("seconds", 0.0), data.get("error"))

    def record(self, step: StepInfo) -> None:
        """Add a finished step and log it at INFO on ``dataload.<step>`` (``dataload.extract``, ...)."""
        self.steps.append(step)
        logging.getLogger(f"dataload.{step.step}").info("%s", step)

    def __str__(self) -> str:
        return "\n".join(str(step) for step in self.steps) or "(nothing ran)"
