"""The defaults users write to ask for a config value or a secret.

::

    @dataload.source
    def github(api_key: str = dataload.secrets.value, start: str = dataload.config.value): ...

A parameter whose default is ``config.value`` or ``secrets.value`` is filled by
:func:`dataload.configuration.resolve.resolve_arguments` when the caller does not pass
it. ``config["sources.github.start"]`` looks a dotted key up directly (see
:mod:`dataload.configuration.namespaces`).
"""

from __future__ import annotations

from typing import Any, Final


class _Marker:
    """A default that says "resolve me from configuration"."""

    __slots__ = ("_name", "secret")

    def __init__(self, name: str, *, secret: bool) -> None:
        self._name = name
        self.secret = secret

    def __repr__(self) -> str:
        return f"dataload.{self._name}.value"

    def __reduce__(self) -> str:
        return "REQUIRED_SECRET" if self.secret else "REQUIRED_CONFIG"

    def __copy__(self) -> _Marker:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Marker:
        return self


REQUIRED_CONFIG: Final = _Marker("config", secret=False)
REQUIRED_SECRET: Final = _Marker("secrets", secret=True)


def is_marker(value: object) -> bool:
    """Tell whether ``value`` is ``config.value`` or ``secrets.value``.

    >>> is_marker(REQUIRED_SECRET), is_marker("x")
    (True, False)
    """
    return isinstance(value, _Marker)
