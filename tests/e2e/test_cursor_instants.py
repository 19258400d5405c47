"""Datetime-like cursors compared as instants, end to end: rows read back from DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime

import pyarrow as pa

import dataload


def loaded_ids(pipe: dataload.Pipeline, table: str) -> list[int]:
    return sorted(r["id"] for r in pipe.dataset().table(table).rows())


def stored_cursor(pipe: dataload.Pipeline, resource: str) -> dict:
    return pipe.state["sources"][pipe.pipeline_name]["resources"][resource]["incremental"]["updated_at"]


def test_iso_text_with_offsets_and_fractions_loses_no_row(sql_pipeline):
    """Each second batch row is after the stored cursor as an instant, though its text sorts before."""
    since = []

    def events(rows):
        @dataload.resource(name="events", primary_key="id")
        def res(updated_at=dataload.incremental("updated_at", initial_value="2024-05-01T00:00:00+02:00")):
            since.append(updated_at.start_value)
            yield rows
        return res()

    pipe = sql_pipeline()
    pipe.run(events([{"id": 1, "updated_at": "2024-05-01T13:00:00+02:00"},    # 11:00Z
                     {"id": 2, "updated_at": "2024-05-01T10:00:00Z"}]))
    assert stored_cursor(pipe, "events")["last_value"] == "2024-05-01T11:00:00Z"
    second = [{"id": 3, "updated_at": "2024-05-01T12:45:00Z"},                  # after 11:00Z
              {"id": 4, "updated_at": "2024-05-01T11:00:00.500Z"},              # half a second after
              {"id": 5, "updated_at": "2024-05-01T12:59:00+02:00"},             # 10:59Z: already seen
              {"id": 1, "updated_at": "2024-05-01T11:00:00Z"}]                  # the boundary row again
    pipe.run(events(second))
    assert since == ["2024-05-01T00:00:00+02:00", "2024-05-01T13:00:00+02:00"]
    assert loaded_ids(pipe, "events") == [1, 2, 3, 4]
    assert stored_cursor(pipe, "events")["last_value"] == "2024-05-01T12:45:00Z"
    table = pipe.dataset().table("events").arrow()
    got = dict(zip(table.column("id").to_pylist(), table.column("updated_at").to_pylist()))
    assert got[4] == datetime.datetime(2024, 5, 1, 11, 0, 0, 500000, tzinfo=datetime.timezone.utc)


def test_naive_rows_against_an_aware_initial_value_are_utc(sql_pipeline):
    aware = datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))  # 10:00Z

    @dataload.resource(name="naive", primary_key="id")
    def naive(updated_at=dataload.incremental("updated_at", initial_value=aware)):
        yield [{"id": 1, "updated_at": datetime.datetime(2024, 5, 1, 9, 30)},
               {"id": 2, "updated_at": datetime.datetime(2024, 5, 1, 10, 30)}]

    pipe = sql_pipeline()
    pipe.run(naive())
    assert loaded_ids(pipe, "naive") == [2]
    assert stored_cursor(pipe, "naive")["last_value"] == datetime.datetime(2024, 5, 1, 10, 30,
                                                                           tzinfo=datetime.timezone.utc)


def test_arrow_iso_text_and_naive_timestamps_are_compared_as_instants(sql_pipeline):
    def batch(ids, text, stamps):
        @dataload.resource(name="arrowed", primary_key="id")
        def arrowed(updated_at=dataload.incremental("updated_at", initial_value="2024-05-01T00:00:00Z")):
            yield pa.table({"id": ids, "updated_at": text, "at": stamps})
        return arrowed()

    pipe = sql_pipeline()
    pipe.run(batch([1], ["2024-05-01T13:00:00+02:00"], [datetime.datetime(2024, 5, 1)]))
    pipe.run(batch([2, 3, 4], ["2024-05-01T12:45:00Z", "2024-05-01T11:00:00.5Z", "2024-05-01T12:59:00+02:00"],
                   [datetime.datetime(2024, 5, 1)] * 3))
    assert loaded_ids(pipe, "arrowed") == [1, 2, 3]
    assert stored_cursor(pipe, "arrowed")["last_value"] == "2024-05-01T12:45:00Z"
