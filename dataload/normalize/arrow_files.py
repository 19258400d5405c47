"""Arrow load files: the columns normalization left untouched are not written a second time.

For a destination that reads Arrow (``"arrow"`` in its file formats), a chunk that was extracted
as Arrow and made no child tables keeps its untouched columns in the extracted file: the file is
hard-linked into the package (a copy where links are not possible), and only the columns that
normalization made or changed (``_dl_id``, casts, nulled values, variants) are written to a small
Arrow file beside it. "Untouched" is decided by memory, not by value: the fitted column is the
extracted file's column itself. ``_dl_load_id`` is the same in every row and is left to the
destination. :meth:`dataload.protocol.PackageFile.read_arrow` puts the two files together.

Whether a package gets Arrow load files is :func:`arrow_load_files`: the destination lists
``"arrow"`` and the user did not ask for Parquet (``NORMALIZE__FILE_FORMAT=parquet``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataload.configuration import NOT_FOUND, lookup
from dataload.exceptions import InvalidConfig
from dataload.package.disk_full import naming_the_file
from dataload.protocol import Capabilities

ARROW_FORMAT = "arrow"
EXTRACTED_NAME = "extracted.arrows"
LOAD_FILE_FORMATS = (ARROW_FORMAT, "parquet")
"""The load file formats normalize writes."""


def arrow_load_files(capabilities: Capabilities) -> bool:
    """True when normalize may write ``arrow`` load files for a destination with ``capabilities``.

    The destination's file formats decide, unless ``file_format`` under ``[normalize]``
    (``NORMALIZE__FILE_FORMAT``) names one of :data:`LOAD_FILE_FORMATS`: ``"parquet"`` then makes
    every load file Parquet, ``"arrow"`` is refused for a destination that does not read it.

    >>> arrow_load_files(Capabilities(file_formats=("parquet",)))
    False
    """
    offered = ARROW_FORMAT in capabilities.file_formats
    chosen = lookup(("normalize",), "file_format")
    if chosen is NOT_FOUND:
        return offered
    if chosen not in LOAD_FILE_FORMATS:
        raise InvalidConfig(f"normalize.file_format must be one of {', '.join(LOAD_FILE_FORMATS)}, got {chosen!r}")
    if chosen == ARROW_FORMAT and not offered:
        raise InvalidConfig(f"normalize.file_format is 'arrow', but the destination reads only "
                            f"{', '.join(capabilities.file_formats)} load files; unset it or choose 'parquet'")
    return bool(chosen == ARROW_FORMAT)


def reused_columns(fitted: pa.Table, extracted: pa.Table) -> dict[str, str]:
    """Columns of ``fitted`` whose data *is* a column of ``extracted``: fitted name -> extracted name."""
    by_memory = {_memory(column): name for name, column in zip(extracted.column_names, extracted.columns)}
    by_memory.pop(None, None)
    found = {}
    for name, column in zip(fitted.column_names, fitted.columns):
        source = by_memory.get(_memory(column))
        if source is not None:
            found[name] = source
    return found


def write_arrow_load_file(fitted: pa.Table, reused: dict[str, str], extracted_file: Path, folder: Path,
                          columns: list[str]) -> dict[str, Any]:
    """Link the extracted file into ``folder``, write the other columns; the file's package entry (paths in ``folder``).

    ``columns`` are the file's columns in table order, ``_dl_load_id`` included.
    """
    import pyarrow.ipc as ipc

    base = folder / EXTRACTED_NAME
    try:
        os.link(extracted_file, base)
    except OSError:  # no hard links here (another file system, Windows shares): a copy
        with naming_the_file(base):
            shutil.copyfile(extracted_file, base)
    written = fitted.drop_columns(list(reused))
    path = folder / "written.arrow"
    with naming_the_file(path), pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, written.schema) as writer:
        writer.write_table(written)
    return {"format": ARROW_FORMAT, "path": path, "base": base, "base_columns": reused, "columns": columns}


def _memory(column: pa.ChunkedArray) -> tuple[Any, ...] | None:
    """Where a one-chunk column's data lies (type, offset, length, buffers); None if it has no data buffers."""
    if column.num_chunks != 1:
        return None
    array = column.chunk(0)
    buffers = tuple(None if b is None else (b.address, b.size) for b in array.buffers())
    if all(b is None for b in buffers):
        return None
    return str(array.type), array.offset, len(array), buffers
