"""``dataload run SCRIPT``: real pipeline scripts run by the real ``dataload`` command, one test per exit code."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb as duckdb_driver
import pytest

from dataload.exit_codes import ExitCode
from dataload.lock import pipeline_lock

DATALOAD = Path(sys.executable).parent / "dataload"

HEADER = """
import dataload
from destinations import duckdb

pipe = dataload.pipeline("runs", destination=duckdb("{db}"), dataset_name="ds", pipelines_dir="{pipelines}")
"""


def write_script(tmp_path: Path, body: str, name: str = "pipeline_script.py") -> Path:
    script = tmp_path / name
    header = HEADER.format(db=tmp_path / "runs.duckdb", pipelines=tmp_path / "pipelines")
    script.write_text(textwrap.dedent(header) + textwrap.dedent(body))
    return script


def dataload_run(script: Path, *options: str, cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name != "DATALOAD_DEBUG"}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parents[2]), **extra_env)
    return subprocess.run([str(DATALOAD), "run", str(script), *options], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def rows(tmp_path: Path, table: str) -> list[tuple[object, ...]]:
    with duckdb_driver.connect(str(tmp_path / "runs.duckdb"), read_only=True) as connection:
        return connection.execute(f'SELECT id, name FROM ds."{table}" ORDER BY id').fetchall()


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    return result.stderr.strip().splitlines()[-1]


def test_a_run_that_loads_exits_0_and_the_rows_are_in_the_destination(tmp_path: Path) -> None:
    script = write_script(tmp_path, """
        print(pipe.run([{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}], table_name="users"))
    """)
    result = dataload_run(script, cwd=tmp_path)
    assert result.returncode == ExitCode.OK, result.stderr
    assert "users: 2 row(s)" in result.stdout and result.stderr == ""
    assert rows(tmp_path, "users") == [(1, "ann"), (2, "bob")]
    again = write_script(tmp_path, "print(pipe.run([], table_name='users'))\n", name="nothing.py")
    nothing = dataload_run(again, cwd=tmp_path)
    assert nothing.returncode == ExitCode.OK and "nothing to load" in nothing.stdout, nothing.stderr


def test_a_failed_package_exits_4_and_so_does_the_next_run_while_it_waits(tmp_path: Path) -> None:
    script = write_script(tmp_path, """
        @dataload.destination
        def broken(items, table):
            raise KeyError("no column 'email' in the sink")

        failing = dataload.pipeline("failing", destination=broken, pipelines_dir="{pipelines}")
        failing.run([{{"id": 1}}], table_name="users")
    """.format(pipelines=tmp_path / "pipelines"))
    result = dataload_run(script, cwd=tmp_path)
    assert result.returncode == ExitCode.FAILED_PACKAGE, result.stderr
    assert last_line(result).startswith("dataload run: failed package (exit 4): TerminalLoadError:")
    assert "no column 'email'" in last_line(result) and "Traceback" not in result.stderr
    failed = list((tmp_path / "pipelines" / "failing" / "packages" / "failed").iterdir())
    assert len(failed) == 1
    # a run with no new data finishes nothing and reports the package still failed (LoadInfo.failed)
    retry = write_script(tmp_path, """
        @dataload.destination
        def broken(items, table):
            raise KeyError("still broken")

        print(dataload.pipeline("failing", destination=broken, pipelines_dir="{pipelines}").run())
    """.format(pipelines=tmp_path / "pipelines"), name="again.py")
    again = dataload_run(retry, cwd=tmp_path)
    assert again.returncode == ExitCode.FAILED_PACKAGE, again.stderr
    assert f"failed package(s) {failed[0].name} kept on disk" in last_line(again)


def test_a_contract_violation_exits_5_and_loads_nothing(tmp_path: Path) -> None:
    first = write_script(tmp_path, 'pipe.run([{"id": 1, "name": "ann"}], table_name="users")\n', name="first.py")
    assert dataload_run(first, cwd=tmp_path).returncode == ExitCode.OK
    script = write_script(tmp_path, """
        pipe.run([{"id": 2, "name": "bob", "email": "b@x"}], table_name="users", schema_contract="freeze")
    """)
    result = dataload_run(script, cwd=tmp_path)
    assert result.returncode == ExitCode.CONTRACT, result.stderr
    assert last_line(result).startswith("dataload run: contract violation (exit 5): DataContractViolation:")
    assert "email" in last_line(result)
    assert rows(tmp_path, "users") == [(1, "ann")]


def test_a_missing_secret_exits_3_naming_the_key_in_one_line(tmp_path: Path) -> None:
    script = write_script(tmp_path, """
        @dataload.source
        def crm(token: str = dataload.secrets.value):
            return dataload.resource([{"id": 1}], name="users")

        pipe.run(crm())
    """)
    result = dataload_run(script, cwd=tmp_path)
    assert result.returncode == ExitCode.CONFIG, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "configuration error (exit 3): MissingConfig: missing value for 'sources.crm.token'" in result.stderr
    debugging = dataload_run(script, cwd=tmp_path, DATALOAD_DEBUG="1")  # a dataload error's traceback too
    assert debugging.returncode == ExitCode.CONFIG and "Traceback" in debugging.stderr
    assert last_line(debugging) == last_line(result)
    assert "SOURCES__CRM__TOKEN" in result.stderr


def test_a_locked_pipeline_exits_6(tmp_path: Path) -> None:
    script = write_script(tmp_path, 'pipe.run([{"id": 1, "name": "ann"}], table_name="users")\n')
    working_dir = tmp_path / "pipelines" / "runs"
    working_dir.mkdir(parents=True)
    with pipeline_lock(working_dir, "runs"):
        result = dataload_run(script, cwd=tmp_path)
    assert result.returncode == ExitCode.LOCKED, result.stderr
    assert last_line(result).startswith("dataload run: pipeline locked (exit 6): PipelineLockedError:")
    assert dataload_run(script, cwd=tmp_path).returncode == ExitCode.OK
    assert rows(tmp_path, "users") == [(1, "ann")]


def test_a_bug_in_the_script_exits_1_with_one_line_and_its_traceback_when_debugging(tmp_path: Path) -> None:
    script = write_script(tmp_path, """
        def parse(record):
            return record["missing"]

        parse({"id": 1})
    """)
    result = dataload_run(script, cwd=tmp_path)
    assert result.returncode == ExitCode.ERROR and "Traceback" not in result.stderr
    assert result.stderr == ("dataload run: error (exit 1): KeyError: 'missing' "
                             "(--debug or DATALOAD_DEBUG=1 shows the traceback)\n")
    for debugging in (dataload_run(script, "--debug", cwd=tmp_path),
                      dataload_run(script, cwd=tmp_path, DATALOAD_DEBUG="1")):
        assert debugging.returncode == ExitCode.ERROR
        assert "Traceback (most recent call last)" in debugging.stderr and "in parse" in debugging.stderr
        assert last_line(debugging) == "dataload run: error (exit 1): KeyError: 'missing'"


def test_fail_on_schema_change_exits_7_after_loading_and_0_when_nothing_changed(tmp_path: Path) -> None:
    script = write_script(tmp_path, 'pipe.run([{"id": 1, "name": "ann"}], table_name="users")\n')
    result = dataload_run(script, "--fail-on-schema-change", cwd=tmp_path)
    assert result.returncode == ExitCode.SCHEMA_CHANGED, result.stderr
    assert "schema changed (exit 7)" in last_line(result) and "added table users" in last_line(result)
    assert rows(tmp_path, "users") == [(1, "ann")]
    assert dataload_run(script, "--fail-on-schema-change", cwd=tmp_path).returncode == ExitCode.OK
    assert rows(tmp_path, "users") == [(1, "ann"), (1, "ann")]
    grown = write_script(tmp_path, 'pipe.run([{"id": 3, "name": "cy", "age": 9}], table_name="users")\n')
    changed = dataload_run(grown, "--fail-on-schema-change", cwd=tmp_path)
    assert changed.returncode == ExitCode.SCHEMA_CHANGED and "added column users.age bigint" in changed.stderr
    assert dataload_run(grown, cwd=tmp_path).returncode == ExitCode.OK  # without the flag a change is fine


def test_the_script_gets_its_arguments_and_its_own_exit_code_stands(tmp_path: Path) -> None:
    script = write_script(tmp_path, """
        import sys
        pipe.run([{"id": int(sys.argv[1]), "name": sys.argv[0].rsplit("/", 1)[-1]}], table_name="users")
        sys.exit(int(sys.argv[2]))
    """)
    result = dataload_run(script, "--", "7", "42", cwd=tmp_path)
    assert result.returncode == 42, result.stderr
    assert rows(tmp_path, "users") == [(7, "pipeline_script.py")]


def test_a_script_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    result = dataload_run(tmp_path / "nope.py", cwd=tmp_path)
    assert result.returncode == ExitCode.USAGE
    assert last_line(result) == f"dataload run: usage error (exit 2): no script {tmp_path / 'nope.py'}: give the " \
                                "path of a pipeline script (a .py file)"


@pytest.mark.parametrize("command", [["run", "--help"], ["--help"]])
def test_help(command: list[str]) -> None:
    result = subprocess.run([str(DATALOAD), *command], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert result.returncode == 0 and "run" in result.stdout
