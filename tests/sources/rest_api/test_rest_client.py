"""RESTClient against real local servers: every auth, the credential-leak guard, retries, redaction, bad responses."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import pickle
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.rest_api import (
    HTTPStatusError,
    PaginatorError,
    ResponseFormatError,
    RESTClient,
    RESTConnectionError,
    RetryConfig,
    api_key,
    bearer,
    http_basic,
    json_link,
    oauth2_client_credentials,
)

SECRET = "s3cr3t-Value"
FAST = RetryConfig(attempts=3, first_wait=0.01, max_wait=0.05)


@pytest.fixture
def other_host() -> Iterator[HTTPServer]:
    """A second server on another loopback address (another host than ``httpserver``'s 127.0.0.1)."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def _client(httpserver: HTTPServer, **options: Any) -> RESTClient:
    options.setdefault("retry", FAST)
    return RESTClient(f"http://127.0.0.1:{httpserver.port}/api", **options)


def _echo(request: Request) -> Response:
    body = {"headers": dict(request.headers), "args": dict(request.args), "cookies": dict(request.cookies)}
    return Response(json.dumps(body), content_type="application/json")


def _seen(httpserver: HTTPServer, auth: Any) -> dict[str, Any]:
    httpserver.expect_request("/api/me").respond_with_handler(_echo)
    result: dict[str, Any] = _client(httpserver, auth=auth).get("me").json()
    return result


def _our_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the client logged (the test server logs the raw requests it got: not ours)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("sources."))


# -- auth -------------------------------------------------------------------------------------


def test_bearer(httpserver: HTTPServer) -> None:
    assert _seen(httpserver, bearer(SECRET))["headers"]["Authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize("location, where, name", [("header", "headers", "X-Api-Key"), ("query", "args", "key"),
                                                   ("cookie", "cookies", "session")])
def test_api_key_in_each_location(httpserver: HTTPServer, location: Any, where: str, name: str) -> None:
    assert _seen(httpserver, api_key(name, SECRET, location=location))[where][name] == SECRET


def test_api_key_rejects_an_unknown_location() -> None:
    with pytest.raises(ValueError, match="'body'"):
        api_key("k", SECRET, location="body")  # type: ignore[arg-type]


def test_http_basic(httpserver: HTTPServer) -> None:
    header = _seen(httpserver, http_basic("ann", SECRET))["headers"]["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == f"ann:{SECRET}"


def test_any_httpx_auth_and_a_plain_callable(httpserver: HTTPServer) -> None:
    assert _seen(httpserver, httpx.BasicAuth("bo", "pw"))["headers"]["Authorization"].startswith("Basic ")

    def sign(request: httpx.Request) -> httpx.Request:
        request.headers["X-Signature"] = "signed"
        return request

    assert _seen(httpserver, sign)["headers"]["X-Signature"] == "signed"


def test_secrets_stay_out_of_repr() -> None:
    for auth in (bearer(SECRET), api_key("k", SECRET), http_basic("u", SECRET),
                 oauth2_client_credentials("http://h/token", "id", SECRET)):
        assert SECRET not in repr(auth) and SECRET not in repr(vars(auth))


class _TokenServer:
    """Issues ``token-1``, ``token-2``, ...; the API accepts only the latest token."""

    def __init__(self, expires_in: float) -> None:
        self.issued = 0
        self.expires_in = expires_in
        self.forms: list[dict[str, str]] = []

    def token(self, request: Request) -> Response:
        self.issued += 1
        self.forms.append(dict(request.form))
        assert request.authorization is not None and request.authorization.password == SECRET
        body = {"access_token": f"token-{self.issued}", "expires_in": self.expires_in}
        return Response(json.dumps(body), content_type="application/json")

    def api(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer token-{self.issued}":
            return Response("expired", status=401)
        return Response(json.dumps([{"token": self.issued}]), content_type="application/json")


def _oauth_client(httpserver: HTTPServer, tokens: _TokenServer, **options: Any) -> RESTClient:
    httpserver.expect_request("/token", method="POST").respond_with_handler(tokens.token)
    httpserver.expect_request("/api/items").respond_with_handler(tokens.api)
    auth = oauth2_client_credentials(httpserver.url_for("/token"), "my-id", SECRET, scopes=["read", "write"],
                                     **options)
    return _client(httpserver, auth=auth)


def test_oauth2_token_is_fetched_once_and_cached(httpserver: HTTPServer) -> None:
    tokens = _TokenServer(expires_in=3600)
    client = _oauth_client(httpserver, tokens)
    assert [client.get("items").json() for _ in range(3)] == [[{"token": 1}]] * 3
    assert tokens.issued == 1
    assert tokens.forms == [{"grant_type": "client_credentials", "scope": "read write"}]


def test_oauth2_token_is_refreshed_on_expiry(httpserver: HTTPServer) -> None:
    tokens = _TokenServer(expires_in=0.2)
    client = _oauth_client(httpserver, tokens, expiry_margin=0.0)
    assert client.get("items").json() == [{"token": 1}]
    time.sleep(0.3)
    assert client.get("items").json() == [{"token": 2}]


def test_oauth2_token_is_refreshed_on_a_401(httpserver: HTTPServer) -> None:
    tokens = _TokenServer(expires_in=3600)
    client = _oauth_client(httpserver, tokens)
    assert client.get("items").json() == [{"token": 1}]
    tokens.issued += 1  # the server revokes token-1 before it expires
    assert client.get("items").json() == [{"token": 3}]


# -- credentials never leave the base URL's host ------------------------------------------------


LEAKY_AUTHS = [bearer(SECRET), api_key("X-Api-Key", SECRET), api_key("key", SECRET, location="query"),
               api_key("session", SECRET, location="cookie"), http_basic("u", SECRET)]


def _carries_secret(request: Request) -> bool:
    return SECRET in str(request.headers) or SECRET in request.query_string.decode() or SECRET in str(
        request.cookies) or "Authorization" in request.headers


@pytest.mark.parametrize("auth", LEAKY_AUTHS, ids=lambda a: repr(a))
def test_next_link_to_another_host_gets_no_credentials(httpserver: HTTPServer, other_host: HTTPServer,
                                                       auth: Any) -> None:
    httpserver.expect_request("/api/items").respond_with_json(
        {"items": [1], "next": f"http://127.0.0.2:{other_host.port}/more"})
    other_host.expect_request("/more").respond_with_json({"items": [2], "next": None})
    pages = list(_client(httpserver, auth=auth).paginate("items", paginator=json_link("next")))
    assert pages == [[1], [2]]
    (first, _), = httpserver.log
    (second, _), = other_host.log
    assert _carries_secret(first) and not _carries_secret(second)


@pytest.mark.parametrize("auth", LEAKY_AUTHS, ids=lambda a: repr(a))
def test_apaginate_on_the_async_client_keeps_credentials_on_the_host(httpserver: HTTPServer, other_host: HTTPServer,
                                                                     auth: Any) -> None:
    httpserver.expect_request("/api/items").respond_with_json(
        {"items": [1], "next": f"http://127.0.0.2:{other_host.port}/more"})
    other_host.expect_request("/more").respond_with_json({"items": [2], "next": None})
    client = _client(httpserver, auth=auth)

    async def pages() -> list[list[Any]]:
        try:
            return [list(page) async for page in client.apaginate("items", paginator=json_link("next"))]
        finally:
            await client.aclose()

    assert asyncio.run(pages()) == [[1], [2]]
    (first, _), = httpserver.log
    (second, _), = other_host.log
    assert _carries_secret(first) and not _carries_secret(second)


@pytest.mark.parametrize("auth", LEAKY_AUTHS, ids=lambda a: repr(a))
def test_redirect_to_another_host_gets_no_credentials(httpserver: HTTPServer, other_host: HTTPServer,
                                                      auth: Any) -> None:
    httpserver.expect_request("/api/items").respond_with_response(
        Response(status=302, headers={"Location": f"http://127.0.0.2:{other_host.port}/moved"}))
    other_host.expect_request("/moved").respond_with_json([{"id": 1}])
    assert _client(httpserver, auth=auth).get("items").json() == [{"id": 1}]
    (second, _), = other_host.log
    assert not _carries_secret(second)


def test_redirect_on_the_same_host_keeps_credentials(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/old").respond_with_response(Response(status=301, headers={"Location": "/api/me"}))
    httpserver.expect_request("/api/me").respond_with_handler(_echo)
    seen = _client(httpserver, auth=bearer(SECRET)).get("old").json()
    assert seen["headers"]["Authorization"] == f"Bearer {SECRET}"


# -- retries ----------------------------------------------------------------------------------


def test_503_twice_then_an_answer(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([Response("busy", status=503), Response("busy", status=503)])
    httpserver.expect_request("/api/items").respond_with_handler(
        lambda request: next(answers, None) or Response('[{"id": 1}]', content_type="application/json"))
    with caplog.at_level(logging.WARNING, logger="sources.rest_api"):
        pages = list(_client(httpserver, auth=api_key("key", SECRET, location="query")).paginate("items"))
    assert pages == [[{"id": 1}]]
    assert len(httpserver.log) == 3
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2 and all("HTTP 503" in message and "/api/items" in message for message in retries)
    assert SECRET not in _our_log(caplog)


def test_429_honours_retry_after(httpserver: HTTPServer) -> None:
    answers = iter([Response("slow down", status=429, headers={"Retry-After": "1"})])
    httpserver.expect_request("/api/items").respond_with_handler(
        lambda request: next(answers, None) or Response('{"ok": true}', content_type="application/json"))
    started = time.monotonic()
    assert _client(httpserver).get("items").json() == {"ok": True}
    assert time.monotonic() - started >= 0.95  # FAST backoff alone would wait 0.01 s


def test_retry_after_is_capped(httpserver: HTTPServer) -> None:
    answers = iter([Response("slow down", status=429, headers={"Retry-After": "3600"})])
    httpserver.expect_request("/api/items").respond_with_handler(
        lambda request: next(answers, None) or Response("[]", content_type="application/json"))
    started = time.monotonic()
    _client(httpserver, retry=RetryConfig(attempts=2, max_retry_after=0.1)).get("items")
    assert time.monotonic() - started < 2


def test_persistent_5xx_is_an_error_after_the_attempts(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items").respond_with_data("down for maintenance", status=502)
    with pytest.raises(HTTPStatusError) as caught:
        _client(httpserver).get("items")
    assert caught.value.status == 502 and "down for maintenance" in str(caught.value)
    assert len(httpserver.log) == FAST.attempts


def test_a_4xx_is_not_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items").respond_with_json({"error": "not found"}, status=404)
    expected = r"GET http://127.0.0.1:\d+/api/items failed with HTTP 404: (?s:.*)not found"
    with pytest.raises(HTTPStatusError, match=expected):
        _client(httpserver).get("items")
    assert len(httpserver.log) == 1


def test_connection_refused_is_retried_then_an_error_naming_the_url(caplog: pytest.LogCaptureFixture) -> None:
    client = RESTClient("http://127.0.0.1:9/api", retry=FAST, auth=api_key("token", SECRET, location="query"))
    with caplog.at_level(logging.WARNING, logger="sources.rest_api"), pytest.raises(RESTConnectionError) as caught:
        client.get("items")
    assert "http://127.0.0.1:9/api/items" in str(caught.value) and "ConnectError" in str(caught.value)
    assert len([r for r in caplog.records if "ConnectError" in r.getMessage()]) == FAST.attempts - 1


def test_a_timeout_is_retried_then_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/slow").respond_with_handler(lambda request: time.sleep(0.3) or Response("[]"))
    with pytest.raises(RESTConnectionError, match="ReadTimeout"):
        _client(httpserver, timeout=0.1, retry=RetryConfig(attempts=2, first_wait=0.01)).get("slow")
    assert len(httpserver.log) <= 2


# -- errors: redaction, malformed responses, pickling ----------------------------------------


def test_secrets_are_redacted_from_errors_and_logs(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request("/api/items").respond_with_data(f"bad key {SECRET}", status=403)
    client = _client(httpserver, auth=api_key("key", SECRET, location="query"))
    with caplog.at_level(logging.DEBUG, logger="sources.rest_api"), pytest.raises(HTTPStatusError) as caught:
        client.get("items", params={"api_token": "other-secret", "q": "x"})
    message, logged = str(caught.value), _our_log(caplog)
    assert "key=***" in message and "api_token=***" in message and "q=x" in message
    assert "bad key ***" in message
    assert SECRET not in message + caught.value.url + logged and "other-secret" not in message + logged
    assert "/api/items?api_token=***&q=x" in logged  # the request was logged, redacted


@pytest.mark.parametrize("body, content_type, expected", [
    ("{not json", "application/json", "invalid JSON"),
    ("<html><body>Login</body></html>", "text/html; charset=utf-8", "got an HTML page"),
    ("<!DOCTYPE html><html></html>", "", "got an HTML page"),
    ("a,b\n1,2", "text/csv", "got content type 'text/csv'"),
])
def test_malformed_responses_are_clear_errors(httpserver: HTTPServer, body: str, content_type: str,
                                              expected: str) -> None:
    response = Response(body)
    del response.headers["Content-Type"]
    if content_type:
        response.headers["Content-Type"] = content_type
    httpserver.expect_request("/api/items").respond_with_response(response)
    with pytest.raises(ResponseFormatError, match=rf"{re.escape(expected)}.* from http://127.0.0.1:\d+/api/items: "):
        list(_client(httpserver).paginate("items"))


def test_a_body_is_decoded_exactly_as_json_loads_decodes_it(httpserver: HTTPServer) -> None:
    # orjson alone would read the big integer as a float and refuse NaN; the values must stay json's
    body = ('[{"id": 123456789012345678901234, "x": 1.5, "t": "caf\u00e9"}, {"id": -9223372036854775809, "x": NaN}, '
            '{"id": 2, "x": 0.1, "tags": ["a", {"deep": [true, null]}]}]')
    httpserver.expect_request("/api/items").respond_with_data(body, content_type="application/json")

    pages = list(_client(httpserver).paginate("items"))

    expected = json.loads(body)
    assert len(pages) == 1 and json.dumps(list(pages[0])) == json.dumps(expected)  # NaN != NaN: compared as text
    assert [type(row["id"]) for row in pages[0]] == [int, int, int]


def test_data_selector_and_list_detection(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/nested").respond_with_json({"result": {"rows": [{"id": 1}]}, "count": 1})
    httpserver.expect_request("/api/single").respond_with_json({"meta": {"n": 2}, "users": [{"id": 2}]})
    httpserver.expect_request("/api/many").respond_with_json({"tags": ["a"], "data": [{"id": 3}]})
    client = _client(httpserver)
    assert list(client.paginate("nested", data_selector="result.rows")) == [[{"id": 1}]]
    assert list(client.paginate("nested", data_selector="result.rows[*]")) == [[{"id": 1}]]
    assert list(client.paginate("nested", data_selector="result")) == [[{"rows": [{"id": 1}]}]]
    assert list(client.paginate("many", data_selector="$.*[*]")) == [["a", {"id": 3}]]
    assert list(client.paginate("single")) == [[{"id": 2}]]
    assert list(client.paginate("many")) == [[{"id": 3}]]
    with pytest.raises(ResponseFormatError, match="data_selector 'result.missing' matches nothing"):
        list(client.paginate("nested", data_selector="result.missing"))


def test_errors_pickle(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items").respond_with_data("nope", status=500)
    with pytest.raises(HTTPStatusError) as caught:
        _client(httpserver, retry=RetryConfig(attempts=1)).get("items")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (str(copy), copy.status, copy.url) == (str(caught.value), 500, caught.value.url)
    for error in (ResponseFormatError("invalid JSON", "http://h/x", "{"), RESTConnectionError("no answer", "http://h/x"),
                  PaginatorError("no progress", "http://h/x")):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), str(copy), copy.url) == (type(error), str(error), "http://h/x")
