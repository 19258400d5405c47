"""Dagster: a source as assets, one per resource, each materialization carrying rows and the table schema.

:func:`dataload_assets` returns one ``multi_asset`` (a single op, so one pipeline never runs twice at
once) with an asset per selected resource; a transformer's asset depends on the asset of the
resource it reads. Materializing a subset runs only the resources asked for (a transformer with
the resource it reads). Each materialization has the metadata ``dagster/row_count`` (rows loaded
into the resource's table), ``dagster/column_schema`` (the table's columns and types),
``dagster/table_name``, ``rows`` (per table, child tables included) and ``load_info``
(``LoadInfo.asdict()``). A failed run raises ``dagster.Failure``, with ``allow_retries=False`` for a
configuration error, a contract violation or a failed package (a ``retry_policy`` retries the rest).
``pip install "dataload[dagster]"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from dataload.exceptions import MissingDependencyError
from dataload.integrations.inputs import PipelineArg, SourceArg, call_source, open_pipeline
from dataload.integrations.outcome import PipelineRunFailed, load_source
from dataload.schema.model import Schema
from dataload.script import resource_tasks

if TYPE_CHECKING:
    import dagster


def dataload_assets(source: SourceArg, *, pipeline: PipelineArg, name: str | None = None,
                    key_prefix: Sequence[str] = (), group_name: str | None = None,
                    retry_policy: dagster.RetryPolicy | None = None) -> dagster.AssetsDefinition:
    """One asset per resource of ``source`` (asset key ``[*key_prefix, resource]``), loaded through ``pipeline``.

    ``name`` names the op (default ``dataload_<source name>``); ``group_name`` and ``retry_policy``
    are Dagster's.
    """
    dg = _dagster()
    resolved = call_source(source)
    groups = resource_tasks(resolved)
    keys = {resource: dg.AssetKey([*key_prefix, resource]) for group in groups for resource in group}
    resources = resolved.selected_resources
    specs = [dg.AssetSpec(key, group_name=group_name, kinds={"dataload"},
                          deps=[keys[parent]] if (parent := _parent(resources[resource])) in keys else [],
                          description=f"resource {resource} of the dataload source {resolved.name}")
             for resource, key in keys.items()]

    def load(context: Any) -> Iterator[Any]:
        selected = {resource for resource, key in keys.items() if key in context.selected_asset_keys}
        to_run = [resource for group in groups if selected.intersection(group) for resource in group]
        pipe = open_pipeline(pipeline)
        try:
            info = load_source(source, pipe, to_run)
        except PipelineRunFailed as failure:
            raise dg.Failure(description=str(failure), allow_retries=failure.retryable,
                             metadata={"load_info": dg.MetadataValue.json(failure.load_info or {})}) from failure
        schema = pipe.default_schema
        for resource in to_run:
            if resource in selected:
                yield dg.MaterializeResult(asset_key=keys[resource],
                                           metadata=_metadata(dg, info, schema, resource, pipe.dataset_name))

    # Dagster reads the annotations at run time, and insists on its context type (not a string, not Any)
    load.__annotations__ = {"context": dg.AssetExecutionContext, "return": Iterator[Any]}
    return dg.multi_asset(specs=specs, name=name or f"dataload_{resolved.name}", can_subset=True,  # type: ignore[no-any-return]
                          retry_policy=retry_policy)(load)


def _parent(resource: Any) -> str | None:
    return resource.data_from.name if resource.data_from is not None else None


def _metadata(dg: Any, info: dict[str, Any], schema: Schema, resource: str, dataset: str) -> dict[str, Any]:
    """The materialization metadata of one resource: rows, the table's schema, where it is, the run's result."""
    roots = [table.name for table in schema.tables.values() if table.resource == resource and table.is_root]
    tables = [family for root in roots for family in (root, *schema.children_of(root))]
    metadata: dict[str, Any] = {
        "dagster/row_count": sum(info["rows"].get(root, 0) for root in roots),
        "rows": dg.MetadataValue.json({table: info["rows"].get(table, 0) for table in tables}),
        "load_info": dg.MetadataValue.json(info),
    }
    if len(roots) == 1:  # a resource that fills tables chosen per item has no one table to describe
        columns = schema.tables[roots[0]].columns.values()
        metadata["dagster/table_name"] = f"{dataset}.{roots[0]}"
        metadata["dagster/column_schema"] = dg.TableSchema(columns=[
            dg.TableColumn(column.name, column.data_type or "unknown",
                           constraints=dg.TableColumnConstraints(nullable=column.nullable))
            for column in columns])
    return metadata


def _dagster() -> Any:
    try:
        import dagster
    except ImportError:
        raise MissingDependencyError("dataload.integrations.dagster", "dagster", "dagster") from None
    return dagster
