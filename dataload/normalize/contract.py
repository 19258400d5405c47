"""Schema contracts: decide, per batch, what happens to new tables, new columns and new data types.

| mode            | new table     | new column              | value of a new type      |
|-----------------|---------------|-------------------------|--------------------------|
| ``evolve``      | created       | added                   | variant column           |
| ``freeze``      | error         | error                   | error                    |
| ``discard_row`` | rows dropped  | rows dropped            | rows dropped             |
| ``discard_value``| rows dropped | value dropped, row kept | value dropped, row kept  |

A new child table (a new nested list) counts as a new *column* of its parent. Rows are dropped
as whole records: the top-level row and all its child rows. Nothing is checked when every
entity is ``evolve`` (the default), so the default costs nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataload.exceptions import DataContractViolation
from dataload.normalize.errors import shorten
from dataload.normalize.fit import variant_column
from dataload.normalize.rows import TableRows, keep_rows
from dataload.schema.infer import coerce, variant_type
from dataload.schema.model import LOAD_ID, Column, Schema, Table


@dataclass
class Discards:
    """Rows and values a contract discarded, per table."""

    rows: Counter[str] = field(default_factory=Counter)
    values: Counter[str] = field(default_factory=Counter)



def is_active(contract: dict[str, str] | None) -> bool:
    """True when some entity is not ``evolve``."""
    return bool(contract) and any(mode != "evolve" for mode in contract.values())  # type: ignore[union-attr]


class _Enforcer:
    def __init__(self, batch: list[TableRows], schema: Schema, contract: dict[str, str], discards: Discards,
                 max_length: int | None):
        self.batch, self.schema, self.contract, self.discards = batch, schema, contract, discards
        self.max_length = max_length
        self.drop_roots = np.zeros(batch[0].length, dtype=bool)
        self.root_of: dict[str, np.ndarray] = {batch[0].table: np.arange(batch[0].length)}
        self.removed: set[str] = set()

    def mode(self, entity: str) -> str:
        return self.contract.get(entity, "evolve")

    def run(self) -> list[TableRows]:
        for rows in self.batch:
            if rows.parent in self.removed:
                self.removed.add(rows.table)
                continue
            if rows.parent is not None:
                parent_roots = self.root_of[rows.parent]
                self.root_of[rows.table] = parent_roots[rows.parent_index.to_numpy(zero_copy_only=False)]  # type: ignore[union-attr]
            table = self.schema.tables.get(rows.table)
            if table is None or LOAD_ID not in table.columns:  # never received data
                self.new_table(rows)
            else:
                self.check_columns(rows, table)
        batch = [rows for rows in self.batch if rows.table not in self.removed]
        if self.drop_roots.any():
            self.discards.rows[batch[0].table] += int(self.drop_roots.sum())
            batch = keep_rows(batch, pa.array(~self.drop_roots))
        return batch

    def new_table(self, rows: TableRows) -> None:
        entity = "tables" if rows.parent is None else "columns"
        mode = self.mode(entity)
        if mode == "evolve" or rows.length == 0:
            return
        if mode == "freeze":
            raise self.violation(rows.table, None, entity, f"new table {rows.table!r}", None)
        if mode == "discard_value" and rows.parent is not None:
            self.removed.add(rows.table)
            self.discards.values[rows.parent] += rows.length
        else:
            self.drop_roots[self.root_of[rows.table]] = True

    def check_columns(self, rows: TableRows, table: Table) -> None:
        for name in [n for n in rows.columns if not n.startswith("_dl_")]:
            column = table.columns.get(name)
            pieces = [rows.columns[name], *rows.alternatives.get(name, [])]
            if column is None:
                present = _any_valid(pieces)
                if present is not None:
                    self.handle(rows, name, "columns", present, pieces, f"new column {name!r}")
            elif column.data_type is not None:
                self.check_types(rows, table, name, pieces)

    def check_types(self, rows: TableRows, table: Table, name: str, pieces: list[pa.Array]) -> None:
        column = table.columns[name]
        fitted: pa.Array | None = None
        misfits = []
        for piece in pieces:
            fits, leftovers = coerce(piece, column)
            fitted = fits if fitted is None else pc.coalesce(fitted, fits)
            if leftovers is not None and not _has_variant(table, column, leftovers, self.max_length):
                misfits.append(leftovers)
        present = _any_valid(misfits)
        if present is None:
            return
        if self.handle(rows, name, "data_type", present, misfits, f"value of a new type in column {name!r}"):
            rows.columns[name] = fitted
            rows.alternatives.pop(name, None)

    def handle(self, rows: TableRows, name: str, entity: str, present: np.ndarray, pieces: list[pa.Array],
               what: str) -> bool:
        """Apply the entity's mode; True when the values were discarded (row kept)."""
        mode = self.mode(entity)
        if mode == "evolve":
            return False
        if mode == "freeze":
            sample = next(p[int(np.flatnonzero(_valid(p))[0])].as_py() for p in pieces if _valid(p).any())
            raise self.violation(rows.table, name, entity, what, sample)
        if mode == "discard_row":
            self.drop_roots[self.root_of[rows.table][present]] = True
            return False
        self.discards.values[rows.table] += int(present.sum())
        if entity == "columns":
            rows.columns.pop(name)
            rows.alternatives.pop(name, None)
        return True

    def violation(self, table: str, column: str | None, entity: str, what: str, value: object) -> DataContractViolation:
        shown = None if value is None else shorten(value)
        return DataContractViolation(
            f"schema {self.schema.name!r}, table {table!r}: {what} is not allowed by the schema contract "
            f"({entity}=freeze){'' if shown is None else f'; offending value: {shown}'}. "
            f"Nothing from this package was loaded.",
            table=table, column=column, mode="freeze", entity=entity, value=shown)


def enforce(batch: list[TableRows], schema: Schema, contract: dict[str, str] | None,
            discards: Discards, max_identifier_length: int | None) -> list[TableRows]:
    """Apply ``contract`` to one batch (parents first); raises :class:`DataContractViolation` on freeze."""
    if not is_active(contract) or not batch:
        return batch
    return _Enforcer(batch, schema, contract, discards, max_identifier_length).run()  # type: ignore[arg-type]


def _valid(array: pa.Array) -> np.ndarray:
    return pc.is_valid(array).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def _any_valid(pieces: list[pa.Array]) -> np.ndarray | None:
    if not pieces:
        return None
    mask = np.zeros(len(pieces[0]), dtype=bool)
    for piece in pieces:
        mask |= _valid(piece)
    return mask if mask.any() else None


def _has_variant(table: Table, column: Column, values: pa.Array, max_length: int | None) -> bool:
    inferred = variant_type(column.name, values, column)
    return variant_column(table, column.name, inferred.data_type or "text", max_length) in table.columns
