"""``dataload init``: the real command in temporary folders; the scripts it writes run and load their rows.

Rows are read back with each destination's own driver (duckdb, sqlite3, pyarrow for the files,
psycopg) and compared with what the source held: the generic template's ``SAMPLE_ROWS`` (read
from the generated script's text) and the filesystem template's ``sample_data/orders.csv``.
"""

from __future__ import annotations

import ast
import csv
import inspect
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import tomlkit
from pytest_httpserver import HTTPServer

import dataload
from dataload.cli.init_sources import VERIFIED, template_file
from dataload.configuration import lookup
from dataload.configuration.providers import project_dir_of
from dataload.exit_codes import ExitCode
from dataload.registry import available, project_setup
from tests.conftest import POSTGRES_URL, postgres_connection
from tests.sources.rest_api.test_openapi_run import AUTHORS, EVENTS, SPEC, TAGS, LibraryAPI

ROOT = Path(__file__).resolve().parents[2]
DATALOAD = Path(sys.executable).parent / "dataload"
DESTINATIONS = sorted(available())
SERVERLESS = ("duckdb", "filesystem", "sqlalchemy")


def dataload_command(*arguments: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the console script in ``cwd``; config comes only from there (no SOURCES__/DESTINATION__ of ours)."""
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith(("SOURCES__", "DESTINATION__", "DATALOAD_PROJECT_DIR"))}
    environ.update(PYTHONPATH=str(ROOT), DATALOAD_PIPELINES_DIR=str(cwd / ".pipelines"), **env)
    return subprocess.run([str(DATALOAD), *arguments], capture_output=True, text=True, cwd=cwd, env=environ,
                          timeout=300)


def init(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    project.mkdir(exist_ok=True)
    result = dataload_command("init", *arguments, cwd=project)
    assert result.returncode == 0, result.stderr
    return result


def toml(path: Path) -> dict[str, Any]:
    return tomlkit.parse(path.read_text()).unwrap()


@pytest.mark.parametrize("destination", DESTINATIONS)
@pytest.mark.parametrize("source", sorted(VERIFIED))
def test_init_writes_a_project_for_every_verified_source_and_destination(tmp_path: Path, source: str,
                                                                         destination: str) -> None:
    result = init(tmp_path, source, destination)

    script = tmp_path / f"{source}_pipeline.py"
    compile(script.read_text(), str(script), "exec")  # valid Python
    expected = [script.name, ".dataload/config.toml", ".dataload/secrets.toml", "requirements.txt",
                *VERIFIED[source].sample_files]
    assert all((tmp_path / name).is_file() for name in expected)
    for name in [*expected, ".gitignore"]:  # it says what it wrote, then the next two commands
        assert f"  {name}" in result.stdout
    assert result.stdout.rstrip().splitlines()[-2:] == ["  pip install -r requirements.txt",
                                                        f"  dataload run {script.name}"]
    source_setup, destination_setup = VERIFIED[source].setup, project_setup(destination)
    secrets, config = toml(tmp_path / ".dataload/secrets.toml"), toml(tmp_path / ".dataload/config.toml")
    assert secrets.get("sources", {}).get(source, {}) == dict(source_setup.secrets)
    assert secrets.get("destination", {}).get(destination, {}) == dict(destination_setup.secrets)
    assert config.get("sources", {}).get(source, {}) == dict(source_setup.config)
    assert config.get("destination", {}).get(destination, {}) == dict(destination_setup.config)
    with project_dir_of(tmp_path):  # the keys are where the config resolver looks for them
        for key, value in source_setup.secrets.items():
            assert lookup(("sources", source), key, secret=True) == value
        for key, value in destination_setup.secrets.items():
            assert lookup(("destination", destination), key, secret=True) == value
    extras = sorted({*source_setup.extras, *destination_setup.extras})
    assert (tmp_path / "requirements.txt").read_text() == (f"dataload[{','.join(extras)}]\n" if extras
                                                           else "dataload\n")
    assert (tmp_path / ".gitignore").read_text() == ".dataload/secrets.toml\n"


def test_the_requirements_carry_the_extras_of_source_and_destination(tmp_path: Path) -> None:
    init(tmp_path, "sql_database", "postgres")
    assert (tmp_path / "requirements.txt").read_text() == "dataload[postgres,sql_database]\n"


def _marked(function: Any, marker: Any) -> set[str]:
    return {name for name, parameter in inspect.signature(function).parameters.items() if parameter.default is marker}


def test_the_declared_source_keys_are_the_ones_the_source_functions_read() -> None:
    from sources.github import github_repo
    from sources.sql_database import sql_database
    from sources.stripe import stripe_account

    for name, function in (("github", github_repo), ("stripe", stripe_account), ("sql_database", sql_database)):
        setup = VERIFIED[name].setup
        assert set(setup.secrets) == _marked(function, dataload.secrets.value), name
        assert set(setup.config) == _marked(function, dataload.config.value), name


# -- the generated scripts run ----------------------------------------------------------------------------

def _sample_rows(script: Path) -> list[dict[str, Any]]:
    """The generic template's SAMPLE_ROWS, read from the script's text (nothing of it runs here)."""
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "SAMPLE_ROWS":
            assert node.value is not None
            return ast.literal_eval(node.value)  # type: ignore[no-any-return]
    raise AssertionError(f"no SAMPLE_ROWS in {script}")


def _read_back(project: Path, destination: str, pipeline: str, dataset: str, table: str,
               columns: list[str]) -> list[tuple[Any, ...]]:
    """The rows of ``table`` (those columns, sorted), read with the destination's own driver."""
    select = f'SELECT {", ".join(columns)} FROM "{dataset}"."{table}" ORDER BY 1, 2'
    if destination == "duckdb":
        with duckdb.connect(str(project / f"{pipeline}.duckdb"), read_only=True) as connection:
            return connection.execute(select).fetchall()
    if destination == "sqlalchemy":  # sqlite: each dataset is a database file next to the main one
        with sqlite3.connect(project / "warehouse.db") as connection:
            connection.execute(f"ATTACH DATABASE '{project / (dataset + '.db')}' AS \"{dataset}\"")
            return connection.execute(select).fetchall()
    if destination == "filesystem":
        files = sorted((project / "lake" / dataset / table).glob("*.parquet"))
        assert files, f"no Parquet files of {table} in {project / 'lake'}"
        rows = [tuple(row[c] for c in columns) for f in files for row in pq.read_table(f).to_pylist()]
        return sorted(rows, key=lambda row: (row[0], row[1]))
    with postgres_connection() as connection:
        return connection.execute(select).fetchall()


def _run(project: Path, script: str, **env: str) -> None:
    result = dataload_command("run", script, cwd=project, **env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("destination", SERVERLESS)
def test_the_generic_template_runs_as_written(tmp_path: Path, destination: str) -> None:
    init(tmp_path, "shop", destination)
    _run(tmp_path, "shop_pipeline.py")

    sample = _sample_rows(tmp_path / "shop_pipeline.py")
    assert _read_back(tmp_path, destination, "shop_pipeline", "shop_data", "items", ["id", "name"]) == sorted(
        (row["id"], row["name"]) for row in sample)
    tags = _read_back(tmp_path, destination, "shop_pipeline", "shop_data", "items__tags", ["value", "_dl_list_idx"])
    assert tags == sorted((tag, index) for row in sample for index, tag in enumerate(row["tags"]))


def _sample_orders(project: Path) -> list[tuple[Any, ...]]:
    with open(project / "sample_data" / "orders.csv", newline="") as f:
        return sorted((int(row["order_id"]), row["customer"], int(row["quantity"]), float(row["unit_price"]))
                      for row in csv.DictReader(f))


@pytest.mark.parametrize("destination", SERVERLESS)
def test_the_filesystem_template_loads_its_sample_files_as_written(tmp_path: Path, destination: str) -> None:
    init(tmp_path, "filesystem", destination)
    _run(tmp_path, "filesystem_pipeline.py")
    _run(tmp_path, "filesystem_pipeline.py")  # incremental: the files did not change, nothing is read again

    loaded = _read_back(tmp_path, destination, "filesystem_pipeline", "filesystem_data", "orders",
                        ["order_id", "customer", "quantity", "unit_price"])
    assert loaded == _sample_orders(tmp_path)


def test_generated_scripts_run_on_postgres_with_the_url_put_in_secrets_toml(tmp_path: Path) -> None:
    name = f"shop_{uuid.uuid4().hex[:8]}"
    with postgres_connection() as connection:
        try:
            init(tmp_path, name, "postgres")
            secrets = tmp_path / ".dataload" / "secrets.toml"  # what a user does: the placeholder replaced
            placeholder = project_setup("postgres").secrets["credentials"]
            secrets.write_text(secrets.read_text().replace(json.dumps(placeholder), json.dumps(POSTGRES_URL)))
            _run(tmp_path, f"{name}_pipeline.py")

            sample = _sample_rows(tmp_path / f"{name}_pipeline.py")
            assert _read_back(tmp_path, "postgres", f"{name}_pipeline", f"{name}_data", "items", ["id", "name"]) == \
                sorted((row["id"], row["name"]) for row in sample)
        finally:
            connection.execute(f'DROP SCHEMA IF EXISTS "{name}_data" CASCADE')


def test_the_sql_database_template_copies_every_table_of_the_database_in_secrets_toml(tmp_path: Path) -> None:
    init(tmp_path, "sql_database", "duckdb")
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        connection.executemany("INSERT INTO customers VALUES (?, ?)", [(1, "Ann"), (2, "Bob")])
    secrets = tmp_path / ".dataload" / "secrets.toml"
    placeholder = VERIFIED["sql_database"].setup.secrets["credentials"]
    secrets.write_text(secrets.read_text().replace(json.dumps(placeholder), json.dumps(f"sqlite:///{database}")))
    _run(tmp_path, "sql_database_pipeline.py")

    assert _read_back(tmp_path, "duckdb", "sql_database_pipeline", "sql_database_data", "customers",
                      ["id", "name"]) == [(1, "Ann"), (2, "Bob")]


def test_openapi_fills_the_config_and_the_script_runs_against_the_server(tmp_path: Path,
                                                                          httpserver: HTTPServer) -> None:
    LibraryAPI(httpserver)
    spec = {**SPEC, "security": [{"token": []}],  # its server URL is relative: /v1
            "components": {**SPEC["components"], "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}}}
    (tmp_path / "library.json").write_text(json.dumps(spec))
    relative = dataload_command("init", "rest_api", "duckdb", "--openapi", "library.json", cwd=tmp_path)
    assert relative.returncode == ExitCode.CONFIG and relative.stderr.count("\n") == 1
    assert "--openapi library.json: " in relative.stderr and "(here: --base-url URL)" in relative.stderr
    result = init(tmp_path, "rest_api", "duckdb", "--openapi", "library.json", "--base-url", httpserver.url_for("/v1"))
    assert "Replace the <placeholders> in .dataload/secrets.toml" in result.stdout

    secrets = tmp_path / ".dataload" / "secrets.toml"
    assert toml(secrets)["sources"]["library"] == {"token": "<your token>"}
    secrets.write_text(secrets.read_text().replace('"<your token>"', '"t0ken"'))
    _run(tmp_path, "rest_api_pipeline.py")

    def rows(table: str, columns: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(tmp_path / "rest_api_pipeline.duckdb"), read_only=True) as connection:
            return connection.execute(f'SELECT {columns} FROM rest_api_data."{table}" ORDER BY 1').fetchall()

    assert rows("authors", "id, name") == [(a["id"], a["name"]) for a in AUTHORS]
    assert rows("tags", "slug, label") == [(t["slug"], t["label"]) for t in TAGS]
    assert rows("events", "event_id, kind") == [(e["event_id"], e["kind"]) for e in EVENTS]
    assert {request.headers.get("Authorization") for request, _ in httpserver.log} == {"Bearer t0ken"}


# -- refusing, --force, .gitignore --------------------------------------------------------------------------

def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_existing_file_is_never_overwritten_without_force_and_nothing_is_written(tmp_path: Path) -> None:
    tmp_path.joinpath("requirements.txt").write_text("pandas\n")
    refused = dataload_command("init", "shop", "duckdb", cwd=tmp_path)
    assert refused.returncode == ExitCode.USAGE
    assert refused.stderr.count("\n") == 1 and "requirements.txt" in refused.stderr and "--force" in refused.stderr
    assert _snapshot(tmp_path) == {"requirements.txt": "pandas\n"}  # the other targets were not written either

    forced = init(tmp_path, "shop", "duckdb", "--force")
    assert "  requirements.txt  (overwritten)" in forced.stdout
    assert "  shop_pipeline.py\n" in forced.stdout  # new files are not said to be overwritten
    assert tmp_path.joinpath("requirements.txt").read_text() == "dataload\n"

    tmp_path.joinpath("shop_pipeline.py").write_text("# my edits\n")
    before = _snapshot(tmp_path)
    again = dataload_command("init", "shop", "duckdb", cwd=tmp_path)
    assert again.returncode == ExitCode.USAGE and "shop_pipeline.py" in again.stderr
    assert _snapshot(tmp_path) == before


def test_the_secrets_file_is_added_to_an_existing_gitignore_once(tmp_path: Path) -> None:
    tmp_path.joinpath(".gitignore").write_text("venv/\n*.duckdb")  # no newline at the end
    init(tmp_path, "shop", "duckdb")
    init(tmp_path, "shop", "duckdb", "--force")
    result = init(tmp_path, "other", "duckdb", "--force")
    assert tmp_path.joinpath(".gitignore").read_text() == "venv/\n*.duckdb\n.dataload/secrets.toml\n"
    assert "  .gitignore  (already lists .dataload/secrets.toml)" in result.stdout


@pytest.mark.parametrize("arguments, message", [
    (("my-api", "duckdb"), "invalid source name 'my-api': use a Python identifier"),
    (("2fast", "duckdb"), "invalid source name '2fast'"),
    (("shop", "oracle"), "unknown destination 'oracle': choose one of " + ", ".join(DESTINATIONS)),
    (("github", "duckdb", "--openapi", "spec.yaml"), "--openapi is for the rest_api source, not 'github'"),
    (("shop",), "give a SOURCE and a DESTINATION"),
    (("rest_api", "duckdb", "--base-url", "https://api.example.com"), "--base-url goes with --openapi SPEC"),
])
def test_a_wrong_command_line_is_a_one_line_error_and_writes_nothing(tmp_path: Path, arguments: tuple[str, ...],
                                                                     message: str) -> None:
    result = dataload_command("init", *arguments, cwd=tmp_path)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith("dataload init: usage error (exit 2): ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert _snapshot(tmp_path) == {}


def test_an_unusable_openapi_document_is_a_config_error_naming_it(tmp_path: Path) -> None:
    tmp_path.joinpath("spec.yaml").write_text("swagger: '2.0'\npaths: {}\n")
    result = dataload_command("init", "rest_api", "duckdb", "--openapi", "spec.yaml", cwd=tmp_path)
    assert result.returncode == ExitCode.CONFIG and result.stderr.count("\n") == 1
    assert result.stderr.startswith("dataload init: configuration error (exit 3): --openapi spec.yaml: ")
    assert _snapshot(tmp_path) == {"spec.yaml": "swagger: '2.0'\npaths: {}\n"}


def test_list_sources_and_destinations_one_line_each(tmp_path: Path) -> None:
    sources = dataload_command("init", "--list-sources", cwd=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in sources] == [*VERIFIED, "<any"]
    assert all(len(line.split(None, 1)) == 2 for line in sources)
    destinations = dataload_command("init", "--list-destinations", cwd=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in destinations] == DESTINATIONS
    assert next(line for line in destinations if line.startswith("postgres")).split(None, 1)[1] == \
        project_setup("postgres").description


def test_the_templates_are_package_data(tmp_path: Path) -> None:
    """Read through importlib.resources, and listed in pyproject.toml's package-data so a wheel has them."""
    package_data = toml(ROOT / "pyproject.toml")["tool"]["setuptools"]["package-data"]
    folder = Path(str(template_file("generic.py.tmpl"))).parent
    shipped = {str(path.relative_to(folder.parent.parent)) for path in folder.rglob("*") if path.is_file()}
    patterns = package_data["dataload.cli"]
    assert shipped and all(any(Path(name).match(pattern) for pattern in patterns) for name in shipped), shipped
    assert {f"{name}.py.tmpl" for name in [*VERIFIED, "generic"]} <= {Path(name).name for name in shipped}


def test_the_generated_scripts_pass_mypy_strict(tmp_path: Path) -> None:
    """What a user starts from type-checks as their code will be checked (only the scripts' errors count)."""
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    (tmp_path / "library.json").write_text(json.dumps({**SPEC, "servers": [{"url": "https://library.example.com"}]}))
    for source in ("shop", *sorted(VERIFIED)):
        options = ("--openapi", "library.json") if source == "rest_api" else ()
        init(tmp_path, source, "duckdb", "--force", *options)
    scripts = sorted(str(path) for path in tmp_path.glob("*_pipeline.py"))
    assert len(scripts) == len(VERIFIED) + 1
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-error-summary",
                             *scripts], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
