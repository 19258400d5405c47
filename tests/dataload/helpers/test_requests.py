"""dataload.helpers.requests against a real local server: retries, Retry-After, timeouts, sessions, requests auth."""

from __future__ import annotations

import datetime
import email.utils
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests as plain_requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import dataload
from dataload.helpers import requests
from dataload.helpers.retry import RetryConfig

FAST = RetryConfig(attempts=3, first_wait=0.01, max_wait=0.05)


def _answers(*first: Response, then: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """A handler that answers ``first`` in order, then ``then(request)`` for every later request."""
    queue = list(first)
    return lambda request: queue.pop(0) if queue else then(request)


def _seen(httpserver: HTTPServer, path: str) -> int:
    """How many requests for ``path`` the server answered (a slow answer of an earlier test may be logged too)."""
    return sum(request.path == path for request, _ in httpserver.log)


def _ok(request: Request) -> Response:
    return Response('{"ok": true}', content_type="application/json")


def test_503_twice_then_an_answer(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request("/items").respond_with_handler(
        _answers(Response("busy", status=503), Response("busy", status=503), then=_ok))
    with caplog.at_level(logging.WARNING, logger="dataload.helpers"):
        response = requests.get(httpserver.url_for("/items"), params={"api_key": "s3cr3t"}, retry=FAST)
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert _seen(httpserver, "/items") == 3
    retries = [record.getMessage() for record in caplog.records]
    assert len(retries) == 2 and all("HTTP 503" in message and "/items?api_key=***" in message for message in retries)
    assert "s3cr3t" not in "".join(retries)


def test_a_persistent_5xx_gives_the_last_answer_after_the_attempts(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items").respond_with_data("down for maintenance", status=502)
    response = requests.get(httpserver.url_for("/items"), retry=FAST)
    assert (response.status_code, response.text) == (502, "down for maintenance")
    assert _seen(httpserver, "/items") == FAST.attempts
    with pytest.raises(plain_requests.HTTPError, match="502"):
        response.raise_for_status()


def test_429_honours_retry_after_in_seconds(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items").respond_with_handler(
        _answers(Response("slow down", status=429, headers={"Retry-After": "1"}), then=_ok))
    started = time.monotonic()
    assert requests.get(httpserver.url_for("/items"), retry=FAST).json() == {"ok": True}
    assert time.monotonic() - started >= 0.95  # FAST backoff alone would wait 0.01 s
    assert _seen(httpserver, "/items") == 2


def test_429_honours_retry_after_as_an_http_date(httpserver: HTTPServer) -> None:
    def later(request: Request) -> Response:
        when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
        retry_after = email.utils.format_datetime(when, usegmt=True)
        return Response("slow down", status=429, headers={"Retry-After": retry_after})

    queue = [later]
    httpserver.expect_request("/items").respond_with_handler(lambda request: (queue.pop() if queue else _ok)(request))
    started = time.monotonic()
    assert requests.get(httpserver.url_for("/items"), retry=FAST).json() == {"ok": True}
    assert time.monotonic() - started >= 0.9  # the date has whole seconds: 1 to 2 s from now


def test_a_timeout_is_retried(httpserver: HTTPServer) -> None:
    slow = [True]

    def handler(request: Request) -> Response:
        if slow and slow.pop():
            time.sleep(0.4)
        return _ok(request)

    httpserver.expect_request("/slow").respond_with_handler(handler)
    # the single-threaded server is busy with the slow answer until the retry comes
    retry = RetryConfig(attempts=2, first_wait=0.5)
    assert requests.get(httpserver.url_for("/slow"), timeout=0.1, retry=retry).json() == {"ok": True}
    assert _seen(httpserver, "/slow") == 2


def test_the_default_timeout_applies_and_ends_in_the_requests_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/slow").respond_with_handler(lambda request: time.sleep(0.4) or _ok(request))
    with requests.Session(timeout=0.1, retry=RetryConfig(attempts=1)) as session:
        with pytest.raises(plain_requests.exceptions.ReadTimeout):
            session.get(httpserver.url_for("/slow"))
    assert requests.Session().timeout == requests.DEFAULT_TIMEOUT


def test_a_4xx_is_not_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items").respond_with_json({"error": "not found"}, status=404)
    response = requests.get(httpserver.url_for("/items"), retry=FAST)
    assert (response.status_code, response.json()) == (404, {"error": "not found"})
    assert _seen(httpserver, "/items") == 1


def test_connection_refused_is_retried_then_the_requests_error(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dataload.helpers"), \
            pytest.raises(plain_requests.exceptions.ConnectionError):
        requests.post("http://127.0.0.1:9/items", json={"a": 1}, retry=FAST)
    assert len([r for r in caplog.records if "ConnectionError" in r.getMessage()]) == FAST.attempts - 1


def test_a_session_keeps_headers_and_cookies(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/login", method="POST").respond_with_response(
        Response("welcome", headers={"Set-Cookie": "session_id=abc123; Path=/"}))
    httpserver.expect_request("/me").respond_with_handler(
        lambda request: Response(f'{{"cookie": "{request.cookies.get("session_id")}", '
                                 f'"agent": "{request.headers.get("X-Agent")}"}}', content_type="application/json"))
    with requests.Session(retry=FAST) as session:
        session.headers["X-Agent"] = "dataload-test"
        session.post(httpserver.url_for("/login"), data={"user": "ann"})
        assert session.get(httpserver.url_for("/me")).json() == {"cookie": "abc123", "agent": "dataload-test"}
        assert session.cookies.get("session_id") == "abc123"


def test_a_requests_auth_is_applied_on_every_attempt(httpserver: HTTPServer) -> None:
    class Token(plain_requests.auth.AuthBase):
        def __call__(self, request: plain_requests.PreparedRequest) -> plain_requests.PreparedRequest:
            request.headers["X-Token"] = "t0ken"
            return request

    httpserver.expect_request("/basic").respond_with_handler(_answers(Response("busy", status=503), then=_ok))
    httpserver.expect_request("/token").respond_with_handler(_answers(Response("busy", status=503), then=_ok))
    with requests.Session(retry=FAST) as session:
        session.get(httpserver.url_for("/basic"), auth=plain_requests.auth.HTTPBasicAuth("ann", "pw"))
        session.get(httpserver.url_for("/token"), auth=Token())
        assert requests.get(httpserver.url_for("/basic"), auth=("bob", "pw2"), retry=FAST).status_code == 200
    basic = [request.authorization for request, _ in httpserver.log if request.path == "/basic"]
    assert [(auth.username, auth.password) for auth in basic if auth] == [("ann", "pw"), ("ann", "pw"), ("bob", "pw2")]
    tokens = [request.headers.get("X-Token") for request, _ in httpserver.log if request.path == "/token"]
    assert tokens == ["t0ken", "t0ken"]


@pytest.mark.parametrize("method", ["put", "patch", "delete", "head"])
def test_every_verb_is_retried(httpserver: HTTPServer, method: str) -> None:
    httpserver.expect_request("/thing", method=method.upper()).respond_with_handler(
        _answers(Response("busy", status=503), then=_ok))
    response = getattr(requests, method)(httpserver.url_for("/thing"), retry=FAST)
    assert response.status_code == 200 and _seen(httpserver, "/thing") == 2


def test_retries_inside_a_resource_are_counted_in_the_trace(httpserver: HTTPServer,
                                                            make_pipeline: Callable[..., dataload.Pipeline]) -> None:
    httpserver.expect_request("/items").respond_with_handler(
        _answers(Response("busy", status=503), Response("busy", status=429),
                 then=lambda request: Response('[{"id": 1}, {"id": 2}]', content_type="application/json")))

    @dataload.resource
    def items() -> Iterator[Any]:
        yield requests.get(httpserver.url_for("/items"), retry=FAST).json()

    pipe = make_pipeline()
    pipe.run(items)
    [extract] = [step for step in pipe.last_trace.steps if step.step == "extract"]
    assert extract.counts == {"items": {"http_retries": 2}}
    assert sorted(row["id"] for row in pipe.dataset().table("items").rows()) == [1, 2]


def test_urllib3_s_debug_log_of_the_request_line_hides_credential_query_values(
        httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request("/items").respond_with_handler(_ok)
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        response = requests.get(httpserver.url_for("/items"), params={"page": 2, "api_key": "s3cr3t"}, retry=FAST)
    assert response.json() == {"ok": True}
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("urllib3")]
    assert any('"GET /items?page=2&api_key=*** HTTP/1.1" 200' in line for line in lines), lines
    assert "s3cr3t" not in "".join(lines)
