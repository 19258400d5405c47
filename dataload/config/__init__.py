"""Configuration: explicit arguments > environment > ``secrets.toml`` > ``config.toml``.

>>> from dataload.config import config, resolve_arguments, secrets
>>> def github(api_key: str = secrets.value, start: str = config.value): ...
>>> bound = resolve_arguments(github, (), {}, sections=("sources", "github"))  # doctest: +SKIP
"""

from dataload.config.markers import config, secrets
from dataload.config.providers import NOT_FOUND
from dataload.config.resolve import lookup, resolve_arguments
from dataload.config.secret import Secret, is_credential_key, redact, redact_url

__all__ = [
    "NOT_FOUND",
    "Secret",
    "config",
    "is_credential_key",
    "lookup",
    "redact",
    "redact_url",
    "resolve_arguments",
    "secrets",
]
