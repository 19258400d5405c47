"""``rest_api_source(openapi_config(spec))`` runs as generated against a local server implementing the spec.

The server answers exactly as its OpenAPI document says: a page-numbered list with a page count,
a dependent list with next links, a grandchild list, an offset/limit list without a total and a
cursor list. The rows read back from DuckDB with its own driver equal the server's data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import dataload
from sources.rest_api import openapi_config, rest_api_source

AUTHORS = [{"id": i, "name": f"author {i}"} for i in range(1, 6)]
BOOKS = {1: [{"id": 11, "title": "a"}, {"id": 12, "title": "b"}, {"id": 13, "title": "c"}],
         2: [{"id": 21, "title": "d"}], 3: [], 4: [{"id": 41, "title": "e"}, {"id": 42, "title": "f"}],
         5: [{"id": 51, "title": "g"}]}
REVIEWS = {book["id"]: [{"id": book["id"] * 10 + n, "stars": n} for n in range(1, book["id"] % 3 + 1)]
           for books in BOOKS.values() for book in books}
TAGS = [{"slug": f"tag-{i}", "label": f"Tag {i}"} for i in range(7)]
EVENTS = [{"event_id": f"e{i}", "kind": "sale" if i % 2 else "visit"} for i in range(5)]


def _schema(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _query(name: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": "integer", **schema}}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


SPEC: dict[str, Any] = {
    "openapi": "3.0.3", "info": {"title": "Library", "version": "1"}, "servers": [{"url": "/v1"}],
    "paths": {
        "/authors": {"get": {"parameters": [_query("page", minimum=1), _query("per_page", maximum=2)],
                             "responses": _ok({"type": "object", "properties": {
                                 "authors": {"type": "array", "items": _schema("Author")},
                                 "meta": {"type": "object", "properties": {"total_pages": {"type": "integer"}}}}})}},
        "/authors/{author_id}": {"get": {"parameters": [_path("author_id")], "responses": _ok(_schema("Author"))}},
        "/authors/{author_id}/books": {"get": {
            "parameters": [_path("author_id"), _query("page")],
            "responses": _ok({"type": "object", "properties": {
                "data": {"type": "array", "items": _schema("Book")},
                "links": {"type": "object", "properties": {"next": {"type": "string", "nullable": True}}}}})}},
        "/authors/{author_id}/books/{book_id}/reviews": {"get": {
            "parameters": [_path("author_id"), _path("book_id")],
            "responses": _ok({"type": "array", "items": {"properties": {"id": {"type": "integer"},
                                                                        "stars": {"type": "integer"}}}})}},
        "/tags": {"get": {"parameters": [_query("offset"), _query("limit", maximum=3)],
                          "responses": _ok({"type": "array", "items": _schema("Tag")})}},
        "/events": {"get": {"parameters": [{"name": "cursor", "in": "query", "schema": {"type": "string"}}],
                            "responses": _ok({"type": "object", "properties": {
                                "events": {"type": "array", "items": {"properties": {
                                    "event_id": {"type": "string"}, "kind": {"type": "string"}}}},
                                "next_cursor": {"type": "string"}}})}},
        "/status": {"get": {"responses": _ok({"type": "object", "properties": {"ok": {"type": "boolean"}}})}},
    },
    "components": {"schemas": {
        "Entity": {"type": "object", "properties": {"id": {"type": "integer"}}},
        "Author": {"allOf": [_schema("Entity"), {"properties": {"name": {"type": "string"}}}]},
        "Book": {"allOf": [_schema("Entity"), {"properties": {"title": {"type": "string"}}}]},
        "Tag": {"type": "object", "properties": {"slug": {"type": "string"}, "label": {"type": "string"}}},
    }},
}


class LibraryAPI:
    """The server of SPEC, paging exactly as the spec declares; it records each request (query args sorted)."""

    def __init__(self, server: HTTPServer) -> None:
        self.seen: list[str] = []
        routes: dict[str, Callable[..., Any]] = {"/v1/authors": self.authors, "/v1/tags": self.tags,
                                                 "/v1/events": self.events}
        for path, handler in routes.items():
            server.expect_request(path).respond_with_handler(self._json(handler))
        for author, books in BOOKS.items():
            server.expect_request(f"/v1/authors/{author}/books").respond_with_handler(
                self._json(lambda request, author=author: self.books(request, author)))
            for book in books:
                server.expect_request(f"/v1/authors/{author}/books/{book['id']}/reviews").respond_with_handler(
                    self._json(lambda request, book=book["id"]: REVIEWS[book]))

    def _json(self, handler: Callable[[Request], Any]) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            self.seen.append(f"{request.path}?{'&'.join(f'{k}={v}' for k, v in sorted(request.args.items()))}")
            return Response(json.dumps(handler(request)), content_type="application/json")
        return answer

    def authors(self, request: Request) -> Any:
        page, size = int(request.args["page"]), int(request.args["per_page"])
        return {"authors": AUTHORS[(page - 1) * size:page * size], "meta": {"total_pages": -(-len(AUTHORS) // size)}}

    def books(self, request: Request, author: int) -> Any:
        page = int(request.args.get("page", 1))
        books = BOOKS[author][(page - 1) * 2:page * 2]
        more = len(BOOKS[author]) > page * 2
        return {"data": books, "links": {"next": f"/v1/authors/{author}/books?page={page + 1}" if more else None}}

    def tags(self, request: Request) -> Any:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        return TAGS[offset:offset + limit]

    def events(self, request: Request) -> Any:
        start = int(request.args.get("cursor", "0"))
        return {"events": EVENTS[start:start + 2], "next_cursor": str(start + 2) if start + 2 < len(EVENTS) else ""}


def _rows(path: Path, table: str, columns: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(f'SELECT {columns} FROM ds."{table}" ORDER BY 1').fetchall()


def test_the_generated_config_loads_the_servers_data(httpserver: HTTPServer, tmp_path: Path,
                                                     make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    api = LibraryAPI(httpserver)
    config = openapi_config(SPEC, base_url=httpserver.url_for("/v1"))
    assert [resource["name"] for resource in config["resources"]] == ["authors", "books", "reviews", "events", "tags"]

    make_pipeline("library").run(rest_api_source(config))

    database = tmp_path / "library.duckdb"
    assert _rows(database, "authors", "id, name") == [(a["id"], a["name"]) for a in AUTHORS]
    assert _rows(database, "books", "id, title, _authors_id") == sorted(
        (book["id"], book["title"], author) for author, books in BOOKS.items() for book in books)
    assert _rows(database, "reviews", "id, stars, _books_id") == sorted(
        (review["id"], review["stars"], book) for book, reviews in REVIEWS.items() for review in reviews)
    assert _rows(database, "tags", "slug, label") == [(t["slug"], t["label"]) for t in TAGS]
    assert _rows(database, "events", "event_id, kind") == [(e["event_id"], e["kind"]) for e in EVENTS]
    # the paging the spec declares, as the server saw it
    assert [seen for seen in api.seen if seen.startswith("/v1/authors?")] == [
        "/v1/authors?page=1&per_page=2", "/v1/authors?page=2&per_page=2", "/v1/authors?page=3&per_page=2"]
    assert [seen for seen in api.seen if seen.startswith("/v1/tags")] == [
        f"/v1/tags?limit=3&offset={n}" for n in (0, 3, 6, 9)]
    assert "/v1/authors/1/books?page=2" in api.seen and "/v1/events?cursor=4" in api.seen
    assert not any(seen.startswith("/v1/status") for seen in api.seen)
