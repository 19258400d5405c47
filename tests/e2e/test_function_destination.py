"""@dataload.destination: a function as a sink; batches retried, nothing sent twice."""

from __future__ import annotations

import pyarrow as pa
import pytest

import dataload
from dataload.load.step import RetryPolicy


def test_batches_reach_the_function_with_table_schema(make_pipeline):
    received: list[tuple[str, list[dict]]] = []

    @dataload.destination(batch_size=3)
    def collect(items, table):
        received.append((table.name, items))

    pipe = make_pipeline(destination=collect)
    info = pipe.run([{"id": i, "tags": ["a"]} for i in range(7)], table_name="things")
    assert info.rows == {"things": 7, "things__tags": 7}
    batches = [len(items) for name, items in received if name == "things"]
    assert batches == [3, 3, 1]
    assert sorted(r["id"] for name, items in received if name == "things" for r in items) == list(range(7))
    assert [name for name, _ in received].index("things__tags") > 0  # root table first
    assert all("_dl_id" in r for _, items in received for r in items)


def test_parquet_format_passes_arrow_tables(make_pipeline):
    received = []

    @dataload.destination(loader_file_format="parquet", batch_size=100)
    def arrow_sink(items, table):
        received.append(items)

    make_pipeline(destination=arrow_sink).run([{"x": 1}, {"x": 2}], table_name="t")
    assert isinstance(received[0], pa.Table) and received[0].column("x").to_pylist() == [1, 2]


def test_a_failing_batch_is_retried_and_delivered_batches_are_not_resent(make_pipeline):
    calls = []

    @dataload.destination(batch_size=2, attempts=2)
    def flaky(items, table):
        calls.append([r["n"] for r in items])
        if items[0]["n"] == 2 and sum(1 for c in calls if c[0] == 2) < 4:
            raise ConnectionError("service unavailable")

    pipe = make_pipeline(destination=flaky, retry_policy=RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.02))
    info = pipe.run([{"n": i} for i in range(5)], table_name="t")  # batch [2, 3] fails 3 times, then passes
    assert info.rows == {"t": 5}
    assert calls.count([0, 1]) == 1 and calls.count([4]) == 1 and calls.count([2, 3]) == 4


def test_a_batch_that_keeps_failing_keeps_the_package_pending(make_pipeline):
    delivered = []
    broken = {"on": True}

    @dataload.destination(batch_size=1, attempts=1)
    def sometimes(items, table):
        if broken["on"] and items[0]["n"] == 1:
            raise ConnectionError("down")
        delivered.append(items[0]["n"])

    pipe = make_pipeline(destination=sometimes, retry_policy=RetryPolicy(attempts=1))
    with pytest.raises(dataload.DataloadError, match="'sometimes'.*ConnectionError"):
        pipe.run([{"n": 0}, {"n": 1}, {"n": 2}], table_name="t")
    assert pipe.pending_packages() and delivered == [0]
    broken["on"] = False
    info = pipe.run()
    assert info.resumed and sorted(delivered) == [0, 1, 2]


def test_decorator_validates_its_arguments():
    with pytest.raises(dataload.DataloadError, match="loader_file_format"):
        dataload.destination(loader_file_format="xml")


def test_a_bug_in_the_function_fails_the_package_after_one_call(make_pipeline):
    calls = []

    @dataload.destination(batch_size=10, attempts=3)
    def buggy(items, table):
        calls.append([r["n"] for r in items])
        raise KeyError("missing_field")

    pipe = make_pipeline(destination=buggy)
    with pytest.raises(dataload.TerminalLoadError, match="'buggy'.*table 't'.*KeyError") as raised:
        pipe.run([{"n": 1}, {"n": 2}], table_name="t")
    assert raised.value.table == "t"
    assert calls == [[1, 2]]  # neither the sink nor the load step retried it
    assert pipe.failed_packages() and not pipe.pending_packages()


def test_a_connection_error_in_the_function_is_retried_by_both_layers(make_pipeline):
    calls = []

    @dataload.destination(batch_size=10, attempts=2)
    def down(items, table):
        calls.append([r["n"] for r in items])
        raise ConnectionError("service unavailable")

    pipe = make_pipeline(destination=down, retry_policy=RetryPolicy(attempts=2, first_wait=0.01, max_wait=0.02))
    with pytest.raises(dataload.TransientLoadError, match="'down'.*ConnectionError"):
        pipe.run([{"n": 1}], table_name="t")
    assert calls == [[1]] * 4  # 2 calls per attempt, 2 attempts of the package
    assert pipe.pending_packages() and not pipe.failed_packages()  # the next run tries again
