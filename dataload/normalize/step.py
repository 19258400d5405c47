"""Normalize step: an extracted package becomes typed Parquet load files plus the updated schema.

Each extracted file is one *chunk*: its rows for every table (root and children) are written to
``files/<chunk>/<n>.parquet`` (``<chunk>`` six digits, ``<n>`` three: the table's place in the
chunk's batch; the package entry of each file names its table). An Arrow chunk whose columns are
reused instead becomes ``files/<chunk>/extracted.arrows`` (a link to the extracted file) plus
``written.arrow`` (see :mod:`dataload.normalize.arrow_files`). Rows of one root record and its
children always share a chunk, which the load step uses to keep the children of the latest row of
a merge key.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataload.crash import crash_point
from dataload.exceptions import DataContractViolation, SchemaError
from dataload.extract.buffer import read_extracted
from dataload.normalize.arrow_files import reused_columns, write_arrow_load_file
from dataload.normalize.contract import Discards, enforce
from dataload.normalize.errors import content_errors
from dataload.normalize.fit import TypeNotes, columns_with_load_id, fit_rows, with_load_id
from dataload.normalize.flatten import flatten_records
from dataload.normalize.rows import TableNames, TableRows, assign_ids, keep_rows, key_ids, last_of_each_key, unique_ids
from dataload.normalize.unnest import unnest
from dataload.normalize.validate import validate_rows
from dataload.package.disk_full import naming_the_file
from dataload.package.manifest import TableHintsRecord
from dataload.package.storage import fsync_file
from dataload.progress import Progress
from dataload.schema.model import LOAD_ID, Column, Schema, Table, with_hints
from dataload.schema.naming import column_name

KEY_HINTS = ("primary_key", "merge_key")
logger = logging.getLogger(__name__)


@dataclass
class NormalizeResult:
    """Rows written per table, the load files, what changed in the schema and values not stored as typed."""

    rows: dict[str, int] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    schema_changes: list[str] = field(default_factory=list)
    discards: Discards = field(default_factory=Discards)
    type_notes: TypeNotes = field(default_factory=TypeNotes)
    seconds: float = 0.0
    processes: int = 1


@dataclass(frozen=True)
class ChunkSettings:
    """What every chunk of one package is normalized with (picklable, for worker processes)."""

    extracted: Path
    output: Path
    table_hints: dict[str, TableHintsRecord]
    load_id: str
    max_identifier_length: int | None
    arrow_files: bool


def normalize_chunks(settings: ChunkSettings, chunks: list[tuple[int, str, str]], schema: Schema,
                     progress: Progress | None = None) -> NormalizeResult:
    """Normalize ``chunks`` (chunk number, extracted file, table) in order; ``schema`` is updated in place.

    Load files are written by a small thread pool while the next chunk is normalized (Parquet
    writing releases the GIL); at most a few finished tables wait in memory. With ``arrow_files``
    (the destination reads Arrow), a chunk extracted as Arrow that makes one table of a non-merge
    resource becomes an Arrow load file that reuses the extracted file (see ``arrow_files``).
    An error about a chunk's content is raised as a ``NormalizeError`` naming its table and file.
    ``progress`` is told each chunk's rows per table.
    """
    max_identifier_length = settings.max_identifier_length
    result = NormalizeResult()
    validated: dict[str, int] = {}
    with _Writer() as writer:
        for chunk, file_name, table in chunks:
            with content_errors(table, file=str(settings.extracted / file_name)):
                hints = settings.table_hints[table]
                root = apply_table_hints(schema, table, hints, max_identifier_length)
                kind, payload = read_extracted(settings.extracted / file_name)
                if hints.json_schema:
                    kind, payload = "rows", _to_rows(kind, payload)
                    validated[table] = validated.get(table, 0) + len(payload)
                    payload = validate_rows(payload, hints.json_schema, table=table, schema_name=schema.name,
                                            contract=root.schema_contract, discards=result.discards,
                                            first_position=validated[table] - len(payload))
                json_columns = frozenset(c.name for c in root.columns.values() if c.data_type == "json")
                names = TableNames(schema, max_identifier_length)  # the columns recorded so far
                batch = _unnest(kind, payload, table, hints, names, json_columns)
                batch = enforce(batch, schema, root.schema_contract, result.discards, max_identifier_length)
                if batch and batch[0].length:
                    reusable = (settings.arrow_files and kind == "arrow" and len(batch) == 1
                                and root.write_disposition != "merge")
                    batch = _assign_ids(batch, root)
                    _write_batch(writer, result, settings.output, chunk, batch, schema, settings.load_id,
                                 max_identifier_length, (settings.extracted / file_name, payload) if reusable else None)
                    if progress is not None:
                        for rows in batch:
                            progress.add(rows.table, rows.length)
    return result


def _write_batch(writer: _Writer, result: NormalizeResult, output: Path, chunk: int, batch: list[TableRows],
                 schema: Schema, load_id: str, max_identifier_length: int | None,
                 extracted: tuple[Path, pa.Table] | None) -> None:
    """Fit and write each table of the batch; ``extracted`` (file, table) when its columns may be reused."""
    folder = output / "files" / f"{chunk:06d}"
    folder.mkdir(parents=True, exist_ok=True)
    for position, rows in enumerate(batch):
        if rows.length == 0:
            continue
        fitted = fit_rows(rows, schema, None, max_identifier_length, result.type_notes)
        table = schema.tables[rows.table]
        reused = reused_columns(fitted, extracted[1]) if extracted else {}
        if extracted and reused:
            entry = write_arrow_load_file(fitted, reused, extracted[0], folder, columns_with_load_id(fitted, table))
        else:
            arrow = with_load_id(fitted, table, load_id)
            entry = {"path": folder / f"{position:03d}.parquet", "columns": arrow.column_names}
            writer.write(arrow, entry["path"])
        for key in ("path", "base"):
            if key in entry:
                entry[key] = str(entry[key].relative_to(output))
        result.files.append({"table": rows.table, "chunk": chunk, "rows": fitted.num_rows, **entry})
        result.rows[rows.table] = result.rows.get(rows.table, 0) + fitted.num_rows
        crash_point("normalize.after_file")


class _Writer:
    """Writes Parquet load files on two threads; at most a few tables, and ``max_bytes`` of them, in flight."""

    def __init__(self, in_flight: int = 4, max_bytes: int = 256 * 2**20) -> None:
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dataload-parquet")
        self._pending: list[tuple[Future[None], int]] = []
        self._in_flight = in_flight
        self._max_bytes = max_bytes

    def write(self, table: pa.Table, target: Path) -> None:
        while self._pending and (len(self._pending) >= self._in_flight
                                 or sum(size for _, size in self._pending) + table.nbytes > self._max_bytes):
            self._pending.pop(0)[0].result()
        self._pending.append((self._pool.submit(_write_parquet, table, target), table.nbytes))

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            for future, _ in self._pending:
                future.result()
        finally:
            self._pool.shutdown(wait=True)


def _write_parquet(table: pa.Table, target: Path) -> None:
    """Write a load file and flush it to disk here, on a writer thread, not at the package's move."""
    import pyarrow.parquet as pq

    with naming_the_file(target):
        pq.write_table(table, target, compression="lz4", use_dictionary=False)
        fsync_file(target)


def _unnest(kind: str, payload: Any, table: str, hints: TableHintsRecord, names: TableNames,
            json_columns: frozenset[str]) -> list[TableRows]:
    nesting = hints.max_table_nesting
    max_length = names.max_length
    if kind == "rows":
        return flatten_records(table, payload, max_table_nesting=nesting, max_identifier_length=max_length,
                               json_columns=json_columns, names=names)
    records = payload.to_struct_array()
    if isinstance(records, pa.ChunkedArray):  # one chunk (as extract writes them): its columns are not copied
        records = records.chunk(0) if records.num_chunks == 1 else records.combine_chunks()
    return unnest(table, records, max_table_nesting=nesting, max_identifier_length=max_length,
                  json_columns=json_columns, names=names)


def _to_rows(kind: str, payload: Any) -> list[Any]:
    return payload if kind == "rows" else payload.to_pylist()  # type: ignore[no-any-return]


def _assign_ids(batch: list[TableRows], root: Table) -> list[TableRows]:
    keys = root.key_columns("primary_key")
    if root.write_disposition == "merge" and keys:
        missing = [k for k in keys if k not in batch[0].columns]
        if missing:
            raise SchemaError(f"table {root.name!r}: primary key column {missing[0]!r} is missing from the data",
                              table=root.name, column=missing[0])
        ids = key_ids([batch[0].columns[k] for k in keys])
        keep = last_of_each_key(ids)
        if not pc.all(keep).as_py():
            batch = keep_rows(batch, keep)
            ids = ids.filter(keep)
        assign_ids(batch, ids)
    else:
        assign_ids(batch, unique_ids(batch[0].length))
    return batch


def apply_table_hints(schema: Schema, table: str, hints: TableHintsRecord, max_length: int | None) -> Table:
    """Create or update a root table from a resource's hints; returns the table."""
    existing = schema.tables.get(table)
    target = existing or Table(table)
    target.write_disposition = hints.write_disposition
    target.merge_strategy = hints.merge_strategy
    target.resource = hints.resource
    target.schema_contract = hints.schema_contract
    for declared in hints.columns:
        _declare(target, with_hints(declared, name=column_name((declared.name,), max_length)))
    keys = _declared_keys(hints, max_length)
    if any(keys.values()):  # the keys the resource declares now are the keys; none declared keeps the schema's
        _set_keys(target, keys, frozen=existing is not None and _is_frozen(hints.schema_contract))
    schema.tables[table] = target
    return target


def _declared_keys(hints: TableHintsRecord, max_length: int | None) -> dict[str, list[str]]:
    """The ``primary_key`` and ``merge_key`` columns a resource declares (as arguments or column hints)."""
    keys: dict[str, list[str]] = {}
    for hint in KEY_HINTS:
        named = [*getattr(hints, hint), *(c.name for c in hints.columns if getattr(c, hint))]
        keys[hint] = list(dict.fromkeys(column_name((k,), max_length) for k in named))
    return keys


def _set_keys(table: Table, keys: dict[str, list[str]], *, frozen: bool) -> None:
    """Make ``keys`` the table's keys; under a frozen contract a change of the keys of a table is refused."""
    for hint, names in keys.items():
        current = table.key_columns(hint)
        if set(current) == set(names):  # the order of a composite key does not matter
            continue
        if frozen and LOAD_ID in table.columns:
            raise DataContractViolation(
                f"table {table.name!r}: changing the {hint.replace('_', ' ')} from {current} to {names} is not "
                "allowed by the schema contract (columns=freeze). Nothing from this package was loaded.",
                table=table.name, column=(names or current)[0], entity="columns")
        for name in current:
            setattr(table.columns[name], hint, False)
        for name in names:
            column = table.columns.setdefault(name, Column(name))
            setattr(column, hint, True)
            if hint == "primary_key":
                column.nullable = False


def _is_frozen(contract: dict[str, str] | None) -> bool:
    return bool(contract) and contract.get("columns") == "freeze"  # type: ignore[union-attr]


def _declare(table: Table, declared: Column) -> None:
    current = table.columns.get(declared.name)
    if current is None:
        table.columns[declared.name] = declared
        return
    if declared.data_type and current.data_type and declared.data_type != current.data_type:
        raise SchemaError(
            f"table {table.name!r}, column {declared.name!r}: the hint data_type {declared.data_type!r} conflicts "
            f"with the existing type {current.data_type!r}; drop the column first or load into a new column",
            table=table.name, column=declared.name)
    for name, value in declared.to_dict().items():
        setattr(current, name, value)
