"""A string type for secrets and helpers that keep secrets out of text.

A :class:`Secret` behaves like the string it holds (drivers get the real
value from ``str()`` and formatting) but its ``repr`` is redacted, so it stays
hidden in containers, tracebacks' locals, logs of ``repr`` and debug output.
:func:`redact` and :func:`redact_url` scrub secrets from text that is about
to be shown: exception messages, connection strings, log lines.
:func:`is_credential_key` is the one rule for which option names hold a
credential (``password``, ``passwd``, ``pwd``, ``sslpassword``, ``*token*``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote_plus

REDACTED = "***"

_CREDENTIAL_WORDS = ("password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "access_key",
                     "private_key", "credential")
# ``scheme://user:password@`` anywhere in a text: the password ends at the last ``@`` before a blank
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:]*):(?P<value>[^\s/?#]*)@")
# ``key=value`` as in a query string (``&``/``?`` separated) or a libpq string (blank separated,
# quoted values); the separator may itself be percent-encoded in a nested URL
_OPTION = re.compile(r"(?P<key>[A-Za-z0-9_.%\-]+)(?P<sep>\s*=\s*|%3[Dd])"
                     r"(?P<value>'(?:[^'\\]|\\.)*'|[^&\s;'\",)]*)")


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


def is_credential_key(key: str) -> bool:
    """True for an option name that holds a credential, in any case or percent-encoding.

    >>> [is_credential_key(k) for k in ("sslpassword", "PWD", "api%5Ftoken", "sslmode")]
    [True, True, True, False]
    """
    name = unquote_plus(key).lower().replace("-", "_")
    return any(word in name for word in _CREDENTIAL_WORDS)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret value in ``text`` with ``***``, in every encoding.

    A value is also found percent-encoded (``quote`` and ``quote_plus``, as it sits in a URL)
    and escaped as ``repr`` writes it. Longer forms are replaced first, so a secret that
    contains another is hidden whole; empty strings are ignored.

    >>> redact("login failed for pw=hunter2", [Secret("hunter2")])
    'login failed for pw=***'
    >>> redact("postgresql://u@h/db?password=a%2Fb", [Secret("a/b")])
    'postgresql://u@h/db?password=***'
    """
    forms = {form for value in secrets if value for form in _encodings(str(value))}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def _encodings(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote(value), quote_plus(value), repr(value)[1:-1]} - {""}


def redact_url(text: str) -> str:
    """Hide every credential-bearing part of the URLs and connection strings in ``text``.

    The password of the userinfo and the value of every credential option
    (see :func:`is_credential_key`: query keys of a URL, ``key=value`` pairs of a libpq
    string) become ``***``; user, host, path and other options stay. Other text comes
    back unchanged, so a whole message can be passed.

    >>> redact_url("postgresql://user:pw@host:5432/db?sslmode=require&sslpassword=k%2Fy")
    'postgresql://user:***@host:5432/db?sslmode=require&sslpassword=***'
    """
    text = _USERINFO.sub(lambda m: f"{m['head']}:{REDACTED}@" if m["value"] else m[0], text)
    return _OPTION.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}" if is_credential_key(m["key"]) and m["value"]
                       else m[0], text)
