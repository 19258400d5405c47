"""Limits that bound extraction memory and package size (a value object, importable without the heavy libraries)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BufferLimits:
    """When a table's buffer is written out: after ``segment_rows`` rows or ``segment_bytes`` bytes.

    When a run's package is sealed as a part, to be normalized and loaded while extraction goes on:
    once its files hold ``part_bytes`` bytes, or ``part_seconds`` after the part began (None: never).
    Parts are made only where they can be undone, see :mod:`dataload.streaming`.

    >>> BufferLimits().segment_rows, BufferLimits().part_seconds
    (50000, None)
    """

    segment_rows: int = 50_000
    segment_bytes: int = 64 * 1024 * 1024
    part_bytes: int | None = 256 * 1024 * 1024
    part_seconds: float | None = None
