"""TableRows: the columns one batch contributes to one table, before they meet the schema."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataload.exceptions import SchemaError
from dataload.schema.model import LIST_INDEX, PARENT_ID, ROOT_ID, ROW_ID, Schema
from dataload.schema.naming import ColumnNames, SourceKey, child_table_path, claim_order, shorten


@dataclass
class TableRows:
    """Raw columns of one table from one batch, linked to the parent table's rows by position."""

    table: str
    parent: str | None
    length: int
    columns: dict[str, pa.Array] = field(default_factory=dict)
    alternatives: dict[str, list[pa.Array]] = field(default_factory=dict)
    json_columns: set[str] = field(default_factory=set)
    sources: dict[str, SourceKey] = field(default_factory=dict)
    parent_index: pa.Array | None = None
    list_index: pa.Array | None = None
    source_key: SourceKey | None = None  # a child table's: the list's keys in the parent's rows

    def fill(self, names: ColumnNames, leaves: list[tuple[SourceKey, pa.Array, bool]]) -> None:
        """Add the columns ``leaves`` (source key, values, is JSON) under their resolved names."""
        for (source_key, array, is_json), name in zip(leaves, names.resolve([leaf[0] for leaf in leaves])):
            if name in self.columns:  # the same key twice, as in an Arrow table with two columns of one name
                raise SchemaError(f"table {self.table!r}: the key {source_key!r} appears twice (column {name!r}); "
                                  "rename one of them", table=self.table, column=name)
            self.columns[name] = array
            self.sources[name] = source_key
            if is_json:
                self.json_columns.add(name)


class TableNames:
    """The :class:`ColumnNames` of every table a batch fills and the names of its child tables,
    seeded from the columns and child tables the schema recorded.

    >>> TableNames(None, None).of("t").resolve([("+1",), ("-1",)])
    ['plus_1', 'minus_1']
    """

    def __init__(self, schema: Schema | None, max_length: int | None) -> None:
        self.schema, self.max_length = schema, max_length
        self.tables: dict[str, ColumnNames] = {}
        self.children: dict[tuple[str, SourceKey], str] = {}  # (parent, list's key) -> child table
        self.taken_tables: set[str] = set()  # table names no new list may take
        for table in schema.tables.values() if schema else ():
            if table.source_key is not None and table.parent is not None:
                self.children[(table.parent, table.source_key)] = table.name
            if table.source_key is not None or table.parent is None:
                self.taken_tables.add(table.name)

    def child_tables_of(self, parent: str, parent_path: str, source_keys: list[SourceKey]) -> list[tuple[str, str]]:
        """(name, unshortened name) of the child table of each list at ``source_keys`` in rows of ``parent``
        (whose unshortened name is ``parent_path``): recorded, else plain, else disambiguated (as for columns)."""
        for source_key in sorted(set(source_keys), key=claim_order):
            if (parent, source_key) not in self.children:
                self._claim_child(parent, parent_path, source_key)
        found = []
        for source_key in source_keys:
            name = self.children[(parent, source_key)]
            path = child_table_path(parent_path, source_key)
            found.append((name, path if shorten(path, self.max_length) == name
                          else child_table_path(parent_path, source_key, disambiguate=True)))
        return found

    def _claim_child(self, parent: str, parent_path: str, source_key: SourceKey) -> None:
        name = shorten(child_table_path(parent_path, source_key), self.max_length)
        existing = self.schema.tables.get(name) if self.schema else None
        if name in self.taken_tables or (existing is not None and existing.parent != parent):
            name = shorten(child_table_path(parent_path, source_key, disambiguate=True), self.max_length)
        self.taken_tables.add(name)
        self.children[(parent, source_key)] = name

    def of(self, table: str) -> ColumnNames:
        """The names of ``table``'s columns (made on first use)."""
        names = self.tables.get(table)
        if names is None:
            known = self.schema.tables.get(table) if self.schema else None
            columns = known.columns.values() if known else ()
            seeds = [(c.name, c.source_key, c.variant_of is None) for c in columns]
            names = self.tables[table] = ColumnNames(seeds, self.max_length)
        return names


def list_positions(lists: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """For a list array: (flattened values, index of the owning row, position inside the list)."""
    values = lists.flatten()
    parents = pc.list_parent_indices(lists)
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False)
    starts = np.cumsum(lengths) - lengths
    parent_np = parents.to_numpy(zero_copy_only=False)
    positions = np.arange(len(parent_np), dtype=np.int64) - starts[parent_np]
    return values, parents, pa.array(positions, type=pa.int64())


def unique_ids(count: int) -> pa.Array:
    """``count`` new 64-bit row ids, random, so unique across loads for any practical table size."""
    seed = int.from_bytes(os.urandom(8), "little")
    return pa.array(np.random.default_rng(seed).integers(-(2**63), 2**63 - 1, count, dtype=np.int64))


def key_ids(key_columns: list[pa.Array]) -> pa.Array:
    """Deterministic 64-bit row ids derived from primary key values (same key, same id)."""
    texts = [pc.cast(col, pa.string()).fill_null("\x00null") for col in key_columns]
    joined = texts[0] if len(texts) == 1 else pc.binary_join_element_wise(*texts, "\x1f")
    return pa.array([int.from_bytes(hashlib.blake2b(v.encode(), digest_size=8).digest(), "little", signed=True)
                     for v in joined.to_pylist()], type=pa.int64())


def _mix(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer: a fast, well-spread 64-bit hash of each value."""
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))  # type: ignore[no-any-return]


def child_ids(table: str, parent_ids: pa.Array, positions: pa.Array) -> pa.Array:
    """Deterministic ids for child rows: a hash of the table, the parent's id and the list position."""
    salt = np.uint64(int.from_bytes(hashlib.blake2b(table.encode(), digest_size=8).digest(), "little"))
    parents = parent_ids.to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64)
    indexes = positions.to_numpy(zero_copy_only=False).astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = _mix(_mix(parents ^ salt) + indexes)
    return pa.array(mixed.view(np.int64))


def link_child(rows: TableRows, parent_ids: pa.Array, parent_roots: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Fill the linkage columns of a child table from its parent's ids; returns (ids, root ids)."""
    assert rows.parent_index is not None and rows.list_index is not None
    parent_of_row = pc.take(parent_ids, rows.parent_index)
    root_of_row = pc.take(parent_roots, rows.parent_index)
    ids = child_ids(rows.table, parent_of_row, rows.list_index)
    rows.columns[PARENT_ID] = parent_of_row
    rows.columns[LIST_INDEX] = rows.list_index
    rows.columns[ROOT_ID] = root_of_row
    rows.columns[ROW_ID] = ids
    return ids, root_of_row


def assign_ids(batch: list[TableRows], root_ids: pa.Array) -> None:
    """Give every row of a batch its ``_dl_id`` and link child rows to their parents.

    ``batch[0]`` is the root table; parents always come before their children.
    """
    batch[0].columns[ROW_ID] = root_ids
    known = {batch[0].table: (root_ids, root_ids)}
    for rows in batch[1:]:
        parent_ids, parent_roots = known[rows.parent]  # type: ignore[index]
        known[rows.table] = link_child(rows, parent_ids, parent_roots)


def keep_rows(batch: list[TableRows], keep: pa.Array) -> list[TableRows]:
    """Drop root rows where ``keep`` is false, together with all their child rows."""
    masks: dict[str, np.ndarray] = {batch[0].table: keep.to_numpy(zero_copy_only=False)}
    for rows in batch:
        mask = masks[rows.table] if rows.parent is None else None
        if rows.parent is not None:
            parent_mask = masks[rows.parent]
            index = rows.parent_index.to_numpy(zero_copy_only=False)  # type: ignore[union-attr]
            mask = parent_mask[index]
            remap = np.cumsum(parent_mask) - 1
            rows.parent_index = pa.array(remap[index][mask], type=pa.int64())
            rows.list_index = rows.list_index.filter(pa.array(mask))  # type: ignore[union-attr]
            masks[rows.table] = mask
        assert mask is not None
        selector = pa.array(mask)
        rows.columns = {n: a.filter(selector) for n, a in rows.columns.items()}
        rows.alternatives = {n: [a.filter(selector) for a in arrays] for n, arrays in rows.alternatives.items()}
        rows.length = int(mask.sum())
    return batch


def last_of_each_key(key_ids_array: pa.Array) -> pa.Array:
    """A mask keeping only the last row of each key (``merge``: the latest row wins)."""
    last: dict[Any, int] = {}
    for position, key in enumerate(key_ids_array.to_pylist()):
        last[key] = position
    mask = np.zeros(len(key_ids_array), dtype=bool)
    mask[list(last.values())] = True
    return pa.array(mask)
