"""Byte storage under the filesystem destination's bucket: a local folder, or any fsspec URL.

Paths are relative to the bucket and use ``/``. Local writes go to a hidden temporary file in
the target folder that is renamed into place when complete, so a reader never sees half a file.
fsspec writes go straight to the final name: object stores (s3, gcs, azure) publish an object
only when its upload completes; other fsspec filesystems write in place.
"""

from __future__ import annotations

import importlib
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from dataload.exceptions import InvalidConfig


class LocalStorage:
    """Files in a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, rel: str) -> Path:
        return self.root.joinpath(*rel.split("/"))

    def url(self, rel: str) -> str:
        """The name DuckDB reads ``rel`` by."""
        return str(self._path(rel))

    @contextmanager
    def open_write(self, rel: str) -> Iterator[BinaryIO]:
        """Write ``rel`` atomically: a temporary file renamed into place when the block ends."""
        target = self._path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
        try:
            with open(temporary, "wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)

    def read(self, rel: str) -> bytes:
        """The content of ``rel``."""
        return self._path(rel).read_bytes()

    def exists(self, rel: str) -> bool:
        """True when the file ``rel`` exists."""
        return self._path(rel).is_file()

    def find(self, rel_dir: str) -> list[str]:
        """Every file under ``rel_dir`` (recursively), hidden temporary files left out."""
        base = self._path(rel_dir)
        found: list[str] = []
        for folder, _, names in os.walk(base):
            prefix = Path(folder).relative_to(self.root).as_posix()
            found.extend(f"{prefix}/{name}" for name in names if not name.startswith("."))
        return sorted(found)

    def delete(self, rel: str) -> None:
        """Remove the file ``rel`` (gone already is fine)."""
        self._path(rel).unlink(missing_ok=True)

    def remove_tree(self, rel_dir: str) -> None:
        """Remove the folder ``rel_dir`` with everything in it."""
        shutil.rmtree(self._path(rel_dir), ignore_errors=True)

    def register(self, connection: Any) -> None:
        """Let a DuckDB connection read these files (local files need nothing)."""

    def __str__(self) -> str:
        return str(self.root)


class FsspecStorage:
    """Files on any fsspec filesystem (``s3://``, ``gs://``, ``memory://``, ...)."""

    def __init__(self, filesystem: Any, root: str) -> None:
        self.fs, self.root = filesystem, root.rstrip("/")
        protocol = filesystem.protocol
        self.protocol = protocol if isinstance(protocol, str) else protocol[0]

    def _path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def url(self, rel: str) -> str:
        """The name DuckDB reads ``rel`` by (the filesystem is registered with the connection)."""
        return f"{self.protocol}://{self._path(rel).lstrip('/')}"

    @contextmanager
    def open_write(self, rel: str) -> Iterator[BinaryIO]:
        """Write ``rel``; the object appears when the upload completes."""
        path = self._path(rel)
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with self.fs.open(path, "wb") as out:
            yield out

    def read(self, rel: str) -> bytes:
        """The content of ``rel``."""
        return self.fs.cat_file(self._path(rel))  # type: ignore[no-any-return]

    def exists(self, rel: str) -> bool:
        """True when the file ``rel`` exists."""
        return bool(self.fs.isfile(self._path(rel)))

    def find(self, rel_dir: str) -> list[str]:
        """Every file under ``rel_dir`` (recursively)."""
        base = self._path(rel_dir)
        if not self.fs.exists(base):
            return []
        start = len(self.root.lstrip("/")) + 1
        found = [p.lstrip("/")[start:] for p in self.fs.find(base)]
        return sorted(p for p in found if not p.rsplit("/", 1)[-1].startswith("."))

    def delete(self, rel: str) -> None:
        """Remove the file ``rel`` (gone already is fine)."""
        path = self._path(rel)
        if self.fs.exists(path):
            self.fs.rm_file(path)

    def remove_tree(self, rel_dir: str) -> None:
        """Remove the folder ``rel_dir`` with everything in it."""
        path = self._path(rel_dir)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def register(self, connection: Any) -> None:
        """Register the filesystem with a DuckDB connection so ``read_parquet`` etc. reach it."""
        connection.register_filesystem(self.fs)

    def __str__(self) -> str:
        return self.url("")


Storage = LocalStorage | FsspecStorage


def local_root(bucket_url: str | os.PathLike[str]) -> Path | None:
    """The local folder of a path or ``file://`` URL; None for any other URL."""
    text = os.fspath(bucket_url)
    if "://" not in text:
        return Path(text).expanduser().resolve()
    parts = urlsplit(text)
    if parts.scheme != "file":
        return None
    if parts.netloc not in ("", "localhost"):
        raise InvalidConfig(f"file URL {text!r} names a host; use file:///absolute/path")
    return Path(unquote(parts.path)).resolve()


def open_storage(bucket_url: str | os.PathLike[str], options: Mapping[str, Any] | None) -> Storage:
    """The storage for ``bucket_url``: local for a path or ``file://``, fsspec for other URLs."""
    root = local_root(bucket_url)
    if root is not None:
        return LocalStorage(root)
    fsspec = importlib.import_module("fsspec")
    filesystem, path = fsspec.core.url_to_fs(os.fspath(bucket_url), **dict(options or {}))
    return FsspecStorage(filesystem, path)
