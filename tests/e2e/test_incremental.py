"""Incremental cursors and state, read back from DuckDB."""

from __future__ import annotations

import datetime
import json
import shutil

import pyarrow as pa
import pytest

import dataload


def loaded(pipe, table, key="id"):
    return sorted(r[key] for r in pipe.dataset().table(table).rows())


def cursor_state(pipe, resource, path):
    for source in pipe.state["sources"].values():
        if resource in source.get("resources", {}):
            return source["resources"][resource]["incremental"][path]
    raise AssertionError(f"no state for {resource}")


def make_events(rows):
    @dataload.resource(name="events", primary_key="id")
    def events(updated=dataload.incremental("updated_at", initial_value=0)):
        yield [r for r in rows if r["updated_at"] >= updated.start_value]
    return events


def test_second_run_loads_only_new_rows_and_state_holds_the_cursor(make_pipeline):
    rows = [{"id": i, "updated_at": i} for i in range(5)]
    pipe = make_pipeline()
    pipe.run(make_events(rows)())
    rows += [{"id": 5, "updated_at": 5}, {"id": 6, "updated_at": 6}]
    info = pipe.run(make_events(rows)())
    assert info.rows["events"] == 2
    assert loaded(pipe, "events") == list(range(7))
    assert cursor_state(pipe, "events", "updated_at")["last_value"] == 6


@pytest.mark.parametrize("primary_key", ["id", None])
def test_boundary_rows_sharing_a_timestamp_are_neither_lost_nor_duplicated(make_pipeline, primary_key):
    batch1 = [{"id": i, "ts": "2024-01-01T00:00:00Z"} for i in range(5)] + \
             [{"id": i, "ts": "2024-01-02T00:00:00Z"} for i in range(5, 8)]
    batch2 = [{"id": i, "ts": "2024-01-02T00:00:00Z"} for i in range(5, 12)] + \
             [{"id": i, "ts": "2024-01-03T00:00:00Z"} for i in range(12, 14)]

    def source_of(rows):
        @dataload.resource(name="ev", primary_key=primary_key)
        def ev(ts=dataload.incremental("ts", initial_value="2024-01-01T00:00:00Z")):
            yield [r for r in rows if r["ts"] >= ts.start_value]
        return ev()

    pipe = make_pipeline()
    pipe.run(source_of(batch1))
    pipe.run(source_of(batch2))
    pipe.run(source_of(batch2))  # a full re-run of the same window adds nothing
    assert loaded(pipe, "ev") == list(range(14))
    state = cursor_state(pipe, "ev", "ts")
    assert state["last_value"] == "2024-01-03T00:00:00Z" and len(state["unique_hashes"]) == 2


def test_state_stays_small_after_many_rows(make_pipeline):
    pipe = make_pipeline()
    rows = [{"id": i, "updated_at": i // 3} for i in range(100_000)]
    pipe.run(make_events(rows)())
    assert len(json.dumps(pipe.state)) < 2_000
    assert cursor_state(pipe, "events", "updated_at")["last_value"] == 33_333


def test_end_value_backfill_neither_reads_nor_moves_the_cursor(make_pipeline):
    rows = [{"id": i, "updated_at": i} for i in range(20)]

    @dataload.resource(name="events")
    def events(updated=dataload.incremental("updated_at", initial_value=0)):
        yield [r for r in rows if r["updated_at"] >= updated.start_value]

    pipe = make_pipeline()
    pipe.run(events(updated=dataload.incremental("updated_at", initial_value=15)))
    assert cursor_state(pipe, "events", "updated_at")["last_value"] == 19
    pipe.run(events(updated=dataload.incremental("updated_at", initial_value=5, end_value=10)))
    assert loaded(pipe, "events") == [5, 6, 7, 8, 9, 15, 16, 17, 18, 19]
    assert cursor_state(pipe, "events", "updated_at")["last_value"] == 19


def test_row_order_asc_stops_the_generator_at_end_value(make_pipeline):
    produced = []

    @dataload.resource(name="ordered")
    def ordered(n=dataload.incremental("n", initial_value=0, end_value=5, row_order="asc")):
        for i in range(100):
            produced.append(i)
            yield {"n": i}

    pipe = make_pipeline()
    pipe.run(ordered())
    assert loaded(pipe, "ordered", "n") == [0, 1, 2, 3, 4]
    assert len(produced) == 6


def test_row_order_desc_stops_below_the_cursor(make_pipeline):
    produced = []

    def make(top):
        @dataload.resource(name="newest_first")
        def newest_first(n=dataload.incremental("n", initial_value=0, row_order="desc")):
            for i in range(top, -1, -1):
                produced.append(i)
                yield {"n": i}
        return newest_first()

    pipe = make_pipeline()
    pipe.run(make(10))
    produced.clear()
    pipe.run(make(15))
    assert loaded(pipe, "newest_first", "n") == list(range(16))
    assert produced == [15, 14, 13, 12, 11, 10, 9]


UTC = datetime.timezone.utc


@pytest.mark.parametrize("first, second, lag, expected_start, expected_keys", [
    ([0, 1, 2], [0, 1, 2, 3], 1, 1, [0, 1, 2, 3]),
    ([0], [0, 1], 5, -5, [0, 1]),
    (["2024-01-05"], ["2024-01-03", "2024-01-04", "2024-01-06"], 1, "2024-01-04", [0, 1, 2]),
    ([datetime.datetime(2024, 1, 1, 12, tzinfo=UTC)],
     [datetime.datetime(2024, 1, 1, 11, 58, tzinfo=UTC), datetime.datetime(2024, 1, 1, 11, 59, 30, tzinfo=UTC),
      datetime.datetime(2024, 1, 1, 12, 30, tzinfo=UTC)], 60,
     datetime.datetime(2024, 1, 1, 11, 59, tzinfo=UTC), [0, 1, 2]),
])
def test_lag_rereads_a_window_and_merge_keeps_rows_once(make_pipeline, first, second, lag, expected_start,
                                                        expected_keys):
    """Keys are positions in each batch: the window behind the cursor is read again, merged on k."""
    seen_start = []

    def make(values):
        @dataload.resource(name="late", primary_key="k", write_disposition="merge")
        def late(c=dataload.incremental("c", initial_value=first[0], lag=lag)):
            seen_start.append(c.start_value)
            yield [{"k": i, "c": v} for i, v in enumerate(values)]
        return late()

    pipe = make_pipeline()
    pipe.run(make(first))
    pipe.run(make(second))
    assert seen_start[-1] == expected_start
    assert loaded(pipe, "late", "k") == expected_keys


def test_on_cursor_value_missing(make_pipeline):
    rows = [{"id": 1, "u": 1}, {"id": 2}, {"id": 3, "u": None}]

    def make(mode):
        @dataload.resource(name=f"m_{mode}")
        def res(u=dataload.incremental("u", initial_value=0, on_cursor_value_missing=mode)):
            yield rows
        return res()

    pipe = make_pipeline()
    with pytest.raises(dataload.ResourceError, match="m_raise.*'u'.*'id': 2"):
        pipe.run(make("raise"))
    pipe.run(make("include"))
    pipe.run(make("exclude"))
    assert loaded(pipe, "m_include") == [1, 2, 3]
    assert loaded(pipe, "m_exclude") == [1]


def test_min_and_custom_last_value_func(make_pipeline):
    def make(func, name):
        @dataload.resource(name=name)
        def res(v=dataload.incremental("v", initial_value=100, last_value_func=func)):
            yield [{"v": x} for x in (100, 90, 120, 80)]
        return res()

    pipe = make_pipeline()
    pipe.run(make(min, "lowest"))
    assert loaded(pipe, "lowest", "v") == [80, 90, 100]
    assert cursor_state(pipe, "lowest", "v")["last_value"] == 80

    def longest(values):
        return max(values, key=lambda v: len(str(v)))

    pipe.run(make(longest, "custom"))
    assert loaded(pipe, "custom", "v") == [100, 120]


def test_arrow_tables_are_filtered_by_the_cursor(make_pipeline):
    def make(n):
        @dataload.resource(name="arrow_events", primary_key="id")
        def arrow_events(t=dataload.incremental("t", initial_value=0)):
            yield pa.table({"id": list(range(n)), "t": [i // 2 for i in range(n)]})
        return arrow_events()

    pipe = make_pipeline()
    pipe.run(make(6))   # t: 0 0 1 1 2 2
    pipe.run(make(9))   # adds ids 6, 7, 8 (t 3 3 4); the boundary rows 4, 5 (t=2) are not repeated
    assert loaded(pipe, "arrow_events") == list(range(9))
    assert cursor_state(pipe, "arrow_events", "t")["last_value"] == 4


def test_jsonpath_cursor_into_nested_records(make_pipeline):
    def make(values):
        @dataload.resource(name="nested")
        def nested(c=dataload.incremental("$.meta.version", initial_value=0)):
            yield [{"id": v, "meta": {"version": v}} for v in values]
        return nested()

    pipe = make_pipeline()
    pipe.run(make([1, 2]))
    pipe.run(make([1, 2, 3]))
    assert loaded(pipe, "nested") == [1, 2, 3]


def test_state_and_resource_state_persist_between_runs(make_pipeline):
    @dataload.source
    def counter():
        @dataload.resource
        def ticks():
            run = dataload.resource_state().setdefault("runs", 0) + 1
            dataload.resource_state()["runs"] = run
            dataload.state()["last_run"] = run
            yield {"run": run}
        return ticks

    pipe = make_pipeline()
    pipe.run(counter())
    pipe.run(counter())
    assert loaded(pipe, "ticks", "run") == [1, 2]
    assert pipe.state["sources"]["counter"]["last_run"] == 2
    stored = pipe.dataset().query("SELECT state FROM _dl_pipeline_state ORDER BY version DESC LIMIT 1")
    assert json.loads(stored.column(0)[0].as_py())["sources"]["counter"]["resources"]["ticks"]["runs"] == 2


def test_fresh_working_dir_restores_state_and_schema_from_destination(make_pipeline):
    rows = [{"id": i, "updated_at": i, "name": f"n{i}"} for i in range(5)]
    pipe = make_pipeline("restore_me")
    pipe.run(make_events(rows)())
    schema_before = pipe.default_schema
    shutil.rmtree(pipe.working_dir)

    again = make_pipeline("restore_me")
    rows.append({"id": 5, "updated_at": 5, "name": "n5"})
    info = again.run(make_events(rows)())
    assert info.rows == {"events": 1}
    assert loaded(again, "events") == list(range(6))
    assert list(again.default_schema.tables["events"].columns) == list(schema_before.tables["events"].columns)

    shutil.rmtree(again.working_dir)
    third = make_pipeline("restore_me")
    assert third.sync_destination() is True
    assert cursor_state(third, "events", "updated_at")["last_value"] == 5


def test_drop_resources_drops_tables_and_resets_state(make_pipeline):
    rows = [{"id": i, "updated_at": i, "tags": ["x"]} for i in range(3)]
    pipe = make_pipeline()
    pipe.run(make_events(rows)())
    dropped = pipe.drop(resources=["events"])
    assert set(dropped) == {"events", "events__tags"}
    assert "events" not in pipe.dataset().tables
    with pipe.sql_client() as sql:
        tables = sql.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                             [pipe.dataset_name]).fetchall()
    assert ("events",) not in tables and ("events__tags",) not in tables
    pipe.run(make_events(rows)())
    assert loaded(pipe, "events") == [0, 1, 2]


def test_restore_retries_a_dropped_connection(make_pipeline, tmp_path):
    from dataload.load.step import RetryPolicy
    from destinations import duckdb

    inner = duckdb(str(tmp_path / "flaky.duckdb"))
    failures = []

    class FlakyReads:
        name, capabilities = inner.name, inner.capabilities
        check_dataset_name, attach_spec = staticmethod(inner.check_dataset_name), staticmethod(inner.attach_spec)

        def client(self, **kwargs):
            client = inner.client(**kwargs)
            real = client.stored_state

            def stored_state(pipeline_name):
                if len(failures) < 2:
                    failures.append(1)
                    raise ConnectionResetError("server closed the connection")  # a driver's raw error
                return real(pipeline_name)

            client.stored_state = stored_state
            return client

    rows = [{"id": i, "updated_at": i} for i in range(3)]
    make_pipeline("flaky", destination=inner).run(make_events(rows)())
    shutil.rmtree(tmp_path / "pipelines" / "flaky")
    pipe = make_pipeline("flaky", destination=FlakyReads(),
                         retry_policy=RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.02))
    rows.append({"id": 3, "updated_at": 3})
    assert pipe.run(make_events(rows)()).rows == {"events": 1}
    assert len(failures) == 2
