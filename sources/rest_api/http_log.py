"""Credentials kept out of the log records of the ``httpx`` library.

httpx logs every request at INFO with its whole URL (``HTTP Request: GET https://host/events?appid=KEY
"HTTP/1.1 200 OK"``), an API key sent in the query string included. :func:`redact_in_httpx_logs`
adds a filter to the ``httpx`` logger (once, on the first client) that passes each record's text
through :meth:`RESTClient.redacted <sources.rest_api.client.RESTClient.redacted>` of every client
still alive, as the client's own messages are.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, Protocol


class _Redacting(Protocol):
    def redacted(self, text: Any) -> str: ...


_clients: weakref.WeakSet[_Redacting] = weakref.WeakSet()


class _RedactClients(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = original = record.getMessage()
        for client in list(_clients):
            message = client.redacted(message)
        if message != original:
            record.msg, record.args = message, None
        return True


_FILTER = _RedactClients()


def redact_in_httpx_logs(client: _Redacting) -> None:
    """Hide ``client``'s secrets in what the ``httpx`` logger writes, while ``client`` is alive."""
    _clients.add(client)
    httpx_logger = logging.getLogger("httpx")
    if _FILTER not in httpx_logger.filters:
        httpx_logger.addFilter(_FILTER)
