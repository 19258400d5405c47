"""``dataload pipeline NAME show``: the pages, fetched over HTTP from a server on 127.0.0.1.

Every test loads real data with a pipeline, serves it, and compares what the pages say with what
was loaded (and with what the destination's own driver reads back).
"""

from __future__ import annotations

import datetime
import html
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import duckdb as duckdb_driver
import httpx
import pytest
import yaml

import dataload
from show_pages import Page, fetch, serving

PEOPLE = [
    {"id": 1, "name": "ada", "score": 1.5, "tags": ["x", "y"]},
    {"id": 2, "name": '<b>bold</b> & "quoted"', "score": None, "tags": []},
]
MORE_PEOPLE = [{"id": 3, "name": "carl", "score": 2.25, "tags": ["z"]}]
HOSTILE_TABLE = "<script>alert(1)</script>"
HOSTILE_COLUMN = "<img src=x onerror=alert(2)>"
HOSTILE_VALUE = "</td><script>alert(3)</script>"


@pytest.fixture
def people(sql_pipeline):
    """A pipeline with two loads of ``people`` (and its child table ``people__tags``); their load ids."""
    pipe = sql_pipeline("show_people")
    first = pipe.run(PEOPLE, table_name="people")
    second = pipe.run(MORE_PEOPLE, table_name="people")
    return pipe, first.load_ids + second.load_ids


def test_index_lists_each_table_with_its_row_count_and_parent(people):
    pipe, _ = people
    with serving(pipe) as client:
        page = fetch(client, "/")
    tables = {row["table"]: row for row in page.records("tables")}
    assert set(tables) == {"people", "people__tags"}
    assert tables["people"]["rows"] == "3" and tables["people__tags"]["rows"] == "3"
    assert tables["people"]["parent"] == "" and tables["people__tags"]["parent"] == "people"
    assert tables["people"]["columns"] == "5"  # id, name, score, _dl_load_id, _dl_id
    assert f"/tables/{quote('people__tags', safe='')}" in page.links
    assert pipe.pipeline_name in page.title and pipe.dataset_name in page.title


def test_index_shows_the_parent_child_tree(people):
    pipe, _ = people
    with serving(pipe) as client:
        page = fetch(client, "/")
    (root, children), = page.tree
    assert root.startswith("people") and [text for text, _ in children] == ["people__tags"]


def test_table_page_shows_column_types_and_the_first_rows(people):
    pipe, _ = people
    with serving(pipe) as client:
        page = fetch(client, "/tables/people")
        one = fetch(client, "/tables/people?limit=1")
    types = {row["column"]: row["data type"] for row in page.records("columns")}
    assert types == {"id": "bigint", "name": "text", "score": "double", "_dl_load_id": "text", "_dl_id": "bigint"}
    rows = page.records("rows")
    assert sorted((r["id"], r["name"], r["score"]) for r in rows) == [
        ("1", "ada", "1.5"), ("2", '<b>bold</b> & "quoted"', "NULL"), ("3", "carl", "2.25")]
    assert len(one.records("rows")) == 1


def test_child_table_rows_link_to_their_parent_rows(people):
    pipe, _ = people
    with serving(pipe) as client:
        parents = {r["_dl_id"]: r["id"] for r in fetch(client, "/tables/people").records("rows")}
        children = fetch(client, "/tables/people__tags").records("rows")
    assert sorted((parents[r["_dl_parent_id"]], r["value"]) for r in children) == [
        ("1", "x"), ("1", "y"), ("3", "z")]


def test_loads_page_lists_each_load_with_its_status_and_rows_per_table(people):
    pipe, load_ids = people
    with pipe.sql_client() as sql:  # the destination's record of the loads, read without the page
        stored = sql.execute('SELECT load_id, status FROM "_dl_loads" ORDER BY load_id DESC').fetchall()
    with serving(pipe) as client:
        loads = fetch(client, "/loads").records("loads")
    assert [status for _, status in stored] == [0, 0]  # 0: a committed package
    assert [(row["load id"], row["status"]) for row in loads] == [(load_id, "loaded") for load_id, _ in stored]
    assert [row["load id"] for row in loads] == load_ids[::-1]  # newest first
    assert [row["rows"] for row in loads] == ["people: 1, people__tags: 1", "people: 2, people__tags: 2"]


def test_trace_page_shows_the_steps_of_the_last_run_as_saved_in_the_working_dir(people):
    pipe, load_ids = people
    reopened = dataload.attach(pipe.pipeline_name, pipelines_dir=pipe.working_dir.parent, destination=pipe.destination)
    with serving(reopened) as client:  # a new Pipeline object: what it shows was saved by the run
        page = fetch(client, "/trace")
    steps = page.records("trace")
    assert [(s["step"], s["load id"]) for s in steps] == [
        ("extract", load_ids[1]), ("normalize", load_ids[1]), ("load", load_ids[1])]
    assert all(s["rows"] == "people: 1, people__tags: 1" for s in steps[1:])
    assert all(float(s["seconds"]) >= 0 for s in steps) and steps[2]["attempts"] == "1"
    run = dict(page.records("run")[0])
    assert run["started at"].startswith(str(datetime.date.today().year)) and run["error"] == ""


def test_trace_page_shows_why_the_last_run_failed(make_pipeline, tmp_path):
    pipe = make_pipeline("show_failed_run")

    @dataload.resource
    def broken():
        yield {"id": 1}
        raise ValueError("the API answered <html>503</html>")

    with pytest.raises(dataload.ResourceError):
        pipe.run(broken())
    with serving(dataload.attach("show_failed_run", pipelines_dir=tmp_path / "pipelines")) as client:
        page = fetch(client, "/trace")
    error = page.records("run")[0]["error"]
    assert "ResourceError" in error and "the API answered <html>503</html>" in error


def test_a_pipeline_that_loaded_nothing_yet_has_pages_that_say_so(make_pipeline, tmp_path):
    make_pipeline("show_empty").extract([{"id": 1}], table_name="waiting")  # a package, nothing loaded yet
    with serving(dataload.attach("show_empty", pipelines_dir=tmp_path / "pipelines")) as client:
        assert fetch(client, "/").records("tables") == []
        assert "There are no loads yet." in client.get("/loads").text
        assert "There is no run recorded yet." in client.get("/trace").text
        assert "waiting" not in client.get("/").text


# -- what the pages refuse ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/tables/nope", "/tables/", "/tables/people/extra", "/nope", "/tables/_dl_loads"])
def test_unknown_pages_and_tables_are_404_pages(people, path):
    pipe, _ = people
    with serving(pipe) as client:
        response = client.get(path)
    assert response.status_code == 404 and response.headers["content-type"] == "text/html; charset=utf-8"
    if path.startswith("/tables/") and path.count("/") == 2 and path != "/tables/":
        name = path.rsplit("/", 1)[1]
        shown = html.unescape(response.text)
        assert f"no table {name!r}" in shown and "its tables: people, people__tags" in shown


@pytest.mark.parametrize("limit", ["0", "-1", "ten", "1001", "²", ""])
def test_a_bad_row_limit_is_a_400_naming_the_allowed_range(people, limit):
    pipe, _ = people
    with serving(pipe) as client:
        response = client.get(f"/tables/people?limit={limit}")
    assert response.status_code == 400 and "limit must be a whole number from 1 to 1000" in response.text


def test_pages_are_read_only(people):
    pipe, _ = people
    with serving(pipe) as client:
        assert client.post("/", content=b"x").status_code == 405
        assert client.delete("/tables/people").status_code == 405
    with pipe.sql_client() as sql:
        assert sql.execute('SELECT count(*) FROM "people"').fetchall() == [(3,)]


def test_a_name_that_is_not_utf_8_once_unquoted_is_a_404(people):
    pipe, _ = people
    with serving(pipe) as client:
        assert client.get("/tables/%FF").status_code == 404


def test_a_request_for_another_host_name_is_refused(people):
    """A page elsewhere that points its own DNS name at 127.0.0.1 cannot read the pipeline's data."""
    pipe, _ = people
    with serving(pipe) as client:
        refused = client.get("/tables/people", headers={"Host": "attacker.example:80"})
        allowed = client.get("/tables/people", headers={"Host": "localhost"})
    assert refused.status_code == 400 and "ada" not in refused.text and "unexpected Host" in refused.text
    assert allowed.status_code == 200 and "ada" in allowed.text


def test_pages_forbid_scripts_and_head_sends_no_body(people):
    pipe, _ = people
    with serving(pipe) as client:
        response = client.get("/")
        head = client.head("/tables/people")
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0


def test_a_destination_that_does_not_answer_is_named_on_the_page_without_its_password(make_pipeline, tmp_path):
    from destinations import postgres

    make_pipeline("show_gone").run(PEOPLE, table_name="people")
    unreachable = postgres("postgresql://someone:s3cret-pw@127.0.0.1:9/test?connect_timeout=2")
    pipe = dataload.attach("show_gone", pipelines_dir=tmp_path / "pipelines", destination=unreachable)
    with serving(pipe) as client:
        pages = [client.get(path) for path in ("/", "/tables/people", "/loads")]
    for response in pages:
        assert response.status_code == 200 and "s3cret-pw" not in response.text
        assert "could not" in response.text and "127.0.0.1" in html.unescape(response.text)


# -- escaping --------------------------------------------------------------------------------------
def test_names_and_values_holding_html_render_as_text(make_pipeline, tmp_path):
    """A table and column named with markup (from a user-edited schema file) and a value holding
    markup appear as text: no tag of theirs reaches the page."""
    imports = tmp_path / "schemas"
    imports.mkdir()
    (imports / "show_hostile.schema.yaml").write_text(yaml.safe_dump({"name": "show_hostile", "tables": [
        {"name": HOSTILE_TABLE, "columns": [{"name": HOSTILE_COLUMN, "data_type": "text"}]}]}))
    pipe = make_pipeline("show_hostile", import_schema_path=imports)
    pipe.run([{"id": 1, "note": HOSTILE_VALUE}], table_name="plain")
    database = duckdb_driver.connect(str(tmp_path / "show_hostile.duckdb"))
    database.execute(f'INSERT INTO ds."{HOSTILE_TABLE}" VALUES (?)', [HOSTILE_VALUE])
    database.close()
    with serving(pipe) as client:
        index = client.get("/").text
        table = client.get(f"/tables/{quote(HOSTILE_TABLE, safe='')}")
        plain = client.get("/tables/plain").text
    for body in (index, table.text, plain):
        assert "<script" not in body and "<img" not in body
    assert table.status_code == 200
    parsed = Page(table.text)
    assert HOSTILE_TABLE in parsed.title
    assert [row["column"] for row in parsed.records("columns")] == [HOSTILE_COLUMN]
    assert [row[HOSTILE_COLUMN] for row in parsed.records("rows")] == [HOSTILE_VALUE]
    assert [row["note"] for row in Page(plain).records("rows")] == [HOSTILE_VALUE]
    assert HOSTILE_TABLE in [row["table"] for row in Page(index).records("tables")]


# -- a big table ---------------------------------------------------------------------------------
def test_a_ten_million_row_table_is_counted_and_sampled_without_reading_it(make_pipeline, tmp_path, caplog):
    pipe = make_pipeline("show_big")
    pipe.run([{"id": 0, "twice": 0}], table_name="big")  # the schema entry; the rows come from DuckDB's range()
    load_id = pipe.dataset().table("_dl_loads").rows()[0]["load_id"]
    database = duckdb_driver.connect(str(tmp_path / "show_big.duckdb"))
    database.execute("CREATE OR REPLACE TABLE ds.big AS SELECT range AS id, range * 2 AS twice, "
                     "? AS _dl_load_id, range AS _dl_id FROM range(10000000)", [load_id])
    database.close()
    caplog.set_level(logging.DEBUG, logger="dataload.cli.show")
    with serving(pipe) as client:
        started = time.perf_counter()
        index = fetch(client, "/")
        table = fetch(client, "/tables/big?limit=5")
        seconds = time.perf_counter() - started
        loads = fetch(client, "/loads")
    assert {r["table"]: r["rows"] for r in index.records("tables")} == {"big": "10,000,000"}
    rows = table.records("rows")
    assert len(rows) == 5 and all(int(r["twice"]) == 2 * int(r["id"]) for r in rows)
    assert [(r["load id"], r["rows"]) for r in loads.records("loads")] == [(load_id, "big: 10000000")]
    issued = [r.getMessage() for r in caplog.records if r.name == "dataload.cli.show.reader"]
    reads = [sql for sql in issued if '"big"' in sql]
    assert reads and all(re.search(r"\bLIMIT 5$", sql) for sql in reads), issued
    assert any("row counts" in message for message in issued)
    assert seconds < 10, f"two pages of a 10-million-row table took {seconds:.1f} s"


# -- the command -----------------------------------------------------------------------------------
def test_the_show_command_serves_until_interrupted(make_pipeline, tmp_path):
    make_pipeline("show_cli").run(PEOPLE, table_name="people")
    command = [sys.executable, "-m", "dataload.cli.main", "pipeline", "show_cli", "--pipelines-dir",
               str(tmp_path / "pipelines"), "show", "--port", "0"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                               env=env)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line + process.stderr.read()
        page = Page(httpx.get(url.group(), timeout=30).text)
        assert {r["table"]: r["rows"] for r in page.records("tables")} == {"people": "2", "people__tags": "2"}
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_the_show_command_refuses_a_port_in_use_in_one_line(make_pipeline, tmp_path):
    import socket

    make_pipeline("show_busy").run(PEOPLE, table_name="people")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "dataload.cli.main", "pipeline", "show_busy", "show", "--port", str(port),
                   "--pipelines-dir", str(tmp_path / "pipelines")]
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot serve on 127.0.0.1:{port}") and "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_show_has_help():
    result = subprocess.run([sys.executable, "-m", "dataload.cli.main", "pipeline", "x", "show", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--port" in result.stdout and "127.0.0.1" in result.stdout


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_show_refuses_a_port_that_is_not_one(port):
    result = subprocess.run([sys.executable, "-m", "dataload.cli.main", "pipeline", "x", "show", "--port", port],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "is not a port: give a number from 0 to 65535" in result.stderr
