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

from dataload.dataset import Dataset
from dataload.destination import DestinationClient, LoadPackage, PackageFile
from dataload.exceptions import DataloadError, InvalidConfig, TerminalLoadError
from dataload.extract.limits import BufferLimits
from dataload.info import LoadInfo, StepInfo, Trace
from dataload.load.step import RetryPolicy, load_with_retries, with_retries
from dataload.lock import pipeline_lock
from dataload.package.storage import PackageStorage, new_load_id, read_json, write_json
from dataload.registry import DestinationArg, resolve_destination
from dataload.run_input import as_source
from dataload.schema.files import SchemaFiles
from dataload.schema.model import Schema
from dataload.sql_client import SqlClient
from dataload.state import bump_version, decode, encode, new_state
from dataload.workers import configured_workers, load_workers

logger = logging.getLogger("dataload")


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
            self._restore_if_fresh()
            info = self._finish_pending()
            if data is not None:
                self._extract(data, hints)
                self._normalize_all()
                self._load_all(info)
        info.seconds = time.perf_counter() - started
        return info

    def extract(self, data: Any, **hints: Any) -> str:
        """Extract ``data`` into a new package; returns its load id."""
        with self._lock():
            self._restore_if_fresh()
            return self._extract(data, hints)

    def normalize(self, *, workers: int | None = None) -> list[str]:
        """Normalize every extracted package; returns their load ids.

        ``workers``: processes per package (default: ``NORMALIZE__WORKERS``, else decided by the
        package's size and the machine's cores; see :mod:`dataload.workers`).
        """
        with self._lock():
            return self._normalize_all(workers)

    def load(self, *, workers: int | None = None) -> LoadInfo:
        """Load every normalized package.

        ``workers``: threads the destination may use for a package's jobs (default:
        ``LOAD__WORKERS``, else ``min(8, cores)``; see :mod:`dataload.workers`).
        """
        with self._lock():
            info = self._new_info()
            self._load_all(info, workers)
            return info

    def _finish_pending(self) -> LoadInfo:
        info = self._new_info()
        self._packages.discard_incomplete()
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

    def _extract(self, data: Any, hints: dict[str, Any]) -> str:
        from dataload.extract.step import extract_source

        source = as_source(data, default_name=self.pipeline_name, **hints)
        load_id = new_load_id()
        folder = self._packages.create("extracting.tmp", load_id)
        document = copy.deepcopy(self._newest_state())
        try:
            result = extract_source(source, folder / "extracted", document,
                                    max_identifier_length=self._max_identifier_length, limits=self.buffer_limits)
            self._check_merge_support(result.table_hints)
        except BaseException:
            self._packages.remove("extracting.tmp", load_id)
            raise
        bump_version(document)
        write_json(folder / "package.json", {"load_id": load_id, "table_hints": result.table_hints,
                                             "extracted_files": result.files, "state": encode(document),
                                             "items": result.items})
        self._packages.move(load_id, "extracting.tmp", "extracted")
        self.last_trace.steps.append(StepInfo("extract", load_id, result.seconds, result.items))
        return load_id

    def _check_merge_support(self, table_hints: dict[str, dict[str, Any]]) -> None:
        supported = self.destination.capabilities.merge_strategies
        for table, hints in table_hints.items():
            keyed = hints["primary_key"] or hints["merge_key"]
            if hints["write_disposition"] == "merge" and keyed and hints["merge_strategy"] not in supported:
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
            except DataloadError:
                self._packages.remove("normalizing.tmp", load_id)
                self._packages.move(load_id, "extracted", "failed")
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
            self.last_trace.steps.append(StepInfo("normalize", load_id, result.seconds, result.rows, discarded,
                                                  result.processes, dict(result.type_notes.not_converted),
                                                  dict(result.type_notes.truncated)))
            done.append(load_id)
        return done

    def _load_all(self, info: LoadInfo, workers: int | None = None) -> None:
        threads = load_workers(workers)
        for load_id in self._packages.load_ids("normalized"):
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
            write_json(self.working_dir / "state.json", package.state)
            self._packages.remove("normalized", load_id)
            if not loaded:
                logger.info("package %s was already in the destination (an earlier run loaded it)", load_id)
                continue
            info.load_ids.append(load_id)
            info.add_package(meta)
            self.last_trace.steps.append(StepInfo("load", load_id, time.perf_counter() - started, meta["rows"]))

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
        """Load ids of packages a terminal load error stopped (kept on disk for inspection)."""
        return self._packages.load_ids("failed")

    def retry_failed(self) -> LoadInfo:
        """Move failed packages back to the load queue and load them."""
        with self._lock():
            for load_id in self._packages.load_ids("failed"):
                normalized = (self._packages.path("failed", load_id) / "files").exists()
                self._packages.move(load_id, "failed", "normalized" if normalized else "extracted")
            info = self._new_info()
            self._normalize_all()
            self._load_all(info)
            return info

    def drop_failed(self) -> list[str]:
        """Delete failed packages; their data is not loaded."""
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
        """Take state and schema from the destination when they are newer than the local ones."""
        state, stored_schema = with_retries(self._read_stored, self.retry_policy, what="reading the stored state")
        changed = False
        if state is not None and state.get("_state_version", 0) > self.state.get("_state_version", 0):  # encoded
            write_json(self.working_dir / "state.json", state)
            changed = True
        if stored_schema is not None and stored_schema.get("version", 0) > self.default_schema.version:
            write_json(self.working_dir / "schema.json", stored_schema)
            changed = True
        return changed

    def _read_stored(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        with self._client() as client:
            return client.stored_state(self.pipeline_name), client.stored_schema(self.pipeline_name)

    def _restore_if_fresh(self) -> None:
        fresh = not (self.working_dir / "state.json").exists() and not (self.working_dir / "schema.json").exists()
        if fresh and self.sync_destination():
            logger.info("pipeline %s: restored state and schema from the destination", self.pipeline_name)

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
            self._restore_if_fresh()
            return self._drop_resources(set(resources))

    def drop_columns(self, table: str, columns: list[str]) -> None:
        """Retire columns on purpose: drop them from the schema and the destination in one transaction.

        They come back only if later data brings them again.
        """
        with self._lock():
            self._restore_if_fresh()
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
    def _lock(self) -> Any:
        self.working_dir.mkdir(parents=True, exist_ok=True)
        self._remember_settings()
        return pipeline_lock(self.working_dir, self.pipeline_name)

    def _remember_settings(self) -> None:
        """Write what :func:`attach` needs to reopen this pipeline (never credentials that are secret)."""
        path = self.working_dir / "pipeline.json"
        spec: dict[str, Any] = getattr(self.destination, "attach_spec", lambda: {})()
        settings = {"destination": self.destination.name, "destination_options": spec,
                    "dataset_name": self.dataset_name, "local_dir": str(self.local_dir)}
        if not path.exists() or read_json(path) != settings:
            write_json(path, settings)

    def _new_info(self) -> LoadInfo:
        return LoadInfo(self.pipeline_name, self.destination.name, self.dataset_name)

    def __repr__(self) -> str:
        return (f"Pipeline({self.pipeline_name!r}, destination={self.destination.name!r}, "
                f"dataset_name={self.dataset_name!r})")
