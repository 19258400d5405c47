"""The conformance suite every destination must pass, reusable by third-party destination authors.

Each check is a plain function taking a factory ``make_pipeline(name=None) -> Pipeline``. The
factory returns a pipeline on the destination under test, loading into one dataset that no other
test uses; calling it with the same ``name`` reopens the same pipeline (same working dir),
without a name it makes a new one. Checks raise ``AssertionError`` with a readable message and
read every value back with ``pipe.dataset().table(t).rows()``.

Run them with pytest like this::

    import uuid
    import pytest
    import dataload
    from dataload.testing import ALL_CHECKS  # destination checks + schema-contract checks

    @pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda check: check.__name__)
    def test_conformance(check, tmp_path):
        dataset = f"ds_{uuid.uuid4().hex[:8]}"  # drop it afterwards on a server destination

        def make_pipeline(name=None):
            return dataload.pipeline(name or f"p_{uuid.uuid4().hex[:8]}", destination=MyDestination(),
                                     dataset_name=dataset, pipelines_dir=tmp_path)

        check(make_pipeline)
"""

from __future__ import annotations

import datetime
import decimal
import json
import shutil
import uuid
from collections.abc import Callable
from typing import Any, cast

import dataload
from dataload.exceptions import TransientLoadError
from dataload.extract.limits import BufferLimits
from dataload.facade import Pipeline
from dataload.load.step import RetryPolicy
from dataload.protocol import DeletesLoads, LoadPackage
from dataload.schema.naming import normalize_identifier, shorten

MakePipeline = Callable[..., Pipeline]

UTC = datetime.timezone.utc
CEST = datetime.timezone(datetime.timedelta(hours=2))
HOSTILE_TEXT = 'it\'s "quoted"; DROP TABLE users; -- \\n \\ back\nslash\ttab Zoë 中文 🚀'
HOSTILE_KEYS = ['col "quoted"', "semi;colon", "semi colon", "spa ce", "Robert'); DROP TABLE students;--",
                "ünïcødé ключ", "select", "k" * 200, "é" * 1000, "x`; DROP TABLE y; --"]
CANARY_TABLES = ("y", "students", "users")  # what the hostile names try to drop
HOSTILE_TABLE = 'Tâble "x"; DROP TABLE y; -- ' + "t" * 200
HOSTILE_LIST = 'list; of "things"'

# One row with a value of every type, one row of nulls; ``decimal`` is declared with scale 2.
TYPED_ROWS: list[dict[str, Any]] = [
    {"id": 1, "big": 2**62, "neg": -(2**62), "dbl": 0.1 + 0.2, "tiny": -1.5e-300,
     "amount": decimal.Decimal("1234567.89"), "flag": True, "off": False, "txt": HOSTILE_TEXT, "empty": "",
     "ts": datetime.datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=CEST), "day": datetime.date(2024, 2, 29),
     "clock": datetime.time(23, 59, 58, 999999), "blob": b"\x00\x01\xff'\"\\bytes",
     "doc": [{"a": 1, "b": [True, None], "c": "ü"}]},
    {"id": 2, "big": None, "neg": None, "dbl": None, "tiny": None, "amount": None, "flag": None, "off": None,
     "txt": None, "empty": None, "ts": None, "day": None, "clock": None, "blob": None, "doc": None},
]
TYPED_HINTS = {"amount": {"data_type": "decimal", "precision": 18, "scale": 2}}


def _expect(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def _rows(pipe: Pipeline, table: str, order_by: str = "id") -> list[dict[str, Any]]:
    rows = pipe.dataset().table(table).rows()
    return sorted(rows, key=lambda r: (r[order_by] is None, r[order_by]))


def _values(pipe: Pipeline, table: str, column: str, order_by: str = "id") -> list[Any]:
    return [r[column] for r in _rows(pipe, table, order_by)]


def _children_by_root(pipe: Pipeline, parent: str, child: str) -> dict[Any, list[Any]]:
    """Child ``value``s per parent ``id``, in list order; also checks the parent link of every child."""
    ids = {r["_dl_id"]: r["id"] for r in pipe.dataset().table(parent).rows()}
    found: dict[Any, list[Any]] = {i: [] for i in ids.values()}
    for row in sorted(pipe.dataset().table(child).rows(), key=lambda r: r["_dl_list_idx"]):
        if row["_dl_parent_id"] not in ids:
            raise AssertionError(f"{child}: row {row!r} points to no row of {parent}")
        found[ids[row["_dl_parent_id"]]].append(row["value"])
    return found


def check_append(make_pipeline: MakePipeline) -> None:
    """``append`` adds rows (and child rows) on every run."""
    pipe = make_pipeline()
    pipe.run([{"id": 1, "name": "a", "tags": ["x", "y"]}, {"id": 2, "name": "b", "tags": []}], table_name="items")
    pipe.run([{"id": 3, "name": "c", "tags": ["z"]}, {"id": 1, "name": "a", "tags": ["w"]}], table_name="items")
    _expect(_values(pipe, "items", "id"), [1, 1, 2, 3], "ids after two appends")
    _expect(sorted(r["value"] for r in pipe.dataset().table("items__tags").rows()), ["w", "x", "y", "z"],
            "child rows after two appends")
    _expect(len(pipe.dataset().table("_dl_loads").rows()), 2, "rows in _dl_loads")
    _expect(pipe.dataset().row_counts(), {"items": 4, "items__tags": 4}, "row_counts() after two appends")


def check_replace_with_children(make_pipeline: MakePipeline) -> None:
    """``replace`` swaps the table and its child tables, also when the new rows have no lists."""
    pipe = make_pipeline()
    first = [{"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": ["c"]}]
    pipe.run(first, table_name="snap", write_disposition="replace")
    pipe.run(first, table_name="snap", write_disposition="replace")
    _expect(_children_by_root(pipe, "snap", "snap__tags"), {1: ["a", "b"], 2: ["c"]}, "children after replace")
    pipe.run([{"id": 9, "tags": ["z"]}], table_name="snap", write_disposition="replace")
    _expect(_children_by_root(pipe, "snap", "snap__tags"), {9: ["z"]}, "children after the second replace")
    pipe.run([{"id": 10}], table_name="snap", write_disposition="replace")
    _expect(_values(pipe, "snap", "id"), [10], "rows after a replace without lists")
    _expect(pipe.dataset().table("snap__tags").rows(), [], "child rows after a replace without lists")


def check_replace_with_no_rows_empties_the_table(make_pipeline: MakePipeline) -> None:
    """A ``replace`` resource that yields no rows empties its table and child tables, in one package;
    one that raises leaves them as they were."""

    @dataload.resource(name="gone", write_disposition="replace")
    def gone(rows: list[dict[str, Any]], fail: bool = False) -> Any:
        if fail:
            raise RuntimeError("the source is down")
        yield from rows

    pipe = make_pipeline()
    pipe.run(gone([{"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": ["c"]}]))
    try:
        pipe.run(gone([], fail=True))
    except dataload.ResourceError:
        pass
    else:
        raise AssertionError("a resource that raised did not stop the run")
    _expect(_children_by_root(pipe, "gone", "gone__tags"), {1: ["a", "b"], 2: ["c"]}, "rows after a failed replace")
    info = pipe.run(gone([]))
    _expect(len(info.load_ids), 1, "packages loaded by the replace without rows")
    _expect(pipe.dataset().table("gone").rows(), [], "rows after a replace without rows")
    _expect(pipe.dataset().table("gone__tags").rows(), [], "child rows after a replace without rows")
    _expect([r["load_id"] for r in pipe.dataset().table("_dl_loads").rows()][-1:], info.load_ids,
            "the replace without rows in _dl_loads")
    pipe.run(gone([{"id": 3}]))
    _expect(_values(pipe, "gone", "id"), [3], "rows of the next replace")


def check_merge_upsert_and_children(make_pipeline: MakePipeline) -> None:
    """``merge`` on a primary key, with every merge strategy the destination declares.

    New keys are inserted, existing ones replaced by the latest row of the load, untouched ones
    kept; child rows follow their root row (replaced, never duplicated).
    """
    declared = make_pipeline().destination.capabilities.merge_strategies
    for strategy in [s for s in declared if s in ("delete-insert", "upsert")]:
        pipe, table = make_pipeline(), "m_" + strategy.replace("-", "_")
        disposition = {"disposition": "merge", "strategy": strategy}
        first = [{"id": 1, "v": "a", "kids": [1, 2, 3]}, {"id": 2, "v": "b", "kids": [4]},
                 {"id": 3, "v": "c", "kids": [5, 6]}]
        pipe.run(first, table_name=table, write_disposition=disposition, primary_key="id")
        second = [{"id": 1, "v": "a2", "kids": [7]}, {"id": 3, "v": "c2"}, {"id": 4, "v": "d", "kids": [8, 9]},
                  {"id": 4, "v": "d2", "kids": [10]}]
        pipe.buffer_limits = BufferLimits(segment_rows=1)  # one load file per row: key 4 is in two files
        pipe.run(([row] for row in second), table_name=table, write_disposition=disposition, primary_key="id")
        what = f"merge ({strategy})"
        _expect({r["id"]: r["v"] for r in pipe.dataset().table(table).rows()}, {1: "a2", 2: "b", 3: "c2", 4: "d2"},
                f"{what}: root rows")
        _expect(len(pipe.dataset().table(table).rows()), 4, f"{what}: number of root rows")
        _expect(_children_by_root(pipe, table, f"{table}__kids"), {1: [7], 2: [4], 3: [], 4: [10]},
                f"{what}: child rows")
        pipe.run([{"id": 2, "v": "b2", "kids": [11, 12]}], table_name=table, write_disposition=disposition,
                 primary_key="id")
        _expect(_children_by_root(pipe, table, f"{table}__kids"), {1: [7], 2: [11, 12], 3: [], 4: [10]},
                f"{what}: child rows after the third load")


def check_schema_evolution_added_column_and_variant(make_pipeline: MakePipeline) -> None:
    """A new column is added to the table; a value of another type lands in a variant column."""
    pipe = make_pipeline()
    pipe.run([{"id": 1, "name": "a"}], table_name="evo")
    pipe.run([{"id": 2, "name": "b", "score": 1.5}], table_name="evo")
    pipe.run([{"id": 3, "name": "c", "score": "high"}], table_name="evo")
    rows = _rows(pipe, "evo")
    _expect([r["name"] for r in rows], ["a", "b", "c"], "names")
    _expect([r["score"] for r in rows], [None, 1.5, None], "the added column")
    variants = [c for c in pipe.default_schema.tables["evo"].columns.values() if c.variant_of == "score"]
    _expect([c.data_type for c in variants], ["text"], "variant columns of score in the schema")
    _expect([r.get(variants[0].name) for r in rows], [None, None, "high"], f"variant column {variants[0].name}")


def check_types_round_trip(make_pipeline: MakePipeline) -> None:
    """Every data type is read back equal: large ints, decimals with scale, time zones, nulls, JSON."""

    @dataload.resource(name="typed", columns=TYPED_HINTS, max_table_nesting=0)
    def typed() -> Any:
        yield TYPED_ROWS

    pipe = make_pipeline()
    pipe.run(typed())
    types = {c.name: c.data_type for c in pipe.default_schema.tables["typed"].columns.values()}
    _expect({k: types[k] for k in ("big", "dbl", "amount", "flag", "txt", "ts", "day", "clock", "blob", "doc")},
            {"big": "bigint", "dbl": "double", "amount": "decimal", "flag": "bool", "txt": "text", "ts": "timestamp",
             "day": "date", "clock": "time", "blob": "binary", "doc": "json"}, "inferred types")
    got, nulls = _rows(pipe, "typed")
    expected = dict(TYPED_ROWS[0], ts=TYPED_ROWS[0]["ts"].astimezone(UTC), doc=None)
    for name, value in expected.items():
        if name != "doc":
            _expect(got[name], value, f"column {name}")
            _expect(type(got[name]), type(value), f"Python type of column {name}")
    _expect(got["ts"].utcoffset(), datetime.timedelta(0), "time zone offset of the timestamp read back")
    _expect(got["amount"].as_tuple().exponent, -2, "scale of the decimal read back")
    doc = json.loads(got["doc"]) if isinstance(got["doc"], str) else got["doc"]
    _expect(doc, TYPED_ROWS[0]["doc"], "json column")
    _expect({k: v for k, v in nulls.items() if not k.startswith("_dl_") and k != "id" and v is not None}, {},
            "columns of the row of nulls")


def check_hostile_identifiers(make_pipeline: MakePipeline) -> None:
    """Names with quotes, semicolons, ``--``, spaces, unicode and 1,000 characters are loaded and read
    back, twice into the same columns; the tables the names try to drop survive."""
    pipe = make_pipeline()
    limit = pipe.destination.capabilities.max_identifier_length
    for canary in CANARY_TABLES:
        pipe.run([{"alive": canary}], table_name=canary)
    record: dict[str, Any] = {key: f"value of {key}" for key in HOSTILE_KEYS}
    record[HOSTILE_LIST] = ["x", "y"]
    pipe.run([record], table_name=HOSTILE_TABLE)
    table = shorten(normalize_identifier(HOSTILE_TABLE), limit)
    columns_before = {name: sorted(t.columns) for name, t in pipe.default_schema.tables.items()}
    pipe.run([record], table_name=HOSTILE_TABLE)  # names are made the same way every time
    _expect({name: sorted(t.columns) for name, t in pipe.default_schema.tables.items()}, columns_before,
            "tables and columns after loading the same record again")
    for canary in CANARY_TABLES:
        _expect(pipe.dataset().table(canary).rows()[0].get("alive"), canary, f"canary table {canary!r}")
    row, again = pipe.dataset().table(table).rows()
    _expect(again, row | {k: again[k] for k in again if k.startswith("_dl_")}, "the second row")
    columns = {c.source_key: c.name for c in pipe.default_schema.tables[table].columns.values()}
    for key in HOSTILE_KEYS:
        column = columns.get((key,), "(none)")
        _expect(row.get(column), f"value of {key}", f"column {column!r} (from key {key!r})")
    children = [t.name for t in pipe.default_schema.tables.values() if t.parent == table]
    _expect(len(children), 1, f"child tables of {table!r}")
    for name in (table, *children, *pipe.default_schema.tables[children[0]].columns):
        if limit is not None and len(name.encode()) > limit:
            raise AssertionError(f"identifier {name!r} is longer than {limit} bytes")
    _expect(sorted(r["value"] for r in pipe.dataset().table(children[0]).rows()), ["x", "x", "y", "y"],
            f"child table {children[0]!r}")


def _counter_resource(rows: list[dict[str, Any]], columns: dict[str, Any] | None = None) -> Any:
    """A resource that remembers the highest ``id`` it yielded in the pipeline state."""

    @dataload.resource(name="events", columns=columns)
    def events() -> Any:
        state = dataload.state()
        last = state.get("last_id", 0)
        fresh = [r for r in rows if r["id"] > last]
        state["last_id"] = max([last] + [r["id"] for r in fresh])
        yield fresh

    return events()


def _find(document: Any, key: str) -> Any:
    if isinstance(document, dict):
        if key in document:
            return document[key]
        for value in document.values():
            found = _find(value, key)
            if found is not None:
                return found
    return None


def check_state_committed_with_data(make_pipeline: MakePipeline) -> None:
    """The state of a run is stored in ``_dl_pipeline_state`` by the package that loaded its data."""
    pipe = make_pipeline()
    info = pipe.run(_counter_resource([{"id": 1}, {"id": 2}, {"id": 3}]))
    (load_id,) = info.load_ids
    _expect([r["load_id"] for r in pipe.dataset().table("_dl_loads").rows()], [load_id], "load ids in _dl_loads")
    states = pipe.dataset().table("_dl_pipeline_state").rows()
    _expect([(s["pipeline_name"], s["_dl_load_id"]) for s in states], [(pipe.pipeline_name, load_id)],
            "rows of _dl_pipeline_state")
    _expect(_find(json.loads(states[0]["state"]), "last_id"), 3, "the state stored with the data")
    _expect(_find(pipe.state, "last_id"), 3, "the local state")
    pipe.run(_counter_resource([{"id": 3}, {"id": 4}]))
    _expect(_values(pipe, "events", "id"), [1, 2, 3, 4], "rows after the second run")


def check_fresh_working_dir_restore(make_pipeline: MakePipeline) -> None:
    """With the working dir deleted, the next ``run()`` restores schema and state from the destination."""
    name = f"restore_{uuid.uuid4().hex[:8]}"
    pipe = make_pipeline(name)
    hints = {"amount": {"data_type": "decimal", "precision": 18, "scale": 2}}
    pipe.run(_counter_resource([{"id": 1, "amount": "1.50", "tags": ["a"]}, {"id": 2, "amount": "2.25"}], hints))
    columns = set(pipe.dataset().table("events").arrow().column_names)
    shutil.rmtree(pipe.working_dir)

    again = make_pipeline(name)
    _expect(again.default_schema.tables, {}, "schema of a fresh working dir before run()")
    again.run(_counter_resource([{"id": 2, "amount": "9.99"}, {"id": 3, "amount": "3.5", "tags": ["b"]}]))
    _expect(_find(again.state, "last_id"), 3, "state after the restored run")
    _expect(again.default_schema.tables["events"].columns["amount"].data_type, "decimal",
            "type of a column declared before the working dir was deleted")
    _expect(set(again.dataset().table("events").arrow().column_names), columns, "columns of the table")
    _expect(_values(again, "events", "amount"), [decimal.Decimal("1.50"), decimal.Decimal("2.25"),
                                                   decimal.Decimal("3.50")], "rows (each once)")
    _expect(sorted(r["value"] for r in again.dataset().table("events__tags").rows()), ["a", "b"], "child rows")


def check_state_that_comes_back_is_the_newest(make_pipeline: MakePipeline) -> None:
    """After ``drop(resources=...)`` and a reload, the stored state is the reload's, though its content is the same.

    The destination must store a state whose version is new even when an older version had the same
    content; else a fresh working dir restores the dropped state and loads everything again.
    """
    def events() -> Any:
        @dataload.resource(name="events")
        def cursor(updated: Any = dataload.incremental("id", initial_value=0)) -> Any:
            yield [{"id": 1}, {"id": 2}]

        return cursor()

    name = f"again_{uuid.uuid4().hex[:8]}"
    pipe = make_pipeline(name)
    pipe.run(events())
    pipe.drop(resources=["events"])
    pipe.run(events())
    shutil.rmtree(pipe.working_dir)
    again = make_pipeline(name)
    _expect(again.run(events()).rows, {}, "rows loaded by a run that has nothing new")
    _expect(_values(again, "events", "id"), [1, 2], "rows after drop, reload and a restored run (each once)")


class InterceptedLoads:
    """Wraps a destination so a test decides what each package load does (a fault at a chosen attempt).

    ``load(attempt, package, original)`` is called for each ``load_package`` of any client the wrapped
    destination opens, ``attempt`` counting from 1 over all of them; ``original(package)`` is the
    destination's own load. ``attempts`` is how many loads were asked for.
    """

    def __init__(self, inner: Any, load: Callable[[int, LoadPackage, Callable[[LoadPackage], bool]], bool]) -> None:
        self.inner, self.name, self.capabilities, self.attempts = inner, inner.name, inner.capabilities, 0
        self.check_dataset_name, self.attach_spec = inner.check_dataset_name, inner.attach_spec
        self._load = load

    def client(self, **options: Any) -> Any:
        """The wrapped destination's client, its ``load_package`` going through ``load``."""
        client = self.inner.client(**options)
        original = client.load_package

        def load_package(package: LoadPackage) -> bool:
            self.attempts += 1
            return self._load(self.attempts, package, original)

        client.load_package = load_package
        return client


def _lost_after_the_first_commit(attempt: int, package: LoadPackage, original: Callable[[LoadPackage], bool]) -> bool:
    loaded = bool(original(package))
    if attempt == 1:
        raise TransientLoadError("connection lost after the commit (simulated by the conformance suite)")
    return loaded


def check_transient_failure_is_retried_once(make_pipeline: MakePipeline) -> None:
    """A package whose load reported a transient error is retried; its rows land exactly once."""
    pipe = make_pipeline()
    pipe.destination = flaky = InterceptedLoads(pipe.destination, _lost_after_the_first_commit)
    pipe.retry_policy = RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.05)
    info = pipe.run([{"id": i, "l": [i]} for i in range(50)], table_name="retried")
    _expect(flaky.attempts, 2, "package loads (one failed, one retried)")
    _expect(_values(pipe, "retried", "id"), list(range(50)), "rows after the retry")
    _expect(len(pipe.dataset().table("retried__l").rows()), 50, "child rows after the retry")
    _expect([r["load_id"] for r in pipe.dataset().table("_dl_loads").rows()], info.load_ids, "rows in _dl_loads")


def check_parallel_workers(make_pipeline: MakePipeline) -> None:
    """A package of many files normalized in 2 processes and loaded with 4 load workers lands whole.

    Columns that only later files bring, child rows, and (where the destination merges) the latest
    row of a key that two workers saw are all read back as a one-process run would leave them.
    """
    pipe = make_pipeline()
    pipe.buffer_limits = BufferLimits(segment_rows=50)  # 12 files of the root table

    def record(i: int) -> dict[str, Any]:
        row: dict[str, Any] = {"id": i, "name": f"n{i}", "geo": {"lat": i / 2}, "kids": list(range(i % 4))}
        return row | ({"late": f"l{i}"} if i >= 400 else {})

    pipe.extract(([record(i) for i in range(start, start + 50)] for start in range(0, 600, 50)),
                 table_name="par")
    pipe.normalize(workers=2)
    normalized = [step for step in pipe.last_trace.steps if step.step == "normalize"]
    _expect(normalized[-1].processes, 2, "processes of the normalize step")
    pipe.load(workers=4)
    rows = _rows(pipe, "par")
    _expect([r["id"] for r in rows], list(range(600)), "root rows")
    _expect([r["geo__lat"] for r in rows], [i / 2 for i in range(600)], "a flattened nested value")
    _expect([r["late"] for r in rows], [None] * 400 + [f"l{i}" for i in range(400, 600)], "a column of later files")
    _expect(_children_by_root(pipe, "par", "par__kids"), {i: list(range(i % 4)) for i in range(600)}, "child rows")
    if not pipe.destination.capabilities.merge_strategies:
        return
    merged = make_pipeline()
    merged.buffer_limits = BufferLimits(segment_rows=50)
    pages = [[{"id": i, "v": "old", "kids": [i]} for i in range(start, start + 50)] for start in (0, 50)]
    pages += [[{"id": i, "v": "new", "kids": [i, -i]} for i in range(start, start + 50)] for start in (0, 50)]
    merged.extract(iter(pages), table_name="par_merge", write_disposition="merge", primary_key="id")
    merged.normalize(workers=2)
    merged.load(workers=4)
    _expect({r["id"]: r["v"] for r in merged.dataset().table("par_merge").rows()}, {i: "new" for i in range(100)},
            "merged rows: the latest row of each key")
    _expect(_children_by_root(merged, "par_merge", "par_merge__kids"), {i: [i, -i] for i in range(100)},
            "merged child rows")


def check_delete_loads(make_pipeline: MakePipeline) -> None:
    """A run sealed in parts lands every row once: as five parts and a last package completing them
    (``_dl_loads`` status 0 for all) where the destination declares ``deletes_loads``, else as one
    package. Where it does, ``delete_loads`` removes exactly what the named packages loaded: root and
    child rows, their ``_dl_loads`` and state rows."""
    streamed = make_pipeline()
    streamed.buffer_limits = BufferLimits(segment_rows=100, part_bytes=1)  # a part per 100 rows
    info = streamed.run(([{"id": i, "kids": [i]} for i in range(start, start + 100)] for start in range(0, 500, 100)),
                        table_name="streamed", write_disposition="append")
    _expect([r["id"] for r in _rows(streamed, "streamed")], list(range(500)), "rows of the streamed run")
    deletes = streamed.destination.capabilities.deletes_loads
    _expect(len(info.load_ids), 6 if deletes else 1, "packages of the streamed run (five parts, then the last)")
    if not deletes:
        return
    statuses = {r["load_id"]: r["status"] for r in streamed.dataset().table("_dl_loads").rows()}
    _expect([statuses[load_id] for load_id in info.load_ids], [0] * 6, "_dl_loads status once the run completed")
    pipe = make_pipeline()
    loads = [pipe.run([{"id": i, "kids": [i, i + 1]} for i in range(start, start + 3)], table_name="undone",
                      write_disposition="append").load_ids[0] for start in (0, 10, 20)]
    client = pipe.destination.client(dataset_name=pipe.dataset_name, pipeline_name=pipe.pipeline_name,
                                     local_dir=pipe.working_dir)
    try:
        cast(DeletesLoads, client).delete_loads([loads[0], loads[2], "never-loaded"])
    finally:
        client.close()
    _expect([r["id"] for r in _rows(pipe, "undone")], [10, 11, 12], "root rows left")
    _expect(sorted(_children_by_root(pipe, "undone", "undone__kids")), [10, 11, 12], "child rows left")
    loaded = sorted(r["load_id"] for r in pipe.dataset().table("_dl_loads").rows())
    _expect(loaded, sorted({*loaded} - {loads[0], loads[2]}), "_dl_loads rows of the deleted loads")
    _expect(loads[1] in loaded, True, "the _dl_loads row of the load kept")
    states = {r["_dl_load_id"] for r in pipe.dataset().table("_dl_pipeline_state").rows()}
    _expect(states & {loads[0], loads[2]}, set(), "state rows of the deleted loads")


DESTINATION_CHECKS: list[Callable[[MakePipeline], None]] = [
    check_append,
    check_replace_with_children,
    check_replace_with_no_rows_empties_the_table,
    check_merge_upsert_and_children,
    check_schema_evolution_added_column_and_variant,
    check_types_round_trip,
    check_hostile_identifiers,
    check_state_committed_with_data,
    check_fresh_working_dir_restore,
    check_state_that_comes_back_is_the_newest,
    check_transient_failure_is_retried_once,
    check_parallel_workers,
    check_delete_loads,
]
