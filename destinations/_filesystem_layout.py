"""Where the filesystem destination puts files: the path layout and safe path segments.

A layout is a relative path template such as ``"{dataset}/{table}/{load_id}.{file_id}.{ext}"``.
Every name that comes from data or config goes through :func:`safe_segment` before it becomes
part of a path, so no table name can climb out of the dataset directory.
"""

from __future__ import annotations

import hashlib
import re
from string import Formatter

from dataload.exceptions import InvalidConfig

DEFAULT_LAYOUT = "{dataset}/{table}/{load_id}.{file_id}.{ext}"
PLACEHOLDERS = ("dataset", "table", "load_id", "file_id", "ext")
EXTENSIONS = ("parquet", "jsonl", "csv")
_UNSAFE = set('%/\\:*?"<>|#[]{}~') | {chr(c) for c in range(32)} | {"\x7f"}
_MAX_SEGMENT_BYTES = 200
_PATTERNS = {"table": r"[^/.]+", "load_id": r"[^/]+", "file_id": r"[0-9]+", "ext": "|".join(EXTENSIONS)}


def safe_segment(name: str, *, keep_dots: bool = False, max_bytes: int = _MAX_SEGMENT_BYTES) -> str:
    """``name`` as one harmless path segment: separators, NUL, ``..`` and glob characters escaped.

    Characters that could leave the directory or confuse a reader (``/ \\ : * ? " < > | # [ ] { } ~``,
    control characters, ``%`` itself, and every ``.`` unless ``keep_dots``; a leading ``.``
    always) become ``%XX``, so distinct names stay distinct. Segments longer than ``max_bytes``
    (200) are cut and end with ``~`` and a hash of the whole name.

    >>> safe_segment("../../etc")
    '%2E%2E%2F%2E%2E%2Fetc'
    >>> safe_segment("1712345678.123456", keep_dots=True)
    '1712345678.123456'
    """
    if not name:
        raise InvalidConfig("an empty name cannot be a file or folder name")
    out = []
    for position, char in enumerate(name):
        dot = char == "." and (not keep_dots or position == 0)
        if char in _UNSAFE or dot:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
        else:
            out.append(char)
    segment = "".join(out)
    if len(segment.encode()) <= max_bytes:
        return segment
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    head = segment.encode()[: max_bytes - len(digest) - 1].decode("utf-8", "ignore")
    return f"{head}~{digest}"


class Layout:
    """A validated path template; builds file paths and recognizes them again.

    >>> layout = Layout("{dataset}/{table}/{load_id}.{file_id}.{ext}")
    >>> layout.file_path("ds", "items", "17.5", 3, "parquet")
    'ds/items/17.5.00003.parquet'
    >>> layout.parse("ds", "ds/items/17.5.00003.parquet")
    ('items', '17.5', 'parquet')
    """

    def __init__(self, template: str) -> None:
        self.template = template
        self.prefix, self.rest = _validate(template)
        self._regexes: dict[str, re.Pattern[str]] = {}

    def dataset_dir(self, dataset: str) -> str:
        """The folder of a dataset (``dataset`` already made safe)."""
        return self.prefix + dataset

    def file_path(self, dataset: str, table: str, load_id: str, file_id: int, ext: str) -> str:
        """The path of one data file, relative to the bucket (all names already made safe)."""
        rest = self.rest.format(table=table, load_id=load_id, file_id=f"{file_id:05d}", ext=ext)
        return f"{self.dataset_dir(dataset)}/{rest}"

    def search_dir(self, dataset: str, table: str | None = None) -> str:
        """The deepest folder that holds every file of ``table`` (or of every table)."""
        static = self.rest.replace("{table}", table) if table is not None else self.rest
        static = static.split("{", 1)[0]
        folder = static.rsplit("/", 1)[0] if "/" in static else ""
        return self.dataset_dir(dataset) + (f"/{folder}" if folder else "")

    def owns_folder(self) -> bool:
        """True when each table has a folder of its own (``{table}`` is a whole path segment)."""
        return "/{table}/" in f"/{self.rest}"

    def parse(self, dataset: str, path: str) -> tuple[str, str, str | None] | None:
        """``(table, load_id, ext)`` of a data file path, or None for any other path."""
        regex = self._regexes.get(dataset)
        if regex is None:
            regex = self._regexes[dataset] = _compile(self.dataset_dir(dataset), self.rest)
        found = regex.fullmatch(path)
        if found is None:
            return None
        return found["table"], found["load_id"], found.groupdict().get("ext")


def _validate(template: str) -> tuple[str, str]:
    problems = []
    try:
        parts = list(Formatter().parse(template))
    except ValueError as exc:
        raise InvalidConfig(f"layout {template!r} is not a valid template: {exc}") from exc
    names = [name for _, name, _, _ in parts if name is not None]
    allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    for name, spec, conversion in [(n, s, c) for _, n, s, c in parts if n is not None]:
        if name not in PLACEHOLDERS or spec or conversion:
            problems.append(f"unknown placeholder {{{name}}}; use only {allowed}")
    for name in ("dataset", "table", "load_id", "file_id"):
        if names.count(name) != 1:
            problems.append(f"{{{name}}} must appear exactly once")
    if names.count("ext") > 1:
        problems.append("{ext} may appear at most once")
    prefix, marker, rest = template.partition("{dataset}/")
    if not marker or "{" in prefix or (prefix and not prefix.endswith("/")):
        problems.append("{dataset} must be a whole folder name, before every other placeholder")
    segments = template.split("/")
    if template.startswith("/") or "\\" in template or any(s in ("", ".", "..") for s in segments):
        problems.append("the layout must be a relative path without '..', '.', empty parts or backslashes")
    for name in ("table", "load_id", "file_id", "ext"):
        after = template.partition("{" + name + "}")[2][:1]
        if f"{{{name}}}" in template and after not in ("", ".", "/"):
            problems.append(f"{{{name}}} must be followed by '.' or '/' (or end the layout)")
    if template.endswith("{table}"):
        problems.append("{table} cannot end the layout")
    if problems:
        raise InvalidConfig(f"invalid filesystem layout {template!r}: {'; '.join(problems)}", problems)
    return prefix, rest


def _compile(dataset_dir: str, rest: str) -> re.Pattern[str]:
    pattern = [re.escape(dataset_dir + "/")]
    for literal, name, _, _ in Formatter().parse(rest):
        pattern.append(re.escape(literal))
        if name is not None:
            pattern.append(f"(?P<{name}>{_PATTERNS[name]})")
    return re.compile("".join(pattern))
