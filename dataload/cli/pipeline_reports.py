"""What ``dataload pipeline ...`` prints: a pipeline's info, last trace, schema and packages as text or data."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # light at import: every command's parser imports this module
    from dataload.cli.local_pipeline import LocalPackage, LocalPipeline
    from dataload.info import Trace
    from dataload.schema.model import Column, Schema

_LABEL_WIDTH = 13


def labelled(pairs: list[tuple[str, str]]) -> str:
    """``label  value`` lines, the values aligned.

    >>> print(labelled([("dataset", "ds"), ("destination", "duckdb")]))
    dataset      ds
    destination  duckdb
    """
    return "\n".join(f"{label:<{_LABEL_WIDTH - 2}}  {value}" for label, value in pairs)


def info_data(local: LocalPipeline) -> dict[str, Any]:
    """What ``info`` shows, as JSON data: read from the working dir only."""
    schema, trace, packages = local.schema(), local.trace(), local.packages()
    return {
        "pipeline": local.name,
        "working_dir": str(local.working_dir),
        "destination": local.destination,
        "dataset": local.dataset,
        "last_run": None if trace is None else {"started_at": trace.started_at, "seconds": trace.seconds,
                                                "error": trace.error},
        "pending_packages": [{"load_id": p.load_id, "stage": p.stage} for p in packages if p.stage != "failed"],
        "failed_packages": [_failed_data(p) for p in packages if p.stage == "failed"],
        "state": state_summary(local.state()),
        "schema": schema.name,
        "schema_version": schema.version,
        "tables": [t.name for t in schema.data_tables()],
    }


def state_summary(state: dict[str, Any]) -> dict[str, Any]:
    """The state's version and, per ``source.resource``, what it keeps (incremental cursors by their last value).

    >>> state_summary({"_state_version": 2, "sources": {"shop": {"resources": {"events": {"incremental": {
    ...     "updated": {"last_value": 9}}, "page": 3}}}}})
    {'version': 2, 'resources': {'shop.events': {'incremental': {'updated': 9}, 'page': 3}}}
    """
    resources: dict[str, Any] = {}
    for source, source_state in state.get("sources", {}).items():
        for resource, kept in source_state.get("resources", {}).items():
            cursors = {path: cursor.get("last_value") for path, cursor in kept.get("incremental", {}).items()}
            others = {key: value for key, value in kept.items() if key != "incremental"}
            resources[f"{source}.{resource}"] = ({"incremental": cursors} if cursors else {}) | others
    return {"version": state.get("_state_version", 0), "resources": resources}


def _failed_data(package: LocalPackage) -> dict[str, Any]:
    failure = package.failure
    return {"load_id": package.load_id, "step": failure and failure.step, "table": failure and failure.table,
            "error_type": failure and failure.error_type, "error": failure and failure.error}


def info_text(info: dict[str, Any]) -> str:
    """``info`` as aligned lines."""
    run = info["last_run"]
    pending = "; ".join(f"{p['load_id']} ({p['stage']})" for p in info["pending_packages"]) or "none"
    failed = "; ".join(_failed_text(p) for p in info["failed_packages"]) or "none"
    tables = ", ".join(info["tables"]) or "none yet"
    return labelled([
        ("pipeline", info["pipeline"]), ("working dir", info["working_dir"]),
        ("destination", info["destination"]), ("dataset", info["dataset"]),
        ("last run", "never" if run is None else run_text(run["started_at"], run["seconds"], run["error"])),
        ("pending", pending), ("failed", failed), ("state", _state_text(info["state"])),
        ("tables", f"{tables} (schema {info['schema']} version {info['schema_version']})"),
    ])


def run_text(started_at: str | None, seconds: float, error: str | None) -> str:
    """When a run started, how long it took and how it ended (an error by its first line).

    >>> run_text("2024-01-01T00:00:00.000+00:00", 1.5, None)
    '2024-01-01T00:00:00.000+00:00, 1.50 s, ok'
    """
    ending = "ok" if error is None else "failed: " + error.splitlines()[0]
    return f"{started_at}, {seconds:.2f} s, {ending}"


def _failed_text(failed: dict[str, Any]) -> str:
    if failed["step"] is None:
        return f"{failed['load_id']} (no record of the error)"
    table = f", table {failed['table']}" if failed["table"] else ""
    return f"{failed['load_id']} ({failed['step']}{table}: {failed['error_type']})"


def _state_text(summary: dict[str, Any]) -> str:
    parts = [f"version {summary['version']}"]
    for resource, kept in summary["resources"].items():
        values = [f"incremental {path} = {value}" for path, value in kept.get("incremental", {}).items()]
        values += [f"{key} = {_short(value)}" for key, value in kept.items() if key != "incremental"]
        parts.append(f"{resource}: {', '.join(values) or 'nothing kept'}")
    return "; ".join(parts)


def _short(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def trace_text(name: str, trace: Trace) -> str:
    """The last run: when, how long and how it ended, then one line per step (rows per table, attempts)."""
    ending = "ok" if trace.error is None else "failed (the error is below the steps)"
    lines = [f"last run of {name}: started {trace.started_at}, {trace.seconds:.2f} s, {ending}"]
    lines += [str(step) for step in trace.steps]
    if trace.error is not None:
        lines += ["error:", *("  " + line for line in trace.error.splitlines())]
    return "\n".join(lines)


def schema_text(schema: Schema) -> str:
    """The schema as text: each data table (resource and write disposition, or parent) and its columns."""
    lines = [f"schema {schema.name} version {schema.version}"]
    for table in schema.data_tables():
        how = f"resource {table.resource}, {table.write_disposition}" if table.is_root else f"child of {table.parent}"
        lines.append(f"{table.name} ({how})")
        columns = [(column.name, column.data_type or "(no type yet)", _column_hints(column))
                   for column in table.columns.values()]
        name_width = max((len(name) for name, _, _ in columns), default=0)
        type_width = max((len(kind) for _, kind, _ in columns), default=0)
        lines += [f"  {name:<{name_width}}  {kind:<{type_width}}  {hints}".rstrip() for name, kind, hints in columns]
    return "\n".join(lines)


def _column_hints(column: Column) -> str:
    hints = [hint for hint, on in (("primary key", column.primary_key), ("merge key", column.merge_key),
                                   ("not null", not column.nullable)) if on]
    if column.variant_of:
        hints.append(f"variant of {column.variant_of}")
    return "  ".join(hints)


def failure_text(package: LocalPackage) -> str:
    """A failed package: the step and table it failed on, the file, and the error."""
    failure = package.failure
    if failure is None:
        return (f"package {package.load_id}: failed (no record of the error: it failed before dataload recorded "
                f"errors); its files are in {package.folder}")
    table = f" on table {failure.table}" if failure.table else ""
    lines = [f"package {package.load_id}: {failure.step} failed{table}", f"  at {failure.failed_at}"]
    if failure.file:
        lines.append(f"  file {failure.file}")
    lines += [f"  {failure.error_type}: " + failure.error.splitlines()[0],
              *("  " + line for line in failure.error.splitlines()[1:])]
    return "\n".join(lines)


def package_text(package: LocalPackage) -> str:
    """A package on disk: stage and folder, rows (or extracted items) per table, its files, the state it commits."""
    manifest = package.manifest
    lines = [f"package {package.load_id}: {package.stage} (in {package.folder})", "tables:"]
    if manifest.files:
        lines += [f"  {table}: {count} row(s)" for table, count in manifest.rows.items()]
        lines.append("files:")
        lines += [f"  {entry['table']}  {entry['path']}  {entry['rows']} row(s)" for entry in manifest.files]
    else:
        lines += [f"  {table}: {count} item(s)" for table, count in manifest.items.items()]
        lines.append("files (extracted, not normalized yet):")
        lines += [f"  {table}  extracted/{name}" for name, table in manifest.extracted_files]
    lines.append(f"state: version {manifest.state.get('_state_version', 0)} (committed with the package)")
    if package.failure is not None:
        lines.append(f"failed in {package.failure.step}: {package.failure.error.splitlines()[0]}")
    return "\n".join(lines)


def rows_text(rows: dict[str, int]) -> str:
    """Rows per table on one line.

    >>> rows_text({"users": 3, "users__tags": 1}), rows_text({})
    ('users: 3, users__tags: 1', 'no rows')
    """
    return ", ".join(f"{table}: {count}" for table, count in rows.items()) or "no rows"
