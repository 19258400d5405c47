"""What a ``dataload pipeline NAME ACTION`` handler is, and what handlers use.

An action module exposes ``add_actions(add_action)`` and calls ``add_action(name, help=..., handler=...)``
for each of its actions (it returns the action's parser, for its own arguments); a handler takes the
parsed arguments (``args.name``, ``args.pipelines_dir`` and the action's own) and returns the exit
code. Action modules import this module, not :mod:`dataload.cli.pipeline_commands`, which imports them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataload.cli.local_pipeline import LocalPipeline
    from dataload.facade import Pipeline

Handler = Callable[[argparse.Namespace], int]
"""Runs one action with the parsed arguments; returns the exit code."""

AddAction = Callable[..., argparse.ArgumentParser]
"""``add_action(name, *, help, handler)``: adds an action under ``dataload pipeline NAME``."""


def open_pipeline(args: argparse.Namespace) -> Pipeline:
    """The pipeline ``args.name`` in ``args.pipelines_dir``, reopened with its stored destination."""
    import dataload

    return dataload.attach(args.name, pipelines_dir=args.pipelines_dir)


def open_local(args: argparse.Namespace) -> LocalPipeline:
    """The working dir of pipeline ``args.name`` in ``args.pipelines_dir``, read without the destination."""
    from dataload.cli.local_pipeline import LocalPipeline

    return LocalPipeline.open(args.name, args.pipelines_dir)


def fail(message: str) -> int:
    """Print ``message`` as the command's one-line error; returns the exit code of a refused command."""
    print(f"error: {message}", file=sys.stderr)
    return 1
