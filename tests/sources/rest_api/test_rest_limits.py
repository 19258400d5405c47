"""Response limits against real local servers: body size on the wire, gzip/deflate bombs, JSON nesting depth.

Bodies are streamed by the server and counted by it, so a client that read everything before
checking would show (and a bomb's memory is measured in a subprocess of its own).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

import dataload
from sources.rest_api import ResponseLimitError, ResponseLimits, RESTClient, rest_api_source

ROOT = Path(__file__).resolve().parents[3]
MiB = 2 ** 20


class Streamed:
    """A body sent in 64 KiB chunks, made as it is sent; ``sent`` counts the bytes the server produced."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.sent += len(chunk)
            yield chunk


def _json_array_of(total_bytes: int) -> Iterator[bytes]:
    """A JSON list of ``total_bytes`` or so: ``[1,1,...,1]``."""
    yield b"[1"
    for _ in range(total_bytes // 65536):
        yield b",1" * 32768
    yield b"]"


def _bomb(expanded_bytes: int, wbits: int) -> Iterator[bytes]:
    """zeros of ``expanded_bytes`` once decompressed (gzip for ``wbits=31``, deflate for 15), compressed lazily."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"0" * MiB
    for _ in range(expanded_bytes // MiB):
        if out := compressor.compress(block):
            yield out
    yield compressor.flush()


def test_a_body_over_max_bytes_stops_while_it_streams(httpserver: HTTPServer) -> None:
    body = Streamed(_json_array_of(200 * MiB))
    httpserver.expect_request("/big").respond_with_response(Response(body, content_type="application/json"))
    client = RESTClient(httpserver.url_for("/"), limits=ResponseLimits(max_bytes=MiB))

    with pytest.raises(ResponseLimitError) as error:
        client.get("big")
    assert str(error.value) == f"the body of {httpserver.url_for('/big')} is larger than max_bytes (1048576 bytes)"
    assert (error.value.limit, error.value.value) == ("max_bytes", MiB)
    assert body.sent < 20 * MiB  # the client hung up early: it did not read the 200 MiB first


def test_a_body_within_the_limits_reads_as_before(httpserver: HTTPServer) -> None:
    rows = [{"id": n, "tags": [[n]]} for n in range(1000)]
    payload = zlib.compress(json.dumps(rows).encode())
    httpserver.expect_request("/rows").respond_with_response(Response(
        payload, content_type="application/json", headers={"Content-Encoding": "deflate"}))
    client = RESTClient(httpserver.url_for("/"), limits=ResponseLimits(max_bytes=len(payload),
                                                                      max_json_depth=4))
    [page] = client.paginate("rows", paginator=None)
    assert list(page) == rows
    assert page.response.headers.get("Content-Encoding") is None  # the body is the decoded one


_BOMB_CHILD = textwrap.dedent("""
    import json, sys
    from sources.rest_api import RESTClient, ResponseLimitError

    def memory_kb(field):  # VmHWM is this process's own peak: ru_maxrss would carry the parent's over exec
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

    client = RESTClient(sys.argv[1])  # the default limits
    before = memory_kb("VmRSS")
    try:
        list(client.paginate("bomb"))
        error = None
    except ResponseLimitError as exc:
        error = [str(exc), exc.limit]
    growth = memory_kb("VmHWM") - before
    print(json.dumps({"error": error, "growth_mb": growth / 1024}))
""")


@pytest.mark.parametrize("encoding, wbits", [("gzip", 31), ("deflate", 15)])
def test_a_5_gb_bomb_stops_at_the_default_max_decompressed_bytes_in_bounded_memory(
        httpserver: HTTPServer, encoding: str, wbits: int) -> None:
    body = Streamed(_bomb(5 * 1024 * MiB, wbits))
    httpserver.expect_request("/bomb").respond_with_response(Response(
        body, content_type="application/json", headers={"Content-Encoding": encoding}))

    child = subprocess.run([sys.executable, "-c", _BOMB_CHILD, httpserver.url_for("/")], cwd=ROOT,
                           env={"PYTHONPATH": str(ROOT), "PATH": ""}, capture_output=True, text=True, timeout=300,
                           check=True)
    outcome = json.loads(child.stdout)
    message, limit = outcome["error"]
    assert limit == "max_decompressed_bytes"
    assert message.startswith(f"the body of {httpserver.url_for('/bomb')} expands beyond max_decompressed_bytes "
                              f"({ResponseLimits().max_decompressed_bytes} bytes) from ")
    assert message.endswith(f" bytes on the wire ({encoding})")
    assert outcome["growth_mb"] < 200
    assert body.sent < 5 * MiB  # a fraction of the bomb's 5 MiB on the wire was ever made


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize("depth, limits, message", [
    (201, ResponseLimits(max_json_depth=200), "nested deeper than max_json_depth (200)"),
    (10_000, ResponseLimits(), f"nested deeper than Python's recursion limit ({sys.getrecursionlimit()})"),
    (10_000, ResponseLimits(max_json_depth=20_000),
     f"nested deeper than Python's recursion limit ({sys.getrecursionlimit()})"),
])
def test_json_nested_too_deep_is_an_error_naming_the_url(httpserver: HTTPServer, depth: int,
                                                         limits: ResponseLimits, message: str) -> None:
    httpserver.expect_request("/deep").respond_with_data(_nested(depth), content_type="application/json")
    with pytest.raises(ResponseLimitError) as error:
        list(RESTClient(httpserver.url_for("/"), limits=limits).paginate("deep"))
    assert str(error.value) == f"the JSON of {httpserver.url_for('/deep')} is {message}"


def test_json_within_max_json_depth_is_read(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/deep").respond_with_data(_nested(200), content_type="application/json")
    [page] = RESTClient(httpserver.url_for("/"), limits=ResponseLimits(max_json_depth=200)).paginate("deep")
    assert json.dumps(list(page)) == _nested(200)  # the top-level list is the page


def _items_and_notes(server: HTTPServer, limits: dict[str, Any]) -> dict[str, Any]:
    return {"client": {"base_url": server.url_for("/"), "paginator": "single_page", "limits": limits},
            "resources": ["items", {"name": "notes", "endpoint": "items/{resources.items.id}/notes"}]}


def _read(tmp_path: Path, pipe: dataload.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / f"{pipe.pipeline_name}.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_source_limits_apply_to_dependent_requests_too(
        httpserver: HTTPServer, make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> None:
    httpserver.expect_request("/items").respond_with_json([{"id": 1}, {"id": 2}])
    httpserver.expect_request("/items/1/notes").respond_with_json([{"text": "short"}])  # depth 2
    httpserver.expect_request("/items/2/notes").respond_with_json([{"deep": {"a": {"b": "x"}}}])  # depth 4
    pipe = make_pipeline()

    with pytest.raises(dataload.DataloadError) as error:
        pipe.run(rest_api_source(_items_and_notes(httpserver, {"max_json_depth": 3})))
    assert f"the JSON of {httpserver.url_for('/items/2/notes')} is nested deeper than max_json_depth (3)" in str(
        error.value)

    pipe.run(rest_api_source(_items_and_notes(httpserver, {"max_json_depth": 4})))
    assert _read(tmp_path, pipe, "SELECT text, deep__a__b FROM ds.notes ORDER BY text NULLS FIRST") == [
        (None, "x"), ("short", None)]


@pytest.mark.parametrize("limits, problem", [
    ({"max_bytes": 0}, "client.limits.max_bytes"),
    ({"max_body": 10}, "client.limits.max_body: unknown key"),
    ({"max_json_depth": "deep"}, "client.limits.max_json_depth"),
])
def test_bad_limits_in_a_config_are_named(limits: dict[str, Any], problem: str) -> None:
    with pytest.raises(dataload.InvalidConfig) as error:
        rest_api_source({"client": {"base_url": "http://127.0.0.1:9/", "limits": limits}, "resources": ["a"]})
    assert problem in str(error.value)
