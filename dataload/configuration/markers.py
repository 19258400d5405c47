"""The defaults users write to ask for a config value or a secret.

::

    @dataload.source
    def github(api_key: str = dataload.secrets.value, start: str = dataload.config.value): ...

A parameter whose default is ``config.value`` or ``secrets.value`` is filled by
:func:`dataload.configuration.resolve.resolve_arguments` when the caller does not pass
it. ``config["sources.github.start"]`` looks a dotted key up directly.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final


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

    >>> is_marker(secrets.value), is_marker("x")
    (True, False)
    """
    return isinstance(value, _Marker)


def split_key(dotted: str) -> tuple[tuple[str, ...], str]:
    """Split a dotted key into its sections and its name.

    >>> split_key("sources.github.start")
    (('sources', 'github'), 'start')
    """
    parts = tuple(dotted.split("."))
    if not all(parts):
        raise ValueError(f"config key {dotted!r} must be dot-separated non-empty names")
    return parts[:-1], parts[-1]


class _Namespace:
    __slots__ = ()
    _secret: ClassVar[bool] = False

    def __getitem__(self, key: str) -> Any:
        from dataload.configuration.resolve import require  # resolve imports this module

        sections, name = split_key(key)
        return require(sections, name, secret=self._secret)

    def __repr__(self) -> str:
        return "dataload.secrets" if self._secret else "dataload.config"


class _ConfigNamespace(_Namespace):
    """Config values: ``config.value`` as a parameter default, ``config[key]`` to read one.

    Values are looked up in environment variables, then ``.dataload/secrets.toml``,
    then ``.dataload/config.toml``; a missing value raises ``MissingConfig``.

    >>> def github(start: str = config.value): ...
    >>> config["sources.github.start"]  # doctest: +SKIP
    '2024-01-01'
    """

    __slots__ = ()
    value: ClassVar[Any] = REQUIRED_CONFIG


class _SecretsNamespace(_Namespace):
    """Secrets: ``secrets.value`` as a parameter default, ``secrets[key]`` to read one.

    Same lookup as :data:`config`, but values come back as :class:`Secret`,
    whose ``repr`` is redacted and which no error message ever shows.

    >>> def github(api_key: str = secrets.value): ...
    >>> secrets["sources.github.api_key"]  # doctest: +SKIP
    Secret('***')
    """

    __slots__ = ()
    _secret: ClassVar[bool] = True
    value: ClassVar[Any] = REQUIRED_SECRET


config: Final = _ConfigNamespace()
secrets: Final = _SecretsNamespace()
