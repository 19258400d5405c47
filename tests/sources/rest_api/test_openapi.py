"""openapi_config on real-size documents (a petstore-like and a GitHub-like API), guesses as truth tables, errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from dataload import InvalidConfig
from sources.rest_api import openapi_config, rest_api_source
from sources.rest_api.openapi_guess import auth_config, guess_paginator, primary_key

SPECS = Path(__file__).resolve().parents[2] / "data" / "openapi"


def _by_name(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {resource["name"]: resource for resource in config["resources"]}


def test_petstore_config_every_pagination_style_and_nested_dependents() -> None:
    config = openapi_config(SPECS / "petstore.yaml")
    assert config == {
        "client": {"base_url": "https://eu.petstore.example.com/v2",  # server variable at its default
                   "auth": {"type": "api_key", "name": "X-API-Key", "value": "<sources.swagger_petstore.api_key>",
                            "location": "header"}},
        "resources": [
            {"name": "owners", "endpoint": {
                "path": "owners", "params": {"per_page": 200},
                "paginator": {"type": "page_number", "page_param": "page", "base_page": 1,
                              "total_path": "meta.total_pages"},
                "data_selector": "owners"}, "primary_key": "owner_id", "write_disposition": "merge"},
            {"name": "owners_pets", "endpoint": {
                "path": "owners/{resources.owners.owner_id}/pets", "paginator": {"type": "single_page"}},
             "primary_key": "id", "write_disposition": "merge", "include_from_parent": ["owner_id"]},
            {"name": "pets", "endpoint": {
                "path": "pets",
                "paginator": {"type": "offset", "limit": 100, "offset_param": "offset", "limit_param": "limit",
                              "total_path": "total"},
                "data_selector": "items"}, "primary_key": "id", "write_disposition": "merge"},
            {"name": "visits", "endpoint": {
                "path": "pets/{resources.pets.id}/visits", "params": {"page_size": 50},
                "paginator": {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor",
                              "has_more_path": "has_more"},
                "data_selector": "data"}, "primary_key": "visit_id", "write_disposition": "merge",
             "include_from_parent": ["id"]},
            {"name": "stores", "endpoint": {
                "path": "stores", "paginator": {"type": "json_link", "next_url_path": "next"},
                "data_selector": "results"}, "primary_key": "id", "write_disposition": "merge"},
            {"name": "orders", "endpoint": {
                "path": "stores/{resources.stores.id}/orders", "params": {"status": "placed"},  # required: first enum
                "paginator": {"type": "single_page"}},
             "primary_key": "id", "write_disposition": "merge", "include_from_parent": ["id"]},
            {"name": "lines", "endpoint": {  # a grandchild: the store id comes through the orders' rows
                "path": "stores/{resources.orders._stores_id}/orders/{resources.orders.id}/lines",
                "paginator": {"type": "single_page"}},
             "write_disposition": "replace", "include_from_parent": ["id"]},
        ],
    }


def test_github_config(caplog: pytest.LogCaptureFixture) -> None:
    spec = yaml.safe_load((SPECS / "github.yaml").read_text())
    assert len(spec["paths"]) >= 15
    with caplog.at_level(logging.INFO, logger="sources.rest_api"):
        config = openapi_config(spec)
    resources = _by_name(config)
    assert config["client"] == {"base_url": "https://api.github.com",
                                "auth": {"type": "bearer", "token": "<sources.github_v3_rest_api.token>"}}
    assert list(resources) == [
        "members", "orgs_repos", "repos_commits", "contributors", "repos_issues", "comments",
        "repos_issues_reactions", "labels", "pulls", "repos_pulls_commits", "releases", "stargazers",
        "search_issues", "user_repos", "users", "users_repos"]
    # the Link header documented through components/headers wins; per_page at its documented maximum
    assert {json.dumps(r["endpoint"]["paginator"]) for r in resources.values()} == {'{"type": "header_link"}'}
    assert all(r["endpoint"]["params"]["per_page"] == 100 for r in resources.values())
    assert resources["repos_issues"]["endpoint"]["path"] == "repos/octocat/Hello-World/issues"  # path examples
    assert resources["comments"] == {
        "name": "comments", "endpoint": {
            "path": "repos/octocat/Hello-World/issues/{resources.repos_issues.number}/comments",
            "params": {"per_page": 100}, "paginator": {"type": "header_link"}},
        "primary_key": "id", "write_disposition": "merge", "include_from_parent": ["number"]}
    assert resources["repos_pulls_commits"]["endpoint"]["path"].endswith("pulls/{resources.pulls.number}/commits")
    # an allOf item in an envelope with a required query parameter taken from its example
    assert resources["search_issues"]["endpoint"] == {
        "path": "search/issues", "params": {"per_page": 100, "q": "repo:octocat/Hello-World is:open"},
        "paginator": {"type": "header_link"}, "data_selector": "items"}
    assert resources["search_issues"]["primary_key"] == "id"
    # a commit has a sha, no id: nothing to merge on, so the table is replaced
    commits = resources["repos_commits"]
    assert "primary_key" not in commits and commits["write_disposition"] == "replace"
    # username is no key of /users' items (a display name is not a handle): the example is used
    assert resources["users_repos"]["endpoint"]["path"] == "users/octocat/repos"
    left_out = sorted(r.getMessage().split(" left out")[0] for r in caplog.records if "left out" in r.getMessage())
    assert left_out == ["GET /rate_limit", "GET /repos/{owner}/{repo}", "GET /repos/{owner}/{repo}/issues/comments/"
                        "{comment_id}/reactions", "GET /repos/{owner}/{repo}/issues/{issue_number}", "GET /user",
                        "GET /users/{username}"]


@pytest.mark.parametrize("spec", ["petstore.yaml", "github.yaml"])
def test_the_generated_configs_pass_rest_api_source_validation(spec: str) -> None:
    config = openapi_config(SPECS / spec)
    source = rest_api_source(config)  # validated before any request: no server needed
    assert list(source.resources) == [resource["name"] for resource in config["resources"]]


def test_output_is_the_same_for_a_dict_a_yaml_file_and_a_json_file(tmp_path: Path) -> None:
    spec = yaml.safe_load((SPECS / "github.yaml").read_text())
    as_json = tmp_path / "github.json"
    as_json.write_text(json.dumps(spec))
    from_yaml = openapi_config(SPECS / "github.yaml")
    assert openapi_config(spec) == from_yaml == openapi_config(str(as_json))
    assert json.dumps(openapi_config(spec)) == json.dumps(from_yaml)  # same order of keys and resources


def test_a_ref_into_another_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "schemas.yaml").write_text(yaml.safe_dump({"Book": {"allOf": [
        {"$ref": "#/Base"}, {"properties": {"title": {"type": "string"}}}]}, "Base": {"properties": {"isbn": {}}}}))
    (tmp_path / "api.yaml").write_text(yaml.safe_dump({
        "openapi": "3.1.0", "info": {"title": "Books"}, "servers": [{"url": "http://books.test"}],
        "paths": {"/books": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"type": ["array", "null"], "items": {"$ref": "schemas.yaml#/Book"}}}}}}}}}}))
    (resource,) = openapi_config(tmp_path / "api.yaml")["resources"]
    assert resource == {"name": "books", "endpoint": {"path": "books", "paginator": {"type": "single_page"}},
                        "write_disposition": "replace"}
    (tmp_path / "api.yaml").write_text((tmp_path / "api.yaml").read_text().replace("#/Book", "#/Bok"))
    with pytest.raises(InvalidConfig, match=r"\$ref 'schemas.yaml#/Bok' at paths./books.get.responses\[\] points"):
        openapi_config(tmp_path / "api.yaml")


def test_base_url_wins_and_is_needed_for_a_relative_server() -> None:
    spec = {"openapi": "3.0.0", "servers": [{"url": "/api/v1"}], "paths": {}}
    assert openapi_config(spec, base_url="http://127.0.0.1:8000/api/v1") == {
        "client": {"base_url": "http://127.0.0.1:8000/api/v1"}, "resources": []}
    with pytest.raises(InvalidConfig, match="server URL is '/api/v1', not an absolute URL: pass base_url="):
        openapi_config(spec)


@pytest.mark.parametrize("spec, message", [
    ({"swagger": "2.0", "paths": {}}, "reads OpenAPI 3 documents, this one is Swagger 2.0: convert it"),
    ({"openapi": "3.0.0"}, "has no 'paths' object"),
    ({"openapi": "3.0.0", "paths": {"/a": {"get": {"responses": {"200": {"$ref": "#/components/responses/Nope"}}}}}},
     r"\$ref '#/components/responses/Nope' at paths./a.get.responses.200 points to nothing"),
    ("missing/spec.yaml", "cannot read the OpenAPI document 'missing/spec.yaml'"),
    ({"openapi": "3.0.0", "components": {"schemas": {"A": {"allOf": [{"$ref": "#/components/schemas/A"}]}}},
      "paths": {"/a": {"get": {"responses": {"200": {"description": "", "content": {"application/json": {
          "schema": {"$ref": "#/components/schemas/A"}}}}}}}}}, "allOf/anyOf nest more than 32 levels"),
])
def test_unusable_documents_are_errors_that_say_why(spec: Any, message: str) -> None:
    with pytest.raises(InvalidConfig, match=message):
        openapi_config(spec, base_url="http://h")


def test_a_file_that_is_not_yaml_is_an_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "api.yaml"
    bad.write_text("openapi: [3.0\n")
    with pytest.raises(InvalidConfig, match=rf"the OpenAPI document '{bad}' is not valid YAML"):
        openapi_config(bad)


INTEGER, STRING, BOOLEAN = {"type": "integer"}, {"type": "string"}, {"type": "boolean"}


def _body(**fields: Any) -> dict[str, Any]:
    return {"type": "object", "properties": fields}


@pytest.mark.parametrize("params, body, headers, expected", [
    ({"page": {}, "per_page": {"default": 30, "maximum": 100}}, _body(), ("Link",),
     ({"type": "header_link"}, {"per_page": 100})),
    ({"cursor": {}, "limit": {"default": 10}}, _body(meta=_body(next_cursor=STRING)), (),
     ({"type": "cursor", "cursor_path": "meta.next_cursor", "cursor_param": "cursor"}, {"limit": 10})),
    ({"pageToken": {}}, _body(nextPageToken=STRING), (),
     ({"type": "cursor", "cursor_path": "nextPageToken", "cursor_param": "pageToken"}, {})),
    ({"after": {}}, _body(), ("X-Next-Cursor",),
     ({"type": "header_cursor", "cursor_header": "X-Next-Cursor", "cursor_param": "after"}, {})),
    ({}, _body(links=_body(next=STRING), has_more=BOOLEAN), (),
     ({"type": "json_link", "next_url_path": "links.next", "has_more_path": "has_more"}, {})),
    ({}, _body(_links=_body(next=_body(href=STRING))), (),
     ({"type": "json_link", "next_url_path": "_links.next.href"}, {})),
    ({"offset": {}, "limit": {"maximum": 500}}, _body(total_count=INTEGER), (),
     ({"type": "offset", "limit": 500, "offset_param": "offset", "limit_param": "limit",
       "total_path": "total_count"}, {})),
    ({"skip": {}, "top": {}}, _body(), (),
     ({"type": "offset", "limit": 100, "offset_param": "skip", "limit_param": "top"}, {})),
    ({"page": {"minimum": 0}, "pageSize": {"default": 50}}, _body(totalPages=INTEGER), (),
     ({"type": "page_number", "page_param": "page", "base_page": 0, "total_path": "totalPages"}, {"pageSize": 50})),
    ({"page": {}}, _body(total=INTEGER), (),  # a total of items is no page count
     ({"type": "page_number", "page_param": "page", "base_page": 1}, {})),
    ({"offset": {}}, _body(), (), ({"type": "single_page"}, {})),  # an offset without a page size cannot page
    ({"q": {}}, _body(), (), ({"type": "single_page"}, {})),
])
def test_guess_paginator(params: dict[str, Any], body: dict[str, Any], headers: tuple[str, ...],
                         expected: tuple[dict[str, Any], dict[str, Any]]) -> None:
    assert guess_paginator(params, body, headers) == expected


@pytest.mark.parametrize("fields, singular, expected", [
    ({"name": STRING, "id": INTEGER}, "pet", "id"),
    ({"uuid": STRING, "owner_id": STRING}, "pet", "uuid"),
    ({"petId": INTEGER, "name": STRING}, "pet", "petId"),
    ({"user_id": INTEGER, "post_id": INTEGER}, "post", "post_id"),  # a foreign key is not the key
    ({"user_id": INTEGER, "body": STRING}, "comment", None),
    ({"id": _body(value=INTEGER), "sha": STRING}, "commit", None),  # an object is no key
])
def test_primary_key(fields: dict[str, Any], singular: str, expected: str | None) -> None:
    assert primary_key(fields, singular) == expected


@pytest.mark.parametrize("schemes, security, expected", [
    ({"basic": {"type": "http", "scheme": "Basic"}}, None,
     {"type": "http_basic", "username": "<sources.x.username>", "password": "<sources.x.password>"}),
    ({"oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://h/token",
                                                                  "scopes": {"write": "", "read": ""}}}}}, None,
     {"type": "oauth2_client_credentials", "token_url": "https://h/token", "client_id": "<sources.x.client_id>",
      "client_secret": "<sources.x.client_secret>", "scopes": ["read", "write"]}),
    ({"oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://h/.well-known"}}, None,
     {"type": "bearer", "token": "<sources.x.token>"}),
    ({"a_key": {"type": "apiKey", "in": "cookie", "name": "sid"}, "b_bearer": {"type": "http", "scheme": "bearer"}},
     [{"b_bearer": []}], {"type": "bearer", "token": "<sources.x.token>"}),  # the required one, not the first
    ({}, None, None),
])
def test_auth_from_security_schemes(schemes: dict[str, Any], security: Any, expected: Any) -> None:
    document = {"components": {"securitySchemes": schemes}, **({"security": security} if security else {})}
    assert auth_config(document, "sources.x") == expected
