"""REST API toolkit: declarative sources (``rest_api_source``) on a :class:`RESTClient` with auth,
paginators, retries and clear errors. See docs/rest_api.md.

>>> from sources.rest_api import rest_api_source
>>> source = rest_api_source({"client": {"base_url": "https://api.example.com/v1/"}, "resources": [
...     "users", {"name": "posts", "endpoint": "users/{resources.users.id}/posts"}]})
>>> list(source.resources)
['users', 'posts']
"""

from dataload.helpers.retry import RetryConfig
from sources.rest_api.auth import (
    APIKeyAuth,
    BearerAuth,
    HTTPBasicAuth,
    OAuth2ClientCredentials,
    api_key,
    bearer,
    http_basic,
    oauth2_client_credentials,
)
from sources.rest_api.client import RESTClient
from sources.rest_api.errors import (
    HTTPStatusError,
    PaginatorError,
    ResponseFormatError,
    ResponseLimitError,
    RESTConnectionError,
    RESTError,
)
from sources.rest_api.limits import ResponseLimits
from sources.rest_api.openapi import openapi_config
from sources.rest_api.pages import Page
from sources.rest_api.paginators import (
    BasePaginator,
    CursorPaginator,
    HeaderCursorPaginator,
    HeaderLinkPaginator,
    JSONLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    SinglePagePaginator,
    cursor,
    detect_paginator,
    header_cursor,
    header_link,
    json_link,
    offset,
    page_number,
    single_page,
)
from sources.rest_api.resources import rest_api_resources, rest_api_source

__all__ = [
    "APIKeyAuth", "BasePaginator", "BearerAuth", "CursorPaginator", "HTTPBasicAuth", "HTTPStatusError",
    "HeaderCursorPaginator", "HeaderLinkPaginator", "JSONLinkPaginator", "OAuth2ClientCredentials",
    "OffsetPaginator", "Page", "PageNumberPaginator", "PageRequest", "PaginatorError", "RESTClient",
    "RESTConnectionError", "RESTError", "ResponseFormatError", "ResponseLimitError", "ResponseLimits",
    "RetryConfig", "SinglePagePaginator",
    "api_key", "bearer", "cursor", "detect_paginator", "header_cursor", "header_link", "http_basic",
    "json_link", "offset", "oauth2_client_credentials", "openapi_config", "page_number", "rest_api_resources",
    "rest_api_source", "single_page",
]
