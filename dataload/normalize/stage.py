"""The normalize stage: each ``extracted`` package becomes a ``normalized`` one, oldest first.

The package is written in ``normalizing.tmp`` (load files, its manifest with rows, schema changes
and discards, and the schema it was normalized with), moved to ``normalized``, and only then is the
``extracted`` copy removed. A package whose content normalize cannot handle moves to ``failed``.
:func:`normalize_package` normalizes one package's files, in this process or in worker processes
(:mod:`dataload.normalize.parallel`); the work on the rows is :mod:`dataload.normalize.step`'s.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pyarrow as pa

from dataload.concurrency import configured_workers
from dataload.context import PipelineContext
from dataload.drop import with_imported_schema
from dataload.exceptions import DataloadError
from dataload.info import StepInfo
from dataload.normalize.arrow_files import arrow_load_files
from dataload.normalize.fit import TypeNotes
from dataload.normalize.parallel import normalize_in_processes, planned_workers
from dataload.normalize.step import KEY_HINTS, ChunkSettings, NormalizeResult, apply_table_hints, normalize_chunks
from dataload.package.disk_full import out_of_room_stops
from dataload.package.failure import record_failure
from dataload.package.manifest import Manifest, TableHintsRecord, read_manifest, write_manifest
from dataload.package.storage import write_json
from dataload.progress import Progress, step_of
from dataload.schema.model import Schema

logger = logging.getLogger(__name__)


def normalize_extracted(ctx: PipelineContext, workers: int | None = None) -> list[str]:
    """Normalize every ``extracted`` package, oldest first; returns their load ids.

    ``workers``: processes per package (see :func:`dataload.concurrency.configured_workers`).
    """
    workers = configured_workers("normalize", workers)
    arrow_files = arrow_load_files(ctx.destination.capabilities)
    done = []
    for load_id in ctx.packages.load_ids("extracted"):
        target = ctx.packages.create("normalizing.tmp", load_id)
        try:
            with out_of_room_stops("normalize", load_id):
                _normalize_one(ctx, load_id, target, workers, arrow_files=arrow_files)
        except BaseException:  # failed (moved already), no room, an interrupt: no half-written files are kept
            ctx.packages.remove("normalizing.tmp", load_id)
            raise
        ctx.packages.remove("extracted", load_id)
        done.append(load_id)
    return done


def _normalize_one(ctx: PipelineContext, load_id: str, target: Path, workers: int | None, *,
                   arrow_files: bool) -> None:
    """Normalize package ``load_id`` into ``target`` and move it to ``normalized``, or to ``failed``."""
    source = ctx.packages.path("extracted", load_id)
    manifest = read_manifest(source)
    schema = with_imported_schema(ctx, ctx.schema())
    try:
        with step_of(ctx.progress, "normalize", load_id) as progress:
            result = normalize_package(source / "extracted", manifest.extracted_files, target, schema,
                                       manifest.table_hints, load_id,
                                       max_identifier_length=ctx.max_identifier_length,
                                       arrow_files=arrow_files,
                                       workers=workers, progress=progress)
    except DataloadError as error:  # content normalize could not handle (dataload.normalize.errors)
        kept = ctx.packages.move(load_id, "extracted", "failed")  # the caller removes the half-written copy
        record_failure(kept, "normalize", error)
        logger.warning("pipeline %s: normalizing package %s failed; it is kept in %s: fix the cause and "
                       "call pipe.retry_failed(), or pipe.drop_failed() to discard it",
                       ctx.pipeline_name, load_id, kept)
        raise
    schema.bump_version()
    seal_normalized(target, manifest, result, schema)
    ctx.save_schema(schema)
    ctx.packages.move(load_id, "normalizing.tmp", "normalized")
    ctx.trace.record(normalize_step(load_id, result))


def seal_normalized(folder: Path, manifest: Manifest, result: NormalizeResult, schema: Schema) -> None:
    """Record what normalize wrote in the manifest of the package in ``folder``, and its schema."""
    manifest.files, manifest.rows, manifest.schema_changes = result.files, result.rows, result.schema_changes
    manifest.discarded_rows = dict(result.discards.rows)
    manifest.discarded_values = dict(result.discards.values)
    write_manifest(folder, manifest)
    write_json(folder / "schema.json", schema.to_dict())


def normalize_step(load_id: str, result: NormalizeResult) -> StepInfo:
    """The trace entry of normalizing package ``load_id``."""
    discarded = dict(result.discards.rows + result.discards.values)
    return StepInfo("normalize", load_id, result.seconds, result.rows, discarded, result.processes,
                    not_converted=dict(result.type_notes.not_converted), truncated=dict(result.type_notes.truncated))


def normalize_package(
    extracted: Path,
    extracted_files: list[tuple[str, str]],
    output: Path,
    schema: Schema,
    table_hints: dict[str, TableHintsRecord],
    load_id: str,
    *,
    max_identifier_length: int | None,
    arrow_files: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> NormalizeResult:
    """Normalize every extracted file of a package; ``schema`` is updated in place.

    ``workers``: worker processes (None decides from the package's size and the machine's
    cores, see :mod:`dataload.normalize.parallel`). With one, chunks are normalized here in order.
    ``progress`` is told the rows of each table: chunk by chunk here, package-wide from workers.
    """
    started = time.perf_counter()
    before, keys_before = _columns_of(schema), _keys_of(schema)
    chunks = [(chunk, file_name, table) for chunk, (file_name, table) in enumerate(extracted_files)]
    for table in set(table_hints) - {table for _, _, table in chunks}:  # a replace without rows empties the table
        if table in schema.tables:
            apply_table_hints(schema, table, table_hints[table], max_identifier_length)
    settings = ChunkSettings(extracted, output, table_hints, load_id, max_identifier_length, arrow_files)
    count = planned_workers(workers, settings, chunks)
    logger.debug("package %s: normalizing %d extract file(s) in %d process(es)", load_id, len(chunks), count)
    result = normalize_in_processes(settings, chunks, schema, count) if count > 1 else None
    if result is not None and progress is not None:
        for table, rows in result.rows.items():
            progress.add(table, rows)
    if result is None:  # one worker, or the workers disagreed on a type or one was lost: in order here
        result = normalize_chunks(settings, chunks, schema, progress)
    result.schema_changes = describe_changes(before, schema) + describe_key_changes(before, keys_before, schema)
    for change in result.schema_changes:
        logger.debug("package %s: schema: %s", load_id, change)
    _warn_about(result.type_notes, load_id)
    pa.default_memory_pool().release_unused()  # hand freed buffers back to the OS before the load runs
    result.seconds = time.perf_counter() - started
    return result


def _warn_about(notes: TypeNotes, load_id: str) -> None:
    for column, count in sorted(notes.not_converted.items()):
        logger.warning("package %s: %d value(s) of column %s did not convert to its type; they are in a "
                       "variant column", load_id, count, column)
    for column, count in sorted(notes.truncated.items()):
        logger.warning("package %s: %d value(s) of column %s were cut to microseconds", load_id, count, column)


def _columns_of(schema: Schema) -> dict[str, dict[str, str | None]]:
    return {t.name: {c.name: c.data_type for c in t.columns.values()} for t in schema.tables.values()}


def _keys_of(schema: Schema) -> dict[tuple[str, str], list[str]]:
    return {(t.name, hint): t.key_columns(hint) for t in schema.tables.values() for hint in KEY_HINTS}


def describe_changes(before: dict[str, dict[str, str | None]], schema: Schema) -> list[str]:
    """Readable lines for tables and columns added since ``before`` (variants named as such)."""
    changes: list[str] = []
    for table in schema.tables.values():
        old = before.get(table.name)
        typed = [c for c in table.columns.values() if c.data_type and not c.name.startswith("_dl_")]
        if old is None or not any(old.values()):
            if typed:
                changes.append(f"added table {table.name}")
            continue
        for column in typed:
            if old.get(column.name) is None:
                what = f"variant column (values of column {column.variant_of})" if column.variant_of else "column"
                changes.append(f"added {what} {table.name}.{column.name} {column.data_type}")
    return changes


def describe_key_changes(before: dict[str, dict[str, str | None]], keys_before: dict[tuple[str, str], list[str]],
                         schema: Schema) -> list[str]:
    """Readable lines for tables that held data before and whose primary or merge key changed."""
    return [f"changed {hint.replace('_', ' ')} of {table.name} from {keys_before[table.name, hint]} to {keys}"
            for table in schema.tables.values() if any((before.get(table.name) or {}).values())
            for hint in KEY_HINTS if (keys := table.key_columns(hint)) != keys_before[table.name, hint]]
