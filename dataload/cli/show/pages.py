"""The ``show`` pages: each function reads what it shows through a :class:`PipelineReader` and
returns ``(HTTP status, page)``.

``/`` the tables (parent, columns, rows, write disposition) and their parent/child tree;
``/tables/NAME`` a table's columns with types and hints, and its first rows (``?limit=N``);
``/loads`` the load history; ``/trace`` the steps of the last run.
"""

from __future__ import annotations

from dataload.cli.pipeline_reports import rows_text
from dataload.cli.show.markup import (
    Markup,
    data_table,
    element,
    error_box,
    join,
    link,
    page,
    table_path,
)
from dataload.cli.show.reader import MAX_LOADS, MAX_ROWS, PipelineReader
from dataload.configuration import redact_url
from dataload.schema.model import Column, Schema, Table

Response = tuple[int, Markup]
DEFAULT_ROWS = 20


def index(reader: PipelineReader) -> Response:
    """The tables of the dataset with their row counts, and their parent/child tree."""
    pipe = reader.pipe
    schema = reader.schema()
    tables = schema.data_tables()
    summary = element("dl", join([
        element("dt", "destination"), element("dd", pipe.destination.name),
        element("dt", "dataset"), element("dd", pipe.dataset_name),
        element("dt", "schema version"), element("dd", f"{schema.version} ({schema.version_hash or '-'})"),
        element("dt", "pending packages"), element("dd", ", ".join(pipe.pending_packages()) or "none"),
        element("dt", "failed packages"), element("dd", ", ".join(pipe.failed_packages()) or "none"),
    ]))
    problem = Markup("")
    rows: dict[str, int] = {}
    if tables:
        try:
            rows = reader.row_counts()
        except Exception as error:  # noqa: BLE001  (the page says what the destination answered)
            problem = error_box(f"could not count the rows of {pipe.destination.name} dataset "
                                f"{pipe.dataset_name}: {describe_error(error)}")
    listing = data_table("tables", ["table", "parent", "columns", "rows", "write disposition"], [
        [link(table_path(t.name), t.name), t.parent or "", len(t.columns),
         f"{rows[t.name]:,}" if t.name in rows else "", t.write_disposition] for t in tables])
    empty = element("p", "No tables yet: the pipeline has loaded nothing.") if not tables else Markup("")
    body = join([summary, element("h2", "Tables"), problem, listing, empty,
                 element("h2", "Table tree"), _tree(schema, [t.name for t in tables])])
    return 200, _page(reader, f"{len(tables)} table(s)", f"Pipeline {pipe.pipeline_name}", body)


def _tree(schema: Schema, names: list[str]) -> Markup:
    """Root tables with their child tables nested below them."""
    shown = set(names)

    def branch(name: str) -> Markup:
        kids = [t.name for t in schema.tables.values() if t.parent == name and t.name in shown]
        nested = element("ul", join(branch(kid) for kid in kids)) if kids else Markup("")
        return element("li", join([link(table_path(name), name), nested]))

    roots = [name for name in names if schema.tables[name].parent not in shown]
    return element("ul", join(branch(root) for root in roots), id="tree")


def table_page(reader: PipelineReader, name: str, limit_text: str | None) -> Response:
    """One table: its columns with types and hints, and its first ``limit`` rows."""
    schema = reader.schema()
    table = next((t for t in schema.data_tables() if t.name == name), None)
    if table is None:
        known = ", ".join(t.name for t in schema.data_tables()) or "none yet"
        return not_found(reader, f"no table {name!r} in pipeline {reader.pipe.pipeline_name!r}; its tables: {known}")
    limit = _limit(limit_text)
    if limit is None:
        return error_page(reader, 400, f"limit must be a whole number from 1 to {MAX_ROWS}, not {limit_text!r}")
    columns = data_table("columns", ["column", "data type", "nullable", "hints"],
                         [[c.name, c.data_type or "", "yes" if c.nullable else "no", _hints(c)]
                          for c in table.columns.values()])
    more = element("p", join(["Show ", link(f"{table_path(name)}?limit={MAX_ROWS}", f"{MAX_ROWS} rows")]))
    body = join([_facts(schema, table), element("h2", "Columns"), columns, _first_rows(reader, name, limit), more])
    return 200, _page(reader, name, join(["Table ", element("code", name)]), body)


def _facts(schema: Schema, table: Table) -> Markup:
    """How the table is written, where it comes from, and its parent and child tables (linked)."""
    facts: list[object] = [f"write disposition {table.write_disposition}"]
    if table.resource:
        facts.append(f"resource {table.resource}")
    if table.parent:
        facts.append(join(["child of ", link(table_path(table.parent), table.parent)]))
    kids = schema.children_of(table.name)
    if kids:
        facts.append(join(["child tables: ", join((link(table_path(kid), kid) for kid in kids), ", ")]))
    return element("p", join(facts, "; "))


def _first_rows(reader: PipelineReader, name: str, limit: int) -> Markup:
    try:
        first = reader.first_rows(name, limit)
    except Exception as error:  # noqa: BLE001  (the page says what the destination answered)
        return join([element("h2", "Rows"), error_box(f"could not read table {name!r}: {describe_error(error)}")])
    rows = zip(*(column.to_pylist() for column in first.columns))
    return join([element("h2", f"First {first.num_rows} row(s)"), data_table("rows", first.column_names, rows)])


def _limit(value: str | None) -> int | None:
    if value is None:
        return DEFAULT_ROWS
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_ROWS:
        return None
    return int(value)


def _hints(column: Column) -> str:
    hints = [name.replace("_", " ") for name in ("primary_key", "merge_key") if getattr(column, name)]
    hints += [f"{name} {getattr(column, name)}" for name in ("precision", "scale") if getattr(column, name) is not None]
    return ", ".join(hints + ([f"variant of {column.variant_of}"] if column.variant_of else []))


def loads_page(reader: PipelineReader) -> Response:
    """The loads recorded in the destination, newest first, with the rows each left in each table."""
    pipe = reader.pipe
    try:
        loads = reader.loads()
    except Exception as error:  # noqa: BLE001  (the page says what the destination answered)
        problem = f"could not read the loads of {pipe.destination.name} dataset {pipe.dataset_name}: "
        return 200, _page(reader, "loads", "Loads", error_box(problem + describe_error(error)))
    if not loads:
        return 200, _page(reader, "loads", "Loads", element("p", "There are no loads yet."))
    listing = data_table("loads", ["load id", "inserted at", "status", "schema version hash", "rows"],
                         [[load.load_id, load.inserted_at, load.status_text, load.schema_version_hash,
                           rows_text(load.rows)] for load in loads])
    more = element("p", f"The newest {MAX_LOADS} loads are shown.") if len(loads) == MAX_LOADS else Markup("")
    return 200, _page(reader, "loads", f"Loads ({len(loads)}, newest first)", join([listing, more]))


def trace_page(reader: PipelineReader) -> Response:
    """The last run: when it started, how long it took, why it failed; timings and rows of each step."""
    trace = reader.last_trace()
    if trace is None:
        return 200, _page(reader, "last run", "Last run", element("p", "There is no run recorded yet."))
    run = data_table("run", ["started at", "seconds", "error"],
                     [[trace.started_at or "", f"{trace.seconds:.2f}", trace.error or ""]])
    steps = data_table("trace", ["step", "load id", "seconds", "attempts", "rows", "notes"], [
        [s.step, s.load_id, f"{s.seconds:.2f}", s.attempts, rows_text(s.rows),
         _notes(s.processes, s.discarded, s.skipped, s.not_converted, s.truncated)] for s in trace.steps])
    nothing = element("p", "The run had nothing to extract or load.") if not trace.steps else Markup("")
    return 200, _page(reader, "last run", "Last run", join([run, element("h2", "Steps"), steps, nothing]))


def _notes(processes: int, discarded: dict[str, int], skipped: dict[str, int], not_converted: dict[str, int],
           truncated: dict[str, int]) -> str:
    notes = [f"{processes} processes"] if processes > 1 else []
    for what, numbers in (("discarded by contract", discarded), ("skipped None items", skipped),
                          ("not converted (in variant columns)", not_converted), ("cut to microseconds", truncated)):
        if numbers:
            notes.append(f"{what}: {rows_text(numbers)}")
    return "; ".join(notes)


def not_found(reader: PipelineReader, message: str) -> Response:
    """A 404 page saying what was not found."""
    return error_page(reader, 404, message)


def error_page(reader: PipelineReader, status: int, message: str) -> Response:
    """A page with ``status`` and ``message`` (escaped)."""
    return status, _page(reader, "not found" if status == 404 else "error", "Not found" if status == 404 else "Error",
                         join([error_box(message), element("p", link("/", "All tables"))]))


def _page(reader: PipelineReader, what: str, heading: object, body: Markup) -> Markup:
    pipe = reader.pipe
    return page(f"{what} · {pipe.pipeline_name} · {pipe.dataset_name} · dataload", heading, body)


def describe_error(error: BaseException) -> str:
    """The first line of an error's message (its type if it has none), credentials in URLs hidden.

    >>> describe_error(ValueError("cannot connect to postgresql://me:pw@db/x\\nmore"))
    'cannot connect to postgresql://me:***@db/x'
    """
    return redact_url((str(error).strip().splitlines() or [type(error).__name__])[0])
