"""The ``show`` action of ``dataload pipeline NAME``: serve the pipeline's pages until Ctrl-C."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from dataload.cli.actions import AddAction, open_pipeline

if TYPE_CHECKING:
    from dataload.facade import Pipeline

DEFAULT_PORT = 8765


def add_actions(add_action: AddAction) -> None:
    """Add ``show`` through ``add_action`` (see :mod:`dataload.cli.actions`)."""

    def run(args: argparse.Namespace) -> int:
        return serve(open_pipeline(args), args.port)

    show = add_action("show", help="serve a read-only web page of the pipeline on 127.0.0.1 (tables, columns, "
                                   "row counts, first rows, loads, last run) until Ctrl-C", handler=run)
    show.add_argument("--port", type=_port, default=DEFAULT_PORT,
                      help=f"the port on 127.0.0.1 (default {DEFAULT_PORT}; 0 takes a free one)")


def _port(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port: give a number from 0 to 65535")
    return int(value)


def serve(pipe: Pipeline, port: int) -> int:
    """Serve ``pipe``'s pages on ``127.0.0.1:port``, print the URL, and return 0 after Ctrl-C."""
    from dataload.cli.show.server import HOST, ShowServer
    from dataload.exceptions import InvalidConfig

    try:
        server = ShowServer(pipe, port=port)
    except OSError as error:
        problem = (f"cannot serve on {HOST}:{port}: {error.strerror or error}; choose another --port "
                   "(--port 0 takes a free one)")
    else:
        with server:
            print(f"Serving pipeline {pipe.pipeline_name} at {server.url} (Ctrl-C to stop)", flush=True)
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                print("stopped", flush=True)
        return 0
    raise InvalidConfig(problem)  # outside the handler: the socket's traceback adds nothing
