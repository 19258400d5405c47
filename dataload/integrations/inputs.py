"""What the integrations accept: a source or a function making one, a pipeline or a function making one.

A function is called where the orchestrator runs the work (a worker may be another process, or
another machine, than the one that defined the DAG or the assets), so nothing made at definition
time has to travel.
"""

from __future__ import annotations

from collections.abc import Callable

from dataload._source import Source
from dataload.facade import Pipeline

SourceArg = Source | Callable[[], Source]
"""A source, or a function returning one (called once to list its resources, and again for each run)."""
PipelineArg = Pipeline | Callable[[], Pipeline]
"""A pipeline, or a function returning one (called for each run)."""


def call_source(source: SourceArg) -> Source:
    """The source itself, or what the function returns."""
    return source if isinstance(source, Source) else source()


def open_pipeline(pipeline: PipelineArg) -> Pipeline:
    """The pipeline itself, or what the function returns."""
    return pipeline if isinstance(pipeline, Pipeline) else pipeline()
