"""Partitioned runs: each partition of a resource extracted and normalized as a task of its own
(threads, processes or a Dask cluster), the packages folded and loaded in order (docs/scale-out.md)."""
