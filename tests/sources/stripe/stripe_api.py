"""A replay of the Stripe API (version 2024-06-20) for one account, served from ``tests/data/stripe``.

It answers the way https://docs.stripe.com/api documents it: ``GET /v1/customers``,
``/v1/invoices`` (``customer``, ``status``), ``/v1/invoices/{id}/lines`` and ``/v1/events``
(``type``), each a list object ``{"object": "list", "url": ..., "has_more": ..., "data": [...]}``
newest first, paged by ``limit`` (1 to 100, default 10) and ``starting_after`` (the id of the last
object of the previous page; an unknown id is a 400 ``resource_missing``), filtered by
``created[gt|gte|lt|lte]`` (Unix seconds). The secret key must come as ``Authorization: Bearer
<key>`` or as the HTTP basic user name; otherwise a 401 as Stripe sends it. Every request is
recorded in :attr:`StripeAPI.requests`.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

DATA = Path(__file__).resolve().parents[2] / "data" / "stripe"
_LIST = re.compile(r"^/v1/(?P<what>customers|invoices|events)$")
_LINES = re.compile(r"^/v1/invoices/(?P<invoice>in_\w+)/lines$")
_CREATED = re.compile(r"^created\[(gt|gte|lt|lte)\]$")
_COMPARE = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}


def load(name: str) -> Any:
    """A fixture file of ``tests/data/stripe`` (a fresh copy each call: tests may edit it)."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Seen:
    """One request the replay answered."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]


class StripeAPI:
    """The replay: objects as plain lists (edit them between runs), the requests it saw, a ``handle``."""

    def __init__(self, *, api_key: str) -> None:
        self.api_key = api_key
        self.customers: list[dict[str, Any]] = load("customers.json")
        self.invoices: list[dict[str, Any]] = load("invoices.json")
        self.lines: dict[str, list[dict[str, Any]]] = load("invoice_lines.json")
        self.events: list[dict[str, Any]] = load("events.json")
        self.requests: list[Seen] = []
        self.base_url = ""

    def serve(self, server: HTTPServer) -> StripeAPI:
        """Answer every request to ``server`` from this replay; its URL (ending in ``/v1``) becomes :attr:`base_url`."""
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)
        self.base_url = server.url_for("/v1")
        return self

    def seen(self, path: str) -> list[Seen]:
        """The requests for ``path`` (``"/v1/customers"``, ...)."""
        return [seen for seen in self.requests if seen.path == path]

    def handle(self, request: Request) -> Response:
        """Answer one request the way api.stripe.com does."""
        self.requests.append(Seen(request.path, dict(request.args), dict(request.headers)))
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        if request.method == "GET" and (match := _LIST.match(request.path)):
            return self._list(request, match["what"])
        if request.method == "GET" and (match := _LINES.match(request.path)):
            if match["invoice"] not in self.lines:
                return _error(404, f"No such invoice: '{match['invoice']}'", code="resource_missing", param="id")
            return _page(request, self.lines[match["invoice"]], "line item", newest_first=False)
        return _error(404, f"Unrecognized request URL ({request.method}: {request.path}). Please see "
                           "https://stripe.com/docs or we can help at https://support.stripe.com/.")

    def _list(self, request: Request, what: str) -> Response:
        rows: list[dict[str, Any]] = getattr(self, what)
        for name, value in request.args.items():
            bound = _CREATED.match(name)
            if bound is not None:
                rows = [row for row in rows if _COMPARE[bound[1]](row["created"], int(value))]
        for field in {"invoices": ("customer", "status"), "events": ("type",)}.get(what, ()):
            if field in request.args:
                rows = [row for row in rows if row[field] == request.args[field]]
        return _page(request, rows, what.rstrip("s"), newest_first=True)

    def _check_auth(self, request: Request) -> Response | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            value = base64.b64decode(value).decode().partition(":")[0]
        elif scheme.lower() != "bearer":
            return _error(401, "You did not provide an API key. You need to provide your API key in the "
                               "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                               "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                               "or we can help at https://support.stripe.com/.")
        if value != self.api_key:
            return _error(401, f"Invalid API Key provided: {value[:8]}{'*' * 12}{value[-4:]}")
        return None


def _page(request: Request, rows: list[dict[str, Any]], kind: str, *, newest_first: bool) -> Response:
    """One page of a list object: ``limit`` objects after ``starting_after``, and whether more follow."""
    try:
        limit = int(request.args.get("limit", 10))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        return _error(400, "Invalid integer: limit must be between 1 and 100", code="parameter_invalid_integer",
                      param="limit")
    ordered = sorted(rows, key=lambda row: (row.get("created", 0), row["id"]), reverse=True) if newest_first else rows
    start = 0
    if "starting_after" in request.args:
        ids = [row["id"] for row in ordered]
        if request.args["starting_after"] not in ids:
            return _error(400, f"No such {kind}: '{request.args['starting_after']}'", code="resource_missing",
                          param="starting_after")
        start = ids.index(request.args["starting_after"]) + 1
    body = {"object": "list", "url": request.path, "has_more": start + limit < len(ordered),
            "data": copy.deepcopy(ordered[start:start + limit])}
    return _json(200, body)


def _json(status: int, body: Any) -> Response:
    headers = {"Request-Id": "req_replay", "Stripe-Version": "2024-06-20"}
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    content_type="application/json")


def _error(status: int, message: str, **details: str) -> Response:
    return _json(status, {"error": {"message": message, "type": "invalid_request_error", **details}})
