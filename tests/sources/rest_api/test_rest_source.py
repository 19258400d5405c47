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
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import dataload
from sources.rest_api import rest_api_source

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


def test_concurrency_from_the_client_config(threaded_server: HTTPServer,
                                            make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    api = ShopAPI(threaded_server, order_delay=0.05)
    api.users = [{"id": i, "name": f"user {i}", "tier": "basic"} for i in range(1, 16)]
    config = _shop_config(threaded_server)
    config["client"]["concurrency"] = 3
    make_pipeline().run(rest_api_source(config))
    assert 1 < api.most_in_flight <= 3


def test_dependent_resource_alone_fetches_its_parent(threaded_server: HTTPServer) -> None:
    ShopAPI(threaded_server)
    source = rest_api_source(_shop_config(threaded_server))
    orders = sorted(row["order_id"] for row in source.orders)
    assert orders == sorted(o["order_id"] for u in USERS if u["id"] != DELETED for o in _orders_of(u["id"]))


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
