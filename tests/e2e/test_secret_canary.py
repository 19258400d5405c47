"""Canary secrets never appear in any output (issue 17, "Credentials").

One canary each is the PostgreSQL destination's password, the bearer token and the query-string
API key of two ``rest_api_source`` s, and the password in the DSN of a ``sql_database`` source
(the local server trusts any password over TCP, so each is really sent). Pipelines load, retry,
fail in extract, fail a package in the load, and fail to reach a destination; then none of the
canaries may be in: log records at every level (DEBUG on), the text, ``repr`` and traceback of
every error, ``pipe.last_trace``, ``LoadInfo`` (``str``, ``repr``, ``asdict()``), the output of
every ``dataload pipeline NAME ...`` command and of ``dataload run`` (``--log-level DEBUG``), every
page the ``show`` server links to (served in the test and by the ``show`` command), and the bytes
of every file under the test's folder: the working dirs (trace.json, schema files, load packages,
failure.json), the exported schemas, the script. The searched outputs are checked to hold what
they should, so a search of empty text cannot pass.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import signal
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlparse

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import dataload
from conftest import POSTGRES_URL, postgres_connection
from dataload.load.step import RetryPolicy
from destinations import postgres
from show_pages import Page, serving
from sources.rest_api import rest_api_source
from sources.sql_database import sql_database, sql_table

CANARIES = {
    "destination password": "canary-dest-7f3a9c1e",
    "bearer token": "canary-bearer-b41d0e27",
    "query api key": "canary-appid-5c9e81aa",
    "source DSN password": "canary-dsn-e02b6f93",
}
REPO = Path(__file__).resolve().parents[2]
HOST = POSTGRES_URL.split("@", 1)[1]  # 127.0.0.1:5432/test
DESTINATION_URL = f"postgresql://postgres:{CANARIES['destination password']}@{HOST}"
SOURCE_DSN = f"postgresql+psycopg://postgres:{CANARIES['source DSN password']}@{HOST}"
UNREACHABLE_URL = f"postgresql://postgres:{CANARIES['destination password']}@127.0.0.1:9/test"  # discard port
FAST = RetryPolicy(attempts=2, first_wait=0.01, max_wait=0.02)

SCRIPT = '''
import sys

import dataload
from destinations import postgres
from sources.rest_api import rest_api_source

source = rest_api_source({
    "client": {"base_url": dataload.config["sources.canary.base_url"],
               "auth": {"type": "bearer", "token": dataload.secrets["sources.canary.token"]},
               "paginator": "single_page"},
    "resources": [sys.argv[1]],
}, name="scripted")
pipe = dataload.pipeline("scripted", destination=postgres(dataload.secrets["sources.canary.destination"]),
                         dataset_name=dataload.config["sources.canary.dataset"])
print(pipe.run(source))
'''


def found_in(text: str) -> list[str]:
    """The names of the canaries ``text`` holds."""
    return [name for name, canary in CANARIES.items() if canary in text]


def files_holding_a_canary(folder: Path) -> list[str]:
    return [f"{path}: {found_in(path.read_bytes().decode('latin-1'))}" for path in sorted(folder.rglob("*"))
            if path.is_file() and found_in(path.read_bytes().decode("latin-1"))]


def error_texts(error: BaseException) -> str:
    """What a user sees of an error: its text, its repr and the whole traceback with its causes."""
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


class Api:
    """The test's HTTP API: ``issues`` wants the bearer token (and is busy once), ``events`` the query key."""

    def __init__(self, server: HTTPServer) -> None:
        self.server, self.busy = server, [Response("busy", status=503)]
        server.expect_request("/issues").respond_with_handler(self.issues)
        server.expect_request("/events").respond_with_handler(self.events)
        server.expect_request("/denied").respond_with_data("denied", status=401)

    def issues(self, request: Request) -> Response:
        assert request.headers["Authorization"] == f"Bearer {CANARIES['bearer token']}"  # really sent
        if self.busy:
            return self.busy.pop()
        return Response('[{"id": 1, "title": "first"}]', content_type="application/json")

    def events(self, request: Request) -> Response:
        assert request.args["appid"] == CANARIES["query api key"]
        return Response('[{"id": 7, "kind": "push"}]', content_type="application/json")

    def bearer_source(self, *resources: str) -> dataload.Source:
        return rest_api_source({
            "client": {"base_url": self.server.url_for("/"), "paginator": "single_page",
                       "auth": {"type": "bearer", "token": CANARIES["bearer token"]},
                       "retry": {"first_wait": 0.01}},
            "resources": list(resources)}, name="bearer_api")

    def query_key_source(self) -> dataload.Source:
        return rest_api_source({
            "client": {"base_url": self.server.url_for("/"), "paginator": "single_page",
                       "auth": {"type": "api_key", "name": "appid", "value": CANARIES["query api key"],
                                "location": "query"}},
            "resources": ["events", "denied"]}, name="query_api")


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """A source schema holding ``items`` and a destination dataset name; both dropped afterwards."""
    admin = postgres_connection()
    source, dataset = f"canary_src_{uuid.uuid4().hex[:8]}", f"canary_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE SCHEMA "{source}"')
    admin.execute(f'CREATE TABLE "{source}".items (id int PRIMARY KEY, name text)')
    admin.execute(f"INSERT INTO \"{source}\".items VALUES (1, 'one'), (2, 'two')")
    try:
        yield source, dataset
    finally:
        for schema in (source, dataset, f"{dataset}_script"):
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``dataload --log-level DEBUG ARGS`` in ``tmp_path``; its stdout and stderr."""
    done = subprocess.run([sys.executable, "-m", "dataload.cli.main", "--log-level", "DEBUG", *args],
                          cwd=tmp_path, env=child_env(env or {}), capture_output=True, text=True, timeout=120)
    return f"$ dataload {' '.join(args)} (exit {done.returncode})\n{done.stdout}{done.stderr}"


def child_env(extra: dict[str, str]) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "DESTINATION__POSTGRES__CREDENTIALS": DESTINATION_URL, **extra}


def show_pages(pipe: dataload.Pipeline) -> dict[str, str]:
    """Every page the ``show`` server of ``pipe`` links to, by path."""
    with serving(pipe) as client:
        return crawl(client)


def cli_show_pages(tmp_path: Path, pipelines: Path) -> dict[str, str]:
    """Every page ``dataload pipeline canary show`` links to, and what the command printed."""
    process = subprocess.Popen([sys.executable, "-m", "dataload.cli.main", "--log-level", "DEBUG", "pipeline",
                                "canary", "show", "--port", "0", "--pipelines-dir", str(pipelines)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                               env=child_env({}))
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", first)
        assert url, first
        with httpx.Client(base_url=url.group(), timeout=60) as client:
            pages = crawl(client)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    return {f"cli show {path}": page for path, page in pages.items()} | {"cli show": first + out + err}


def crawl(client: httpx.Client) -> dict[str, str]:
    """Every page reachable by links from ``/`` on the client's site, by path."""
    pages: dict[str, str] = {}
    site, waiting = urlparse(str(client.base_url)).netloc, ["/"]
    while waiting:
        path = waiting.pop()
        if path in pages:
            continue
        pages[path] = client.get(path).text
        for link in Page(pages[path]).links:
            target = urlparse(urljoin(f"http://{site}{path}", link))
            if target.netloc == site and len(pages) < 200:
                waiting.append(target.path + (f"?{target.query}" if target.query else ""))
    return pages

def failing_runs(pipe: dataload.Pipeline, api: Api, source_schema: str) -> dict[str, BaseException]:
    """Runs that fail: in extract (HTTP 401, a missing source table), reaching a destination, in the load."""
    errors: dict[str, BaseException] = {}
    for name, failing in {
        "401 with a bearer token": lambda: pipe.run(api.bearer_source("denied")),
        "401 with a query key": lambda: pipe.run(api.query_key_source().with_resources("denied")),
        "missing source table": lambda: pipe.run(sql_table(SOURCE_DSN, schema=source_schema, table="nope")),
        "unreachable destination": lambda: dataload.pipeline(
            "canary_down", destination=postgres(UNREACHABLE_URL), dataset_name=pipe.dataset_name,
            pipelines_dir=pipe.working_dir.parent, retry_policy=FAST).run([{"id": 1}], table_name="t"),
    }.items():
        with pytest.raises(dataload.DataloadError) as raised:
            failing()
        errors[name] = raised.value
    with postgres_connection() as admin:  # the destination now refuses a null name: a failed package
        admin.execute(f'ALTER TABLE "{pipe.dataset_name}".items ALTER COLUMN name SET NOT NULL')
    with pytest.raises(dataload.TerminalLoadError) as refused:
        pipe.run([{"id": 3, "name": None}], table_name="items")
    errors["failed package"] = refused.value
    return errors


def test_no_canary_shows_anywhere(httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                  databases: tuple[str, str]) -> None:
    source_schema, dataset = databases
    api, pipelines, schemas = Api(httpserver), tmp_path / "pipelines", tmp_path / "schemas"
    outputs: dict[str, str] = {}
    with caplog.at_level(logging.DEBUG):
        pipe = dataload.pipeline("canary", destination=postgres(DESTINATION_URL), dataset_name=dataset,
                                 pipelines_dir=pipelines, export_schema_path=schemas, retry_policy=FAST)
        infos = []
        for source in (api.bearer_source("issues"), api.query_key_source().with_resources("events"),
                       sql_database(SOURCE_DSN, schema=source_schema)):
            infos.append(pipe.run(source))
            outputs[f"trace of {source.name}"] = f"{pipe.last_trace}\n{pipe.last_trace!r}"
        errors = failing_runs(pipe, api, source_schema)
        outputs["trace after failures"] = f"{pipe.last_trace}\n{pipe.last_trace!r}"
        outputs["pipeline and destination"] = f"{pipe!r}\n{pipe.destination!r}\n{postgres(DESTINATION_URL)!r}"
        outputs |= {f"show {path}": page for path, page in show_pages(pipe).items()}

    with postgres_connection() as admin:  # everything was really loaded, with the canaries sent
        assert admin.execute(f'SELECT id, title FROM "{dataset}".issues').fetchall() == [(1, "first")]
        assert admin.execute(f'SELECT id, kind FROM "{dataset}".events').fetchall() == [(7, "push")]
        assert sorted(admin.execute(f'SELECT id, name FROM "{dataset}".items').fetchall()) == [(1, "one"), (2, "two")]
    failures = list(pipelines.rglob("failure.json"))
    assert failures, "no package failed"
    files_before_the_cli = files_holding_a_canary(tmp_path)  # failure.json is gone after drop-failed
    outputs |= {f"LoadInfo {n}": f"{info}\n{info!r}\n{json.dumps(info.asdict(), default=str)}\n"
                f"{dataclasses.asdict(info)}" for n, info in enumerate(infos)}
    outputs |= {f"error: {name}": error_texts(error) for name, error in errors.items()}
    outputs |= run_every_cli_command(tmp_path, pipelines, api, dataset)
    outputs["log"] = "\n".join(line for line in caplog.text.splitlines()  # tracebacks of logged errors included
                               if " werkzeug:" not in line)  # the test's API server logs what it was sent

    assert_outputs_are_real(outputs, tmp_path)
    assert {name: found_in(text) for name, text in outputs.items() if found_in(text)} == {}
    assert files_before_the_cli == [] and files_holding_a_canary(tmp_path) == []


def run_every_cli_command(tmp_path: Path, pipelines: Path, api: Api, dataset: str) -> dict[str, str]:
    """The output of each ``dataload pipeline canary ACTION`` (destination credentials from the environment)."""
    where = ["--pipelines-dir", str(pipelines)]
    outputs = cli_show_pages(tmp_path, pipelines)  # first: while the tables are there and a package is failed
    actions = [["info"], ["trace"], ["schema"], ["schema", "--format", "yaml"], ["schema", "--format", "json"],
               ["loads"], ["failed-jobs"], ["load-package"], ["retry"], ["sync"], ["drop-failed"],
               ["drop", "events", "--yes"]]
    outputs |= {f"cli {' '.join(action)}": cli(tmp_path, "pipeline", "canary", *action, *where) for action in actions}
    outputs["cli --list"] = cli(tmp_path, "pipeline", "--list", *where)
    outputs["cli canary_down info"] = cli(tmp_path, "pipeline", "canary_down", "info", *where)
    (tmp_path / "scripted.py").write_text(SCRIPT)
    secrets = {"SOURCES__CANARY__TOKEN": CANARIES["bearer token"], "SOURCES__CANARY__DESTINATION": DESTINATION_URL,
               "SOURCES__CANARY__BASE_URL": api.server.url_for("/"), "SOURCES__CANARY__DATASET": f"{dataset}_script",
               "DATALOAD_PIPELINES_DIR": str(pipelines)}
    for resource in ("issues", "denied"):
        outputs[f"cli run {resource}"] = cli(tmp_path, "run", "scripted.py", "--", resource, env=secrets)
    return outputs


def assert_outputs_are_real(outputs: dict[str, str], tmp_path: Path) -> None:
    """The searched texts hold what they should: a search of empty or wrong text would pass for nothing."""
    assert "issues: http_retries: 1" in outputs["trace of bearer_api"]
    assert "401" in outputs["error: 401 with a query key"] and "nope" in outputs["error: missing source table"]
    assert "127.0.0.1:9" in outputs["error: unreachable destination"]
    assert "items" in outputs["error: failed package"] and "(exit 0)" in outputs["cli info"]
    assert "(exit 0)" in outputs["cli loads"] and "(exit 0)" in outputs["cli sync"]
    assert "(exit 1)" in outputs["cli retry"] and "(exit 0)" in outputs["cli drop-failed"]
    assert "(exit 0)" in outputs["cli run issues"] and "(exit 0)" not in outputs["cli run denied"]
    assert "DEBUG" in outputs["log"] and "HTTP Request: GET" in outputs["log"]  # httpx's own records too
    assert any(name.startswith("show /tables/") for name in outputs), list(outputs)
    assert "first" in outputs["show /tables/issues"] and "first" in outputs["cli show /tables/issues"]  # rows read
    assert "stopped" in outputs["cli show"]
    assert list(tmp_path.rglob("trace.json")) and list((tmp_path / "schemas").glob("*.schema.yaml"))
