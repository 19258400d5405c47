"""Read what the ``show`` pages say: HTML tables by id as rows of cell text, the table tree, links.

Shared by the HTTP-client tests of ``dataload pipeline NAME show`` (parsed with ``html.parser``,
so a test sees the text a browser would show, entities decoded).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any

import httpx

from dataload.cli.show.server import ShowServer


class Page(HTMLParser):
    """A parsed page: ``tables[id]`` (rows of cell text, header row first), ``tree`` (nested
    ``(text, children)`` of the list with id ``tree``), ``links`` (every ``href``), ``title``."""

    def __init__(self, body: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.tree: list[tuple[str, list[Any]]] = []
        self.links: list[str] = []
        self.title = ""
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._tree_stack: list[list[tuple[str, list[Any]]]] = []
        self._item_text: list[list[str]] = []
        self._in_title = False
        self.feed(body)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id"):
            self._table = attributes["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "ul" and (attributes.get("id") == "tree" or self._tree_stack):
            self._tree_stack.append(self.tree if not self._tree_stack else self._tree_stack[-1][-1][1])
        elif tag == "li" and self._tree_stack:
            self._tree_stack[-1].append(("", []))
            self._item_text.append([])
        elif tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "ul" and self._tree_stack:
            self._tree_stack.pop()
        elif tag == "li" and self._item_text:
            text = "".join(self._item_text.pop()).strip()
            siblings = self._tree_stack[-1]
            siblings[-1] = (text, siblings[-1][1])
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._item_text and self._tree_stack:
            self._item_text[-1].append(data)
        if self._in_title:
            self.title += data

    def records(self, table_id: str) -> list[dict[str, str]]:
        """The rows of table ``table_id`` as dicts keyed by its header cells."""
        header, *rows = self.tables[table_id]
        return [dict(zip(header, row)) for row in rows]


@contextmanager
def serving(pipe: Any) -> Iterator[httpx.Client]:
    """Serve ``pipe``'s pages in a thread on a free port; an HTTP client for them."""
    server = ShowServer(pipe, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield client
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def fetch(client: httpx.Client, path: str, status: int = 200) -> Page:
    """GET ``path``, check its status and content type, and parse the page."""
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return Page(response.text)
