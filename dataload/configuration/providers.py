"""The places configuration is read from, in their fixed order of precedence.

1. environment variables (``SOURCES__GITHUB__API_KEY``),
2. ``<project_dir>/.dataload/secrets.toml``,
3. ``<project_dir>/.dataload/config.toml``.

The project directory is ``$DATALOAD_PROJECT_DIR`` when set, else the folder given to
:func:`project_dir_of` around the call (``dataload.attach`` gives the folder the pipeline was
made in), else the current working directory, all read when providers are made. Files are read on the
first lookup of a provider and kept only by that provider object, so there is
no process-wide cache to reset: a new call sees new files and variables.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final, Protocol

from dataload.exceptions import InvalidConfig

Key = tuple[str, ...]
"""A config key: its sections then its name, e.g. ``("sources", "github", "api_key")``."""

PROJECT_DIR_ENV: Final = "DATALOAD_PROJECT_DIR"
CONFIG_DIR: Final = ".dataload"


class _NotFound:
    """The type of :data:`NOT_FOUND`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_FOUND"

    def __reduce__(self) -> str:
        return "NOT_FOUND"


NOT_FOUND: Final = _NotFound()
"""Returned by providers and lookups when a key has no value (``None`` can be a value)."""


if sys.version_info >= (3, 11):
    import tomllib

    def _parse_toml(text: str) -> dict[str, Any]:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(str(exc)) from None

else:  # pragma: no cover - Python 3.10
    import tomlkit
    from tomlkit.exceptions import ParseError

    def _parse_toml(text: str) -> dict[str, Any]:
        try:
            return dict(tomlkit.parse(text).unwrap())
        except ParseError as exc:
            raise ValueError(str(exc)) from None


class Provider(Protocol):
    """One place that may hold config values; see :class:`EnvironProvider`.

    >>> provider: Provider = EnvironProvider({"NORMALIZE__WORKERS": "4"})
    >>> provider.get(("normalize", "workers"))
    '4'
    """

    def get(self, key: Key) -> Any:
        """Return the value stored under ``key``, or :data:`NOT_FOUND`."""

    def describe(self, key: Key) -> str:
        """Say in words where ``key`` is looked for, for traces and errors."""


def env_name(key: Key) -> str:
    """Return the environment variable name of a config key.

    >>> env_name(("sources", "github", "api_key"))
    'SOURCES__GITHUB__API_KEY'
    """
    return "__".join(part.upper() for part in key)


def toml_place(key: Key) -> str:
    """Return how a key is written in a TOML file: its table and its name.

    >>> toml_place(("sources", "github", "api_key"))
    '[sources.github] api_key'
    """
    *sections, name = key
    return f"[{'.'.join(sections)}] {name}" if sections else name


class EnvironProvider:
    """Reads ``SECTION__NAME`` environment variables (or any given mapping).

    >>> EnvironProvider({"SOURCES__GITHUB__START": "2024"}).get(("sources", "github", "start"))
    '2024'
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ: Mapping[str, str] = os.environ if environ is None else environ

    def get(self, key: Key) -> Any:
        """Return the variable's text, or :data:`NOT_FOUND` when it is not set."""
        return self._environ.get(env_name(key), NOT_FOUND)

    def describe(self, key: Key) -> str:
        """Name the environment variable looked for."""
        return f"environment variable {env_name(key)}"


class TomlProvider:
    """Reads nested tables of one TOML file, parsed on first use.

    A missing file holds no values; a file that cannot be read or parsed
    raises :class:`~dataload.exceptions.InvalidConfig` naming it.

    >>> TomlProvider(Path("/nowhere/config.toml")).get(("runtime", "log_level"))
    NOT_FOUND
    """

    def __init__(self, path: Path, label: str | None = None) -> None:
        self.path = path
        self.label = label or path.name
        self._document: dict[str, Any] | None = None

    def get(self, key: Key) -> Any:
        """Walk the tables of ``key``; return the value or :data:`NOT_FOUND`."""
        node: Any = self._load()
        for part in key:
            if not isinstance(node, dict) or part not in node:
                return NOT_FOUND
            node = node[part]
        return node

    def describe(self, key: Key) -> str:
        """Name the file, table and name looked for."""
        place = f"{self.label} {toml_place(key)}"
        if not self.path.is_file():
            place += f" (no file {self.path})"
        return place

    def _load(self) -> dict[str, Any]:
        if self._document is None:
            self._document = _read_toml(self.path)
        return self._document


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidConfig(f"cannot read config file {path}: {exc}") from None
    try:
        return _parse_toml(text)
    except ValueError as exc:
        raise InvalidConfig(f"config file {path} is not valid TOML: {exc}") from None


class _Snapshot:
    """The providers of one :func:`config_snapshot`, and the values resolved through them."""

    def __init__(self, providers: list[Provider]) -> None:
        self.providers = providers
        self.resolved: dict[Any, Any] = {}


_SNAPSHOT: ContextVar[_Snapshot | None] = ContextVar("dataload_config_snapshot", default=None)


@contextmanager
def config_snapshot() -> Iterator[None]:
    """Within, :func:`default_providers` returns one set of providers, so each config file is read
    and parsed at most once, and a value resolved for a function's parameter is kept
    (:func:`snapshot_values`): an extraction sees one configuration, however many parent items its
    transformers are called for (a transformer with a ``secrets.value`` parameter read both TOML
    files for every item before).
    """
    token = _SNAPSHOT.set(_Snapshot(default_providers()))
    try:
        yield
    finally:
        _SNAPSHOT.reset(token)


def snapshot_values() -> dict[Any, Any] | None:
    """Inside :func:`config_snapshot`, a dict to keep resolved values in for its duration; else None."""
    snapshot = _SNAPSHOT.get()
    return None if snapshot is None else snapshot.resolved


_PROJECT_DIR: ContextVar[Path | None] = ContextVar("dataload_project_dir", default=None)


@contextmanager
def project_dir_of(folder: Path) -> Iterator[None]:
    """Within, the project directory is ``folder`` (unless ``$DATALOAD_PROJECT_DIR`` is set).

    >>> with project_dir_of(Path("/proj")):
    ...     project_dir() == Path("/proj") or PROJECT_DIR_ENV in os.environ
    True
    """
    token = _PROJECT_DIR.set(folder)
    try:
        yield
    finally:
        _PROJECT_DIR.reset(token)


def project_dir() -> Path:
    """Return the project directory: ``$DATALOAD_PROJECT_DIR``, the :func:`project_dir_of` folder, or the
    current directory.

    >>> isinstance(project_dir(), Path)
    True
    """
    configured = os.environ.get(PROJECT_DIR_ENV)
    return Path(configured).expanduser() if configured else _PROJECT_DIR.get() or Path.cwd()


def default_providers(directory: Path | None = None) -> list[Provider]:
    """Return the providers in precedence order: env, secrets.toml, config.toml.

    Inside :func:`config_snapshot` (and no ``directory`` given) the snapshot's providers.

    >>> [type(p).__name__ for p in default_providers(Path("/proj"))]
    ['EnvironProvider', 'TomlProvider', 'TomlProvider']
    """
    snapshot = _SNAPSHOT.get()
    if snapshot is not None and directory is None:
        return snapshot.providers
    config_dir = (directory or project_dir()) / CONFIG_DIR
    return [
        EnvironProvider(),
        TomlProvider(config_dir / "secrets.toml"),
        TomlProvider(config_dir / "config.toml"),
    ]
