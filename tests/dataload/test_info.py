"""LoadInfo, StepInfo and Trace as JSON data: what orchestrators store and ``dataload pipeline NAME trace`` reads."""

from __future__ import annotations

import json

import pytest

from dataload.exceptions import TerminalLoadError
from dataload.info import LoadInfo, StepInfo, Trace
from dataload.run_trace import read_trace


def test_load_info_asdict_is_json_and_holds_what_was_loaded(make_pipeline):
    pipe = make_pipeline("info_json")
    info = pipe.run([{"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": []}], table_name="items")
    data = json.loads(json.dumps(info.asdict()))
    assert data == info.asdict()
    assert data["pipeline_name"] == "info_json" and data["destination"] == "duckdb" and data["dataset_name"] == "ds"
    assert data["load_ids"] == [r["load_id"] for r in pipe.dataset().table("_dl_loads").rows()]
    assert data["rows"] == {"items": 2, "items__tags": 2}
    assert data["failed"] == [] and data["seconds"] == info.seconds > 0


def test_trace_and_steps_round_trip_through_json(make_pipeline):
    pipe = make_pipeline("trace_json")
    pipe.run([{"id": 1}, {"id": 2}, {"id": 3}], table_name="t")
    trace = pipe.last_trace
    assert [s.step for s in trace.steps] == ["extract", "normalize", "load"]
    copy = Trace.from_dict(json.loads(json.dumps(trace.asdict())))
    assert copy == trace
    assert copy.steps[2].rows == {"t": 3} and copy.steps[2].attempts == 1
    assert json.loads(json.dumps(StepInfo("load", "1.0", 0.5, {"t": 3}, attempts=2).asdict()))["attempts"] == 2


def test_every_run_saves_its_trace_in_the_working_dir(make_pipeline):
    pipe = make_pipeline("trace_saved")
    assert read_trace(pipe.working_dir) is None
    pipe.run([{"id": 1}], table_name="t")
    saved = read_trace(pipe.working_dir)
    assert saved == pipe.last_trace and saved.started_at and saved.error is None
    assert [s.rows for s in saved.steps] == [{"t": 1}] * 3
    load_id = saved.steps[0].load_id
    assert load_id == pipe.dataset().table("_dl_loads").rows()[0]["load_id"]


def test_a_failed_run_saves_its_trace_with_the_error(make_pipeline):
    calls = []

    def refuse(items, table):
        calls.append(table.name)
        raise ValueError(f"sink refuses {table.name}")

    import dataload

    pipe = make_pipeline("trace_failed", destination=dataload.destination(refuse, name="refusing"))
    with pytest.raises(TerminalLoadError):
        pipe.run([{"id": 1}], table_name="t")
    saved = read_trace(pipe.working_dir)
    assert saved is not None and "sink refuses t" in (saved.error or "")
    assert [s.step for s in saved.steps] == ["extract", "normalize"] and calls == ["t"]


def test_load_info_asdict_of_an_empty_run():
    info = LoadInfo("p", "duckdb", "ds")
    assert json.loads(json.dumps(info.asdict())) == {
        "pipeline_name": "p", "destination": "duckdb", "dataset_name": "ds", "load_ids": [], "rows": {},
        "schema_changes": [], "resumed": [], "failed": [], "discarded_rows": {}, "discarded_values": {},
        "seconds": 0.0, "has_data": False}


def test_the_trace_counts_the_attempts_of_a_retried_load(make_pipeline):
    import dataload
    from dataload.load.step import RetryPolicy

    received: list[dict] = []

    def flaky(items, table):
        if not received:
            received.append({})
            raise ConnectionError("connection reset")
        received.extend(items)

    pipe = make_pipeline("trace_retry", destination=dataload.destination(flaky, name="flaky", attempts=1),
                         retry_policy=RetryPolicy(first_wait=0.01))
    pipe.run([{"id": 1}, {"id": 2}], table_name="t")
    (load,) = [s for s in read_trace(pipe.working_dir).steps if s.step == "load"]
    assert load.attempts == 2 and load.rows == {"t": 2} and "after 2 attempts" in str(load)
    assert [r["id"] for r in received[1:]] == [1, 2]
