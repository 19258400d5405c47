"""A canary secret given as a destination password and as an API token never appears in any
output: log records at every level, exception text, the trace, ``LoadInfo``, schema files, or any
file the pipeline leaves in its working directory (load packages included)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.load.step import RetryPolicy
from destinations import postgres
from sources.rest_api import Page, RESTClient, RetryConfig, bearer

CANARY = "canary-7f3a9c1e-Sekr3t"


def files_holding(folder: Path, text: str) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and text.encode() in path.read_bytes()]


def test_the_canary_shows_nowhere(httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([Response("busy", status=503)])

    def issues(request: Request) -> Response:
        assert request.headers["Authorization"] == f"Bearer {CANARY}"  # the token is really used
        return next(answers, None) or Response('[{"id": 1, "title": "first"}]', content_type="application/json")

    httpserver.expect_request("/issues").respond_with_handler(issues)
    httpserver.expect_request("/broken").respond_with_data("denied", status=401)
    client = RESTClient(httpserver.url_for("/"), auth=bearer(CANARY), retry=RetryConfig(first_wait=0.01))

    @dataload.resource(name="issues")
    def api_issues() -> Iterator[Page]:
        yield from client.paginate("issues")

    @dataload.resource(name="broken")
    def api_broken() -> Iterator[Page]:
        yield from client.paginate("broken")

    admin = postgres_connection()
    dataset = f"canary_{uuid.uuid4().hex[:8]}"
    host = POSTGRES_URL.split("@", 1)[1]  # trust auth: the password is sent and ignored
    destination = postgres(f"postgresql://postgres:{CANARY}@{host}")
    schemas = tmp_path / "schemas"
    try:
        with caplog.at_level(logging.DEBUG):
            pipe = dataload.pipeline("canary", destination=destination, dataset_name=dataset,
                                     pipelines_dir=tmp_path / "pipelines", export_schema_path=schemas,
                                     retry_policy=RetryPolicy(attempts=1))
            info = pipe.run(api_issues)
            trace = str(pipe.last_trace)
            with pytest.raises(dataload.DataloadError) as failed:
                pipe.run(api_broken)
        assert admin.execute(f'SELECT id, title FROM "{dataset}"."issues"').fetchall() == [(1, "first")]
        outputs = {"log": caplog.text, "LoadInfo": str(info), "LoadInfo repr": repr(info),
                   "trace": trace, "pipeline repr": repr(pipe), "destination": repr(destination),
                   "error": f"{failed.value}\n{failed.value!r}\n{failed.value.__cause__}"}
        assert "401" in outputs["error"] and "http_retries" in outputs["trace"]  # the searched texts are real
        assert [name for name, text in outputs.items() if CANARY in text] == []
        assert files_holding(tmp_path, CANARY) == []
        assert list(schemas.glob("*")), "no schema file was exported"
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
        admin.close()
