"""A string type for secrets and helpers that keep secrets out of text.

A :class:`Secret` behaves like the string it holds (drivers get the real
value from ``str()`` and formatting) but its ``repr`` is redacted, so it stays
hidden in containers, tracebacks' locals, logs of ``repr`` and debug output.
:func:`redact` and :func:`redact_url` scrub secrets from text that is about
to be shown: exception messages, connection strings, log lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"


class Secret(str):
    """A string holding a secret; its ``repr`` never shows the value.

    >>> password = Secret("hunter2")
    >>> password
    Secret('***')
    >>> f"{password}" == str(password) == "hunter2"
    True
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Secret('{REDACTED}')"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret value in ``text`` with ``***``.

    Longer secrets are replaced first, so a secret that contains another is
    hidden whole; empty strings are ignored.

    >>> redact("login failed for pw=hunter2", [Secret("hunter2")])
    'login failed for pw=***'
    """
    values = sorted({str(value) for value in secrets if value}, key=len, reverse=True)
    for value in values:
        text = text.replace(value, REDACTED)
    return text


def redact_url(url: str) -> str:
    """Hide the password of a URL, keeping user, host, path and query.

    Text that is not a URL with a password comes back unchanged.

    >>> redact_url("postgresql://user:pw@host:5432/db")
    'postgresql://user:***@host:5432/db'
    """
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not (at and colon and password):
        return url
    netloc = f"{user}:{REDACTED}@{hostport}"
    return urlunsplit(parts._replace(netloc=netloc))
