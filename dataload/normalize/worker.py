"""A normalize worker process: ``python -m dataload.normalize.worker``.

Reads one pickled task from stdin — (chunk settings, chunks, schema as a dict) — normalizes those
chunks against its own copy of the schema and writes ``(True, (result, schema as a dict))`` to
stdout, or ``(False, error)`` when normalizing raised.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

from dataload.exceptions import NormalizeError
from dataload.normalize.step import normalize_chunks
from dataload.schema.model import Schema


def main() -> None:
    """Run the task on stdin and write its outcome to stdout."""
    settings, chunks, schema_dict = pickle.load(sys.stdin.buffer)
    schema = Schema.from_dict(schema_dict)
    outcome: tuple[bool, Any]
    try:
        outcome = (True, (normalize_chunks(settings, chunks, schema), schema.to_dict()))
    except Exception as error:  # handed to the parent, which raises it
        outcome = (False, error)
    try:
        payload = pickle.dumps(outcome)
    except Exception:  # an error that does not pickle: keep its text
        payload = pickle.dumps((False, NormalizeError(f"{type(outcome[1]).__name__}: {outcome[1]}")))
    sys.stdout.buffer.write(payload)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
