"""``response_actions``: what to do with responses of a given status or content, before errors are raised.

Each action is a dict with ``status_code`` (an int or a list of them) and/or ``content`` (text the
body contains), and ``action``: ``"ignore"`` (the response gives no items and ends the resource's
pages, without an error: a 404 for a deleted parent's child, say) or a callable that takes the
:class:`httpx.Response` and returns the response to go on with (changed, or a new one). The
actions apply in order, to the final response of each request (after retries).

>>> hook = response_hook([{"status_code": 404, "action": "ignore"}])
>>> hook(httpx.Response(404, request=httpx.Request("GET", "http://h/x"))) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from sources.rest_api.client import ResponseHook


def response_hook(actions: Sequence[Mapping[str, Any]]) -> ResponseHook | None:
    """The client's ``response_hook`` for ``actions`` (None when there are none)."""
    if not actions:
        return None

    def hook(response: httpx.Response) -> httpx.Response | None:
        for action in actions:
            if not _matches(action, response):
                continue
            if action["action"] == "ignore":
                return None
            changed = action["action"](response)
            if changed is None:
                return None
            response = changed
        return response

    return hook


def _matches(action: Mapping[str, Any], response: httpx.Response) -> bool:
    statuses = action.get("status_code")
    if statuses is not None and response.status_code not in (statuses if isinstance(statuses, list) else [statuses]):
        return False
    content = action.get("content")
    return content is None or content in response.text
