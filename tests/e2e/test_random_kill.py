"""A three-package run killed at a random moment, then run again: every row lands exactly once.

Each case picks a kill time uniformly within the length of an unkilled run (measured first), from
a seed that is printed; replay one with ``DATALOAD_RANDOM_KILL_SEED=<seed>``. CI runs 10 cases;
``DATALOAD_RANDOM_KILLS=200 python -m pytest tests/e2e/test_random_kill.py`` runs 200.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from landed import assert_clean, assert_landed
from test_resume import ROWS, child, child_command, child_env, db_ids

CASES = int(os.environ.get("DATALOAD_RANDOM_KILLS", "10"))
REPLAY = os.environ.get("DATALOAD_RANDOM_KILL_SEED")
# under pytest-xdist every worker collects the cases: they draw from the run's shared id so they agree
_DRAW = random.Random(os.environ["PYTEST_XDIST_TESTRUNUID"]) if "PYTEST_XDIST_TESTRUNUID" in os.environ \
    else random.SystemRandom()
SEEDS = [int(REPLAY)] if REPLAY else [_DRAW.randrange(2**32) for _ in range(CASES)]


@pytest.fixture(scope="module")
def unkilled_seconds(tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long the child's three-package run takes here, start to exit."""
    folder = tmp_path_factory.mktemp("unkilled")
    started = time.monotonic()
    done = subprocess.run(child_command(folder, ROWS, "three_packages"), env=child_env(), cwd=folder,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed={s}" for s in SEEDS])
def test_killed_at_a_random_moment_the_rerun_lands_every_row_once(tmp_path: Path, unkilled_seconds: float,
                                                                 seed: int) -> None:
    kill_after = random.Random(seed).uniform(0, unkilled_seconds)
    print(f"seed {seed}: SIGKILL after {kill_after:.3f} s of a {unkilled_seconds:.3f} s run "
          f"(replay: DATALOAD_RANDOM_KILL_SEED={seed})")
    run = subprocess.Popen(child_command(tmp_path, ROWS, "three_packages"), env=child_env(), cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        run.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGKILL)
    run.communicate(timeout=60)

    db = tmp_path / "resume.duckdb"
    pipe = child.build(tmp_path / "pipelines", db)
    landed = db_ids(db)
    assert len(landed) == len(set(landed)), f"seed {seed}: duplicates after the kill"
    assert landed == list(range(len(landed))), f"seed {seed}: a gap after the kill"

    pipe.run(child.items(ROWS))
    assert db_ids(db) == list(range(ROWS)), f"seed {seed}: missing or duplicated rows after the rerun"
    assert_landed(pipe, {"items": child.source_rows(ROWS)}, packages=range(1, 5), cursors={"items": "id"})
    assert_clean(pipe)
