"""What each scheduler needs to run a pipeline script: a crontab line, a GitHub Actions workflow, an Airflow DAG.

Each function returns text; :mod:`dataload.cli.deploy` validates the schedule, writes the files
and prints how to install them. No secret value is ever read or written: secrets appear only
as the names of environment variables (``${{ secrets.NAME }}`` on GitHub).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from dataload.exit_codes import ExitCode

if TYPE_CHECKING:
    from dataload.script import ExposedSource


@dataclass(frozen=True)
class Deployment:
    """The script to schedule and what was read from it."""

    script: Path  # absolute
    schedule: str
    pipeline_name: str
    secrets: list[str]  # environment variable names


def dataload_command() -> list[str]:
    """The ``dataload`` command of this installation, as absolute paths (cron has no ``PATH`` of the user's)."""
    console = Path(sys.executable).parent / "dataload"
    return [str(console)] if console.is_file() else [sys.executable, "-m", "dataload.cli.main"]


def cron_line(deployment: Deployment, log_dir: Path) -> str:
    """One crontab line: in the script's folder, under ``flock`` (a run still going makes the next exit
    with the *locked* code instead of starting), appending everything it prints to a log file, with
    ``--debug`` so an unexpected error's traceback is in the log.

    ``%`` is escaped as cron requires (it ends a command otherwise).
    """
    log, lock = log_dir / f"{deployment.pipeline_name}.log", log_dir / f"{deployment.pipeline_name}.lock"
    run = [*dataload_command(), "--debug", "run", str(deployment.script)]
    command = (f"cd {shlex.quote(str(deployment.script.parent))} && mkdir -p {shlex.quote(str(log_dir))} && "
               f"flock -n -E {int(ExitCode.LOCKED)} {shlex.quote(str(lock))} {shlex.join(run)} "
               f">> {shlex.quote(str(log))} 2>&1")
    return f"{deployment.schedule} {command.replace('%', chr(92) + '%')}"


def github_workflow(deployment: Deployment, repository: Path) -> str:
    """A workflow running the script on the schedule (and by hand), secrets mapped from repository secrets.

    Paths are relative to ``repository`` (the checkout); a ``requirements.txt`` next to the
    script is installed, else ``dataload``. Runs of the workflow never overlap (``concurrency``); the run
    has ``--debug`` so an unexpected error's traceback is in the job's log.
    """
    folder = deployment.script.parent.relative_to(repository).as_posix()
    requirements = deployment.script.parent / "requirements.txt"
    install = (f"pip install -r {shlex.quote(requirements.relative_to(repository).as_posix())}"
               if requirements.is_file() else "pip install dataload")
    run_step: dict[str, object] = {"name": f"Run {deployment.script.name}", "working-directory": folder,
                                   "run": f"dataload --debug run {shlex.quote(deployment.script.name)}"}
    if deployment.secrets:
        run_step["env"] = {name: "${{ secrets." + name + " }}" for name in deployment.secrets}
    workflow = {
        "name": f"dataload {deployment.pipeline_name}",
        "on": {"schedule": [{"cron": deployment.schedule}], "workflow_dispatch": {}},
        "concurrency": {"group": f"dataload-{deployment.pipeline_name}", "cancel-in-progress": False},
        "jobs": {"run": {"runs-on": "ubuntu-latest", "steps": [
            {"uses": "actions/checkout@v4"},
            {"uses": "actions/setup-python@v5",
             "with": {"python-version": f"{sys.version_info.major}.{sys.version_info.minor}"}},
            {"name": "Install", "run": install},
            run_step,
        ]}},
    }
    header = (f"# Runs the dataload pipeline {deployment.pipeline_name} ({deployment.script.name}) on a schedule.\n"
              "# Written by `dataload deploy --to github-actions`; the secrets are repository secrets.\n")
    import yaml  # imported by the target that writes YAML, not for every command

    return header + yaml.safe_dump(workflow, sort_keys=False, width=1000)


def airflow_dag(deployment: Deployment, exposed: ExposedSource | None) -> str:
    """A DAG file: one task per resource group of the source the script exposes (in order), else one task
    running the whole script (see :mod:`dataload.script` for how a script exposes a source)."""
    template = Template(resources.files("dataload.cli").joinpath("templates/airflow_dag.py.tmpl").read_text())
    tasks = airflow_tasks(exposed)
    how = (f"one task per resource of its source {exposed.source_function}()" if exposed
           else "one task running the whole script (it exposes no source)")
    return template.substitute(
        pipeline_name=deployment.pipeline_name, script=deployment.script, schedule=deployment.schedule, how=how,
        script_literal=repr(str(deployment.script)), schedule_literal=repr(deployment.schedule),
        dag_id=repr(f"dataload_{deployment.pipeline_name}"),
        source_function=repr(exposed.source_function if exposed else None),
        pipeline_variable=repr(exposed.pipeline_variable if exposed else None), tasks=repr(tasks))


def airflow_tasks(exposed: ExposedSource | None) -> dict[str, list[str]]:
    """The DAG's tasks: a task id per resource group (:func:`dataload.integrations.airflow.task_ids`); none when
    the script exposes no source."""
    from dataload.integrations.airflow import task_ids  # imports the engine: only when a DAG is written

    return task_ids(exposed.tasks if exposed else [])
