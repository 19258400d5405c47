"""Schema changes committed without data: dropping resources' tables or columns, applying an import schema.

Such a change is committed like a package: a :class:`~dataload.destination.LoadPackage` without
files but with the tables or columns to drop, the new schema and the state, in one transaction of
the destination; only then are the local schema and state rewritten.
"""

from __future__ import annotations

import copy
from typing import Any

from dataload._state import bump_version, encode
from dataload.context import PipelineContext
from dataload.exceptions import InvalidConfig
from dataload.load.step import load_with_retries
from dataload.package.order import refuse_if_blocked
from dataload.package.storage import new_load_id
from dataload.protocol import LoadPackage
from dataload.schema.model import Schema


def drop_resources(ctx: PipelineContext, resources: set[str]) -> list[str]:
    """Drop the tables (and child tables) of ``resources`` from the destination and the schema, and
    reset their state; returns the dropped tables. Waits, like new data, for a failed package.
    A resource the pipeline does not know is refused (:class:`InvalidConfig`, listing the known ones)."""
    refuse_if_blocked(ctx.packages, ctx.pipeline_name, f"dropping resources {sorted(resources)}")
    schema = ctx.schema()
    document = copy.deepcopy(ctx.newest_state())
    refuse_unknown_resources(ctx.pipeline_name, resources, schema, document)
    tables = resource_tables(schema, resources)
    for name in tables:
        del schema.tables[name]
    for source_state in document.get("sources", {}).values():
        for name in resources:
            source_state.get("resources", {}).pop(name, None)
    bump_version(document)
    commit_schema_change(ctx, schema, dropped_tables=list(reversed(tables)), state=encode(document))
    return tables


def resource_tables(schema: Schema, resources: set[str]) -> list[str]:
    """The tables of ``resources`` in ``schema``: each root table followed by its child tables."""
    roots = [t.name for t in schema.tables.values() if t.is_root and t.resource in resources]
    return [name for root in roots for name in [root, *schema.children_of(root)]]


def refuse_unknown_resources(pipeline_name: str, resources: set[str], schema: Schema, state: dict[str, Any]) -> None:
    """Raise :class:`InvalidConfig` naming the known resources when one of ``resources`` is not known:
    a known resource made a table of ``schema`` or keeps ``state`` (decoded)."""
    known = {t.resource for t in schema.tables.values() if t.is_root and t.resource}
    known |= {name for source in state.get("sources", {}).values() for name in source.get("resources", {})}
    unknown = sorted(resources - known)
    if unknown:
        raise InvalidConfig(f"pipeline {pipeline_name!r} has no resource {', '.join(map(repr, unknown))} to drop; "
                            f"its resources: {', '.join(sorted(known)) or 'none yet'}")


def drop_columns(ctx: PipelineContext, table: str, columns: list[str]) -> None:
    """Drop ``columns`` of ``table`` from the schema and the destination in one transaction.
    Waits, like new data, for a failed package."""
    refuse_if_blocked(ctx.packages, ctx.pipeline_name, f"dropping columns {columns} of table {table!r}")
    schema = ctx.schema()
    if table not in schema.tables:
        raise InvalidConfig(f"table {table!r} is not in schema {schema.name!r}")
    known = schema.tables[table].columns
    unknown = [c for c in columns if c not in known or c.startswith("_dl_")]
    if unknown:
        raise InvalidConfig(f"table {table!r} has no droppable column {unknown[0]!r}; "
                            f"its columns: {[c for c in known if not c.startswith('_dl_')]}")
    for column in columns:
        del known[column]
    commit_schema_change(ctx, schema, dropped_columns={table: list(columns)})


def commit_schema_change(ctx: PipelineContext, schema: Schema, *, dropped_tables: list[str] | None = None,
                         dropped_columns: dict[str, list[str]] | None = None,
                         state: dict[str, Any] | None = None) -> None:
    """Commit ``schema`` (with what it drops) and ``state`` (encoded; default: the newest) to the
    destination, then make them the local schema and state."""
    schema.bump_version()
    document = state if state is not None else encode(ctx.newest_state())
    package = LoadPackage(new_load_id(), ctx.pipeline_name, schema, [], document, [],
                          dropped_tables=dropped_tables or [], dropped_columns=dropped_columns or {})
    load_with_retries(ctx.new_client, package, ctx.retry_policy)
    ctx.save_schema(schema)
    ctx.write_state(document)


def with_imported_schema(ctx: PipelineContext, schema: Schema) -> Schema:
    """Apply a changed import schema file to ``schema``; columns removed from it are dropped at once."""
    change = ctx.schema_files.read_import(schema)
    if change is None:
        return schema
    imported, dropped = change
    if dropped:
        commit_schema_change(ctx, imported, dropped_columns=dropped)
    else:
        ctx.save_schema(imported)
    ctx.schema_files.mark_imported()
    return imported
