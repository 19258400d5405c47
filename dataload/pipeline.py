"""Pipeline: a working directory plus a destination; ``run()`` = finish pending, extract, normalize, load."""

from __future__ import annotations

import copy
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dataload._state import bump_version, decode, encode, new_state
from dataload.concurrency import configured_workers, load_workers
from dataload.crash import crash_point
from dataload.dataset import Dataset
from dataload.exceptions import DataloadError, InvalidConfig, PackageBlockedError, TerminalLoadError
from dataload.extract.limits import BufferLimits
from dataload.info import LoadInfo, StepInfo, Trace
from dataload.load.step import RetryPolicy, load_with_retries
from dataload.lock import pipeline_lock
from dataload.package.storage import PackageStorage, new_load_id, read_json, write_json
from dataload.protocol import DestinationClient, LoadPackage, PackageFile
from dataload.registry import DestinationArg, resolve_destination
from dataload.run_input import as_source
from dataload.schema.files import SchemaFiles
from dataload.schema.model import Schema
from dataload.sql_client import SqlClient

logger = logging.getLogger(__name__)


class Pipeline:
    """Moves data from sources into one dataset of one destination, remembering where it stopped.

    Create it with :func:`dataload.pipeline`, reopen it with :func:`dataload.attach`.
    """

    def __init__(self, pipeline_name: str, *, destination: DestinationArg, dataset_name: str,
                 pipelines_dir: Path, local_dir: Path, retry_policy: RetryPolicy | None = None,
                 buffer_limits: BufferLimits | None = None, export_schema_path: Path | None = None,
                 import_schema_path: Path | None = None) -> None:
        self.pipeline_name = pipeline_name
        self.destination = resolve_destination(destination)
        self.destination.check_dataset_name(dataset_name)  # a name it reserves is refused before anything runs
        self.dataset_name = dataset_name
        self.working_dir = pipelines_dir / pipeline_name
        self.local_dir = local_dir
        self.retry_policy = retry_policy or RetryPolicy()
        self.buffer_limits = buffer_limits or BufferLimits()
        self.schema_files = SchemaFiles(self.pipeline_name, export_schema_path, import_schema_path,
                                        self.working_dir / "imported_schema.hash")
        self.last_trace = Trace()
        self._packages = PackageStorage(self.working_dir / "packages")

    # -- stored documents ---------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        """The committed pipeline state (a copy): what the last loaded package recorded."""
        path = self.working_dir / "state.json"
        return decode(read_json(path)) if path.exists() else new_state()

    @property
    def default_schema(self) -> Schema:
        """The pipeline's schema as the last normalize left it."""
        path = self.working_dir / "schema.json"
        return Schema.from_dict(read_json(path)) if path.exists() else Schema(self.pipeline_name)

    @property
    def _max_identifier_length(self) -> int | None:
        return self.destination.capabilities.max_identifier_length

    # -- the steps ----------------------------------------------------------------------------
    def run(self, data: Any = None, **hints: Any) -> LoadInfo:
        """Load pending packages, then extract, normalize and load ``data`` (if given).

        ``hints`` (``table_name``, ``write_disposition``, ``primary_key``, ``merge_key``,
        ``columns``, ``schema_contract``) apply to plain data or a single resource.
        """
        started = time.perf_counter()
        self.last_trace = Trace()
        with self._lock():
            self.sync_destination()
            info = self._finish_pending()
            if data is not None:
                self._extract(data, hints)
                self._normalize_all()
                self._load_all(info)
        info.seconds = time.perf_counter() - started
        return info

    def extract(self, data: Any, **hints: Any) -> str | None:
        """Extract ``data`` into a new package; returns its load id, or None when there was nothing to load."""
        with self._lock():
            self.sync_destination()
            return self._extract(data, hints)

    def normalize(self, *, workers: int | None = None) -> list[str]:
        """Normalize every extracted package; returns their load ids.

        ``workers``: processes per package (default: ``NORMALIZE__WORKERS``, else decided by the
        package's size and the machine's cores; see :mod:`dataload.concurrency`).
        """
        with self._lock():
            return self._normalize_all(workers)

    def load(self, *, workers: int | None = None) -> LoadInfo:
        """Load every normalized package.

        ``workers``: threads the destination may use for a package's jobs (default:
        ``LOAD__WORKERS``, else ``min(8, cores)``; see :mod:`dataload.concurrency`).
        """
        with self._lock():
            info = self._new_info()
            self._load_all(info, workers)
            return info

    def _finish_pending(self) -> LoadInfo:
        info = self._new_info()
        pending = [load_id for _, load_id in self._packages.pending()]
        if pending:
            logger.warning("pipeline %s: finishing %d package(s) left pending by an earlier run: %s",
                           self.pipeline_name, len(pending), ", ".join(pending))
            info.resumed = pending
            self._normalize_all()
            self._load_all(info)
        info.failed = self._packages.load_ids("failed")
        if info.failed:
            logger.warning("pipeline %s has failed package(s) %s kept in %s; fix the cause and call "
                           "pipe.retry_failed(), or pipe.drop_failed() to discard them", self.pipeline_name,
                           ", ".join(info.failed), self._packages.root / "failed")
        return info

    def _extract(self, data: Any, hints: dict[str, Any]) -> str | None:
        from dataload.extract.step import extract_source

        self._refuse_if_blocked("new data")
        source = as_source(data, default_name=self.pipeline_name, **hints)
        load_id = new_load_id()
        folder = self._packages.create("extracting.tmp", load_id)
        previous = self._newest_state()
        document = copy.deepcopy(previous)
        try:
            result = extract_source(source, folder / "extracted", document,
                                    max_identifier_length=self._max_identifier_length, limits=self.buffer_limits)
            self._check_merge_support(result.table_hints)
        except BaseException:
            self._packages.remove("extracting.tmp", load_id)
            raise
        if result.is_empty and document == previous:  # a package that changes state is loaded, to commit it
            self._packages.remove("extracting.tmp", load_id)
            logger.info("pipeline %s: nothing to load (no rows, no table to replace, state unchanged)",
                        self.pipeline_name)
            return None
        bump_version(document)
        write_json(folder / "package.json", {"load_id": load_id, "table_hints": result.table_hints,
                                             "extracted_files": result.files, "state": encode(document),
                                             "items": result.items})
        self._packages.move(load_id, "extracting.tmp", "extracted")
        self.last_trace.record(StepInfo("extract", load_id, result.seconds, result.items,
                                        skipped=result.skipped))
        return load_id

    def _check_merge_support(self, table_hints: dict[str, dict[str, Any]]) -> None:
        supported = self.destination.capabilities.merge_strategies
        for table, hints in table_hints.items():  # every merge has a key: extraction refuses one without
            if hints["write_disposition"] == "merge" and hints["merge_strategy"] not in supported:
                can = f"it supports {', '.join(supported)}" if supported else "it cannot merge"
                raise InvalidConfig(
                    f"table {table!r} asks for merge strategy {hints['merge_strategy']!r} but destination "
                    f"{self.destination.name!r} does not support it ({can}); use write_disposition 'append' or "
                    "'replace', or another strategy")

    def _newest_state(self) -> dict[str, Any]:
        for stage, load_id in reversed(self._packages.pending()):
            return decode(read_json(self._packages.path(stage, load_id) / "package.json")["state"])  # type: ignore[no-any-return]
        return self.state

    def _normalize_all(self, workers: int | None = None) -> list[str]:
        from dataload.normalize.step import normalize_package

        workers = configured_workers("normalize", workers)
        done = []
        for load_id in self._packages.load_ids("extracted"):
            source = self._packages.path("extracted", load_id)
            meta = read_json(source / "package.json")
            target = self._packages.create("normalizing.tmp", load_id)
            schema = self._with_imported_schema(self.default_schema)
            try:
                result = normalize_package(source / "extracted", meta["extracted_files"], target, schema,
                                           meta["table_hints"], load_id,
                                           max_identifier_length=self._max_identifier_length,
                                           arrow_files="arrow" in self.destination.capabilities.file_formats,
                                           workers=workers)
            except DataloadError:  # content normalize could not handle (dataload.normalize.errors)
                self._packages.remove("normalizing.tmp", load_id)
                kept = self._packages.move(load_id, "extracted", "failed")
                logger.warning("pipeline %s: normalizing package %s failed; it is kept in %s: fix the cause and "
                               "call pipe.retry_failed(), or pipe.drop_failed() to discard it",
                               self.pipeline_name, load_id, kept)
                raise
            schema.bump_version()
            meta.update(files=result.files, rows=result.rows, schema_changes=result.schema_changes,
                        discarded_rows=dict(result.discards.rows), discarded_values=dict(result.discards.values))
            write_json(target / "package.json", meta)
            write_json(target / "schema.json", schema.to_dict())
            self._save_schema(schema)
            self._packages.move(load_id, "normalizing.tmp", "normalized")
            self._packages.remove("extracted", load_id)
            discarded = dict(result.discards.rows + result.discards.values)
            self.last_trace.record(StepInfo("normalize", load_id, result.seconds, result.rows, discarded,
                                            result.processes, not_converted=dict(result.type_notes.not_converted),
                                            truncated=dict(result.type_notes.truncated)))
            done.append(load_id)
        return done

    def _load_all(self, info: LoadInfo, workers: int | None = None) -> None:
        threads = load_workers(workers)
        for load_id in self._packages.load_ids("normalized"):
            self._refuse_if_blocked(f"package {load_id}", newer_than=load_id)
            started = time.perf_counter()
            package, meta = self._read_package(load_id, threads)
            try:
                loaded = load_with_retries(self._new_client, package, self.retry_policy)
            except TerminalLoadError as error:
                kept = self._packages.move(load_id, "normalized", "failed")
                info.failed.append(load_id)
                moved = str(self._packages.path("normalized", load_id))
                raise TerminalLoadError(
                    f"{str(error).replace(moved, str(kept))}\nThe package is kept in {kept}: fix the cause and call "
                    "pipe.retry_failed(), or pipe.drop_failed() to discard it.",
                    table=error.table, file=(error.file or "").replace(moved, str(kept)) or None) from error
            crash_point("load.after_commit")
            write_json(self.working_dir / "state.json", package.state)
            crash_point("load.after_state")
            self._packages.remove("normalized", load_id)
            if not loaded:
                logger.info("package %s was already in the destination (an earlier run loaded it)", load_id)
                continue
            info.load_ids.append(load_id)
            info.add_package(meta)
            self.last_trace.record(StepInfo("load", load_id, time.perf_counter() - started, meta["rows"]))

    def _read_package(self, load_id: str, workers: int) -> tuple[LoadPackage, dict[str, Any]]:
        folder = self._packages.path("normalized", load_id)
        meta = read_json(folder / "package.json")
        files = [PackageFile.from_entry(f, folder) for f in meta["files"]]
        schema = Schema.from_dict(read_json(folder / "schema.json"))
        roots = [t for t in meta["table_hints"] if t in schema.tables]
        return LoadPackage(load_id, self.pipeline_name, schema, files, meta["state"], roots, folder=folder,
                           workers=workers), meta

    # -- failed packages ------------------------------------------------------------------------
    def pending_packages(self) -> list[str]:
        """Load ids of packages extracted or normalized but not loaded yet."""
        return [load_id for _, load_id in self._packages.pending()]

    def failed_packages(self) -> list[str]:
        """Load ids of packages whose content normalize or load could not handle (kept on disk for inspection).

        Newer data waits for them: see ``docs/reliability.md``.
        """
        return self._packages.load_ids("failed")

    def _refuse_if_blocked(self, waiting: str, newer_than: str | None = None) -> None:
        """Raise :class:`PackageBlockedError` if a package older than ``newer_than`` failed or is not
        normalized yet (without ``newer_than``: if any package failed).

        Packages land in the order they were extracted, so nothing newer lands (or is extracted)
        while an older package is failed or pending: a retried package could overwrite newer rows,
        and a cursor could pass rows that never landed.
        """
        name = self.pipeline_name
        failed = self._packages.load_ids("failed")
        if failed and (newer_than is None or failed[0] < newer_than):
            raise PackageBlockedError(
                f"pipeline {name!r}: {waiting} waits for package {failed[0]}, which failed and is kept in "
                f"{self._packages.path('failed', failed[0])}; packages land in the order they were extracted. Fix "
                f"the cause and call pipe.retry_failed() (CLI: dataload pipeline {name} retry), or discard the "
                f"failed package(s) with pipe.drop_failed() (CLI: dataload pipeline {name} drop-failed)",
                load_id=failed[0])
        extracted = self._packages.load_ids("extracted")
        if newer_than is not None and extracted and extracted[0] < newer_than:
            raise PackageBlockedError(
                f"pipeline {name!r}: {waiting} waits for the older package {extracted[0]}, which is not normalized "
                "yet; packages land in the order they were extracted: call pipe.run() or pipe.normalize() first",
                load_id=extracted[0])

    def retry_failed(self) -> LoadInfo:
        """Move failed packages back to the stage they failed in and finish them, oldest first."""
        with self._lock():
            for load_id in self._packages.load_ids("failed"):
                normalized = (self._packages.path("failed", load_id) / "files").exists()
                self._packages.move(load_id, "failed", "normalized" if normalized else "extracted")
            info = self._new_info()
            self._normalize_all()
            self._load_all(info)
            return info

    def drop_failed(self) -> list[str]:
        """Delete failed packages; their data is not loaded, and the state stays as before them
        (an incremental resource reads their rows again on the next run)."""
        with self._lock():
            dropped = self._packages.load_ids("failed")
            for load_id in dropped:
                self._packages.remove("failed", load_id)
            return dropped

    # -- destination ----------------------------------------------------------------------------
    def _new_client(self) -> DestinationClient:
        return self.destination.client(dataset_name=self.dataset_name, pipeline_name=self.pipeline_name,
                                       local_dir=self.local_dir)

    @contextmanager
    def _client(self) -> Iterator[DestinationClient]:
        client = self._new_client()
        try:
            yield client
        finally:
            client.close()

    def sync_destination(self) -> bool:
        """Reconcile the local state and schema with the destination's record; True when they changed.

        Every run does this first; the rules are in :mod:`dataload.sync`.
        """
        from dataload.sync import reconcile

        return reconcile(self)

    def dataset(self) -> Dataset:
        """The loaded tables, read back through the destination."""
        tables = [t.name for t in self.default_schema.data_tables()]
        return Dataset(self._client, tables)

    def sql_client(self) -> SqlClient:
        """A context manager running SQL on the destination: ``with pipe.sql_client() as sql: ...``."""
        return SqlClient(self._client)

    def drop(self, resources: list[str] | None = None) -> list[str]:
        """Drop what the pipeline loaded.

        With ``resources``: drop their tables (and child tables) from the destination and the
        schema, and reset their state, so the next run loads them from scratch; returns the
        dropped tables. Without: delete the local working directory only (packages, state,
        schema); the destination keeps its data and the next run restores from it.
        """
        if resources is None:
            with self._lock():
                shutil.rmtree(self.working_dir / "packages", ignore_errors=True)
            shutil.rmtree(self.working_dir, ignore_errors=True)
            return []
        with self._lock():
            self.sync_destination()
            return self._drop_resources(set(resources))

    def drop_columns(self, table: str, columns: list[str]) -> None:
        """Retire columns on purpose: drop them from the schema and the destination in one transaction.

        They come back only if later data brings them again.
        """
        with self._lock():
            self.sync_destination()
            schema = self.default_schema
            if table not in schema.tables:
                raise InvalidConfig(f"table {table!r} is not in schema {schema.name!r}")
            known = schema.tables[table].columns
            unknown = [c for c in columns if c not in known or c.startswith("_dl_")]
            if unknown:
                raise InvalidConfig(f"table {table!r} has no droppable column {unknown[0]!r}; "
                                    f"its columns: {[c for c in known if not c.startswith('_dl_')]}")
            for column in columns:
                del known[column]
            self._commit_schema_change(schema, dropped_columns={table: list(columns)})

    def _commit_schema_change(self, schema: Schema, *, dropped_tables: list[str] | None = None,
                              dropped_columns: dict[str, list[str]] | None = None,
                              state: dict[str, Any] | None = None) -> None:
        schema.bump_version()
        document = state if state is not None else encode(self._newest_state())
        package = LoadPackage(new_load_id(), self.pipeline_name, schema, [], document, [],
                              dropped_tables=dropped_tables or [], dropped_columns=dropped_columns or {})
        load_with_retries(self._new_client, package, self.retry_policy)
        self._save_schema(schema)
        write_json(self.working_dir / "state.json", document)

    def _save_schema(self, schema: Schema) -> None:
        write_json(self.working_dir / "schema.json", schema.to_dict())
        self.schema_files.export(schema)

    def _with_imported_schema(self, schema: Schema) -> Schema:
        """Apply a changed import schema file; columns removed from it are dropped at once."""
        change = self.schema_files.read_import(schema)
        if change is None:
            return schema
        imported, dropped = change
        if dropped:
            self._commit_schema_change(imported, dropped_columns=dropped)
        else:
            self._save_schema(imported)
        self.schema_files.mark_imported()
        return imported

    def _drop_resources(self, resources: set[str]) -> list[str]:
        schema = self.default_schema
        roots = [t.name for t in schema.tables.values() if t.is_root and t.resource in resources]
        tables = [name for root in roots for name in [root, *schema.children_of(root)]]
        for name in tables:
            del schema.tables[name]
        document = copy.deepcopy(self._newest_state())
        for source_state in document.get("sources", {}).values():
            for name in resources:
                source_state.get("resources", {}).pop(name, None)
        bump_version(document)
        self._commit_schema_change(schema, dropped_tables=list(reversed(tables)), state=encode(document))
        return tables

    # -- helpers -----------------------------------------------------------------------------
    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Hold the pipeline's lock; only then write the settings and clear what a crashed run left behind."""
        self.working_dir.mkdir(parents=True, exist_ok=True)
        with pipeline_lock(self.working_dir, self.pipeline_name):
            self._remember_settings()
            self._packages.discard_incomplete()
            yield

    def _remember_settings(self) -> None:
        """Write what :func:`attach` needs to reopen this pipeline (never credentials that are secret)."""
        path = self.working_dir / "pipeline.json"
        spec = self.destination.attach_spec()
        settings = {"destination": self.destination.name, "destination_options": spec,
                    "dataset_name": self.dataset_name, "local_dir": str(self.local_dir)}
        if not path.exists() or read_json(path) != settings:
            write_json(path, settings)

    def _new_info(self) -> LoadInfo:
        return LoadInfo(self.pipeline_name, self.destination.name, self.dataset_name)

    def __repr__(self) -> str:
        return (f"Pipeline({self.pipeline_name!r}, destination={self.destination.name!r}, "
                f"dataset_name={self.dataset_name!r})")
