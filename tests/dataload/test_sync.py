"""Truth table: what a run does with its local state given the destination's newest stored state."""

from __future__ import annotations

import pytest

from dataload.sync import decide


def state(version, content="a"):
    return {"_state_version": version, "_state_hash": content, "sources": {}}


@pytest.mark.parametrize("local, stored, verdict", [
    (state(0, ""), None, "keep"),             # nothing anywhere: a first run
    (state(3), state(3), "keep"),             # in step: the usual case
    (state(0, ""), state(3), "restore"),      # a fresh working dir
    (state(3), state(4, "b"), "newer"),       # another working dir loaded since, or a crash after a drop committed
    (state(3), None, "lost"),                 # the destination was wiped, or is a new one
    (state(3), state(2, "b"), "lost"),        # restored from a backup
    (state(3), state(3, "b"), "lost"),        # two working dirs made different version 3s: the destination's wins
])
def test_decide(local, stored, verdict):
    assert decide(local, stored) == verdict
