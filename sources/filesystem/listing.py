"""The file listing: one item per file under a local folder or an fsspec URL that matches a glob.

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_text("id\\n1\\n")
>>> [(f["relative_path"], f["size"], f["mime_type"]) for f in filesystem(str(folder))]
[('a.csv', 5, 'text/csv')]
"""

from __future__ import annotations

import datetime
import importlib
import mimetypes
import os
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import dataload
from dataload import Incremental, Resource

FileItem = dict[str, Any]
"""One listed file: ``url``, ``name``, ``relative_path``, ``size``, ``modification_date`` (aware UTC), ``mime_type``."""

_PAGE_SIZE = 100
_MIME_TYPES = {".parquet": "application/vnd.apache.parquet", ".jsonl": "application/jsonl",
               ".ndjson": "application/jsonl"}
_COMPRESSED = {".gz", ".gzip", ".bz2", ".zst", ".zstd"}


def filesystem(
    bucket_url: str | None = None,
    file_glob: str = "**/*.csv",
    *,
    name: str = "filesystem",
    incremental: Incremental | None = None,
    partitions: int | None = None,
) -> Resource:
    """A resource listing the files under ``bucket_url`` whose path relative to it matches ``file_glob``.

    ``bucket_url`` is a local folder (a path or a ``file://`` URL) or any fsspec URL
    (``memory://``, ``s3://``, ...: fsspec and the filesystem's package must be installed); when it
    is not given it is read from config (``SOURCES__FILESYSTEM__BUCKET_URL``). ``**`` in the glob
    matches any number of folders, none included. The primary key is ``url``. Pass
    ``incremental=dataload.incremental("modification_date")`` to list only files new or changed
    since the last run. Files are listed in order of their relative path, in pages of 100.

    ``partitions=N`` splits the listing into N groups of consecutive files (by relative path) for
    partitioned runs (``pipe.run(..., executor=...)``, see docs/scale-out.md); a reader fed by it
    (``read_csv(filesystem(...))``) is split the same way.
    """
    listing = dataload.resource(_list_files, name=name, primary_key="url")
    arguments: dict[str, Any] = {"file_glob": file_glob, "incremental": incremental}
    if bucket_url is not None:
        arguments["bucket_url"] = bucket_url
    if partitions is None:
        return listing(**arguments)
    if not isinstance(partitions, int) or partitions < 1:
        raise dataload.InvalidConfig(f"filesystem {name!r}: partitions must be a whole number >= 1, not {partitions!r}")
    if bucket_url is None:
        raise dataload.InvalidConfig(f"filesystem {name!r}: partitions= needs bucket_url= (the files are listed "
                                     "when the partitions are planned)")
    return listing(**arguments).partition_by(lambda: file_groups(bucket_url, file_glob, partitions))


def file_groups(bucket_url: str, file_glob: str, partitions: int) -> list[dict[str, Any]]:
    """The partition arguments of the listing: ``partitions`` groups of consecutive files (fewer
    when there are fewer files), each as ``{"relative_paths": [...]}``."""
    paths = [item["relative_path"] for item in _files(bucket_url, file_glob)]
    count = max(1, min(partitions, len(paths)))
    size, extra = divmod(len(paths), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append({"relative_paths": paths[start:end]})
        start = end
    return groups


def _list_files(
    bucket_url: str = dataload.config.value,
    file_glob: str = "**/*.csv",
    incremental: Incremental | None = None,
    relative_paths: list[str] | None = None,
) -> Iterator[list[FileItem]]:
    """The listing's generator: pages of file items (``incremental`` is applied by the engine);
    only those at ``relative_paths`` when given (one partition)."""
    files = _files(bucket_url, file_glob)
    if relative_paths is not None:
        wanted = set(relative_paths)
        files = (item for item in files if item["relative_path"] in wanted)
    page: list[FileItem] = []
    for item in files:
        page.append(item)
        if len(page) == _PAGE_SIZE:
            yield page
            page = []
    if page:
        yield page


def _files(bucket_url: str, file_glob: str) -> Iterator[FileItem]:
    return _local_files(bucket_url, file_glob) if is_local(bucket_url) else _remote_files(bucket_url, file_glob)


def is_local(url: str) -> bool:
    """True for a local path or a ``file://`` URL (a Windows drive letter is not a scheme)."""
    scheme = urllib.parse.urlsplit(url).scheme
    return scheme in ("", "file") or len(scheme) == 1


def local_path(url: str) -> Path:
    """The local path of a path or ``file://`` URL."""
    if url.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    return Path(url)


def _local_files(bucket_url: str, file_glob: str) -> Iterator[FileItem]:
    root = local_path(bucket_url).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"bucket_url {bucket_url!r} is not a folder")
    for path in sorted(p for p in root.glob(file_glob) if p.is_file()):
        stat = path.stat()
        modified = datetime.datetime.fromtimestamp(stat.st_mtime, tz=datetime.timezone.utc)
        yield _item(path.as_uri(), path.relative_to(root).as_posix(), stat.st_size, modified)


def _remote_files(bucket_url: str, file_glob: str) -> Iterator[FileItem]:
    fs, root = fsspec_filesystem(bucket_url)
    root = root.rstrip("/")
    found = fs.glob(f"{root}/{file_glob}", detail=True)
    for path in sorted(found):
        info = found[path]
        if info.get("type") != "file":
            continue
        relative = path[len(root):].lstrip("/")
        yield _item(fs.unstrip_protocol(path), relative, int(info.get("size") or 0), _modified(fs, path, info))


def fsspec_filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path in it (a clear error when fsspec is missing)."""
    try:
        core = importlib.import_module("fsspec.core")
    except ImportError:
        raise dataload.MissingDependencyError(f"the filesystem source reading {url!r}", "filesystem",
                                              "fsspec") from None
    return core.url_to_fs(url)  # type: ignore[no-any-return]


def _modified(fs: Any, path: str, info: dict[str, Any]) -> datetime.datetime:
    """The modification time as an aware UTC datetime, from whichever field the filesystem reports."""
    value = info.get("mtime") or info.get("LastModified") or info.get("last_modified") or info.get("updated")
    if value is None:
        value = fs.modified(path)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _item(url: str, relative_path: str, size: int, modified: datetime.datetime) -> FileItem:
    name = PurePosixPath(relative_path).name
    return {"url": url, "name": name, "relative_path": relative_path, "size": size,
            "modification_date": modified, "mime_type": _mime_type(name)}


def _mime_type(name: str) -> str:
    """The type of the content, not of its compression: ``data.csv.gz`` is ``text/csv``."""
    stem, suffix = os.path.splitext(name)
    if suffix.lower() in _COMPRESSED:
        name = stem
    suffix = os.path.splitext(name)[1].lower()
    return _MIME_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
