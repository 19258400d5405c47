"""``dataload.config`` and ``dataload.secrets``: the markers users write as defaults, and a lookup by key.

>>> config.value is REQUIRED_CONFIG
True
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from dataload.configuration.markers import REQUIRED_CONFIG, REQUIRED_SECRET
from dataload.configuration.resolve import require


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
