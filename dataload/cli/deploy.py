"""``dataload deploy SCRIPT --schedule CRON --to cron|github-actions|airflow``: run a pipeline script on a schedule.

The schedule is checked with ``croniter`` (``pip install "dataload[deploy]"``); an invalid one is
refused with the reason and nothing is written. What is written and where:

* ``cron``: a crontab line (printed; also written to ``<output>/<pipeline>.crontab`` with ``--output``);
* ``github-actions``: ``<repository>/.github/workflows/<pipeline>.yml`` (or ``<output>/<pipeline>.yml``);
* ``airflow``: ``<script folder>/dags/<pipeline>_dag.py`` (or ``<output>/<pipeline>_dag.py``).

Nothing is installed: the command prints how to install what it wrote. A file that exists is
kept unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dataload.cli import deploy_targets as targets
from dataload.cli.failure import fail
from dataload.cli.script_scan import pipeline_name, secret_env_names
from dataload.cli.writing import write_files
from dataload.exceptions import DataloadError, MissingDependencyError
from dataload.exit_codes import ExitCode

TARGETS = ("cron", "github-actions", "airflow")


def add_parser(commands: Any) -> None:
    """Register ``dataload deploy`` under ``commands``."""
    deploy = commands.add_parser(
        "deploy", help="write what a scheduler needs to run a pipeline script: a crontab line, a GitHub Actions "
                       "workflow or an Airflow DAG (nothing is installed)")
    deploy.add_argument("script", help="the pipeline script (a Python file)")
    deploy.add_argument("--schedule", required=True, help='when to run, a cron expression of 5 fields, e.g. '
                                                          '"*/30 * * * *" (GitHub Actions and Airflow read it as UTC)')
    deploy.add_argument("--to", required=True, choices=TARGETS, help="the scheduler")
    deploy.add_argument("--output", help="the folder to write into (default: cron prints only; github-actions: "
                                         "<repository>/.github/workflows; airflow: dags/ next to the script)")
    deploy.add_argument("--force", action="store_true", help="overwrite a file that exists")
    deploy.set_defaults(handler=deploy_command)


def schedule_problem(schedule: str) -> str | None:
    """Why ``schedule`` is not a cron expression of 5 fields, or None when it is.

    >>> schedule_problem("*/30 * * * *") is None
    True
    >>> schedule_problem("61 * * * *")
    '[61 * * * *] is not acceptable, out of range'
    >>> schedule_problem("0 */24 * * *")
    'the step /24 in the hour field is out of range: the field holds 0-23, so a step is 1 to 23'
    """
    try:
        from croniter import croniter
    except ImportError:
        raise MissingDependencyError("dataload deploy (checking --schedule)", "deploy", "croniter") from None
    fields = schedule.split()
    if len(fields) != 5:
        return (f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has "
                f"{len(fields)}")
    try:
        croniter(schedule)
    except (ValueError, KeyError) as error:  # croniter's errors are ValueErrors
        return str(error)
    return next(filter(None, (_step_problem(field, *limits) for field, limits in zip(fields, _FIELDS))), None)


# each field's name and values (day-of-week 7 is Sunday again): croniter accepts any step, cron matches
# only the first value with a step as large as the field's range, which is never what was meant
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12), ("day-of-week", 0, 6))


def _step_problem(field: str, name: str, low: int, high: int) -> str | None:
    """Why a step of ``field`` (the part after ``/``) is out of range, or None.

    >>> _step_problem("*/61", "minute", 0, 59)
    'the step /61 in the minute field is out of range: the field holds 0-59, so a step is 1 to 59'
    >>> _step_problem("1-10/3,30", "minute", 0, 59) is None
    True
    """
    for part in field.split(","):
        step = part.partition("/")[2]
        if step.isdigit() and not 1 <= int(step) <= high - low:
            return (f"the step /{step} in the {name} field is out of range: the field holds {low}-{high}, so a "
                    f"step is 1 to {high - low}")
    return None


def deploy_command(args: argparse.Namespace) -> int:
    """Check the schedule, write the scheduler's file and print how to install it; returns the exit code."""
    script = Path(args.script).resolve()
    if not script.is_file():
        return fail("deploy", ExitCode.USAGE, f"no script {args.script}: give the path of a pipeline script")
    try:
        problem = schedule_problem(args.schedule)
    except MissingDependencyError as error:
        return fail("deploy", ExitCode.CONFIG, str(error))
    if problem:
        return fail("deploy", ExitCode.USAGE, f"invalid --schedule {args.schedule!r}: {problem}; nothing was written")
    try:
        deployment = targets.Deployment(script, " ".join(args.schedule.split()), pipeline_name(script),
                                        secret_env_names(script))
    except SyntaxError as error:
        return fail("deploy", ExitCode.USAGE, f"{script} is not valid Python ({error}); nothing was written")
    except DataloadError as error:  # a .dataload/secrets.toml that cannot be read
        return fail("deploy", ExitCode.CONFIG, f"{error}; nothing was written")
    output = Path(args.output).resolve() if args.output else None
    if args.to == "cron":
        return _cron(deployment, output, args.force)
    if args.to == "github-actions":
        return _github(deployment, output, args.force)
    return _airflow(deployment, output, args.force)


def _cron(deployment: targets.Deployment, output: Path | None, force: bool) -> int:
    line = targets.cron_line(deployment, deployment.script.parent / "logs")
    if output is not None and not _write(output / f"{deployment.pipeline_name}.crontab", line + "\n", force):
        return int(ExitCode.USAGE)
    print(line)
    print(f"\nTo install it: run `crontab -e` and add the line above (or `(crontab -l; cat FILE) | crontab -` "
          f"with the file written by --output). It runs in {deployment.script.parent}, logs to "
          f"{deployment.script.parent / 'logs' / (deployment.pipeline_name + '.log')}, and a run that finds the "
          f"previous one still going exits {int(ExitCode.LOCKED)} at once. Config and secrets are read from "
          ".dataload/ in that folder.")
    return 0


def _github(deployment: targets.Deployment, output: Path | None, force: bool) -> int:
    repository = _repository_of(deployment.script.parent)
    folder = output or (repository or deployment.script.parent) / ".github" / "workflows"
    path = folder / f"{deployment.pipeline_name}.yml"
    if not _write(path, targets.github_workflow(deployment, repository or deployment.script.parent), force):
        return int(ExitCode.USAGE)
    print(f"Wrote {path}")
    if repository is None:
        print(f"note: {deployment.script.parent} is not in a git repository; the workflow's paths are relative to it")
    secrets = "".join(f"\n  gh secret set {name}" for name in deployment.secrets)
    print("\nTo install it: commit the workflow and push it. "
          + (f"Add the repository secrets it reads (Settings > Secrets and variables > Actions, or):{secrets}"
             if secrets else "It reads no secrets.")
          + "\nEach run starts on a fresh machine: the pipeline's local state is restored from the destination, "
            "so the destination must be a server (a DuckDB file on the runner is lost after the run).")
    return 0


def _airflow(deployment: targets.Deployment, output: Path | None, force: bool) -> int:
    from dataload.script import exposed_source  # imports the engine: only here, not for every command's --help

    try:
        exposed = exposed_source(deployment.script)
    except Exception as error:  # the script's import or its source function failed here: one task runs it
        print(f"note: could not list the resources of {deployment.script.name} ({type(error).__name__}: "
              f"{error}); the DAG runs the whole script in one task. Make its config available and deploy "
              "again for one task per resource.", file=sys.stderr)
        exposed = None
    path = (output or deployment.script.parent / "dags") / f"{deployment.pipeline_name}_dag.py"
    if not _write(path, targets.airflow_dag(deployment, exposed), force):
        return int(ExitCode.USAGE)
    tasks = ", ".join(f"{task} ({', '.join(group)})" for task, group in targets.airflow_tasks(exposed).items()) \
        or "run_script (the whole script)"
    print(f"Wrote {path} (tasks: {tasks})")
    print("\nTo install it: copy it into the Airflow dags folder ($AIRFLOW_HOME/dags). The workers need "
          f"dataload[airflow] and what the script imports installed, {deployment.script} readable, and its config "
          "and secrets (environment variables or .dataload/ next to the script).")
    return 0


def _write(path: Path, text: str, force: bool) -> bool:
    return write_files("deploy", path.parent, {path.name: text}, force=force) is not None


def _repository_of(folder: Path) -> Path | None:
    """The root of the git checkout holding ``folder`` (``.git`` is a folder, or a file in a worktree)."""
    return next((parent for parent in (folder, *folder.parents) if (parent / ".git").exists()), None)
