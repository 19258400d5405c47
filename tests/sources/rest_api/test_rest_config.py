"""rest_api config checks: every problem found before any request, named by its key path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import dataload
from sources.rest_api import json_link, rest_api_resources, rest_api_source
from sources.rest_api.config import deep_merge, resource_entries

CLIENT = {"base_url": "http://127.0.0.1:1/api/"}  # nothing listens: a request would fail loudly


def _config(*resources: Any, **top: Any) -> dict[str, Any]:
    return {"client": CLIENT, "resources": list(resources), **top}


@pytest.mark.parametrize("config, message", [
    (_config({"name": "a", "endpoint": {"path": "a", "pagintor": "json_link"}}),
     "resources[0].endpoint.pagintor: unknown key; allowed here: auth, data_selector, headers, incremental, json, "
     "maximum_items, maximum_pages, method, paginator, params, path, response_actions"),
    (_config("users", "orders", {"name": "c", "endpoint": {"paginator": {"type": "jsonlink"}}}),
     "resources[2].endpoint.paginator.type: 'jsonlink' is not allowed; use one of 'auto', 'cursor', 'header_cursor', "
     "'header_link', 'json_link', 'offset', 'page_number', 'single_page'"),
    (_config({"name": "a", "endpoint": {"paginator": {"type": "json_link", "next_path": "x"}}}),
     "resources[0].endpoint.paginator.next_path: unknown key; allowed here: has_more_path, next_url_path, type"),
    (_config({"name": "a", "endpoint": {"paginator": {"type": "offset"}}}),
     "resources[0].endpoint.paginator.limit: missing (required)"),
    (_config({"name": "a", "endpoint": {"paginator": {"type": "offset", "limit": "ten"}}}),
     "resources[0].endpoint.paginator.limit: expected integer, got str 'ten'"),
    (_config("a", client={"base_url": "http://h", "auth": {"type": "oauth2"}}),
     "client.auth.type: 'oauth2' is not allowed; use one of 'api_key', 'bearer', 'http_basic', "
     "'oauth2_client_credentials'"),
    (_config("a", client={"base_url": "http://h", "auth": {"type": "api_key", "name": "k", "value": "v",
                                                           "location": "body"}}),
     "client.auth.location: 'body' is not allowed; use one of 'header', 'query', 'cookie'"),
    (_config("a", client={"base_url": "http://h", "auth": {"type": "bearer"}}),
     "client.auth.token: missing (required)"),
    (_config({"name": "a", "write_disposition": "upsert"}),
     "resources[0].write_disposition: 'upsert' is not allowed; use one of 'append', 'replace', 'merge'"),
    (_config({"name": "a", "primary_key": 3}), "resources[0].primary_key: expected string or array, got int 3"),
    (_config({"endpoint": "a"}), "resources[0].name: missing (required)"),
    (_config({"name": "a", "processing_steps": [{"filter": "not callable"}]}),
     "resources[0].processing_steps[0].filter: expected callable, got str 'not callable'"),
    (_config({"name": "a", "processing_steps": [{"filter": bool, "map": bool}]}),
     "resources[0].processing_steps[0]: give exactly one of filter, map"),
    (_config({"name": "a", "endpoint": {"response_actions": [{"status_code": 404, "action": "skip"}]}}),
     "resources[0].endpoint.response_actions[0].action: 'skip' is not allowed; use one of 'ignore'"),
    (_config({"name": "a", "endpoint": {"incremental": {"initial_value": 1}}}),
     "resources[0].endpoint.incremental.cursor_path: missing (required)"),
    ({"client": CLIENT, "resources": ["a"], "resource_default": {}},
     "resource_default: unknown key; allowed here: client, resource_defaults, resources"),
    ({"resources": ["a"]}, "client: missing (required)"),
    (_config(), "resources: [] should be non-empty"),
    (_config("users", {"name": "posts", "endpoint": "users/{resources.user.id}/posts"}),
     "resources[1].endpoint.path: the placeholder names resource 'user', which is not in the config; "
     "resources: users, posts"),
    (_config({"name": "a", "endpoint": "a/{resources.b.id}"}, {"name": "b", "endpoint": "b/{resources.a.id}"}),
     "resources[0]: dependency cycle a -> b -> a; a resource cannot depend on itself"),
    (_config("a", "a"), "resources[1].name: 'a' is used by an earlier resource too; names must be unique"),
    (_config({"name": "a", "endpoint": {"params": {"since": "{incremental.start_value}"}}}),
     "resources[0].endpoint.params.since: {incremental.start_value} needs an 'incremental' block in the endpoint"),
    (_config({"name": "a", "include_from_parent": ["id"]}),
     "resources[0].include_from_parent: the resource has no parent"),
    (_config({"name": "a", "parent_filter": bool}), "resources[0].parent_filter: the resource has no parent"),
    (_config({"name": "a", "endpoint": {"paginator": {"type": "offset", "limit": 10, "stop_after_empty_page": False}}}),
     "resources[0].endpoint.paginator: OffsetPaginator would never stop"),
    (_config({"name": "a", "endpoint": {"incremental": {"cursor_path": "t", "end_value": 5}}}),
     "resources[0].endpoint.incremental: an incremental with end_value needs an initial_value"),
])
def test_invalid_config_names_the_key_path(config: dict[str, Any], message: str) -> None:
    with pytest.raises(dataload.InvalidConfig) as raised:
        rest_api_source(config)
    assert message in str(raised.value)
    assert any(message in problem for problem in raised.value.errors)


def test_every_problem_is_listed() -> None:
    config = _config({"name": "a", "selected": "yes"}, {"name": "b", "endpoint": {"method": "FETCH"}})
    with pytest.raises(dataload.InvalidConfig, match="2 problems") as raised:
        rest_api_resources(config)
    assert raised.value.errors == ["resources[0].selected: expected boolean, got str 'yes'",
                                   "resources[1].endpoint.method: 'FETCH' is not allowed; use one of 'GET', 'POST', "
                                   "'PUT', 'PATCH', 'DELETE', 'get', 'post', 'put', 'patch', 'delete'"]


def test_errors_do_not_show_values_under_auth_or_headers() -> None:
    config = {"client": {"base_url": "http://h", "auth": "Bearer s3cr3t", "headers": {"X-Key": 12345}},
              "resources": ["a"]}
    with pytest.raises(dataload.InvalidConfig) as raised:
        rest_api_source(config)
    assert raised.value.errors == ["client.auth: expected null or object or auth, got str a value",
                                   "client.headers.X-Key: expected string, got int a value"]


def test_a_config_that_is_not_a_dict() -> None:
    with pytest.raises(dataload.InvalidConfig, match="a rest_api config is a dict with 'client' and 'resources'"):
        rest_api_source(["users"])  # type: ignore[arg-type]


def test_objects_stand_where_dicts_or_names_do() -> None:
    built = dataload.resource([{"id": 1}], name="fixed")
    config = {"client": {"base_url": "http://h", "auth": lambda request: request, "paginator": json_link("next")},
              "resources": ["users", built, {"name": "posts", "endpoint": {"auth": httpx.BasicAuth("u", "p"),
                                                                            "path": "users/{resources.users.id}"},
                                               "table_name": lambda row: "t", "processing_steps": [{"map": dict}]}]}
    assert list(rest_api_source(config).resources) == ["users", "fixed", "posts"]


def test_defaults_merge_deeply_and_entries_win() -> None:
    config = {"client": CLIENT,
              "resource_defaults": {"primary_key": "id", "write_disposition": "merge",
                                    "endpoint": {"params": {"per_page": 100, "state": "all"}}},
              "resources": ["users", {"name": "issues", "write_disposition": "append",
                                      "endpoint": {"path": "repo/issues", "params": {"state": "open"}}}]}
    users, issues = resource_entries(config)
    assert users == {"name": "users", "primary_key": "id", "write_disposition": "merge",
                     "endpoint": {"params": {"per_page": 100, "state": "all"}}}
    assert issues == {"name": "issues", "primary_key": "id", "write_disposition": "append",
                      "endpoint": {"path": "repo/issues", "params": {"per_page": 100, "state": "open"}}}
    users["endpoint"]["params"]["per_page"] = 1
    assert config["resource_defaults"]["endpoint"]["params"]["per_page"] == 100  # type: ignore[index]
    built = {r.name: r for r in rest_api_resources(config)}
    assert built["users"].hints.primary_key == ("id",) and built["issues"].hints.write_disposition.name == "append"


def test_deep_merge_replaces_what_is_not_a_dict() -> None:
    assert deep_merge({"a": [1], "b": {"c": 1}}, {"a": [2], "b": 3}) == {"a": [2], "b": 3}
