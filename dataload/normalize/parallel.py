"""Normalize one package in several worker processes.

The chunks (extracted files) are split into contiguous groups of about equal bytes, one per
worker. Each worker normalizes its group against its own copy of the schema and writes its load
files under the package's own chunk numbers, so files never collide and the chunk order the load
step relies on is kept. The parent then folds the tables and columns each worker added into the
schema, group by group. If two workers inferred different types for one column (in order, the
later rows would have gone to a variant column) or named a source key differently (see
:class:`dataload.schema.naming.ColumnNames`), the workers' files are deleted and the package is
normalized in order in this process: the result never depends on the number of workers. So is a
package whose worker could not start or died without an answer (killed, out of memory): a lost
worker never fails a package.

Packages with a data contract other than ``evolve`` or with a JSON Schema are always normalized in
order: what a contract does to a row depends on the rows before it.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dataload.concurrency import available_cores
from dataload.normalize.contract import is_active
from dataload.normalize.step import ChunkSettings, NormalizeResult, apply_table_hints
from dataload.schema.model import Column, Schema, Table, with_hints

logger = logging.getLogger(__name__)

MIN_BYTES_PER_WORKER = 256 * 2**20
"""Extracted bytes a worker process must have when the number of workers is not set: starting one
costs about 0.4 s, and normalizing 256 MB takes 1.5–2 s of one core."""

Chunk = tuple[int, str, str]


def planned_workers(requested: int | None, settings: ChunkSettings, chunks: list[Chunk]) -> int:
    """How many processes normalize ``chunks``: ``requested`` if given, else one per
    :data:`MIN_BYTES_PER_WORKER` of extracted data up to half the machine's cores (one process
    already keeps about 1.5 cores busy: Parquet files are written on threads); never more than
    the chunks, and one where a contract or JSON Schema needs the rows in order."""
    ordered = any(is_active(hints.schema_contract) or hints.json_schema
                  for hints in settings.table_hints.values())
    if len(chunks) < 2 or ordered:
        return 1
    if requested is not None:
        return min(requested, len(chunks))
    total = sum(_size(settings, chunk) for chunk in chunks)
    return max(1, min(available_cores() // 2, len(chunks), total // MIN_BYTES_PER_WORKER))


def normalize_in_processes(settings: ChunkSettings, chunks: list[Chunk], schema: Schema,
                           workers: int) -> NormalizeResult | None:
    """Normalize ``chunks`` in ``workers`` processes and update ``schema`` in place; None when the
    workers' schemas disagree or a worker was lost (its files are removed: the caller normalizes
    in order)."""
    for table in dict.fromkeys(table for _, _, table in chunks):  # same table settings in every worker
        apply_table_hints(schema, table, settings.table_hints[table], settings.max_identifier_length)
    groups = split_by_bytes(chunks, [_size(settings, chunk) for chunk in chunks], workers)
    base = schema.to_dict()
    try:
        outcomes = run_workers([(settings, group, base) for group in groups])
    except WorkerLost as lost:
        logger.warning("normalize: %s; normalizing package %s in this process instead", lost, settings.load_id)
        shutil.rmtree(settings.output / "files", ignore_errors=True)
        return None
    merged = merged_schema(Schema.from_dict(base), [Schema.from_dict(tables) for _, tables in outcomes])
    if merged is None:
        logger.info("normalize: worker processes inferred different types for a column; normalizing "
                    "package %s in order instead", settings.load_id)
        shutil.rmtree(settings.output / "files", ignore_errors=True)
        return None
    schema.tables = merged.tables
    return _combined([result for result, _ in outcomes])


class WorkerLost(Exception):
    """A worker process could not start or ended without an answer (killed, out of memory)."""


def split_by_bytes(chunks: list[Chunk], sizes: list[int], groups: int) -> list[list[Chunk]]:
    """Contiguous runs of ``chunks`` with about equal total ``sizes``, at most ``groups`` of them
    (a chunk goes to the group where more than half of it falls).

    >>> split_by_bytes([(0, "a", "t"), (1, "b", "t"), (2, "c", "t")], [10, 10, 20], 2)
    [[(0, 'a', 't'), (1, 'b', 't')], [(2, 'c', 't')]]
    """
    total = sum(sizes) or 1
    found: list[list[Chunk]] = [[]]
    seen = 0
    for chunk, size in zip(chunks, sizes):
        if found[-1] and len(found) < groups and seen + size / 2 >= total * len(found) / groups:
            found.append([])
        found[-1].append(chunk)
        seen += size
    return found


def merged_schema(base: Schema, outcomes: list[Schema]) -> Schema | None:
    """``base`` with every table and column the ``outcomes`` added, in order; None on a conflict."""
    for outcome in outcomes:
        for table in outcome.tables.values():
            mine = base.tables.setdefault(table.name, table)
            if mine is table:
                continue
            if mine.source_key is None:
                mine.source_key = table.source_key
            elif table.source_key not in (None, mine.source_key):  # two lists in one child table
                return None
            for column in table.columns.values():
                agreed = _agreed(mine.columns.get(column.name), column)
                if agreed is None:
                    return None
                mine.columns[column.name] = agreed
    return base if _one_place_per_key(base) else None


def _one_place_per_key(schema: Schema) -> bool:
    """False when two workers put one source key in two columns or one list in two child tables
    (each saw other keys first)."""
    lists = [(t.parent, t.source_key) for t in schema.tables.values() if t.source_key is not None]
    return len(lists) == len(set(lists)) and all(_one_column_per_key(t) for t in schema.tables.values())


def _one_column_per_key(table: Table) -> bool:
    keys = [c.source_key for c in table.columns.values() if c.source_key is not None]
    return len(keys) == len(set(keys))


def _agreed(mine: Column | None, theirs: Column) -> Column | None:
    """The column both sides describe (a type fills in an untyped column, a source key a column
    recorded without one), or None if they differ (two source keys in one column included)."""
    if mine is not None and mine.source_key is None and theirs.source_key is not None:
        mine = with_hints(mine, source_key=theirs.source_key)  # recorded without one (a hint, an older schema)
    if mine is None or mine == theirs or theirs.data_type is None and _same_but_type(mine, theirs):
        return mine or theirs
    if mine.data_type is None and _same_but_type(theirs, mine):
        return theirs
    return None


def _same_but_type(typed: Column, untyped: Column) -> bool:
    if untyped.source_key not in (None, typed.source_key):
        return False
    filled = {"data_type": None, "source_key": None}
    return typed.to_dict() | filled == untyped.to_dict() | filled


def run_workers(tasks: list[tuple[ChunkSettings, list[Chunk], dict[str, Any]]]) -> list[Any]:
    """Run each task in a fresh ``python -m dataload.normalize.worker`` process; their results in order.

    Fresh interpreters, not ``multiprocessing``: a forked child would inherit the parent's threads
    (DuckDB, pyarrow, parallelized resources), and a spawned one re-runs the user's script when it
    has no ``if __name__ == "__main__":`` guard. The first error a worker raised is raised here;
    a worker that could not start or died without an answer raises :class:`WorkerLost`.
    """
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in tasks:
            processes.append(subprocess.Popen([sys.executable, "-m", "dataload.normalize.worker"],
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment))
        with ThreadPoolExecutor(max_workers=len(processes)) as pool:
            outputs = list(pool.map(lambda run, task: run.communicate(pickle.dumps(task))[0], processes, tasks))
    except OSError as exc:
        raise WorkerLost(f"cannot run a worker process with {sys.executable!r}: {exc}") from None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return [_answer(process, output) for process, output in zip(processes, outputs)]


def _answer(process: subprocess.Popen[bytes], output: bytes) -> Any:
    """What a finished worker sent back; its error raised, :class:`WorkerLost` if it sent nothing readable."""
    answer: tuple[Any, Any] = (None, None)
    try:
        if process.returncode == 0:
            answer = pickle.loads(output)
    except Exception:  # a truncated or foreign answer
        pass
    succeeded, value = answer
    if succeeded is None:
        raise WorkerLost(f"a worker process exited with code {process.returncode} without an answer")
    if not succeeded:
        raise value
    return value


def _combined(results: list[NormalizeResult]) -> NormalizeResult:
    combined = NormalizeResult(processes=len(results))
    for result in results:
        for table, rows in result.rows.items():
            combined.rows[table] = combined.rows.get(table, 0) + rows
        combined.files.extend(result.files)
        combined.discards.rows.update(result.discards.rows)
        combined.discards.values.update(result.discards.values)
        combined.type_notes.update(result.type_notes)
    return combined


def _size(settings: ChunkSettings, chunk: Chunk) -> int:
    return (settings.extracted / chunk[1]).stat().st_size
