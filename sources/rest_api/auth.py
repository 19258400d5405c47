"""Authentication for :class:`~sources.rest_api.RESTClient`: bearer, API key, HTTP basic, OAuth2 client credentials.

Each is an :class:`httpx.Auth` that also lists its ``secrets`` (the client redacts them from every
URL it logs or raises). The client also accepts any other :class:`httpx.Auth`, or a plain callable
that takes an :class:`httpx.Request`, edits it and returns it. Whatever the auth, the client applies
it only to requests for ``base_url``'s origin (scheme, host and port): a next link or a redirect to
another host is sent without credentials.

>>> bearer("s3cr3t").secrets
(Secret('***'),)
>>> api_key("X-API-Key", "k", location="header")
APIKeyAuth(name='X-API-Key', location='header')
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Generator, Sequence
from typing import Any, Literal

import httpx

from dataload.configuration import Secret, redact_url
from sources.rest_api.errors import HTTPStatusError, ResponseFormatError

logger = logging.getLogger(__name__)

APIKeyLocation = Literal["header", "query", "cookie"]


class SecretAuth(httpx.Auth):
    """Base of the built-in auths: an :class:`httpx.Auth` that knows which values to redact."""

    secrets: tuple[str, ...] = ()


class BearerAuth(SecretAuth):
    """``Authorization: Bearer <token>``."""

    def __init__(self, token: str | Secret) -> None:
        self.token = Secret(token)
        self.secrets = (self.token,)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


class APIKeyAuth(SecretAuth):
    """An API key sent as a header, a query parameter or a cookie named ``name``."""

    def __init__(self, name: str, value: str | Secret, *, location: APIKeyLocation = "header") -> None:
        if location not in ("header", "query", "cookie"):
            raise ValueError(f"api_key location must be 'header', 'query' or 'cookie', not {location!r}")
        self.name = name
        self.value = Secret(value)
        self.location = location
        self.secrets = (self.value,)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.location == "header":
            request.headers[self.name] = str(self.value)
        elif self.location == "query":
            request.url = request.url.copy_merge_params({self.name: str(self.value)})
        else:
            cookie = f"{self.name}={self.value}"
            existing = request.headers.get("Cookie")
            request.headers["Cookie"] = f"{existing}; {cookie}" if existing else cookie
        yield request

    def __repr__(self) -> str:
        return f"APIKeyAuth(name={self.name!r}, location={self.location!r})"


class HTTPBasicAuth(SecretAuth):
    """``Authorization: Basic base64(username:password)``."""

    def __init__(self, username: str, password: str | Secret) -> None:
        self.username = username
        self.password = Secret(password)
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._header = f"Basic {token}"
        self.secrets = (self.password, Secret(token))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"HTTPBasicAuth(username={self.username!r}, password=***)"


class OAuth2ClientCredentials(SecretAuth):
    """OAuth2 client-credentials grant: a token fetched from ``token_url``, cached, refreshed on expiry or a 401.

    The token request posts ``grant_type=client_credentials`` (plus ``scope`` and
    ``extra_params``) with the client id and secret as HTTP basic auth. A token is renewed
    ``expiry_margin`` seconds before the ``expires_in`` the server gave, and once more when the
    API answers 401 (the request is then sent again with the new token).
    """

    requires_response_body = True

    def __init__(self, token_url: str, client_id: str, client_secret: str | Secret, *,
                 scopes: Sequence[str] | None = None, extra_params: dict[str, str] | None = None,
                 default_expires_in: float = 3600.0, expiry_margin: float = 30.0) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = Secret(client_secret)
        self.scopes = tuple(scopes or ())
        self.extra_params = dict(extra_params or {})
        self.default_expires_in = default_expires_in
        self.expiry_margin = expiry_margin
        self._token: Secret | None = None
        self._expires_at = 0.0
        self.secrets = (self.client_secret,)

    @property
    def secrets_now(self) -> tuple[str, ...]:
        """The client secret and the current access token."""
        return self.secrets + ((self._token,) if self._token else ())

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials", **self.extra_params}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return httpx.Request("POST", self.token_url, data=form,
                             headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})

    def _store(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise HTTPStatusError(redact_url(self.token_url), response.status_code, response.text[:200], "POST")
        try:
            body: Any = response.json()
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise ResponseFormatError("no access_token in the token response", redact_url(self.token_url)) from None
        self._token = Secret(token)
        expires_in = float(body.get("expires_in") or self.default_expires_in)
        self._expires_at = time.monotonic() + expires_in - self.expiry_margin
        logger.debug("OAuth2 token fetched from %s, valid for %.0f s", self.token_url, expires_in)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None or time.monotonic() >= self._expires_at:
            self._store((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            logger.info("HTTP 401 from the API: fetching a new OAuth2 token from %s", self.token_url)
            self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"


class _CallableAuth(httpx.Auth):
    """A plain callable that edits the request, as an :class:`httpx.Auth`."""

    def __init__(self, edit: Callable[[httpx.Request], httpx.Request | None]) -> None:
        self.edit = edit

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.edit(request) or request


def as_auth(auth: httpx.Auth | Callable[[httpx.Request], httpx.Request | None] | None) -> httpx.Auth | None:
    """Normalize what ``auth=`` accepts to one :class:`httpx.Auth` (or None)."""
    if auth is None or isinstance(auth, httpx.Auth):
        return auth
    if callable(auth):
        return _CallableAuth(auth)
    raise TypeError(f"auth must be an httpx.Auth or a callable that edits the request, not {type(auth).__name__}")


def secrets_of(auth: httpx.Auth | None) -> tuple[str, ...]:
    """The values to redact for ``auth``: what a built-in auth holds, nothing for others."""
    if isinstance(auth, OAuth2ClientCredentials):
        return auth.secrets_now
    return auth.secrets if isinstance(auth, SecretAuth) else ()


bearer = BearerAuth
api_key = APIKeyAuth
http_basic = HTTPBasicAuth
oauth2_client_credentials = OAuth2ClientCredentials
