"""``dataload version``: print the installed version."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add ``version`` to the ``dataload`` command."""
    subparsers.add_parser("version", help="print the dataload version").set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the version."""
    from dataload import __version__

    print(__version__)
    return 0
