"""HTTP faults while a ``rest_api_source`` (pages + a dependent resource, incremental) loads into DuckDB.

The API (:mod:`fault_api`) throws 503s, resets connections, answers too slowly or cuts a body
short; after the retries every item and note lands exactly once, read back with duckdb's own
driver and compared with what the server holds, and the cursor stands at the newest item. An
API that fails for good fails the run naming the URL (the key redacted), loads nothing and
leaves the cursor; the next healthy run loads everything once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import dataload
from sources.rest_api import HTTPStatusError, RESTConnectionError, rest_api_source
from tests.sources.rest_api.fault_api import API_KEY, Fault, FaultAPI, FaultRule, notes_of, random_fault

SEED = 1717  # change to replay another draw of the faults


def _config(api: FaultAPI, timeout: float = 5.0) -> dict[str, Any]:
    return {
        "client": {"base_url": api.base_url, "timeout": timeout,
                   "auth": {"type": "api_key", "name": "api_key", "value": API_KEY, "location": "query"},
                   "retry": {"attempts": 4, "first_wait": 0.001, "max_wait": 0.01}},
        "resources": [
            {"name": "items", "endpoint": {
                "path": "items", "data_selector": "items",
                "paginator": {"type": "json_link", "next_url_path": "next"},
                "incremental": {"cursor_path": "updated_at", "initial_value": "2000-01-01T00:00:00Z",
                                "start_param": "since"}}},
            {"name": "notes", "endpoint": {"path": "items/{resources.items.id}/notes", "paginator": "single_page"},
             "include_from_parent": ["id"]},
        ],
    }


@pytest.fixture
def fault_api() -> Iterator[Callable[..., FaultAPI]]:
    """Start :class:`FaultAPI` servers for a test; all are stopped after it."""
    started: list[FaultAPI] = []

    def start(items: int, rule: FaultRule | None = None, **options: Any) -> FaultAPI:
        started.append(FaultAPI(items, rule, **options).__enter__())
        return started[-1]

    yield start
    for api in started:
        api.__exit__(None, None, None)


def _read(tmp_path: Path, pipe: dataload.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / f"{pipe.pipeline_name}.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def _cursor(pipe: dataload.Pipeline) -> Any:
    resources = pipe.state.get("sources", {}).get("rest_api", {}).get("resources", {})
    return resources.get("items", {}).get("incremental", {}).get("updated_at", {}).get("last_value")


def _assert_exactly_once(tmp_path: Path, pipe: dataload.Pipeline, api: FaultAPI) -> None:
    """Every item and note of ``api`` landed once, with its values; the cursor is the newest item's."""
    items = _read(tmp_path, pipe, "SELECT id, name, updated_at FROM ds.items ORDER BY id, _dl_id")
    assert [(i, n, u.strftime("%Y-%m-%dT%H:%M:%SZ")) for i, n, u in items] == [
        (row["id"], row["name"], row["updated_at"]) for row in api.items]
    notes = _read(tmp_path, pipe, "SELECT note_id, text, _items_id FROM ds.notes ORDER BY note_id, _dl_id")
    assert notes == sorted((note["note_id"], note["text"], row["id"]) for row in api.items
                           for note in notes_of(row["id"]))
    assert _cursor(pipe) == api.items[-1]["updated_at"]


def _retries(pipe: dataload.Pipeline) -> int:
    [extract] = [step for step in pipe.last_trace.steps if step.step == "extract"]
    return sum(counts.get("http_retries", 0) for counts in (extract.counts or {}).values())


@pytest.mark.parametrize("fault, rate", [("503", 0.01), ("reset", 0.02), ("slow", 0.004), ("truncate", 0.02)])
def test_every_item_lands_exactly_once_after_retrying_the_faults(
        fault_api: Callable[..., FaultAPI], make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path,
        fault: Fault, rate: float) -> None:
    api = fault_api(400, random_fault(SEED, fault, rate), slow_seconds=3.0)
    timeout = 1.0 if fault == "slow" else 10.0  # a healthy answer comes well within it, even on a busy machine
    pipe = make_pipeline()
    pipe.run(rest_api_source(_config(api, timeout)))

    assert api.faults[fault] > 0, f"seed {SEED} injected no {fault}: pick another"
    _assert_exactly_once(tmp_path, pipe, api)
    assert _retries(pipe) == api.faults[fault]

    api.items.append({"id": 401, "name": "late", "updated_at": "2025-01-01T01:00:00Z"})
    pipe.run(rest_api_source(_config(api, timeout)))
    _assert_exactly_once(tmp_path, pipe, api)  # the second run brought only the new item


def _always_503_after(pages: int) -> FaultRule:
    def rule(request_line: str, attempt: int) -> Fault | None:
        page = request_line.partition("page=")[2].partition("&")[0]
        return "503" if request_line.startswith("/items?") and page and int(page) > pages else None
    return rule


def test_a_source_that_fails_for_good_loads_nothing_and_the_next_run_everything(
        fault_api: Callable[..., FaultAPI], make_pipeline: Callable[..., dataload.Pipeline],
        tmp_path: Path) -> None:
    api = fault_api(100)
    pipe = make_pipeline()
    pipe.run(rest_api_source(_config(api)))  # a first healthy run: a cursor to keep
    kept_cursor = _cursor(pipe)
    api.items += [{"id": n, "name": f"new {n}", "updated_at": f"2025-02-01T00:00:{n - 100:02d}Z"}
                  for n in range(101, 151)]
    api.rule = _always_503_after(2)

    with pytest.raises(dataload.DataloadError) as failure:
        pipe.run(rest_api_source(_config(api)))
    message = str(failure.value)
    status_error = failure.value if isinstance(failure.value, HTTPStatusError) else failure.value.__cause__
    assert isinstance(status_error, HTTPStatusError) and status_error.status == 503
    assert f"GET {api.base_url}items?since=2025-01-01T00%3A01%3A40Z&page=3&api_key=*** failed with HTTP 503" in message
    assert API_KEY not in message and API_KEY not in repr(failure.value)
    assert _cursor(pipe) == kept_cursor
    assert _read(tmp_path, pipe, "SELECT max(id), count(*) FROM ds.items") == [(100, 100)]
    assert api.faults["503"] == 4  # every attempt of page 3 (4 attempts)

    api.rule = None
    pipe.run(rest_api_source(_config(api)))
    _assert_exactly_once(tmp_path, pipe, api)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # the parent closes cleanly
def test_an_api_that_never_answers_in_time_fails_naming_the_url_and_the_timeout(
        fault_api: Callable[..., FaultAPI], make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    api = fault_api(5, lambda request_line, attempt: "slow" if request_line.startswith("/items/3/notes") else None,
                    slow_seconds=2.0)
    config = _config(api, timeout=0.2)
    config["client"]["retry"]["attempts"] = 2
    pipe = make_pipeline()

    with pytest.raises(dataload.DataloadError) as failure:
        pipe.run(rest_api_source(config))
    assert isinstance(failure.value.__cause__, RESTConnectionError)
    assert (f"GET {api.base_url}items/3/notes failed: ReadTimeout: no answer within the timeout"
            in str(failure.value))  # the async client's timeouts have no text of their own
    assert api.faults["slow"] == 2
    assert _cursor(pipe) is None
