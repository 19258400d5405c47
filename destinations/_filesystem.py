"""Filesystem destination: each table a folder of parquet, jsonl or csv files, local or on any fsspec URL.

Files are laid out by ``layout`` (default ``{dataset}/{table}/{load_id}.{file_id}.{ext}``) under
``bucket_url``, a local folder, a ``file://`` URL or, when ``fsspec`` is installed, any fsspec URL
(``s3://``, ``gs://``, ``memory://``, ...). Table, dataset and load names are made safe path
segments first (:func:`~destinations._filesystem_layout.safe_segment`): no name from data can
write outside the dataset folder.

Write dispositions:

- ``append`` adds the package's files.
- ``replace`` writes the new files of the table and its child tables first; only when all of them
  are complete are the files of every other load of those tables deleted (child tables follow
  their root even when the new rows have no lists; a replace without rows deletes them all).
- ``merge`` on a table with a ``primary_key`` or ``merge_key`` is refused before anything is
  written: the pipeline sees that the destination declares no merge strategy and raises
  :class:`~dataload.exceptions.InvalidConfig` at extraction, naming the table and asking for
  ``append`` or ``replace`` (a package that reaches the destination anyway gets a
  :class:`~dataload.exceptions.TerminalLoadError`). Files cannot be updated in place, and no
  silent fallback is made. (``merge`` without keys is refused at extraction on every destination.)

System tables are folders of one-row jsonl files in the dataset folder:
``_dl_loads/{load_id}.jsonl``, ``_dl_version/{load_id}.{schema}.{version}.{hash}.jsonl`` and
``_dl_pipeline_state/{load_id}.{pipeline}.{version}.{hash}.jsonl``. A package is loaded in this
order: dropped tables and columns, data files, deletion of replaced files, schema version,
state, and the ``_dl_loads`` file **last**. A load id with a ``_dl_loads`` file is committed:
loading it again is skipped (returns False), and readers see only the data, state and schema
files of committed loads. A load that crashed is therefore invisible and is simply redone by the
retry (same file names, overwritten). There are no transactions: a crash in the middle of a
replace's deletions leaves the table partly emptied until the retry finishes the package.

Dropped tables: their files (and their own folder) are deleted. Dropped columns: every file of
the table is rewritten without them, so a column that later data brings back does not return
with old values.

Reading back (``read_table``, ``query``, ``pipe.dataset()``) uses an in-memory DuckDB over the
files of committed loads; every table is a view named after it, each column cast to its type in
the stored schema, so ``SELECT ... FROM tablename`` works.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa

from dataload.configuration import NOT_FOUND, lookup, redact_url
from dataload.exceptions import InvalidConfig, MissingConfig, PipelineError, TerminalLoadError, TransientLoadError
from dataload.protocol import Capabilities, LoadPackage, PackageFile, ProjectSetup, in_threads
from dataload.schema.model import Schema, Table
from destinations._duckdb import duckdb_arrow
from destinations._filesystem_formats import FORMATS, select_sql, without_columns, write_converted
from destinations._filesystem_layout import DEFAULT_LAYOUT, Layout, safe_segment
from destinations._filesystem_storage import Storage, local_root, open_storage
from destinations.records import (
    LOADS,
    SCHEMA,
    STATE,
    STATES,
    SYSTEM_TABLES,
    VERSIONS,
    Document,
    commit_records,
    system_table,
)
from destinations.sql import count_rows, quote


class Filesystem:
    """The filesystem destination.

    ``bucket_url``: a folder, a ``file://`` URL or any fsspec URL (None: read
    ``DESTINATION__FILESYSTEM__BUCKET_URL``); ``layout``: the file path template; ``format``:
    ``"parquet"``, ``"jsonl"`` or ``"csv"``; ``storage_options``: passed to fsspec (credentials;
    never shown or remembered by ``attach``).

    >>> Filesystem("/data/lake", format="jsonl")
    Filesystem('/data/lake', format='jsonl')
    """

    name = "filesystem"
    project_setup = ProjectSetup("files (Parquet, JSONL or CSV) in a local folder, or a bucket with fsspec "
                                 "(s3://, gs://, ...)", config={"bucket_url": "lake"})
    capabilities = Capabilities(max_identifier_length=200, file_formats=FORMATS, merge_strategies=())

    def __init__(self, bucket_url: str | os.PathLike[str] | None = None, *, layout: str | None = DEFAULT_LAYOUT,
                 format: str = "parquet", storage_options: Mapping[str, Any] | None = None) -> None:
        if bucket_url is None:
            trace: list[str] = []
            bucket_url = lookup(("destination", "filesystem"), "bucket_url", trace=trace)
            if bucket_url is NOT_FOUND:
                raise MissingConfig("destination.filesystem.bucket_url", trace)
        if format not in FORMATS:
            raise InvalidConfig(f"filesystem format {format!r} is not supported; use one of {', '.join(FORMATS)}")
        self.layout = Layout(layout or DEFAULT_LAYOUT)
        self.format = format
        if format != "parquet":  # converted from Arrow load files read in place; parquet copies Parquet load files
            self.capabilities = replace(Filesystem.capabilities, file_formats=("arrow", *FORMATS))
        root = local_root(str(bucket_url))
        self.bucket_url = str(root) if root is not None else str(bucket_url)
        self._storage_options = dict(storage_options or {})
        if root is None:
            try:
                importlib.import_module("fsspec")
            except ImportError:
                raise InvalidConfig(f"the filesystem destination needs fsspec for {redact_url(self.bucket_url)!r}: "
                                    "pip install fsspec (plus the package of the protocol, e.g. s3fs)") from None

    def client(self, *, dataset_name: str, pipeline_name: str, local_dir: Path) -> FilesystemClient:
        """A client for the folder of ``dataset_name``."""
        try:
            storage = open_storage(self.bucket_url, self._storage_options)
        except OSError as exc:
            raise TransientLoadError(f"cannot open {redact_url(self.bucket_url)}: {exc}") from exc
        return FilesystemClient(storage, self.layout, self.format, dataset_name, pipeline_name)

    def check_dataset_name(self, dataset_name: str) -> None:
        """Any name: the dataset folder's name is made a safe path segment."""

    def attach_spec(self) -> dict[str, Any]:
        """Options that rebuild this destination in ``dataload.attach`` (no password, no storage options)."""
        return {"bucket_url": _without_password(self.bucket_url), "layout": self.layout.template,
                "format": self.format}

    def __repr__(self) -> str:
        return f"Filesystem({redact_url(self.bucket_url)!r}, format={self.format!r})"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if "://" not in url or parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + host))


@dataclass(frozen=True)
class DataFile:
    """A data file found in the dataset folder."""

    table: str
    load: str
    file_format: str
    path: str


@dataclass(frozen=True)
class Record:
    """A file of ``_dl_version`` or ``_dl_pipeline_state``: whose, which version, which load wrote it."""

    load: str
    owner: str
    version: int
    version_hash: str
    path: str


class FilesystemClient:
    """One dataset folder of a filesystem destination."""

    def __init__(self, storage: Storage, layout: Layout, file_format: str, dataset: str, pipeline_name: str) -> None:
        self.storage, self.layout, self.format = storage, layout, file_format
        self.dataset = safe_segment(dataset, keep_dots=True)
        self.pipeline_name = pipeline_name
        self._connection: Any = None

    @property
    def _where(self) -> str:
        return redact_url(str(self.storage))

    def close(self) -> None:
        """Close the DuckDB reader, if one was opened."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- loading -----------------------------------------------------------------------------
    def load_package(self, package: LoadPackage) -> bool:
        """Write the package's files and records; False when its load id was committed before."""
        load = safe_segment(package.load_id, keep_dots=True)
        try:
            if self.storage.exists(self._system_path(LOADS, load)):
                return False
            families = {root: _family(package, root) for root in package.tables}
            self.drop_tables(package.dropped_tables)
            for table, columns in package.dropped_columns.items():
                self._drop_columns(table, set(columns))
            jobs = [(table, index, file) for family in families.values() for table in family
                    for index, file in enumerate(package.files_of(table))]
            for _ in in_threads(functools.partial(self._write_file, package, load), jobs, package.workers):
                pass  # the files are written on package.workers threads
            for root, family in families.items():
                if package.schema.tables[root].write_disposition == "replace":
                    for table in family:
                        self._delete_files(table, keep=load)
            commit_records(package, _RecordFiles(self, load))
        except PermissionError as exc:
            raise TerminalLoadError(f"package {package.load_id}: {exc}", file=exc.filename) from exc
        except OSError as exc:
            raise TransientLoadError(f"package {package.load_id}: writing to {self._where} failed: {exc}") from exc
        return True

    def _write_file(self, package: LoadPackage, load: str, job: tuple[str, int, PackageFile]) -> None:
        """Write one load file of ``table`` as the ``index``-th file of this load in the destination."""
        table, index, file = job
        path = self.layout.file_path(self.dataset, safe_segment(table), load, index, self.format)
        try:
            with self.storage.open_write(path) as out:
                write_converted(file, package.load_id, out, self.format, package.schema.tables.get(table))
        except pa.ArrowException as exc:
            raise TerminalLoadError(f"package {package.load_id}, table {table!r}: cannot convert {file.path} "
                                    f"to {self.format}: {exc}", table=table, file=str(file.path)) from exc
        package.job_done([file])

    def _delete_files(self, table: str, *, keep: str) -> None:
        for file in self._data_files(table, committed_only=False):
            if file.load != keep:
                self.storage.delete(file.path)

    def _drop_columns(self, table: str, columns: set[str]) -> None:
        for file in self._data_files(table, committed_only=False):
            rewritten = without_columns(self.storage.read(file.path), file.file_format, columns)
            if rewritten is not None:
                with self.storage.open_write(file.path) as out:
                    out.write(rewritten)

    def drop_tables(self, tables: list[str]) -> None:
        """Delete the files of ``tables`` (and each table's own folder, where the layout gives it one)."""
        for table in [t for t in tables if t not in SYSTEM_TABLES]:
            segment = safe_segment(table)
            for file in self._data_files(table, committed_only=False):
                self.storage.delete(file.path)
            folder = self.layout.search_dir(self.dataset, segment)
            if self.layout.owns_folder() and folder.endswith("/" + segment):
                self.storage.remove_tree(folder)

    def _write_record(self, table: str, name: str, row: dict[str, Any]) -> None:
        with self.storage.open_write(self._system_path(table, name)) as out:
            out.write((json.dumps(row, ensure_ascii=False) + "\n").encode())

    # -- what is stored ----------------------------------------------------------------------
    def _system_path(self, table: str, name: str) -> str:
        return f"{self.layout.dataset_dir(self.dataset)}/{table}/{name}.jsonl"

    def _system_files(self, table: str) -> list[str]:
        folder = f"{self.layout.dataset_dir(self.dataset)}/{table}"
        return [p for p in self.storage.find(folder) if p.endswith(".jsonl") and p.count("/") == folder.count("/") + 1]

    def _committed(self) -> set[str]:
        return {p.rsplit("/", 1)[1].removesuffix(".jsonl") for p in self._system_files(LOADS)}

    def _records(self, table: str) -> list[Record]:
        """The committed files of ``_dl_version`` or ``_dl_pipeline_state``, newest version first."""
        committed, found = self._committed(), []
        for path in self._system_files(table):
            parts = path.rsplit("/", 1)[1].removesuffix(".jsonl").rsplit(".", 3)
            if len(parts) == 4 and parts[0] in committed and parts[2].isdigit():
                found.append(Record(parts[0], parts[1], int(parts[2]), parts[3], path))
        return sorted(found, key=lambda r: r.version, reverse=True)

    def _newest(self, records: list[Record], document: Document, owner: str) -> dict[str, Any] | None:
        """The document of ``owner`` (a safe segment) with the highest version, the latest stamp on a tie."""
        mine = [r for r in records if r.owner == owner]
        rows = [json.loads(self.storage.read(r.path)) for r in mine if r.version == mine[0].version]
        newest = max(rows, key=lambda row: str(row.get(document.stamp, ""))) if rows else None
        return dict(json.loads(newest[document.column])) if newest else None

    def stored_schema(self, schema_name: str) -> dict[str, Any] | None:
        """The newest committed schema of ``schema_name``."""
        return self._newest(self._records(VERSIONS), SCHEMA, _owner(schema_name))

    def stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        """The newest committed state of ``pipeline_name``."""
        return self._newest(self._records(STATES), STATE, _owner(pipeline_name))

    def _schemas(self) -> list[Schema]:
        """The newest committed schema of every schema name, this pipeline's first."""
        records = self._records(VERSIONS)
        owners = sorted(dict.fromkeys(r.owner for r in records), key=lambda o: o != _owner(self.pipeline_name))
        found = [self._newest(records, SCHEMA, owner) for owner in owners]
        return [Schema.from_dict(schema) for schema in found if schema]

    def _files_by_table(self) -> dict[str, list[DataFile]]:
        """The committed data files of every table, by the table's folder name."""
        files: dict[str, list[DataFile]] = {}
        for file in self._data_files(None):
            files.setdefault(file.table, []).append(file)
        return files

    def _data_files(self, table: str | None, *, committed_only: bool = True) -> list[DataFile]:
        """Data files of ``table`` (of every table when None), in path order."""
        segment = safe_segment(table) if table is not None else None
        committed = self._committed() if committed_only else None
        found = []
        for path in self.storage.find(self.layout.search_dir(self.dataset, segment)):
            parsed = self.layout.parse(self.dataset, path)
            if parsed is None or parsed[0] in SYSTEM_TABLES or (segment is not None and parsed[0] != segment):
                continue
            if committed is None or parsed[1] in committed:
                found.append(DataFile(parsed[0], parsed[1], parsed[2] or self.format, path))
        return found

    # -- reading -----------------------------------------------------------------------------
    def _reader(self) -> Any:
        if self._connection is None:
            import duckdb

            self._connection = duckdb.connect(":memory:")
            self._connection.execute("SET TimeZone = 'UTC'")
            self.storage.register(self._connection)
        return self._connection

    def _table_sql(self, table: str, schemas: list[Schema], files: list[DataFile]) -> str:
        if table in SYSTEM_TABLES:
            paths = self._system_files(table) if table == LOADS else [r.path for r in self._records(table)]
            return select_sql(system_table(table), {"jsonl": [self.storage.url(p) for p in paths]})
        definition = next((s.tables[table] for s in schemas if table in s.tables), None)
        by_format: dict[str, list[str]] = {}
        for file in files:
            by_format.setdefault(file.file_format, []).append(self.storage.url(file.path))
        if definition is None and not by_format:
            raise PipelineError(f"table {table!r} is not in dataset {self.dataset!r} at {self._where}")
        return select_sql(definition, by_format)

    def read_table(self, table: str) -> pa.Table:
        """All rows of ``table`` from the files of committed loads."""
        files = [] if table in SYSTEM_TABLES else self._data_files(table)
        sql = self._table_sql(table, self._schemas(), files)
        return duckdb_arrow(self._reader().sql(sql))

    def row_counts(self, tables: list[str]) -> dict[str, int]:
        """Rows of each table from the files of committed loads (DuckDB counts Parquet from its metadata)."""
        schemas, files = self._schemas(), self._files_by_table()

        def relation(table: str) -> str:
            return f"({self._table_sql(table, schemas, files.get(safe_segment(table), []))})"

        return count_rows(tables, relation, lambda sql: self._reader().execute(sql).fetchall())

    def query(self, sql: str, parameters: list[Any] | None = None) -> pa.Table:
        """Run read-only SQL over the dataset; every table is a view named after it."""
        connection = self._reader()
        schemas, files = self._schemas(), self._files_by_table()
        typed = {t.name for s in schemas for t in s.data_tables()}
        names = [t for s in schemas for t in s.tables if t in typed or safe_segment(t) in files]
        for name in [*SYSTEM_TABLES, *dict.fromkeys(names)]:
            view = self._table_sql(name, schemas, files.get(safe_segment(name), []))
            connection.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS {view}")
        return duckdb_arrow(connection.sql(sql, params=parameters or None))


class _RecordFiles:
    """The system tables of a dataset folder as a :class:`~destinations.records.RecordStore` for one load."""

    def __init__(self, client: FilesystemClient, load: str) -> None:
        self.client, self.load = client, load

    def stored(self, table: str, version: int, version_hash: str) -> bool:
        """True when a committed record file of ``table`` has this version and hash."""
        wanted = (version, safe_segment(version_hash or "-"))
        return wanted in {(r.version, r.version_hash) for r in self.client._records(table)}

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """Write the row as ``table``'s one-row file for this load (named by owner, version and hash)."""
        if table == LOADS:
            name = self.load
        else:
            owner = row["schema_name"] if table == VERSIONS else row["pipeline_name"]
            name = f"{self.load}.{_owner(owner)}.{row['version']}.{safe_segment(row['version_hash'] or '-')}"
        self.client._write_record(table, name, {k: v.isoformat() if isinstance(v, datetime) else v
                                                for k, v in row.items()})


def _family(package: LoadPackage, root: str) -> list[str]:
    """``root`` and its child tables, after refusing what files cannot do."""
    schema = package.schema
    if root not in schema.tables:
        raise TerminalLoadError(f"package {package.load_id}: table {root!r} is not in the package schema", table=root)
    family = [root] + schema.children_of(root)
    reserved = [t for t in family if t in SYSTEM_TABLES]
    if reserved:
        raise TerminalLoadError(f"package {package.load_id}: table name {reserved[0]!r} is reserved for dataload's "
                                "own records", table=reserved[0])
    table: Table = schema.tables[root]
    if table.merges_on_keys():
        keys = table.key_columns("primary_key") or table.key_columns("merge_key")
        raise TerminalLoadError(
            f"the filesystem destination cannot merge into table {root!r} (keys {keys}): files are never updated "
            "in place. Use write_disposition='append' or 'replace' for this resource (then pipe.drop_failed() "
            "and run again), or load it into a database destination.", table=root)
    return family


def _owner(name: str) -> str:
    """A schema or pipeline name as part of a record file name (short enough for any filesystem)."""
    return safe_segment(name, max_bytes=100)
