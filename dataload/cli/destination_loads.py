"""The loads a pipeline committed, as the destination records them: ``_dl_loads`` and rows per load id."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from dataload.facade import Pipeline
from dataload.protocol import PART_STATUS
from dataload.schema.model import LOAD_ID
from dataload.sql_client import quote_identifier

logger = logging.getLogger(__name__)

LOADED = 0
"""The ``status`` of a committed package in ``_dl_loads``."""


@dataclass
class RecordedLoad:
    """One row of ``_dl_loads`` of the pipeline's schema, with the rows each table holds of that load."""

    load_id: str
    inserted_at: Any
    status: int
    schema_version_hash: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def status_text(self) -> str:
        """``loaded``, ``unfinished part`` (a part of a streamed run still running, or undone by the next
        run), or the raw status of a row some other tool wrote."""
        return {LOADED: "loaded", PART_STATUS: "unfinished part"}.get(self.status, f"status {self.status}")


def recorded_loads(pipe: Pipeline) -> list[RecordedLoad]:
    """The loads of the pipeline's schema in the destination, oldest first, with rows per table.

    A table of the local schema the destination cannot count (no load created it yet: its package
    failed) is left out of the rows.
    """
    schema = pipe.default_schema
    loads = {row["load_id"]: RecordedLoad(row["load_id"], row["inserted_at"], row["status"],
                                          row["schema_version_hash"])
             for row in pipe.dataset().table("_dl_loads").rows() if row["schema_name"] == schema.name}
    with pipe.sql_client() as sql:
        for table in schema.data_tables():
            if LOAD_ID not in table.columns:
                continue
            key, relation = quote_identifier(LOAD_ID), quote_identifier(table.name)
            counted = f"SELECT {key}, count(*) FROM {relation} GROUP BY {key}"
            try:
                counts = sql.execute(counted).fetchall()
            except Exception as error:  # a table of the local schema no load created yet (its package failed)
                logger.debug("rows of table %s not counted: %s", table.name, error)
                continue
            for load_id, count in counts:
                if load_id in loads:
                    loads[load_id].rows[table.name] = count
    return [loads[load_id] for load_id in sorted(loads)]
