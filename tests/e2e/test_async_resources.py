"""Async resources: ``async def`` generators and coroutines load like their sync twins."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

import dataload


def _ids(pipe: dataload.Pipeline, table: str) -> list[int]:
    return sorted(r["id"] for r in pipe.dataset().table(table).rows())


def test_an_async_generator_is_loaded_page_by_page(make_pipeline):
    @dataload.resource
    async def numbers():
        for page in range(3):
            await asyncio.sleep(0)
            yield [{"id": page * 10 + i, "kids": [i]} for i in range(10)]

    pipe = make_pipeline()
    pipe.run(numbers())
    assert _ids(pipe, "numbers") == list(range(30))
    assert len(pipe.dataset().table("numbers__kids").rows()) == 30


def test_an_async_function_that_returns_rows_is_loaded(make_pipeline):
    @dataload.resource(table_name="returned")
    async def fetch_all():
        await asyncio.sleep(0)
        return [{"id": 1}, {"id": 2}]

    pipe = make_pipeline()
    pipe.run(fetch_all())
    assert _ids(pipe, "returned") == [1, 2]


def test_an_async_transformer_is_fed_by_a_sync_resource(make_pipeline):
    @dataload.resource
    def users():
        yield [{"id": 1}, {"id": 2}]

    @dataload.transformer(data_from=users)
    async def orders(user):
        await asyncio.sleep(0)
        yield [{"id": user["id"] * 100 + n, "user_id": user["id"]} for n in range(3)]

    @dataload.source
    def shop():
        return users, orders

    pipe = make_pipeline()
    pipe.run(shop())
    assert _ids(pipe, "orders") == [100, 101, 102, 200, 201, 202]


def test_an_async_incremental_resource_continues_where_it_stopped(make_pipeline):
    events = [{"id": i, "updated_at": i} for i in range(10)]

    @dataload.resource(primary_key="id")
    async def changes(updated_at=dataload.incremental("updated_at", initial_value=0)):
        since = updated_at.last_value
        yield [e for e in events if e["updated_at"] >= since]

    pipe = make_pipeline("async_incremental")
    pipe.run(changes())
    events.extend({"id": i, "updated_at": i} for i in range(10, 15))
    second = pipe.run(changes())
    assert second.rows.get("changes") == 5
    assert _ids(pipe, "changes") == list(range(15))


def test_add_limit_closes_the_async_generator(make_pipeline):
    closed = []

    @dataload.resource
    async def endless():
        try:
            n = 0
            while True:
                yield {"id": n}
                n += 1
        finally:
            closed.append(True)

    pipe = make_pipeline()
    pipe.run(endless().add_limit(4))
    assert _ids(pipe, "endless") == [0, 1, 2, 3]
    assert closed == [True]


def test_an_async_resource_that_raises_is_named(make_pipeline):
    @dataload.resource
    async def flaky():
        yield {"id": 1}
        raise ConnectionError("server hung up")

    with pytest.raises(dataload.ResourceError, match="'flaky'.*ConnectionError: server hung up"):
        make_pipeline().run(flaky())


def test_pages_fetched_with_httpx_async_client_from_a_local_server(make_pipeline, httpserver):
    for page in range(4):
        rows = [{"id": page * 5 + i, "page": page} for i in range(5)]
        httpserver.expect_request("/items", query_string=f"page={page}").respond_with_data(
            json.dumps({"items": rows, "next": page + 1 if page < 3 else None}), content_type="application/json")

    @dataload.resource(primary_key="id")
    async def items():
        async with httpx.AsyncClient(base_url=httpserver.url_for("/")) as client:
            page = 0
            while page is not None:
                body = (await client.get("/items", params={"page": page})).json()
                yield body["items"]
                page = body["next"]

    pipe = make_pipeline()
    pipe.run(items())
    assert _ids(pipe, "items") == list(range(20))
    assert {r["page"] for r in pipe.dataset().table("items").rows()} == {0, 1, 2, 3}
