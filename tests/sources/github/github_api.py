"""A replay of the GitHub REST API for one repository, served from ``tests/data/github``.

It answers the way https://docs.github.com/rest documents it: ``GET /repos/{owner}/{repo}``,
``/issues`` (``state`` open by default, ``since`` on ``updated_at``, ``sort``/``direction``, pull
requests included with a ``pull_request`` key), ``/issues/{number}/comments`` (``since``) and
``/issues/{number}/reactions`` (``content``) and ``/releases``; lists are paged by ``per_page`` (default 30, at most
100) and ``page``, with a ``Link`` header (``first``/``prev``/``next``/``last``) whose URLs use the
``/repositories/{id}/...`` form GitHub sends. A token, when given, must come as ``Authorization:
Bearer <token>`` (or ``token <token>``); a wrong one is a 401 "Bad credentials". Every request is
recorded in :attr:`GitHubAPI.requests` so tests can assert what was sent.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

DATA = Path(__file__).resolve().parents[2] / "data" / "github"
OWNER, REPO = "octo-org", "hello-world"
_DOCS = "https://docs.github.com/rest"
_ROUTE = re.compile(r"^/(?:repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)|repositories/(?P<id>\d+))"
                    r"(?:(?P<issues>/issues(?:/(?P<number>\d+)/(?P<child>comments|reactions))?)"
                    r"|(?P<releases>/releases))?$")


def load(name: str) -> Any:
    """A fixture file of ``tests/data/github`` (a fresh copy each call: tests may edit it)."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def instant(text: str) -> datetime.datetime:
    """An ISO 8601 timestamp as GitHub writes it (``2024-04-22T13:33:48Z``) as an aware datetime."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def github_time(value: datetime.datetime) -> str:
    """``value`` written the way GitHub writes timestamps."""
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Seen:
    """One request the replay answered."""

    host: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class GitHubAPI:
    """The replay: data as plain lists (edit them between runs), the requests it saw, a ``handle`` for the server."""

    def __init__(self, *, token: str | None = None, next_link_host: str | None = None, owner: str = OWNER,
                 repo: str = REPO) -> None:
        self.token = token
        self.next_link_host = next_link_host  # Link header URLs point here (a host that must get no token)
        self.repo: dict[str, Any] = load("repo.json")
        self.repo["owner"]["login"], self.repo["name"], self.repo["full_name"] = owner, repo, f"{owner}/{repo}"
        self.releases: list[dict[str, Any]] = load("releases.json")
        self.issues: list[dict[str, Any]] = load("issues.json")
        self.comments: list[dict[str, Any]] = load("comments.json")
        self.reactions: dict[int, list[dict[str, Any]]] = {int(k): v for k, v in load("reactions.json").items()}
        self.requests: list[Seen] = []
        self.base_url = ""
        self.gone: set[int] = set()  # issues still listed, but deleted or transferred: their comments etc. 404

    def serve(self, server: HTTPServer) -> GitHubAPI:
        """Answer every request to ``server`` from this replay, whose URL becomes :attr:`base_url`."""
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)
        self.base_url = server.url_for("").rstrip("/")
        return self

    def seen(self, endpoint: str) -> list[Seen]:
        """The requests whose path ends with ``endpoint`` (``"/issues"``, ``"/comments"``, ...)."""
        return [seen for seen in self.requests if seen.path.endswith(endpoint)]

    def comments_of(self, number: int) -> list[dict[str, Any]]:
        """The comments of issue ``number``, oldest first (as the API lists them)."""
        return sorted((c for c in self.comments if c["issue_url"].endswith(f"/issues/{number}")),
                      key=lambda c: c["id"])

    def handle(self, request: Request) -> Response:
        """Answer one request the way api.github.com does."""
        self.requests.append(Seen(request.host, request.path, dict(request.args), dict(request.headers)))
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        route = _ROUTE.match(request.path)
        if request.method != "GET" or route is None or not self._is_our_repo(route):
            return _error(404, "Not Found")
        if route["child"] == "comments":
            return self._comments(request, int(route["number"]))
        if route["child"] == "reactions":
            return self._reactions(request, int(route["number"]))
        if route["issues"] is not None:
            return self._issues(request)
        if route["releases"] is not None:
            return self._page(request, self.releases, "releases")
        return _json(self.repo, request)

    # -- endpoints ------------------------------------------------------------------------------

    def _issues(self, request: Request) -> Response:
        state, sort = request.args.get("state", "open"), request.args.get("sort", "created")
        if state not in ("open", "closed", "all") or sort not in ("created", "updated", "comments"):
            return _error(422, "Validation Failed")
        rows = [i for i in self.issues if state == "all" or i["state"] == state]
        since = _since(request)
        if since is False:
            return _error(422, "Validation Failed")
        if since is not None:
            rows = [i for i in rows if instant(i["updated_at"]) >= since]
        key = {"created": "created_at", "updated": "updated_at", "comments": "comments"}[sort]
        rows.sort(key=lambda i: (i[key], i["id"]), reverse=request.args.get("direction", "desc") == "desc")
        return self._page(request, rows, "issues")

    def _comments(self, request: Request, number: int) -> Response:
        if number in self.gone or not any(i["number"] == number for i in self.issues):
            return _error(404, "Not Found")
        rows = self.comments_of(number)
        since = _since(request)
        if since is False:
            return _error(422, "Validation Failed")
        if since is not None:
            rows = [c for c in rows if instant(c["updated_at"]) >= since]
        return self._page(request, rows, f"issues/{number}/comments")

    def _reactions(self, request: Request, number: int) -> Response:
        if number in self.gone or not any(i["number"] == number for i in self.issues):
            return _error(404, "Not Found")
        content = request.args.get("content")
        rows = [r for r in self.reactions.get(number, []) if content is None or r["content"] == content]
        return self._page(request, rows, f"issues/{number}/reactions")

    # -- paging and auth ------------------------------------------------------------------------

    def _page(self, request: Request, rows: list[dict[str, Any]], endpoint: str) -> Response:
        per_page = min(int(request.args.get("per_page", 30)), 100)
        page = int(request.args.get("page", 1))
        last = max(1, -(-len(rows) // per_page))
        body = copy.deepcopy(rows[(page - 1) * per_page:page * per_page])
        response = _json(body, request)
        host = f"http://{self.next_link_host}" if self.next_link_host else request.host_url.rstrip("/")
        base = f"{host}/repositories/{self.repo['id']}/{endpoint}"
        links = [(page + 1, "next"), (last, "last")] if page < last else []
        links += [(1, "first"), (page - 1, "prev")] if page > 1 else []
        if links:
            query = {k: v for k, v in request.args.items() if k != "page"}
            response.headers["Link"] = ", ".join(f'<{base}?{urlencode({**query, "page": n})}>; rel="{rel}"'
                                                 for n, rel in links)
        return response

    def _check_auth(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization")
        if header is None:
            return None  # a public repository: anonymous requests are answered (with a lower rate limit)
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "token") or token != self.token:
            return _error(401, "Bad credentials")
        return None

    def _is_our_repo(self, route: re.Match[str]) -> bool:
        if route["id"] is not None:
            return int(route["id"]) == self.repo["id"]
        return (route["owner"], route["repo"]) == (self.repo["owner"]["login"], self.repo["name"])


def _since(request: Request) -> datetime.datetime | None | bool:
    """The ``since`` param as a datetime, None when absent, False when it is no ISO 8601 timestamp."""
    text = request.args.get("since")
    if text is None:
        return None
    try:
        return instant(text)
    except ValueError:
        return False


def _json(body: Any, request: Request) -> Response:
    authenticated = "Authorization" in request.headers
    headers = {"X-GitHub-Api-Version-Selected": "2022-11-28", "X-RateLimit-Limit": "5000" if authenticated else "60",
               "X-RateLimit-Remaining": "4999" if authenticated else "59", "X-RateLimit-Resource": "core"}
    return Response(json.dumps(body, ensure_ascii=False), status=200, headers=headers,
                    content_type="application/json; charset=utf-8")


def _error(status: int, message: str) -> Response:
    body = {"message": message, "documentation_url": _DOCS, "status": str(status)}
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")
