"""The checks after every reliability case (issue 17): what landed equals what the source gave.

:func:`assert_landed` is the one checker the crash, random-kill and fault tests end with. It reads
every table back through the pipeline's destination and checks, table by table, against the rows
the source holds:

* the row count equals the source's;
* no duplicate full rows (the tables used are keyless appends, where a duplicate would show), and
  no duplicate primary keys where ``keys`` names them;
* an order-independent checksum over every user column equals the source's;
* every child row has a parent (``_dl_parent_id`` is a ``_dl_id`` of the parent table);
* ``_dl_loads`` has one row per committed package, and every row's ``_dl_load_id`` is one of them;
* the stored cursor equals the maximum loaded value;
* the working directory and the destination agree: ``sync_destination()`` changes nothing, and a
  fresh working directory restored from the destination has the same state and schema.

Also :func:`assert_clean` (nothing pending) and :func:`cursor`.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import dataload

TEMP_STAGES = ("extracting.tmp", "normalizing.tmp")
SYSTEM_PREFIX = "_dl_"


def cursor(pipe: dataload.Pipeline, resource: str = "items", path: str = "id") -> Any:
    """The committed ``last_value`` of the incremental cursor (None when no state yet)."""
    for source in pipe.state.get("sources", {}).values():
        found = source.get("resources", {}).get(resource, {}).get("incremental", {}).get(path)
        if found is not None:
            return found["last_value"]
    return None


def stage_ids(pipe: dataload.Pipeline, stage: str) -> list[str]:
    folder = pipe.working_dir / "packages" / stage
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def assert_clean(pipe: dataload.Pipeline) -> None:
    """Nothing left in a temporary stage and nothing pending."""
    for stage in (*TEMP_STAGES, "removing.tmp", "extracted", "normalized", "failed"):
        assert stage_ids(pipe, stage) == [], f"leftover package(s) in {stage}"


def checksum(rows: list[dict[str, Any]]) -> int:
    """An order-independent checksum of ``rows`` over their user columns (a sum of row hashes mod 2**64).

    Columns that are null in a row count as absent, so a source row without a key and a loaded row
    with that column null agree.
    """
    total = 0
    for row in rows:
        digest = hashlib.blake2b(repr(_user_values(row)).encode(), digest_size=8).digest()
        total = (total + int.from_bytes(digest, "little")) % 2**64
    return total


def _user_values(row: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, v) for k, v in row.items() if not k.startswith(SYSTEM_PREFIX) and v is not None))


def assert_landed(pipe: dataload.Pipeline, source: dict[str, list[dict[str, Any]]], *, packages: int | range,
                  keys: dict[str, str] | None = None, cursors: dict[str, str] | None = None) -> None:
    """Check what ``pipe`` loaded against ``source`` (the rows of each table the source gave).

    ``packages``: how many packages were committed (rows in ``_dl_loads``; a range when a random kill
    makes it vary); ``keys``: table -> primary
    key column; ``cursors``: resource (its table) -> cursor column, whose stored value must be the
    column's maximum.
    """
    dataset = pipe.dataset()
    loaded = {table: dataset.table(table).rows() for table in source}
    for table, want in source.items():
        got = loaded[table]
        assert len(got) == len(want), f"{table}: {len(got)} rows loaded, the source gave {len(want)}"
        repeated = [row for row, n in Counter(_user_values(r) for r in got).items() if n > 1]
        assert not repeated, f"{table}: duplicate rows {repeated[:3]}"
        key = (keys or {}).get(table)
        if key is not None:
            values = [row[key] for row in got]
            assert len(values) == len(set(values)), f"{table}: duplicate {key} values"
        assert checksum(got) == checksum(want), f"{table}: the loaded values differ from the source's"
    _assert_children_have_parents(pipe, loaded)
    load_ids = [row["load_id"] for row in dataset.table("_dl_loads").rows()]
    assert len(load_ids) == len(set(load_ids)), f"_dl_loads: a package recorded twice: {sorted(load_ids)}"
    assert len(load_ids) in (packages if isinstance(packages, range) else [packages]), \
        f"_dl_loads: {len(load_ids)} rows, want {packages}"
    for table, rows in loaded.items():
        strays = {row["_dl_load_id"] for row in rows} - set(load_ids)
        assert not strays, f"{table}: rows of load(s) {strays} that _dl_loads does not record"
    for table, column in (cursors or {}).items():
        assert cursor(pipe, table, column) == max(row[column] for row in loaded[table]), \
            f"{table}: stored cursor {cursor(pipe, table, column)!r} is not the maximum loaded {column}"
    assert_destination_agrees(pipe)


def _assert_children_have_parents(pipe: dataload.Pipeline, loaded: dict[str, list[dict[str, Any]]]) -> None:
    schema = pipe.default_schema
    for table in loaded:
        for child in (t for t in schema.data_tables() if t.parent == table):
            ids = {row["_dl_id"] for row in loaded[table]}
            orphans = [row for row in pipe.dataset().table(child.name).rows() if row["_dl_parent_id"] not in ids]
            assert not orphans, f"{child.name}: {len(orphans)} row(s) without a parent in {table}"


def assert_destination_agrees(pipe: dataload.Pipeline) -> None:
    """The working directory and the destination hold the same state and schema.

    ``sync_destination()`` must find nothing to change, and a working directory restored from the
    destination alone (a fresh folder) must get the very state and schema the local one has.
    """
    assert pipe.sync_destination() is False, f"pipeline {pipe.pipeline_name}: the destination holds another state"
    with tempfile.TemporaryDirectory() as scratch:
        restored = dataload.pipeline(pipe.pipeline_name, destination=pipe.destination, dataset_name=pipe.dataset_name,
                                     pipelines_dir=Path(scratch))
        restored.sync_destination()
        assert restored.state == pipe.state, "the state restored from the destination differs from the local one"
        assert restored.default_schema.to_dict() == pipe.default_schema.to_dict(), \
            "the schema restored from the destination differs from the local one"
