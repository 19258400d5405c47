"""Partitions: the slices a resource splits into, so each can be extracted as a task of its own.

A resource declares its split with :meth:`~dataload.Resource.partition_by`: a *plan*, a function
that returns the keyword arguments of each slice (picklable and JSON-able values: numbers, text,
dates, lists of them). :meth:`~dataload.Resource.partitions` turns the plan into
:class:`Partition` descriptors and :meth:`~dataload.Resource.for_partition` builds the resource
restricted to one of them, by calling its function with those arguments on top of the ones it
was given. ``pipe.run(source, executor=...)`` runs each partition as a task (see
``docs/scale-out.md``); the plan it used is recorded in the pipeline's working dir, so a run that
failed is re-run on the same partitions.

>>> import dataload
>>> @dataload.resource
... def numbers(low=0, high=10):
...     yield from ({"n": n} for n in range(low, high))
>>> split = numbers().partition_by(lambda: [{"low": 0, "high": 5}, {"low": 5, "high": 10}])
>>> [p.label for p in split.partitions()]
['numbers[0] low=0 high=5', 'numbers[1] low=5 high=10']
>>> [row["n"] for row in split.for_partition(split.partitions()[1])]
[5, 6, 7, 8, 9]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

PartitionPlan = Callable[[], Sequence[dict[str, Any]]]
"""A function returning one dict of keyword arguments per partition, in a fixed order."""


@dataclass(frozen=True)
class Partition:
    """One slice of a resource: its position in the resource's plan and the arguments that restrict it.

    An empty ``arguments`` is the whole resource (a resource that declares no split).

    >>> Partition("orders", 2, {"low": 100, "high": 200}).label
    'orders[2] low=100 high=200'
    """

    resource: str
    index: int
    arguments: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A readable name for messages and logs: the resource, the index and the arguments."""
        shown = " ".join(f"{name}={_short(value)}" for name, value in self.arguments.items())
        return f"{self.resource}[{self.index}]" + (f" {shown}" if shown else "")

    def to_dict(self) -> dict[str, Any]:
        """The partition as plain data (how a run records its plan)."""
        return {"resource": self.resource, "index": self.index, "arguments": self.arguments}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Partition:
        """Read a partition written by :meth:`to_dict`."""
        return cls(data["resource"], int(data["index"]), dict(data["arguments"]))


def _short(value: Any) -> str:
    if isinstance(value, (list, tuple)) and len(value) > 3:
        return f"[{_short(value[0])}, ... {len(value)} values]"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
