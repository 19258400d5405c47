"""Folding the states the partitions of one run ended with into the state the run commits.

Every partition starts from the same state. An incremental cursor keeps the newest ``last_value``
any partition reached (with the boundary rows of every partition that reached it), so the cursor
stands at the largest value loaded; anything else a partition's resource wrote to its state is
taken from the partitions in order (the last one that wrote a key wins). Cursors are compared
as :func:`~dataload.incremental_values.cursor_key` orders them, ascending: a partitioned cursor
counts up (``last_value_func=max``).

>>> base = {"sources": {"s": {"resources": {"r": {"incremental": {"id": {"last_value": 5}}}}}}}
>>> one = {"sources": {"s": {"resources": {"r": {"incremental": {"id": {"last_value": 9, "unique_hashes": ["a"]}}}}}}}
>>> two = {"sources": {"s": {"resources": {"r": {"incremental": {"id": {"last_value": 7}}}}}}}
>>> fold_states(base, [one, two])["sources"]["s"]["resources"]["r"]["incremental"]["id"]
{'last_value': 9, 'unique_hashes': ['a']}
"""

from __future__ import annotations

import copy
from typing import Any

from dataload.incremental_values import cursor_key


def fold_states(base: dict[str, Any], documents: list[dict[str, Any]]) -> dict[str, Any]:
    """``base`` with what every partition's (decoded) state document changed, folded in order."""
    folded = copy.deepcopy(base)
    for document in documents:
        for name, source in document.get("sources", {}).items():
            target = folded.setdefault("sources", {}).setdefault(name, {})
            for key, value in source.items():
                if key != "resources":
                    target[key] = copy.deepcopy(value)
            for resource, state in source.get("resources", {}).items():
                _fold_resource(target.setdefault("resources", {}).setdefault(resource, {}), state)
    return folded


def _fold_resource(target: dict[str, Any], state: dict[str, Any]) -> None:
    for key, value in state.items():
        if key != "incremental":
            target[key] = copy.deepcopy(value)
            continue
        cursors = target.setdefault("incremental", {})
        for path, cursor in value.items():
            cursors[path] = _newer_cursor(cursors.get(path), cursor)


def _newer_cursor(mine: dict[str, Any] | None, theirs: dict[str, Any]) -> dict[str, Any]:
    """The cursor that went further; at the same value, the boundary rows of both."""
    if mine is None or "last_value" not in mine:
        return copy.deepcopy(theirs)
    if "last_value" not in theirs:
        return mine
    my_key, their_key = cursor_key(mine["last_value"]), cursor_key(theirs["last_value"])
    if my_key == their_key:
        hashes = sorted(set(mine.get("unique_hashes", [])) | set(theirs.get("unique_hashes", [])))
        return {**mine, "unique_hashes": hashes} if hashes else mine
    return copy.deepcopy(theirs) if max(my_key, their_key) == their_key else mine
