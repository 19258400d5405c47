"""rest_api_source end to end: a local API on 127.0.0.1 → DuckDB, values read back with duckdb's own driver."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import dataload
from sources.rest_api import rest_api_resources, rest_api_source
from sources.rest_api.children import THREAD_NAME

USERS = [{"id": i, "name": f"user {i}", "tier": "gold" if i % 3 == 0 else "basic"} for i in range(1, 8)]
DELETED = 4  # its orders answer 404


def _orders_of(user_id: int) -> list[dict[str, Any]]:
    return [{"order_id": user_id * 100 + n, "amount": user_id * 10 + n} for n in range(user_id % 3 + 1)]


class ShopAPI:
    """``GET /users?page=N`` (3 a page, next link in ``paging.next``) and ``GET /users/<id>/orders``.

    It records every request's query and headers and how many orders requests were in flight at once.
    """

    def __init__(self, server: HTTPServer, *, order_delay: float = 0.0) -> None:
        self.server = server
        self.users = list(USERS)
        self.order_delay = order_delay
        self.requests: list[Request] = []
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        server.expect_request("/api/users").respond_with_handler(self.users_page)
        server.expect_request(re.compile(r"/api/users/\d+/orders")).respond_with_handler(self.orders)

    def users_page(self, request: Request) -> Response:
        self.requests.append(request)
        page = int(request.args.get("page", "1"))
        rows = self.users[(page - 1) * 3:page * 3]
        more = page * 3 < len(self.users)
        body = {"data": {"items": rows}, "paging": {"next": self.server.url_for(f"/api/users?page={page + 1}")
                                                    if more else None}}
        return Response(json.dumps(body), content_type="application/json")

    def orders(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(request)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.order_delay)
            user_id = int(request.path.split("/")[3])
            if user_id == DELETED:
                return Response('{"error": "not found"}', status=404, content_type="application/json")
            return Response(json.dumps(_orders_of(user_id)), content_type="application/json")
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    """A local HTTP server that answers requests in parallel (the default fixture answers one at a time)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def _shop_config(server: HTTPServer, **orders: Any) -> dict[str, Any]:
    return {
        "client": {"base_url": server.url_for("/api/"),
                   "paginator": {"type": "json_link", "next_url_path": "paging.next"},
                   "headers": {"Accept": "application/json"}},
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge",
                              "endpoint": {"params": {"per_page": 3}}},
        "resources": [
            {"name": "users", "endpoint": {"path": "users", "data_selector": "data.items"}},
            {"name": "orders", "primary_key": "order_id",
             "endpoint": {"path": "users/{resources.users.id}/orders", "paginator": "single_page",
                          "response_actions": [{"status_code": 404, "action": "ignore"}]},
             "include_from_parent": ["id", "name"], **orders},
        ],
    }


def _rows(tmp_path: Path, pipe: dataload.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (tables in schema ``ds``) read with duckdb's own connection to the pipeline's file."""
    with duckdb.connect(str(tmp_path / f"{pipe.pipeline_name}.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_parent_and_dependent_resources_land_with_the_parent_fields(
        threaded_server: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> None:
    api = ShopAPI(threaded_server)
    pipe = make_pipeline()
    pipe.run(rest_api_source(_shop_config(threaded_server)))

    assert _rows(tmp_path, pipe, "SELECT id, name, tier FROM ds.users ORDER BY id") == [
        (u["id"], u["name"], u["tier"]) for u in USERS]
    expected = sorted((o["order_id"], o["amount"], u["id"], u["name"]) for u in USERS if u["id"] != DELETED
                      for o in _orders_of(u["id"]))
    assert _rows(tmp_path, pipe, "SELECT order_id, amount, _users_id, _users_name FROM ds.orders ORDER BY order_id"
                 ) == expected
    users_requests = [r for r in api.requests if r.path == "/api/users"]
    assert [(r.args.get("page"), r.args.get("per_page")) for r in users_requests] == [
        (None, "3"), ("2", None), ("3", None)]  # the next links carry their own query
    assert all(r.headers["Accept"] == "application/json" for r in api.requests)


@pytest.mark.parametrize("limit", [2, 5])
def test_child_requests_run_concurrently_within_the_limit(
        threaded_server: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path,
        limit: int) -> None:
    api = ShopAPI(threaded_server, order_delay=0.05)
    api.users = [{"id": i, "name": f"user {i}", "tier": "basic"} for i in range(1, 31)]
    pipe = make_pipeline()
    pipe.run(rest_api_source(_shop_config(threaded_server, concurrency=limit)))

    assert 1 < api.most_in_flight <= limit
    expected = sorted((o["order_id"], i) for i in range(1, 31) if i != DELETED for o in _orders_of(i))
    assert _rows(tmp_path, pipe, "SELECT order_id, _users_id FROM ds.orders ORDER BY order_id") == expected


def test_concurrency_1_requests_one_row_after_the_other(threaded_server: HTTPServer,
                                                        make_pipeline: Callable[..., dataload.Pipeline],
                                                        tmp_path: Path) -> None:
    api = ShopAPI(threaded_server, order_delay=0.01)
    pipe = make_pipeline()
    pipe.run(rest_api_source(_shop_config(threaded_server, concurrency=1)))
    assert api.most_in_flight == 1
    assert _rows(tmp_path, pipe, "SELECT count(*) FROM ds.orders") == [
        (sum(len(_orders_of(u["id"])) for u in USERS if u["id"] != DELETED),)]


def test_concurrency_from_the_client_config(threaded_server: HTTPServer,
                                            make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    api = ShopAPI(threaded_server, order_delay=0.05)
    api.users = [{"id": i, "name": f"user {i}", "tier": "basic"} for i in range(1, 16)]
    config = _shop_config(threaded_server)
    config["client"]["concurrency"] = 3
    make_pipeline().run(rest_api_source(config))
    assert 1 < api.most_in_flight <= 3


def test_child_requests_run_on_the_pool_threads_which_stop_with_the_run(
        threaded_server: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> None:
    ShopAPI(threaded_server, order_delay=0.02)
    senders: dict[str, set[str]] = {"users": set(), "orders": set()}

    def note_thread(request: httpx.Request) -> None:  # a callable auth runs in the thread that sends
        senders["orders" if request.url.path.endswith("/orders") else "users"].add(threading.current_thread().name)

    config = _shop_config(threaded_server, concurrency=3)
    config["client"]["auth"] = note_thread
    pipe = make_pipeline()
    pipe.run(rest_api_source(config))

    assert senders["users"] == {threading.current_thread().name}  # the parent's pages: the extracting thread
    assert len(senders["orders"]) > 1 and all(name.startswith(THREAD_NAME) for name in senders["orders"])
    assert not [t.name for t in threading.enumerate() if t.name.startswith(THREAD_NAME)]  # the pool stopped
    assert _rows(tmp_path, pipe, "SELECT count(*) FROM ds.orders") == [
        (sum(len(_orders_of(u["id"])) for u in USERS if u["id"] != DELETED),)]


def test_a_failing_child_request_does_not_wait_for_the_requests_in_flight(
        threaded_server: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    api = ShopAPI(threaded_server)
    released, unreleased_answers = threading.Event(), []

    def orders(request: Request) -> Response:  # user 1 fails for good, the others wait for the test
        if request.path == "/api/users/1/orders":
            return Response('{"error": "bad"}', status=400, content_type="application/json")
        if not released.wait(timeout=30):
            unreleased_answers.append(request.path)
        return api.orders(request)

    threaded_server.clear()
    threaded_server.expect_request("/api/users").respond_with_handler(api.users_page)
    threaded_server.expect_request(re.compile(r"/api/users/\d+/orders")).respond_with_handler(orders)
    with pytest.raises(dataload.ResourceError, match=r"/api/users/1/orders"):
        make_pipeline().run(rest_api_source(_shop_config(threaded_server, concurrency=3)))
    released.set()  # only now may the requests sent ahead be answered
    assert unreleased_answers == []  # the run's error did not wait for them


def test_dependent_resource_alone_fetches_its_parent(threaded_server: HTTPServer) -> None:
    ShopAPI(threaded_server)
    source = rest_api_source(_shop_config(threaded_server))
    orders = sorted(row["order_id"] for row in source.orders)
    assert orders == sorted(o["order_id"] for u in USERS if u["id"] != DELETED for o in _orders_of(u["id"]))


def test_parent_filter_requests_the_child_only_for_the_rows_it_keeps(
        threaded_server: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> None:
    api = ShopAPI(threaded_server, order_delay=0.02)
    api.users = [{"id": i, "name": f"user {i}", "tier": "basic" if i % 3 == 0 else "gold"} for i in range(1, 41)]
    pipe = make_pipeline()
    pipe.run(rest_api_source(_shop_config(threaded_server, parent_filter=lambda user: user["tier"] == "gold")))

    asked = sorted(int(r.path.split("/")[3]) for r in api.requests if r.path.endswith("/orders"))
    assert asked == [i for i in range(1, 41) if i % 3]  # user 4 too: its 404 is ignored
    assert 1 < api.most_in_flight  # the two gold users of a page at once
    assert _rows(tmp_path, pipe, "SELECT order_id, _users_id FROM ds.orders ORDER BY order_id") == [
        (o["order_id"], i) for i in asked if i != DELETED for o in _orders_of(i)]
    assert _rows(tmp_path, pipe, "SELECT count(*) FROM ds.users") == [(40,)]  # the parent keeps every row


def test_a_parent_alone_leaves_no_loop_running(threaded_server: HTTPServer,
                                              make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> None:
    api = ShopAPI(threaded_server)
    pipe = make_pipeline()
    pipe.run(rest_api_source(_shop_config(threaded_server)).with_resources("users"))
    assert _rows(tmp_path, pipe, "SELECT count(*) FROM ds.users") == [(len(USERS),)]
    assert not [r for r in api.requests if r.path.endswith("/orders")]  # the unselected child sent nothing ahead
    assert "dataload-rest-children" not in [thread.name for thread in threading.enumerate()]


def test_a_built_resource_as_parent(threaded_server: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline],
                                    tmp_path: Path) -> None:
    ShopAPI(threaded_server)
    config = _shop_config(threaded_server)
    config["resources"][0] = dataload.resource([{"id": 2}, {"id": 5}], name="users", primary_key="id")
    config["resources"][1]["include_from_parent"] = ["id"]
    pipe = make_pipeline()
    pipe.run(rest_api_source(config))
    assert _rows(tmp_path, pipe, "SELECT order_id, _users_id FROM ds.orders ORDER BY order_id") == [
        (o["order_id"], i) for i in (2, 5) for o in _orders_of(i)]


ISSUES = [{"id": i, "title": f"issue {i}", "updated_at": f"2024-03-0{i}T10:00:00Z"} for i in range(1, 6)]


class IssuesAPI:
    """``GET /issues?since=...``: the issues updated at or after ``since`` (the boundary included)."""

    def __init__(self, server: HTTPServer) -> None:
        self.rows = list(ISSUES)
        self.since: list[str | None] = []
        self.queries: list[dict[str, str]] = []
        server.expect_request("/issues").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        since = request.args.get("since")
        self.since.append(since)
        self.queries.append(dict(request.args))
        rows = [row for row in self.rows if since is None or row["updated_at"] >= since]
        return Response(json.dumps({"items": rows}), content_type="application/json")


@pytest.mark.parametrize("endpoint", [
    {"params": {"since": "{incremental.start_value}"},
     "incremental": {"cursor_path": "updated_at", "initial_value": "2024-01-01T00:00:00Z"}},
    {"incremental": {"cursor_path": "updated_at", "initial_value": "2024-01-01T00:00:00Z", "start_param": "since"}},
], ids=["placeholder", "start_param"])
def test_incremental_sends_the_stored_cursor_on_the_second_run(
        httpserver: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path,
        endpoint: dict[str, Any]) -> None:
    api = IssuesAPI(httpserver)
    config = {"client": {"base_url": httpserver.url_for("/")},
              "resources": [{"name": "issues", "primary_key": "id", "endpoint": {"path": "issues", **endpoint}}]}
    pipe = make_pipeline("incremental")
    pipe.run(rest_api_source(config))
    api.rows.append({"id": 6, "title": "issue 6", "updated_at": "2024-04-01T00:00:00Z"})
    pipe = make_pipeline("incremental")
    pipe.run(rest_api_source(config))

    assert api.since == ["2024-01-01T00:00:00Z", "2024-03-05T10:00:00Z"]  # the highest updated_at of run 1
    loads = _rows(tmp_path, pipe, "SELECT id, title, count(*) OVER (PARTITION BY _dl_load_id) FROM ds.issues "
                                  "ORDER BY id")
    assert [(i, title) for i, title, _ in loads] == [(r["id"], r["title"]) for r in api.rows]  # each once
    assert [n for _, _, n in loads] == [5] * 5 + [1]  # run 2 loaded only the new row (the boundary one deduped)


def test_incremental_end_value_and_end_param(httpserver: HTTPServer) -> None:
    seen: list[dict[str, str]] = []

    def handle(request: Request) -> Response:
        seen.append(dict(request.args))
        return Response(json.dumps(ISSUES), content_type="application/json")

    httpserver.expect_request("/issues").respond_with_handler(handle)
    config = {"client": {"base_url": httpserver.url_for("/")}, "resources": [{"name": "issues", "endpoint": {
        "path": "issues", "params": {"until": "{incremental.end_value}"},
        "incremental": {"cursor_path": "updated_at", "initial_value": "2024-03-02T00:00:00Z",
                        "end_value": "2024-03-04T00:00:00Z", "start_param": "from"}}}]}
    assert [row["id"] for row in rest_api_source(config).issues] == [2, 3]
    assert seen == [{"until": "2024-03-04T00:00:00Z", "from": "2024-03-02T00:00:00Z"}]


def test_a_cursor_param_without_a_value_is_not_sent(httpserver: HTTPServer,
                                                   make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    api = IssuesAPI(httpserver)
    config = {"client": {"base_url": httpserver.url_for("/")}, "resources": [{"name": "issues", "endpoint": {
        "params": {"since": "{incremental.start_value}", "until": "{incremental.end_value}"},
        "incremental": {"cursor_path": "updated_at"}}}]}
    make_pipeline().run(rest_api_source(config))
    assert api.queries == [{}]  # no initial value: GET /issues with neither since nor until


def test_response_actions_by_content_and_a_callable(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone").respond_with_data("<html>Item not found</html>", status=200,
                                                          content_type="text/html")
    httpserver.expect_request("/wrapped").respond_with_json({"payload": json.dumps([{"id": 1}, {"id": 2}])})

    def unwrap(response: httpx.Response) -> httpx.Response:
        return httpx.Response(200, json=json.loads(response.json()["payload"]))

    config = {"client": {"base_url": httpserver.url_for("/")}, "resources": [
        {"name": "gone", "endpoint": {"response_actions": [{"content": "not found", "action": "ignore"}]}},
        {"name": "wrapped", "endpoint": {"response_actions": [{"status_code": 200, "action": unwrap}]}}]}
    source = rest_api_source(config)
    assert list(source.gone) == []
    assert list(source.wrapped) == [{"id": 1}, {"id": 2}]


def test_errors_name_the_resource_the_url_without_the_key_and_the_status(
        threaded_server: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    threaded_server.expect_request("/api/users/5/orders").respond_with_data('{"error": "database is down"}',
                                                                           status=500)  # matched first
    ShopAPI(threaded_server)
    config = _shop_config(threaded_server)
    config["client"]["auth"] = {"type": "api_key", "name": "api_key", "value": "s3cr3t-k3y", "location": "query"}
    config["client"]["retry"] = {"attempts": 1}
    with pytest.raises(dataload.ResourceError) as raised:
        make_pipeline().run(rest_api_source(config))
    message = str(raised.value)
    assert "resource 'orders' failed" in message and "HTTP 500" in message and "database is down" in message
    assert "/api/users/5/orders" in message and "s3cr3t-k3y" not in message


def test_an_html_error_page_is_an_error_naming_the_resource(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users").respond_with_data("<html><body>Maintenance</body></html>",
                                                          content_type="text/html")
    source = rest_api_source({"client": {"base_url": httpserver.url_for("/")}, "resources": ["users"]})
    with pytest.raises(dataload.ResourceError, match=r"resource 'users' failed: .*expected JSON, got an HTML page "
                                                     r"from http://localhost:\d+/users: <html><body>Maintenance"):
        list(source.users)


def _trace_counts(pipe: dataload.Pipeline) -> dict[str, dict[str, int]]:
    [extract] = [step for step in pipe.last_trace.steps if step.step == "extract"]
    return dict(extract.counts)


def test_retries_of_parent_and_child_requests_are_counted_in_the_trace(
        threaded_server: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> None:
    api = ShopAPI(threaded_server)
    busy = {"/api/users": 2, "/api/users/2/orders": 2}

    def flaky(request: Request) -> Response:
        if busy.get(request.path, 0) > 0:
            busy[request.path] -= 1
            return Response("busy", status=503)
        return api.users_page(request) if request.path == "/api/users" else api.orders(request)

    threaded_server.clear()
    threaded_server.expect_request(re.compile(r"/api/users.*")).respond_with_handler(flaky)
    config = _shop_config(threaded_server)
    config["client"]["retry"] = {"first_wait": 0.01}
    pipe = make_pipeline()
    pipe.run(rest_api_source(config))
    assert _trace_counts(pipe) == {"users": {"http_retries": 2}, "orders": {"http_retries": 2}}
    assert _rows(tmp_path, pipe, "SELECT order_id FROM ds.orders WHERE _users_id = 2 ORDER BY 1") == [
        (o["order_id"],) for o in _orders_of(2)]


def test_hints_and_processing_steps(httpserver: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline],
                                    tmp_path: Path) -> None:
    httpserver.expect_request("/users").respond_with_json(USERS)
    config = {"client": {"base_url": httpserver.url_for("/")}, "resources": [
        {"name": "users", "table_name": "gold_members", "write_disposition": "replace",
         "columns": {"name": {"data_type": "text", "nullable": False}},
         "processing_steps": [{"filter": lambda u: u["tier"] == "gold"},
                              {"map": lambda u: {**u, "name": u["name"].upper()}}]},
        {"name": "unused", "selected": False}]}
    pipe = make_pipeline()
    pipe.run(rest_api_source(config, name="crm"))
    assert _rows(tmp_path, pipe, "SELECT id, name FROM ds.gold_members ORDER BY id") == [(3, "USER 3"), (6, "USER 6")]
    assert _rows(tmp_path, pipe, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'unused'") == [
        (0,)]


def test_endpoint_auth_overrides_the_clients(httpserver: HTTPServer) -> None:
    def echo(request: Request) -> Response:
        return Response(json.dumps([{"authorization": request.headers.get("Authorization")}]),
                        content_type="application/json")

    httpserver.expect_request(re.compile("/(public|private)")).respond_with_handler(echo)
    config = {"client": {"base_url": httpserver.url_for("/"), "auth": {"type": "bearer", "token": "client-token"}},
              "resources": ["private",
                            {"name": "other", "endpoint": {"path": "private", "auth": {"type": "http_basic",
                                                           "username": "ann", "password": "pw"}}},
                            {"name": "public", "endpoint": {"auth": None}}]}
    resources = {r.name: list(r) for r in rest_api_resources(config)}
    assert resources == {"private": [{"authorization": "Bearer client-token"}],
                         "other": [{"authorization": "Basic YW5uOnB3"}],
                         "public": [{"authorization": None}]}


class ThreadAPI:
    """``/threads`` (one page), ``/threads/<t>/posts`` and ``/posts/<p>/likes``: three levels, counted in flight."""

    def __init__(self, server: HTTPServer, *, delay: float = 0.02) -> None:
        self.delay, self.lock = delay, threading.Lock()
        self.in_flight = self.most_in_flight = 0
        server.expect_request("/threads").respond_with_json([{"id": t} for t in range(1, 7)])
        server.expect_request(re.compile(r"/threads/\d+/posts")).respond_with_handler(self.posts)
        server.expect_request(re.compile(r"/posts/\d+/likes")).respond_with_handler(self.likes)

    def _answer(self, body: Any) -> Response:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.delay)
        with self.lock:
            self.in_flight -= 1
        return Response(json.dumps(body), content_type="application/json")

    def posts(self, request: Request) -> Response:
        thread = int(request.path.split("/")[2])
        return self._answer([{"id": thread * 10 + k, "thread": thread} for k in range(3)])

    def likes(self, request: Request) -> Response:
        post = int(request.path.split("/")[2])
        return self._answer([{"id": post * 10 + k, "by": f"u{k}"} for k in range(post % 3)])


def _thread_config(server: HTTPServer, **threads: Any) -> dict[str, Any]:
    return {"client": {"base_url": server.url_for("/"), "paginator": "single_page", "concurrency": 4},
            "resources": [{"name": "threads", **threads},
                          {"name": "posts", "endpoint": "threads/{resources.threads.id}/posts",
                           "include_from_parent": ["id"]},
                          {"name": "likes", "endpoint": "posts/{resources.posts.id}/likes",
                           "include_from_parent": ["id", "thread"]}]}


_LIKES = sorted((p * 10 + k, p, t) for t in range(1, 7) for p in range(t * 10, t * 10 + 3) for k in range(p % 3))


@pytest.mark.parametrize("threads", [{}, {"parallelized": True}], ids=["in_order", "parallelized_parent"])
def test_three_levels_of_dependent_resources(threaded_server: HTTPServer,
                                             make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path,
                                             threads: dict[str, Any]) -> None:
    api = ThreadAPI(threaded_server)
    pipe = make_pipeline()
    pipe.run(rest_api_source(_thread_config(threaded_server, **threads)))
    assert _rows(tmp_path, pipe, "SELECT id, _threads_id FROM ds.posts ORDER BY id") == [
        (t * 10 + k, t) for t in range(1, 7) for k in range(3)]
    assert _rows(tmp_path, pipe, "SELECT id, _posts_id, _posts_thread FROM ds.likes ORDER BY id") == _LIKES
    assert 1 < api.most_in_flight <= 8  # posts and likes: each at most 4 at once
    assert "dataload-rest-children" not in [thread.name for thread in threading.enumerate()]  # the loop stopped


def test_a_dependent_resource_with_a_cursor_requests_one_row_after_the_other(
        threaded_server: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> None:
    api = ThreadAPI(threaded_server)
    config = _thread_config(threaded_server)
    config["resources"][1]["endpoint"] = {"path": "threads/{resources.threads.id}/posts",
                                          "incremental": {"cursor_path": "id", "initial_value": 0}}
    pipe = make_pipeline()
    pipe.run(rest_api_source(config).with_resources("threads", "posts"))
    assert _rows(tmp_path, pipe, "SELECT id FROM ds.posts ORDER BY id") == [
        (t * 10 + k,) for t in range(1, 7) for k in range(3)]
    assert api.most_in_flight == 1
