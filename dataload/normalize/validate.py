"""Rows checked against a declared JSON Schema; failures follow the ``data_type`` contract mode."""

from __future__ import annotations

import logging
from typing import Any

from dataload.exceptions import DataContractViolation
from dataload.normalize.contract import Discards
from dataload.schema.jsonschema import row_errors

logger = logging.getLogger(__name__)


def validate_rows(rows: list[Any], document: dict[str, Any], *, table: str, schema_name: str,
                  contract: dict[str, str] | None, discards: Discards, first_position: int) -> list[Any]:
    """The rows to keep; raises :class:`DataContractViolation` under ``data_type=freeze``.

    ``evolve`` keeps failing rows (their values may land in variant columns) and logs them;
    ``discard_row`` drops them; ``discard_value`` drops the failing top-level fields, or the row
    when a failing field is required.
    """
    mode = (contract or {}).get("data_type", "evolve")
    failing: dict[int, list[tuple[str, str, str]]] = {}
    for position, field, rule, message in row_errors(document, rows):
        failing.setdefault(position, []).append((field, rule, message))
    if not failing:
        return rows
    if mode == "freeze":
        position, problems = next(iter(failing.items()))
        field, rule, message = problems[0]
        raise DataContractViolation(
            f"schema {schema_name!r}, table {table!r}: row {first_position + position} breaks the declared JSON "
            f"Schema at field {field!r} (rule {rule!r}: {message}); contract data_type=freeze. "
            "Nothing from this package was loaded.",
            table=table, column=field, mode="freeze", entity="data_type", value=message[:80])
    if mode == "evolve":
        for position, problems in failing.items():
            logger.warning("table %s: row %d breaks the declared JSON Schema at %s (%s)", table,
                           first_position + position, problems[0][0], problems[0][2])
        return rows
    if mode == "discard_row":
        discards.rows[table] += len(failing)
        return [row for position, row in enumerate(rows) if position not in failing]
    required = set(document.get("required", []))
    dropped = set()
    for position, problems in failing.items():
        fields = {field.split(".")[0] for field, _, _ in problems}
        if fields & required:  # a required value cannot be dropped alone: the row goes
            dropped.add(position)
            discards.rows[table] += 1
            continue
        rows[position] = {k: v for k, v in rows[position].items() if k not in fields}
        discards.values[table] += len(fields)
    return [row for position, row in enumerate(rows) if position not in dropped]
