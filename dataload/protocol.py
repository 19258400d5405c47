"""The destination contract: what a destination declares and the few things it must do.

A destination is an object with a ``name``, frozen :class:`Capabilities`, a ``client()`` method,
``check_dataset_name()`` (called when a pipeline is made) and ``attach_spec()`` (what
``dataload.attach`` rebuilds it from). The client loads whole packages (schema changes, data,
``_dl_loads``, ``_dl_version`` and state in one transaction where the destination has them), reads
back the stored schema and state, and answers queries for ``pipe.dataset()``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from dataload.crash import crash_point
from dataload.schema.model import LOAD_ID, Schema

if TYPE_CHECKING:
    import pyarrow as pa

ENGINE_VERSION = 1
PART_STATUS = 1
"""``_dl_loads.status`` of a part of a streamed run until the run's last package commits (then 0, loaded)."""
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Capabilities:
    """What a destination supports; declared once, never changed.

    >>> Capabilities(max_identifier_length=63).max_identifier_length
    63
    """

    max_identifier_length: int | None = None
    file_formats: tuple[str, ...] = ("parquet",)
    merge_strategies: tuple[str, ...] = ("delete-insert",)
    keeps_state: bool = True
    """False for a destination that stores no ``_dl_pipeline_state`` (a function): the local state is the record."""
    concurrent_loads: bool = False
    """True for a destination whose clients may load several packages at once, each in its own transaction
    (PostgreSQL): the packages of one partitioned run then load in parallel (``LOAD__PACKAGE_WORKERS``)."""
    deletes_loads: bool = False
    """True for a destination whose clients have ``delete_loads(load_ids)``, removing what those packages
    loaded, and ``unfinished_parts()``, the load ids of parts of streamed runs no last package completed:
    a long extraction into it may then load in parts while it runs (:mod:`dataload.streaming`)."""


@dataclass(frozen=True)
class ProjectSetup:
    """What ``dataload init`` writes for a destination (or a verified source): declared once, next to it.

    ``description``: one line for ``--list-destinations``. ``extras``: the ``dataload[...]`` extras
    it needs in ``requirements.txt``. ``config`` and ``secrets``: key to value written under its
    section (``[destination.<name>]``) of ``.dataload/config.toml`` and ``.dataload/secrets.toml``,
    the keys the destination looks up (a secret's value is a placeholder to replace). A destination
    without one gets its docstring's first line and nothing else.

    >>> ProjectSetup("PostgreSQL", extras=("postgres",), secrets={"credentials": "postgresql://..."}).extras
    ('postgres',)
    """

    description: str
    extras: tuple[str, ...] = ()
    config: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)


@dataclass
class PackageFile:
    """One normalized load file of a package.

    ``file_format`` is ``"parquet"`` (every column, ``_dl_load_id`` included) or, for destinations
    that list ``"arrow"`` in their file formats, ``"arrow"``: the columns normalization wrote are in
    ``path``, the columns it left untouched stay in the extracted Arrow file ``base`` under the
    names in ``base_columns``, and ``_dl_load_id`` is not stored (read them with :meth:`read_arrow`).
    """

    table: str
    chunk: int
    path: Path
    rows: int
    columns: list[str]
    file_format: str = "parquet"
    base: Path | None = None
    base_columns: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_entry(cls, entry: dict[str, Any], folder: Path) -> PackageFile:
        """The file described by an entry of a package's ``files`` list (paths relative to ``folder``)."""
        base = entry.get("base")
        return cls(entry["table"], entry["chunk"], folder / entry["path"], entry["rows"], entry["columns"],
                   entry.get("format", "parquet"), folder / base if base else None, entry.get("base_columns", {}))

    def read_arrow(self) -> pa.Table:
        """The rows of an ``arrow`` load file, memory-mapped, in ``columns`` order without ``_dl_load_id``."""
        import pyarrow as pa
        import pyarrow.ipc as ipc

        written = ipc.open_file(pa.memory_map(str(self.path))).read_all()
        base = ipc.open_stream(pa.memory_map(str(self.base))).read_all() if self.base else written
        names, sources = self._arrow_columns(base.schema, written.schema)
        return pa.table([(base if in_base else written).column(i) for in_base, i in sources], names=names)

    def arrow_schema(self) -> pa.Schema:
        """The schema of :meth:`read_arrow`, from the files' headers alone (no rows read)."""
        import pyarrow as pa
        import pyarrow.ipc as ipc

        written = ipc.open_file(pa.memory_map(str(self.path))).schema
        base = ipc.open_stream(pa.memory_map(str(self.base))).schema if self.base else written
        names, sources = self._arrow_columns(base, written)
        return pa.schema([(base if in_base else written).field(i).with_name(name)
                          for name, (in_base, i) in zip(names, sources)])

    def _arrow_columns(self, base: pa.Schema, written: pa.Schema) -> tuple[list[str], list[tuple[bool, int]]]:
        """The column names of an ``arrow`` load file, and where each is: (in ``base``?, its position there)."""
        names = [c for c in self.columns if c != LOAD_ID]
        base_at = {name: i for i, name in enumerate(base.names)}  # by position: name lookups are linear
        written_at = {name: i for i, name in enumerate(written.names)}
        return names, [(True, base_at[self.base_columns[c]]) if c in self.base_columns else (False, written_at[c])
                       for c in names]

    def batches(self, load_id: str, batch_size: int) -> Iterator[pa.RecordBatch]:
        """The file's rows as record batches of at most ``batch_size`` rows, in either format, with
        the columns of ``columns`` in that order: ``_dl_load_id`` (``load_id`` in every row) included.

        A Parquet file is decoded batch by batch; an ``arrow`` file is memory-mapped and sliced
        (no copy), its ``_dl_load_id`` made per batch.
        """
        import pyarrow as pa

        if self.file_format == "parquet":
            import pyarrow.parquet as pq

            yield from pq.ParquetFile(self.path).iter_batches(batch_size=batch_size)
            return
        position = self.columns.index(LOAD_ID) if LOAD_ID in self.columns else None
        for batch in self.read_arrow().to_batches(max_chunksize=batch_size):
            if position is not None:
                batch = batch.add_column(position, LOAD_ID, pa.repeat(pa.scalar(load_id, pa.string()), batch.num_rows))
            yield batch

    @property
    def paths(self) -> list[Path]:
        """Every file on disk this load file consists of."""
        return [self.path] + ([self.base] if self.base else [])


JobsDone = Callable[[list[PackageFile]], None]
"""What :attr:`LoadPackage.on_job_done` is: told the load files of each job a destination finished."""


def arrow_stream(files: list[PackageFile]) -> pa.RecordBatchReader:
    """The rows of ``arrow`` load files as one stream (their columns unified, missing ones null).

    A file is memory-mapped when the one before it starts to be read (pyarrow asks the kernel to
    read a mapped file ahead, so its pages are in when its turn comes) and released once its batches
    are consumed: reading a package holds about two files in memory, however big the package.
    (Mapping every file up front kept them all resident: 1.5 GB of W9's 1.7 GB package.)
    """
    import pyarrow as pa

    schema = pa.unify_schemas([f.arrow_schema() for f in files], promote_options="permissive")

    def tables() -> Iterator[pa.Table]:
        upcoming = files[0].read_arrow() if files else None
        for following in files[1:]:
            current, upcoming = upcoming, following.read_arrow()
            yield current
        if upcoming is not None:
            yield upcoming

    def batches() -> Iterator[pa.RecordBatch]:
        for table in tables():
            at = {name: i for i, name in enumerate(table.column_names)}  # by position: name lookups are linear
            columns = [table.column(at[f.name]).cast(f.type) if f.name in at
                       else pa.nulls(table.num_rows, f.type) for f in schema]
            yield from pa.table(columns, schema=schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def in_threads(work: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``work(item)`` for each item, in order, with up to ``workers`` items worked on at once.

    Items are taken from ``items`` only as results are consumed (at most ``workers + 1`` results
    held), so a lazy iterable keeps memory bounded. With one worker everything runs in the calling
    thread. An error raised by ``work`` is raised here, when its result's turn comes; the work
    still pending is cancelled.

    >>> list(in_threads(lambda n: n * n, range(5), 2))
    [0, 1, 4, 9, 16]
    """
    if workers <= 1:
        yield from map(work, items)
        return
    pending: deque[Future[R]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dataload-load") as pool:
        try:
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


@dataclass
class LoadPackage:
    """Everything a destination needs to load one package.

    ``tables`` lists the root tables the package writes, in load order; ``dropped_tables`` and
    ``dropped_columns`` are dropped in the same transaction (``pipe.drop(resources=...)``,
    ``pipe.drop_columns(...)``). ``folder`` is the package folder, for destinations that keep
    their own progress there. ``workers`` is how many threads the destination may use for this
    package's jobs (``pipe.load(workers=...)``, ``LOAD__WORKERS``); :func:`in_threads` runs them.
    A destination calls :meth:`job_done` after each job (a table with its children, or a file).
    """

    load_id: str
    pipeline_name: str
    schema: Schema
    files: list[PackageFile]
    state: dict[str, Any] | None
    tables: list[str] = field(default_factory=list)
    dropped_tables: list[str] = field(default_factory=list)
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)
    folder: Path | None = None
    workers: int = 1
    stream_part: bool = False
    """The package is a part of a streamed run: its ``_dl_loads`` row says so (status 1) until the run's last
    package, listing it in ``completes``, commits."""
    completes: list[str] = field(default_factory=list)
    on_job_done: JobsDone | None = field(default=None, repr=False, compare=False)
    """Set by the engine (progress reporting); destinations call :meth:`job_done`, not this."""

    def files_of(self, table: str, chunk: int | None = None) -> list[PackageFile]:
        """The load files of ``table`` (of one chunk, if given), in chunk order."""
        return [f for f in self.files if f.table == table and (chunk is None or f.chunk == chunk)]

    def family_files(self, root: str, chunk: int | None = None) -> list[PackageFile]:
        """The load files of ``root`` and its child tables (of one chunk, if given)."""
        return [f for table in [root, *self.schema.children_of(root)] for f in self.files_of(table, chunk)]

    def job_done(self, files: list[PackageFile]) -> None:
        """Tell the engine that ``files`` are written (not yet committed): it reports their rows as load
        progress, and it is the ``load.after_job`` crash point. May be called from the job's thread."""
        if self.on_job_done is not None:
            self.on_job_done(files)
        crash_point("load.after_job")


@runtime_checkable
class DestinationClient(Protocol):
    """An open connection to one dataset of a destination."""

    def close(self) -> None:
        """Release the connection."""

    def load_package(self, package: LoadPackage) -> bool:
        """Load a whole package; False when it was loaded before (the load is idempotent)."""

    def stored_schema(self, schema_name: str) -> dict[str, Any] | None:
        """The newest schema stored in ``_dl_version``, or None."""

    def stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        """The newest pipeline state stored in ``_dl_pipeline_state``, or None."""

    def query(self, sql: str, parameters: list[Any] | None = None) -> pa.Table:
        """Run a read query and return the result as Arrow."""

    def read_table(self, table: str) -> pa.Table:
        """All rows of a table of the dataset as Arrow."""

    def row_counts(self, tables: list[str]) -> dict[str, int]:
        """The number of rows of each of ``tables``, counted without reading the rows."""

    def drop_tables(self, tables: list[str]) -> None:
        """Drop tables of the dataset (they may not exist)."""


class DeletesLoads(Protocol):
    """What the client of a destination declaring ``Capabilities.deletes_loads`` has besides
    :class:`DestinationClient`: what lets a streamed run (:mod:`dataload.streaming`) be undone."""

    def delete_loads(self, load_ids: list[str]) -> None:
        """Delete what the packages ``load_ids`` loaded (their rows, ``_dl_loads`` and state rows), in one
        transaction; an id never loaded is no error."""

    def unfinished_parts(self) -> list[str]:
        """Load ids in ``_dl_loads`` with status :data:`PART_STATUS`: parts no last package completed."""


@runtime_checkable
class Destination(Protocol):
    """A place data is loaded into: a name, capabilities, a way to open a client, and what a pipeline asks of it."""

    name: str
    capabilities: Capabilities

    def client(self, *, dataset_name: str, pipeline_name: str, local_dir: Path) -> DestinationClient:
        """Open a client for ``dataset_name``; ``local_dir`` is where local database files go by default."""

    def check_dataset_name(self, dataset_name: str) -> None:
        """Raise :class:`~dataload.exceptions.InvalidConfig` for a dataset name the destination refuses or reserves.

        Called when a pipeline is made, before anything runs.
        """

    def attach_spec(self) -> dict[str, Any]:
        """The options that rebuild this destination in ``dataload.attach()``; never a credential.

        They are stored in the pipeline's working dir (``pipeline.json``) and passed to the
        destination's factory by name; ``dataload.configuration.is_credential_key`` tells which options hold one.
        """


def missing_members(value: object) -> list[str]:
    """The members of the :class:`Destination` protocol that ``value`` lacks.

    >>> missing_members(object())
    ['name', 'capabilities', 'client', 'check_dataset_name', 'attach_spec']
    """
    methods = [name for name, member in vars(Destination).items() if callable(member) and not name.startswith("_")]
    return [name for name in [*Destination.__annotations__, *methods] if not hasattr(value, name)]
