"""Configuration: explicit arguments > environment > ``secrets.toml`` > ``config.toml``.

>>> import dataload.configuration as cfg
>>> def github(api_key: str = cfg.secrets.value, start: str = cfg.config.value): ...
>>> bound = cfg.resolve_arguments(github, (), {}, sections=("sources", "github"))  # doctest: +SKIP
"""

from dataload.configuration.namespaces import config, secrets
from dataload.configuration.providers import NOT_FOUND
from dataload.configuration.resolve import lookup, resolve_arguments
from dataload.configuration.secret import Secret, is_credential_key, redact, redact_url

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
