"""Results of pipeline steps, readable when printed."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StepInfo:
    """One step of one package: which step, how long, rows per table.

    >>> str(StepInfo("extract", "1.0", 0.5, {"users": 3}))
    'extract 1.0: 0.50 s, users: 3'
    """

    step: str
    load_id: str
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        counts = ", ".join(f"{t}: {n}" for t, n in self.rows.items())
        return f"{self.step} {self.load_id}: {self.seconds:.2f} s" + (f", {counts}" if counts else "")


@dataclass
class LoadInfo:
    """What a run (or a load) did: packages loaded, rows per table, schema changes and timings.

    ``resumed`` lists packages an earlier run left pending that this call loaded first.
    """

    pipeline_name: str
    destination: str
    dataset_name: str
    load_ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    schema_changes: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def has_data(self) -> bool:
        """True when at least one row was loaded."""
        return any(self.rows.values())

    def add_rows(self, rows: dict[str, int]) -> None:
        """Count rows of one more package."""
        for table, count in rows.items():
            self.rows[table] = self.rows.get(table, 0) + count

    def __str__(self) -> str:
        lines = [f"Pipeline {self.pipeline_name} loaded {len(self.load_ids)} package(s) into "
                 f"{self.destination} dataset {self.dataset_name} in {self.seconds:.2f} s"]
        if self.resumed:
            lines.append(f"  finished {len(self.resumed)} package(s) left pending by an earlier run: "
                         + ", ".join(self.resumed))
        for load_id in self.load_ids:
            lines.append(f"  load id {load_id}")
        for table, count in sorted(self.rows.items()):
            lines.append(f"  {table}: {count} row(s)")
        for change in self.schema_changes:
            lines.append(f"  schema: {change}")
        for load_id in self.failed:
            lines.append(f"  FAILED package {load_id} is kept on disk; see pipe.failed_packages()")
        return "\n".join(lines)


@dataclass
class Trace:
    """Per-step timings and row counts of the last run."""

    steps: list[StepInfo] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(step) for step in self.steps) or "(nothing ran)"
