"""Limits that bound extraction memory (a value object, importable without the heavy libraries)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BufferLimits:
    """When a table's buffer is written out: after ``segment_rows`` rows or ``segment_bytes`` bytes.

    >>> BufferLimits().segment_rows
    50000
    """

    segment_rows: int = 50_000
    segment_bytes: int = 64 * 1024 * 1024
