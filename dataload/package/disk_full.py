"""A package write that fails for lack of room: one line naming the step, the package and the file.

The writers of package files (extract segments, load files, manifests) wrap each write in
:func:`naming_the_file`, because pyarrow's errors and a failed ``write()`` do not say which file
they were writing; the extract and normalize stages wrap the whole package in
:func:`out_of_room_stops`, which turns "no space left on device" (``ENOSPC``), "file too large"
(``EFBIG``: a file-size limit) and "disk quota exceeded" (``EDQUOT``) into::

    OSError: [Errno 28] extract of package 1796220296.933639 stopped, no space left on device: '<file>'

It stays an ``OSError``, so the package is not failed: it is left pending (normalize) or not kept
(extract), and the next run with room finishes it (see ``docs/reliability.md``).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OUT_OF_ROOM = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


@contextmanager
def naming_the_file(path: str | Path) -> Iterator[None]:
    """Give an ``OSError`` raised inside while writing ``path`` that file name, if it has none.

    >>> with naming_the_file("/packages/x/000000.segment"):
    ...     raise OSError(errno.EFBIG, "Error writing bytes to file. Detail: [errno 27] File too large")
    Traceback (most recent call last):
    OSError: [Errno 27] File too large: '/packages/x/000000.segment'
    """
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, os.strerror(error.errno), str(path)) from None


@contextmanager
def out_of_room_stops(step: str, load_id: str) -> Iterator[None]:
    """Reword an out-of-room ``OSError`` raised inside ``step`` of package ``load_id`` (see the module)."""
    try:
        yield
    except OSError as error:
        if error.errno not in OUT_OF_ROOM:
            raise
        reason = os.strerror(error.errno).lower()
        raise OSError(error.errno, f"{step} of package {load_id} stopped, {reason}", error.filename) from None
