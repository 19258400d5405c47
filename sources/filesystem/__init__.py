"""The filesystem source: list files in a local folder or an fsspec bucket, and read them.

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "users.jsonl").write_text('{"id": 1, "tags": ["a"]}\\n')
>>> files = filesystem(str(folder), file_glob="*.jsonl")
>>> list(read_jsonl(files))
[{'id': 1, 'tags': ['a']}]
"""

from sources.filesystem.listing import FileItem, filesystem
from sources.filesystem.readers import (
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    DEFAULT_NULL_VALUES,
    FileReadError,
    read_csv,
    read_jsonl,
    read_parquet,
)

__all__ = ["DEFAULT_MAX_DECOMPRESSED_BYTES", "DEFAULT_NULL_VALUES", "FileItem", "FileReadError", "filesystem",
           "read_csv", "read_jsonl", "read_parquet"]
