"""Extract step: evaluate resources (transformers fed by their parents) into a new load package."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from dataload._resource import Resource, TableItem
from dataload._source import Source
from dataload._state import extracting
from dataload.configuration.providers import config_snapshot
from dataload.crash import armed, crash_point
from dataload.exceptions import InvalidConfig, ResourceError
from dataload.extract.buffer import TableBuffer
from dataload.extract.concurrent import produce_concurrently
from dataload.extract.limits import BufferLimits
from dataload.hints import TableHints
from dataload.package.manifest import TableHintsRecord
from dataload.package.storage import fsync_file
from dataload.progress import Progress
from dataload.schema.infer import with_room_for_python_decimals
from dataload.schema.naming import table_name as normalize_table_name

logger = logging.getLogger(__name__)


@dataclass
class ExtractResult:
    """What one extraction wrote: items per table, the hints of every table it wrote (and of every
    ``replace`` table it left without rows, which the package empties), ``None`` items skipped per resource,
    and the events resources counted with :func:`dataload.count` (per resource, per event)."""

    items: dict[str, int] = field(default_factory=dict)
    table_hints: dict[str, TableHintsRecord] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def is_empty(self) -> bool:
        """No table got an item and none is to be replaced (replacing with nothing empties a table)."""
        return not any(self.items.values()) and all(
            hints.write_disposition != "replace" for hints in self.table_hints.values())


class PartSink(Protocol):
    """Where an extraction hands the parts of its package (:meth:`_Extraction._seal_part_if_due`)."""

    def seal(self, part: ExtractResult) -> Path:
        """Make ``part`` (its files written in the current folder) a package; returns the next part's folder."""

    def check(self) -> None:
        """Raise if the parts handed over so far cannot be loaded (extraction then stops)."""


_NO_PARENT = object()


class _Extraction:
    def __init__(self, folder: Path, source: Source, max_identifier_length: int | None, limits: BufferLimits,
                 progress: Progress | None, parts: PartSink | None) -> None:
        self.folder = folder
        self.parts = parts
        self.part_bytes = self.part_files = 0  # bytes of the current part's first part_files files
        self.part_started = 0.0
        self.progress = progress
        self.source = source
        self.max_length = max_identifier_length
        self.limits = limits
        self.buffers: dict[str, TableBuffer] = {}
        self.result = ExtractResult()
        self.document: dict[str, Any] = {}
        self.children: dict[str, list[Resource]] = {}
        self.claims: set[tuple[str, str]] = set()  # (resource, table) pairs whose hints were checked
        self.flusher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataload-fsync")

    def run(self, document: dict[str, Any]) -> ExtractResult:
        try:
            with config_snapshot():  # config files are read once per extraction, not once per item
                return self._run(document)
        finally:
            self._flush_previous_file()
            self.flusher.shutdown(wait=True)

    def _run(self, document: dict[str, Any]) -> ExtractResult:
        self.part_started = time.monotonic()
        self.document = document
        selected = self.source.selected_resources
        for resource in selected.values():
            resource.check_fed()
            if isinstance(resource.table_name, str):  # conflicts found before anything runs
                self._table_of(resource, resource.table_name)
            if resource.data_from is not None and resource.data_from.name in selected:
                self.children.setdefault(resource.data_from.name, []).append(resource)
        roots = [r for r in selected.values() if r.data_from is None or r.data_from.name not in selected]
        logger.debug("source %s: extracting %s", self.source.name,
                     ", ".join(r.name + (" (parallelized)" if r.parallelized else "") for r in roots))
        for resource, page in produce_concurrently([r for r in roots if r.parallelized], self._pages_in_context):
            self._handle_page(resource, page)
            self._seal_part_if_due()
        for resource in roots:
            if not resource.parallelized:
                for page in self._pages_in_context(resource):
                    self._handle_page(resource, page)
                    self._seal_part_if_due()
        for buffer in self.buffers.values():
            buffer.flush()
            self.result.items[buffer.table] = buffer.items
        # a table without rows goes into the package only to be replaced (emptied) by it
        self.result.table_hints = {name: hints for name, hints in self.result.table_hints.items()
                                   if name in self.buffers or hints.write_disposition == "replace"}
        self.result.seconds = time.monotonic() - self.part_started  # of the last part, with parts
        return self.result

    def _seal_part_if_due(self) -> None:
        """Hand what was extracted so far to ``parts`` as a part of its own (after checking the parts
        handed over so far), once it is due (see :class:`BufferLimits`) and only while every table the
        run has named appends: a table that merges or replaces must land in one package, so once one is
        named (a resource's own table before extraction begins, a routed one at its first row) the rest
        of the run is one package."""
        if self.parts is None:
            return
        self.parts.check()
        limits, now = self.limits, time.monotonic()
        due = ((limits.part_bytes is not None and self._part_size() >= limits.part_bytes)
               or (limits.part_seconds is not None and now - self.part_started >= limits.part_seconds))
        if not due:
            return
        if any(hints.write_disposition != "append" for hints in self.result.table_hints.values()):
            self.parts = None
            return
        for buffer in self.buffers.values():
            buffer.flush()
        self._flush_previous_file()
        items = {buffer.table: buffer.items for buffer in self.buffers.values() if buffer.items}
        if items:
            part = ExtractResult(items=items, files=self.result.files, seconds=now - self.part_started,
                                 table_hints={t: h for t, h in self.result.table_hints.items() if t in items})
            self.folder = self.parts.seal(part)
            self.result.files = []
            for buffer in self.buffers.values():
                buffer.items = 0
        self.part_bytes, self.part_files, self.part_started = 0, 0, now

    def _part_size(self) -> int:
        """Bytes of the current part's files (each is written whole before the next page is asked for)."""
        files = self.result.files
        for name, _ in files[self.part_files:]:
            self.part_bytes += (self.folder / name).stat().st_size
        self.part_files = len(files)
        return self.part_bytes

    def _new_file(self, table: str) -> Path:
        self._flush_previous_file()
        name = f"{len(self.result.files):06d}.segment"
        self.result.files.append((name, table))
        logger.debug("table %s: writing extract file %s", table, name)
        return self.folder / name

    def _flush_previous_file(self) -> None:
        """Start flushing the last file to disk while extraction goes on (each file is written
        whole before the next is asked for), so the package's fsync at its move finds it done."""
        if self.result.files:
            self.flusher.submit(_flush_quietly, self.folder / self.result.files[-1][0])

    def _pages_in_context(self, resource: Resource, parent_item: Any = _NO_PARENT) -> Iterable[Any]:
        """The resource's pages (for one parent item, for a fed transformer), run with its state."""
        pages = _standalone_pages(resource) if parent_item is _NO_PARENT else resource.pages(parent_item)
        return _with_context(pages, self.document, self.source.name, resource.name, self.result.counts)

    def _handle_page(self, resource: Resource, page: Any) -> None:
        """Write a page, then feed each of its items to the transformers of ``resource``.

        ``None`` items, yielded alone or inside a page, are skipped and counted per resource.
        """
        page, skipped = _without_none(page)
        if skipped:
            self.result.skipped[resource.name] = self.result.skipped.get(resource.name, 0) + skipped
        if page is None:
            return
        if self.progress is not None:
            self.progress.add(resource.name, _count_of(page))
        self._dispatch(resource, page)
        if armed("extract.after_items"):
            crash_point("extract.after_items", _item_count(page))
        for child in self.children.get(resource.name, []):
            for item in _items_of(page):
                for child_page in self._pages_in_context(child, item):
                    self._handle_page(child, child_page)

    def _dispatch(self, resource: Resource, page: Any) -> None:
        if isinstance(page, TableItem):
            self._write(resource, page.item, page.table_name)
        elif not callable(resource.table_name):
            self._write(resource, page, resource.table_name)
        elif isinstance(page, (list, dict)):
            for item in page if isinstance(page, list) else [page]:
                self._write(resource, item, _routed_table(resource, item, "item"))
        else:  # an Arrow table or data frame is routed as a whole: the callable is given the page
            self._write(resource, page, _routed_table(resource, page, "Arrow/pandas page"))

    def _table_of(self, resource: Resource, table: str) -> str:
        """The normalized name of ``table``, whose hints ``resource`` must agree on with every other
        resource writing it (same write disposition and keys)."""
        name = normalize_table_name(table, self.max_length)
        if (resource.name, name) in self.claims:
            return name
        hints = _hints_record(resource, self.source)
        known = self.result.table_hints.setdefault(name, hints)
        differing = known.differing(hints)
        if differing:
            what = ", ".join(f"{k} {getattr(known, k)!r} vs {getattr(hints, k)!r}" for k in differing)
            raise InvalidConfig(f"resources {known.resource!r} and {resource.name!r} both write table {name!r} "
                                f"but with different hints ({what}); give one of them another table_name, or "
                                "both the same write disposition and keys")
        self.claims.add((resource.name, name))
        return name

    def _write(self, resource: Resource, page: Any, table: str) -> None:
        name = self._table_of(resource, table)
        buffer = self.buffers.get(name)
        if buffer is None:
            buffer = self.buffers[name] = TableBuffer(name, self._new_file, self.limits)
        columnar = _as_arrow(page)
        if columnar is not None:
            buffer.add_table(columnar)
        else:
            buffer.add_records(page if isinstance(page, list) else [page])


def _flush_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):  # the package's own fsync at its move reports errors
        fsync_file(path)


def _standalone_pages(resource: Resource) -> Iterable[Any]:
    if resource.data_from is None:
        return resource.pages()
    return (page for parent in resource.data_from for page in resource.pages(parent))


def _with_context(pages: Iterable[Any], document: dict[str, Any], source: str, resource: str,
                  counts: dict[str, dict[str, int]]) -> Iterable[Any]:
    iterator = iter(pages)
    while True:
        with extracting(document, source, resource, counts):
            try:
                page = next(iterator)
            except StopIteration:
                return
        try:
            yield page
        except GeneratorExit:  # left unfinished (a child failed): the resource's cleanup needs its state too
            close = getattr(iterator, "close", None)
            if close is not None:
                with extracting(document, source, resource, counts):
                    close()
            raise


def _item_count(page: Any) -> int:
    """Items in a page: rows of an Arrow table or data frame, entries of a list, else one."""
    items = page.item if isinstance(page, TableItem) else page
    if isinstance(items, list):
        return len(items)
    rows = getattr(items, "num_rows", None)
    return int(rows) if rows is not None else (len(items) if hasattr(items, "columns") else 1)


def _without_none(page: Any) -> tuple[Any, int]:
    """The page without its ``None`` items (None when nothing is left), and how many were dropped."""
    items = page.item if isinstance(page, TableItem) else page
    if items is None:
        return None, 1
    if not isinstance(items, list):
        return page, 0
    skipped = items.count(None)  # one C-level scan of the page; a copy only when there is a None
    if not skipped:
        return page, 0
    kept = [item for item in items if item is not None]
    if not kept:
        return None, skipped
    return (TableItem(kept, page.table_name) if isinstance(page, TableItem) else kept), skipped


def _count_of(page: Any) -> int:
    """How many items a page holds (a list, an Arrow table or batch, a data frame, or one item)."""
    items = page.item if isinstance(page, TableItem) else page
    if isinstance(items, list):
        return len(items)
    rows = getattr(items, "num_rows", None)
    if isinstance(rows, int):
        return rows
    return len(items) if type(items).__module__.startswith("pandas") else 1


def _routed_table(resource: Resource, item: Any, what: str) -> str:
    """The table the resource's ``table_name`` callable picks for ``item`` (a str, or a clear error)."""
    try:
        picked = resource.table_name(item)
    except Exception as exc:  # the user's callable: name the resource it belongs to
        raise ResourceError(resource.name, f"its table_name callable raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(picked, str) or not picked:
        raise ResourceError(resource.name, f"the table_name callable must return a table name (a non-empty str) "
                            f"for each {what}, but returned {type(picked).__name__} {picked!r:.80}; an Arrow "
                            "table, record batch or data frame is passed to it whole (e.g. "
                            "lambda page: page['kind'][0].as_py() routes a page by its first row)")
    return picked


def _items_of(page: Any) -> list[Any]:
    if isinstance(page, TableItem):
        page = page.item
    if isinstance(page, list):
        return page
    arrow = _as_arrow(page)
    return arrow.to_pylist() if arrow is not None else [page]


def _as_arrow(item: Any) -> pa.Table | None:
    if isinstance(item, pa.Table):
        return item
    if isinstance(item, pa.RecordBatch):
        return pa.Table.from_batches([item])
    if type(item).__module__.startswith("pandas") and hasattr(item, "columns"):
        return _from_pandas(item)
    return None


def _from_pandas(frame: Any) -> pa.Table:
    """A data frame as Arrow; ``Decimal`` objects (an ``object`` column) get room to grow as in records."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    untyped = {str(name) for name, dtype in frame.dtypes.items() if dtype == "object"}
    fields = [f.with_type(with_room_for_python_decimals(f.type)) if f.name in untyped else f for f in table.schema]
    return table if table.schema.equals(pa.schema(fields)) else table.cast(pa.schema(fields, table.schema.metadata))


def _hints_record(resource: Resource, source: Source) -> TableHintsRecord:
    hints: TableHints = resource.hints
    hints.require_merge_key(resource.name)
    return TableHintsRecord(
        resource=resource.name,
        write_disposition=hints.write_disposition.name,
        merge_strategy=hints.write_disposition.strategy,
        primary_key=list(hints.primary_key),
        merge_key=list(hints.merge_key),
        columns=list(hints.columns.values()),
        schema_contract=hints.schema_contract or source.schema_contract,
        max_table_nesting=hints.max_table_nesting if hints.max_table_nesting is not None
        else source.max_table_nesting,
        json_schema=hints.json_schema,
    )


def extract_source(
    source: Source,
    folder: Path,
    document: dict[str, Any],
    *,
    max_identifier_length: int | None,
    limits: BufferLimits | None = None,
    progress: Progress | None = None,
    parts: PartSink | None = None,
) -> ExtractResult:
    """Run every selected resource of ``source`` and write its items into ``folder``.

    ``document`` is the pipeline state; resources change it through ``dataload.state()``.
    ``progress`` is told the items of each page, per resource. With ``parts``, what is extracted is
    handed to it in parts as :class:`BufferLimits` says (each in a folder it gives); the result is
    the last part's.
    """
    folder.mkdir(parents=True, exist_ok=True)
    return _Extraction(folder, source, max_identifier_length, limits or BufferLimits(), progress, parts).run(document)
