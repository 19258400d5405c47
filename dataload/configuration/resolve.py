"""Fill the arguments marked ``config.value`` / ``secrets.value`` in one traceable pass.

For a parameter ``api_key`` of a function configured under the sections
``("sources", "github", "issues")`` the keys tried are, most specific first::

    sources.github.issues.api_key
    sources.github.api_key
    sources.api_key

and for each key every provider in precedence order (environment, secrets.toml,
config.toml). Each place looked at is written to a trace, so a missing value
raises :class:`~dataload.exceptions.MissingConfig` listing all of them. Values
read as text are coerced to the parameter's annotation; values of secrets come
back as :class:`~dataload.configuration.secret.Secret` and never appear in errors.
"""

from __future__ import annotations

import datetime
import inspect
import json
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from dataload.configuration.markers import _Marker
from dataload.configuration.providers import NOT_FOUND, Key, Provider, default_providers, snapshot_values
from dataload.configuration.secret import Secret
from dataload.exceptions import InvalidConfig, MissingConfig

__all__ = ["NOT_FOUND", "candidate_keys", "coerce_value", "lookup", "require", "resolve_arguments"]


def candidate_keys(sections: tuple[str, ...], name: str) -> list[Key]:
    """Return the keys tried for ``name``: full sections first, then shorter prefixes.

    The bare name is tried only when there are no sections at all.

    >>> candidate_keys(("sources", "github"), "api_key")
    [('sources', 'github', 'api_key'), ('sources', 'api_key')]
    """
    if not sections:
        return [(name,)]
    return [(*sections[:length], name) for length in range(len(sections), 0, -1)]


def lookup(
    sections: tuple[str, ...], name: str, *, secret: bool = False, trace: list[str] | None = None
) -> Any:
    """Return the configured value of ``name`` under ``sections``, or :data:`NOT_FOUND`.

    Every place looked at is appended to ``trace`` as a readable line; the
    last line is where the value was found. Secrets come back as ``Secret``.

    >>> trace: list[str] = []
    >>> lookup(("sources", "github"), "start", trace=trace)  # doctest: +SKIP
    '2024-01-01'
    >>> trace[0]  # doctest: +SKIP
    'environment variable SOURCES__GITHUB__START'
    """
    return _lookup(default_providers(), sections, name, secret=secret, trace=trace)


def _lookup(
    providers: Sequence[Provider],
    sections: tuple[str, ...],
    name: str,
    *,
    secret: bool,
    trace: list[str] | None,
) -> Any:
    for key in candidate_keys(sections, name):
        for provider in providers:
            if trace is not None:
                trace.append(provider.describe(key))
            value = provider.get(key)
            if value is not NOT_FOUND:
                return _as_secret(value) if secret else value
    return NOT_FOUND


def require(sections: tuple[str, ...], name: str, *, secret: bool = False) -> Any:
    """Return the configured value like :func:`lookup`, raising ``MissingConfig`` if absent.

    >>> require(("sources", "github"), "api_key", secret=True)  # doctest: +SKIP
    Secret('***')
    """
    trace: list[str] = []
    value = lookup(sections, name, secret=secret, trace=trace)
    if value is NOT_FOUND:
        raise MissingConfig(".".join((*sections, name)), trace)
    return value


def _as_secret(value: Any) -> Any:
    if isinstance(value, str):
        return value if isinstance(value, Secret) else Secret(value)
    if isinstance(value, dict):
        return {key: _as_secret(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_secret(item) for item in value]
    return value


# --- coercion of configured values to the parameter's annotation -----------------

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError


def _to_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return int(value.strip())
    raise ValueError


def _to_float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise ValueError


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (datetime.date, datetime.time)):  # unquoted TOML dates and times
        return value.isoformat()
    raise ValueError


def _to_dict(value: Any) -> dict[Any, Any]:
    parsed = json.loads(value) if isinstance(value, str) else value
    if isinstance(parsed, dict):
        return parsed
    raise ValueError


def _to_list(value: Any) -> list[Any]:
    parsed = json.loads(value) if isinstance(value, str) else value
    if isinstance(parsed, list):
        return parsed
    raise ValueError


_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    str: _to_str,
    dict: _to_dict,
    list: _to_list,
}
_TEXT_NAMES: dict[str, type] = {t.__name__: t for t in _CONVERTERS} | {"Dict": dict, "List": list}


def coerce_value(value: Any, annotation: Any) -> Any:
    """Convert a configured value to ``annotation`` (int, float, bool, str, dict, list).

    Optionals (``int | None``) and annotations written as text are understood;
    other annotations leave the value as it is. Raises ``ValueError`` saying
    the expected type, never the value.

    >>> coerce_value("42", int), coerce_value("yes", bool), coerce_value('{"a": 1}', dict)
    (42, True, {'a': 1})
    """
    target = _coercion_target(annotation)
    if target is None:
        return value
    try:
        return _CONVERTERS[target](value)
    except (ValueError, TypeError):
        pass  # raised below, outside the handler, so no context holding the value is kept
    raise ValueError(f"expected {target.__name__}")


def _coercion_target(annotation: Any) -> type | None:
    if isinstance(annotation, str):
        return _target_from_text(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _coercion_target(members[0]) if len(members) == 1 else None
    if origin in (dict, list):
        return typing.cast(type, origin)
    return annotation if annotation in _CONVERTERS else None


def _target_from_text(text: str) -> type | None:
    text = text.strip()
    for prefix in ("typing.Optional[", "Optional["):
        if text.startswith(prefix) and text.endswith("]"):
            return _target_from_text(text[len(prefix) : -1])
    members = [member.strip() for member in _split_union(text) if member.strip() != "None"]
    if len(members) != 1:
        return None
    name = members[0].split("[", 1)[0].removeprefix("typing.")
    return _TEXT_NAMES.get(name)


def _split_union(text: str) -> list[str]:
    members, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "|" and depth == 0:
            members.append(text[start:index])
            start = index + 1
    members.append(text[start:])
    return members


# --- binding arguments ---------------------------------------------------------------


def resolve_arguments(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, sections: tuple[str, ...]
) -> inspect.BoundArguments:
    """Bind ``args``/``kwargs`` to ``func`` and fill every marked parameter not passed.

    Explicit arguments always win. Parameters whose default is ``config.value``
    or ``secrets.value`` are looked up under ``sections`` and coerced to their
    annotation; other defaults are applied as usual. Raises ``MissingConfig``
    listing every place looked at, or ``InvalidConfig`` naming each bad key.
    A function called many times (a transformer, once per parent item) should keep an
    :class:`ArgumentResolver` instead, which reads the signature and annotations once.

    >>> from dataload.configuration import config, secrets
    >>> def github(api_key: str = secrets.value, per_page: int = config.value): ...
    >>> bound = resolve_arguments(github, (), {}, sections=("sources", "github"))  # doctest: +SKIP
    >>> bound.arguments  # doctest: +SKIP
    {'api_key': Secret('***'), 'per_page': 100}
    """
    return ArgumentResolver(func).resolve(args, kwargs, sections=sections)


class ArgumentResolver:
    """:func:`resolve_arguments` for one function, call after call.

    The signature is read once and the annotations when a marked parameter first needs one;
    the config providers are consulted only for calls that leave a marked parameter unpassed.

    >>> def page(item, size: int = 10): ...
    >>> ArgumentResolver(page).resolve(({"id": 1},), {}, sections=("sources",)).arguments
    {'item': {'id': 1}, 'size': 10}
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.signature = inspect.signature(func)
        self._hints: dict[str, Any] | None = None

    def resolve(self, args: tuple[Any, ...], kwargs: dict[str, Any], *,
                sections: tuple[str, ...]) -> inspect.BoundArguments:
        """Bind and fill the marked parameters (see :func:`resolve_arguments`)."""
        bound = self.signature.bind(*args, **kwargs)
        marked = [(param, marker) for param in self.signature.parameters.values()
                  if (marker := _marker_for(param, bound)) is not None]
        if marked:
            self._fill(bound, marked, sections)
        bound.apply_defaults()
        return bound

    def _fill(self, bound: inspect.BoundArguments, marked: list[tuple[inspect.Parameter, _Marker]],
              sections: tuple[str, ...]) -> None:
        if self._hints is None:
            self._hints = _annotations(self.func, self.signature)
        kept = snapshot_values()  # inside an extraction: the values this resolver found before
        if kept is not None and all((self, sections, param.name) in kept for param, _ in marked):
            for param, _ in marked:
                bound.arguments[param.name] = kept[(self, sections, param.name)]
            return
        providers = default_providers()
        missing: list[MissingConfig] = []
        errors: list[str] = []
        for param, marker in marked:
            try:
                value = _resolve_one(providers, sections, param.name, marker.secret, self._hints.get(param.name))
            except MissingConfig as exc:
                missing.append(exc)
            except InvalidConfig as exc:  # a bad value, or a config file that cannot be read
                problems: list[str] = getattr(exc, "errors", None) or [str(exc)]
                errors.extend(problem for problem in problems if problem not in errors)
            else:
                bound.arguments[param.name] = value
                if kept is not None:
                    kept[(self, sections, param.name)] = value
        _raise_problems(missing, errors)


def _marker_for(param: inspect.Parameter, bound: inspect.BoundArguments) -> _Marker | None:
    """The marker to resolve for ``param``, or None when it was passed or is not marked."""
    value = bound.arguments.get(param.name, param.default)
    return value if isinstance(value, _Marker) else None


def _resolve_one(
    providers: Sequence[Provider], sections: tuple[str, ...], name: str, secret: bool, annotation: Any
) -> Any:
    value = _lookup(providers, sections, name, secret=secret, trace=None)
    if value is not NOT_FOUND:
        try:
            coerced = coerce_value(value, annotation)
        except ValueError:
            pass  # explained below, with where the value came from
        else:
            return _as_secret(coerced) if secret else coerced
    key = ".".join((*sections, name))
    trace: list[str] = []  # the places looked at, named only when something is wrong (naming them stats files)
    value = _lookup(providers, sections, name, secret=secret, trace=trace)
    if value is NOT_FOUND:
        raise MissingConfig(key, trace)
    problem = f"invalid value for {key!r} from {trace[-1]}"
    try:
        coerce_value(value, annotation)
    except ValueError as exc:  # raised below, outside the handler: no context holding the value is kept
        problem = f"{problem}: {exc}"
    raise InvalidConfig(problem if secret else f"{problem}, got {value!r}")


def _raise_problems(missing: list[MissingConfig], errors: list[str]) -> None:
    if missing:
        raise missing[0]
    if len(errors) == 1:
        raise InvalidConfig(errors[0], errors)
    if errors:
        raise InvalidConfig(f"{len(errors)} invalid config values:\n  " + "\n  ".join(errors), errors)


def _annotations(func: Callable[..., Any], signature: inspect.Signature) -> dict[str, Any]:
    """Parameter annotations, evaluated when possible, else as written (text is parsed later)."""
    target = func.__init__ if isinstance(func, type) else func  # type: ignore[misc]
    try:
        return typing.get_type_hints(target)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        return {
            name: param.annotation
            for name, param in signature.parameters.items()
            if param.annotation is not inspect.Parameter.empty
        }
