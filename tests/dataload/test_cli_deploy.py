"""``dataload deploy``: the real command writes each scheduler's file, and what it wrote works when run."""

from __future__ import annotations

import ast
import fcntl
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb as duckdb_driver
import pytest
import yaml

from dataload.cli.script_scan import pipeline_name, secret_env_names
from dataload.exit_codes import ExitCode
from tests.integrations.tools import run_airflow_dags

croniter = pytest.importorskip("croniter").croniter

ROOT = Path(__file__).resolve().parents[2]
DATALOAD = Path(sys.executable).parent / "dataload"
SECRET = "s3cr3t-token-value"
SCHEDULE = "*/30 * * * *"

CRM_SCRIPT = """
import dataload
from destinations import duckdb


@dataload.source
def crm(token: str = dataload.secrets.value):
    users = dataload.resource([{{"id": 1, "name": "ann"}}, {{"id": 2, "name": "bob"}}], name="users")

    @dataload.transformer(data_from=users)
    def user_details(user):
        yield {{"user_id": user["id"], "token_length": len(token)}}

    return users, user_details, dataload.resource([{{"id": 10, "user_id": 1}}], name="orders")


pipe = dataload.pipeline("crm_sync", destination=duckdb("{db}"), dataset_name="crm", pipelines_dir="{pipelines}")

if __name__ == "__main__":
    print(pipe.run(crm()))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git checkout with the script in ``etl/``, its secret in ``etl/.dataload/secrets.toml``."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    etl = root / "etl"
    (etl / ".dataload").mkdir(parents=True)
    script = CRM_SCRIPT.format(db=tmp_path / "warehouse.duckdb", pipelines=tmp_path / "pipes")
    (etl / "crm_pipeline.py").write_text(script)
    (etl / ".dataload" / "secrets.toml").write_text(f'[sources.crm]\ntoken = "{SECRET}"\n')
    (etl / "requirements.txt").write_text("dataload\n")
    return root


def environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SOURCES__")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def deploy(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DATALOAD), "deploy", *arguments], capture_output=True, text=True, cwd=cwd,
                          env=environment(), timeout=120)


def table(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb_driver.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def tables(tmp_path: Path) -> set[str]:
    return {name for (name,) in table(tmp_path, "SELECT table_name FROM information_schema.tables "
                                                "WHERE table_schema = 'crm' AND table_name NOT LIKE '_dl_%'")}


def test_github_actions_workflow_maps_each_secret_from_repository_secrets(project: Path, tmp_path: Path) -> None:
    result = deploy("etl/crm_pipeline.py", "--schedule", SCHEDULE, "--to", "github-actions", cwd=project)
    assert result.returncode == 0, result.stderr
    path = project / ".github" / "workflows" / "crm_sync.yml"
    text = path.read_text()
    workflow = yaml.safe_load(text)
    assert workflow["on"] == {"schedule": [{"cron": SCHEDULE}], "workflow_dispatch": {}}
    steps = workflow["jobs"]["run"]["steps"]
    assert [step.get("uses") for step in steps[:2]] == ["actions/checkout@v4", "actions/setup-python@v5"]
    assert steps[2]["run"] == "pip install -r etl/requirements.txt"
    run = steps[3]
    assert run["working-directory"] == "etl" and run["run"] == "dataload --debug run crm_pipeline.py"
    assert run["env"] == {"SOURCES__CRM__TOKEN": "${{ secrets.SOURCES__CRM__TOKEN }}"}
    assert "gh secret set SOURCES__CRM__TOKEN" in result.stdout and str(path) in result.stdout
    assert SECRET not in text + result.stdout + result.stderr
    # the names are right: with only those variables set (no secrets.toml), the workflow's command loads
    (project / "etl" / ".dataload" / "secrets.toml").unlink()
    given = {name: "x" * 11 for name in run["env"]}
    command = shlex.split(run["run"])
    assert command[0] == "dataload"  # on the runner's PATH after the install step; here this venv's
    loaded = subprocess.run([str(DATALOAD), *command[1:]], cwd=project / run["working-directory"], capture_output=True,
                            text=True, env=environment(**given), timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert table(tmp_path, "SELECT user_id, token_length FROM crm.user_details ORDER BY 1") == [(1, 11), (2, 11)]


def test_cron_line_runs_under_flock_logs_to_a_file_and_exits_locked_when_a_run_is_going(
        project: Path, tmp_path: Path) -> None:
    result = deploy(str(project / "etl" / "crm_pipeline.py"), "--schedule", "0 3 * * 1-5", "--to", "cron",
                    "--output", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = (tmp_path / "out" / "crm_sync.crontab").read_text().strip()
    assert result.stdout.splitlines()[0] == line and "crontab -e" in result.stdout
    *fields, command = line.split(maxsplit=5)
    assert fields == ["0", "3", "*", "*", "1-5"] and croniter.is_valid(" ".join(fields))
    words = shlex.split(command)
    assert "flock" in words and words[words.index("flock") + 1:words.index("flock") + 4] == ["-n", "-E", "6"]
    assert f"{project / 'etl' / 'crm_pipeline.py'}" in words and all(
        Path(w).is_absolute() for w in words if w.endswith((".py", ".log", ".lock")))
    assert words[words.index("run") - 1] == "--debug"  # an unexpected error's traceback goes to the log
    assert SECRET not in line + result.stdout
    shell = command.replace("\\%", "%")  # cron's own unescaping
    run = subprocess.run(["sh", "-c", shell], env=environment(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    log = project / "etl" / "logs" / "crm_sync.log"
    assert "users: 2 row(s)" in log.read_text()
    assert table(tmp_path, "SELECT id, name FROM crm.users ORDER BY id") == [(1, "ann"), (2, "bob")]
    with open(project / "etl" / "logs" / "crm_sync.lock", "a") as held:  # a run still going
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        locked = subprocess.run(["sh", "-c", shell], env=environment(), capture_output=True, timeout=120)
    assert locked.returncode == ExitCode.LOCKED
    assert table(tmp_path, "SELECT count(*) FROM crm.users") == [(2,)]


def _dag_tree(path: Path) -> ast.Module:
    source = path.read_text()
    compile(source, str(path), "exec")  # valid Python
    return ast.parse(source)


def _constants(tree: ast.Module) -> dict[str, Any]:
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper()
            and not isinstance(node.value, ast.Call)}


def test_the_airflow_dags_have_one_task_per_resource_and_airflow_runs_them(project: Path, tmp_path: Path) -> None:
    result = deploy("etl/crm_pipeline.py", "--schedule", SCHEDULE, "--to", "airflow", cwd=project)
    assert result.returncode == 0, result.stderr
    path = project / "etl" / "dags" / "crm_sync_dag.py"
    tree = _dag_tree(path)
    constants = _constants(tree)
    assert constants["TASKS"] == {"load_users": ["users", "user_details"], "load_orders": ["orders"]}
    assert constants["SOURCE_FUNCTION"] == "crm" and constants["PIPELINE_VARIABLE"] == "pipe"
    dag = next(node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DAG")
    options = {keyword.arg: ast.literal_eval(keyword.value) for keyword in dag.keywords
               if isinstance(keyword.value, ast.Constant)}
    assert options == {"dag_id": "dataload_crm_sync", "schedule": SCHEDULE, "catchup": False, "max_active_runs": 1}
    assert "load_users" in result.stdout and SECRET not in path.read_text() + result.stdout
    whole = _inline_script(tmp_path)
    assert deploy(str(whole), "--schedule", "15 * * * *", "--to", "airflow", "--output", str(path.parent),
                  cwd=tmp_path).returncode == 0
    assert _constants(_dag_tree(path.parent / "inline_dag.py"))["SOURCE_FUNCTION"] is None

    runs = run_airflow_dags([path, path.parent / "inline_dag.py"], tmp_path)

    tasks = runs["dataload_crm_sync"]["tasks"]
    assert {task: tasks[task]["state"] for task in tasks} == {"load_users": "success", "load_orders": "success"}
    assert tasks["load_users"]["start"] < tasks["load_orders"]["start"]  # chained: one pipeline, one process
    assert tasks["load_users"]["result"]["rows"] == {"users": 2, "user_details": 2}
    assert tasks["load_orders"]["result"]["rows"] == {"orders": 1}
    assert tables(tmp_path) == {"users", "user_details", "orders", "people"}
    assert table(tmp_path, "SELECT user_id, token_length FROM crm.user_details ORDER BY 1") == [(1, 18), (2, 18)]
    assert table(tmp_path, "SELECT id, user_id FROM crm.orders") == [(10, 1)]
    assert table(tmp_path, "SELECT id, name FROM crm.users ORDER BY id") == [(1, "ann"), (2, "bob")]
    whole_run = runs["dataload_inline"]["tasks"]["run_script"]
    assert whole_run["state"] == "success" and [info["rows"] for info in whole_run["result"]] == [{"people": 1}]
    assert table(tmp_path, "SELECT id, name FROM crm.people") == [(1, "ann")]


def _inline_script(tmp_path: Path) -> Path:
    """A script that runs its pipeline at module level: it exposes no source."""
    script = tmp_path / "inline.py"
    script.write_text(textwrap.dedent(f"""
        import dataload
        from destinations import duckdb

        rows = [{{"id": 1, "name": "ann"}}]
        dataload.pipeline("inline", destination=duckdb("{tmp_path / 'warehouse.duckdb'}"), dataset_name="crm",
                          pipelines_dir="{tmp_path / 'pipes'}").run(rows, table_name="people")
    """))
    return script


@pytest.mark.parametrize("schedule, reason", [
    ("61 * * * *", "out of range"),
    ("*/61 * * * *", "the step /61 in the minute field is out of range: the field holds 0-59, so a step is 1 to 59"),
    ("0 0 1-10/31 * *", "the step /31 in the day-of-month field is out of range"),
    ("*/30 * * *", "a cron expression has 5 fields"),
    ("0 0 * * * *", "this one has 6"),
    ("every day", "has 2"),
])
@pytest.mark.parametrize("target", ["cron", "github-actions", "airflow"])
def test_an_invalid_schedule_is_refused_with_the_reason_and_nothing_is_written(
        project: Path, schedule: str, reason: str, target: str) -> None:
    before = sorted(project.rglob("*"))
    result = deploy("etl/crm_pipeline.py", "--schedule", schedule, "--to", target, "--output", "out", cwd=project)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith(f"dataload deploy: usage error (exit 2): invalid --schedule {schedule!r}: ")
    assert reason in result.stderr and result.stdout == ""
    assert sorted(project.rglob("*")) == before


def test_a_file_that_exists_is_kept_unless_forced(project: Path) -> None:
    arguments = ("etl/crm_pipeline.py", "--schedule", SCHEDULE, "--to", "github-actions")
    path = project / ".github" / "workflows" / "crm_sync.yml"
    path.parent.mkdir(parents=True)
    path.write_text("mine\n")
    refused = deploy(*arguments, cwd=project)
    assert refused.returncode == ExitCode.USAGE and "--force" in refused.stderr
    assert path.read_text() == "mine\n"
    assert deploy(*arguments, "--force", cwd=project).returncode == 0
    assert yaml.safe_load(path.read_text())["on"]["schedule"] == [{"cron": SCHEDULE}]


@pytest.mark.parametrize("script, expected", [
    ("import dataload\n@dataload.source(name='gh')\ndef github(api_key=dataload.secrets.value, start=dataload."
     "config.value): ...\n", ["SOURCES__GH__API_KEY"]),
    ("from dataload import resource, secrets\n@resource\ndef users(token=secrets.value): ...\n",
     ["SOURCES__TOKEN"]),
    ("import dataload\n@dataload.source\ndef crm(token=dataload.secrets.value): ...\n@dataload.resource\n"
     "def users(token=dataload.secrets.value): ...\n", ["SOURCES__CRM__TOKEN"]),
    ("import dataload\ndataload.pipeline('p', destination='postgres')\n", ["DESTINATION__POSTGRES__CREDENTIALS"]),
    ("from destinations import sqlalchemy\nimport dataload\ndataload.pipeline(destination=sqlalchemy())\n",
     ["DESTINATION__SQLALCHEMY__CREDENTIALS"]),
    ("from destinations import postgres\nimport dataload\ndataload.pipeline(destination=postgres('postgresql://"
     "u@h/db'))\n", []),
    ("import dataload\ndataload.pipeline('p', destination='duckdb')\n", []),
])
def test_secret_names_come_from_the_script(tmp_path: Path, script: str, expected: list[str]) -> None:
    path = tmp_path / "job.py"
    path.write_text(script)
    assert secret_env_names(path) == expected


def test_secret_names_come_from_secrets_toml_keys_and_the_name_from_the_pipeline_call(tmp_path: Path) -> None:
    path = tmp_path / "job.py"
    path.write_text("import dataload\npipe = dataload.pipeline(pipeline_name='nightly')\n")
    (tmp_path / ".dataload").mkdir()
    (tmp_path / ".dataload" / "secrets.toml").write_text(
        '[sources.shop]\napi_key = "k"\n[destination.postgres]\ncredentials = "postgresql://u:pw@h/db"\n')
    assert secret_env_names(path) == ["DESTINATION__POSTGRES__CREDENTIALS", "SOURCES__SHOP__API_KEY"]
    assert pipeline_name(path) == "nightly"
    path.write_text("import dataload\npipe = dataload.pipeline(destination='duckdb')\n")
    assert pipeline_name(path) == "job"


def test_help() -> None:
    result = subprocess.run([str(DATALOAD), "deploy", "--help"], capture_output=True, text=True, env=environment())
    assert result.returncode == 0 and "--schedule" in result.stdout and "github-actions" in result.stdout


def test_without_croniter_deploy_names_the_extra(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from dataload.cli.main import main

    monkeypatch.setitem(sys.modules, "croniter", None)  # as if it were not installed: its import fails
    code = main(["deploy", str(project / "etl" / "crm_pipeline.py"), "--schedule", SCHEDULE, "--to", "cron"])
    assert code == ExitCode.CONFIG
    assert 'pip install "dataload[deploy]"' in capsys.readouterr().err


def test_a_script_that_does_not_parse_or_a_broken_secrets_file_is_refused(project: Path) -> None:
    secrets = project / "etl" / ".dataload" / "secrets.toml"
    secrets.write_text("[sources.crm\ntoken = 1\n")
    broken = deploy("etl/crm_pipeline.py", "--schedule", SCHEDULE, "--to", "github-actions", cwd=project)
    assert broken.returncode == ExitCode.CONFIG and f"config file {secrets} is not valid TOML" in broken.stderr
    (project / "etl" / "bad.py").write_text("def (:\n")
    result = deploy("etl/bad.py", "--schedule", SCHEDULE, "--to", "cron", cwd=project)
    assert result.returncode == ExitCode.USAGE and "bad.py is not valid Python" in result.stderr
    assert not (project / ".github").exists()
