"""``sources.stripe`` against the Stripe replay: values read back from DuckDB (and PostgreSQL) equal the fixtures."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from stripe_api import StripeAPI

import dataload
from sources.stripe import stripe_account, stripe_config
from tests.sources.readback import Readback

API_KEY = "sk_test_51ReplayKey0123456789abcdefXYZ"


@pytest.fixture
def api(httpserver: HTTPServer) -> StripeAPI:
    return StripeAPI(api_key=API_KEY).serve(httpserver)


@pytest.fixture
def warehouse(make_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> Readback:
    return Readback(make_pipeline("stripe", dataset_name=f"stripe_{uuid.uuid4().hex[:8]}"), tmp_path / "stripe.duckdb")


@pytest.fixture
def sql_warehouse(sql_pipeline: Callable[..., dataload.Pipeline], tmp_path: Path) -> Readback:
    """On DuckDB and on PostgreSQL (conftest's ``sql_pipeline``: a unique schema, dropped after)."""
    return Readback(sql_pipeline("stripe"), tmp_path / "stripe.duckdb")


def load(warehouse: Readback, api: StripeAPI, **options: Any) -> dataload.LoadInfo:
    """Run ``stripe_account`` on the replay, with the key and two objects a page unless told otherwise."""
    options.setdefault("api_key", API_KEY)
    options.setdefault("limit", 2)  # every list takes several pages
    return warehouse.pipe.run(stripe_account(base_url=api.base_url, **options))


CUSTOMERS_SQL = ("SELECT id, name, email, created, balance, delinquent, address__country, metadata__crm_id "
                 "FROM customers ORDER BY id")
EVENTS_SQL = "SELECT id, type, created, data__object__id FROM events ORDER BY id"


def _customer_row(customer: dict[str, Any]) -> tuple[Any, ...]:
    return (customer["id"], customer["name"], customer["email"], customer["created"], customer["balance"],
            customer["delinquent"], customer["address"]["country"], customer["metadata"].get("crm_id"))


def _event_row(event: dict[str, Any]) -> tuple[Any, ...]:
    return event["id"], event["type"], event["created"], event["data"]["object"]["id"]


def test_full_load_reads_back_every_fixture_object(api: StripeAPI, warehouse: Readback) -> None:
    load(warehouse, api)

    assert warehouse.tables() == {"customers", "customers__preferred_locales", "invoices", "invoice_lines", "events"}
    assert warehouse.query(CUSTOMERS_SQL) == sorted(map(_customer_row, api.customers))
    assert warehouse.query("SELECT id, customer, status, total, amount_paid, number, status_transitions__paid_at "
                           "FROM invoices ORDER BY id") == sorted(
        (i["id"], i["customer"], i["status"], i["total"], i["amount_paid"], i["number"],
         i["status_transitions"]["paid_at"]) for i in api.invoices)
    assert warehouse.query("SELECT id, _invoices_id, invoice, amount, quantity, description, price__unit_amount "
                           "FROM invoice_lines ORDER BY id") == sorted(
        (line["id"], invoice, line["invoice"], line["amount"], line["quantity"], line["description"],
         line["price"]["unit_amount"]) for invoice, lines in api.lines.items() for line in lines)
    assert warehouse.query(EVENTS_SQL) == sorted(map(_event_row, api.events))


def test_invoices_leave_their_embedded_lines_to_invoice_lines(api: StripeAPI, warehouse: Readback) -> None:
    load(warehouse, api, items=("invoices", "invoice_lines"))

    assert not [name for name in warehouse.columns("invoices") if name.startswith("lines")]
    assert warehouse.tables() == {"invoices", "invoice_lines"}
    per_invoice = dict(warehouse.query("SELECT _invoices_id, count(*) FROM invoice_lines GROUP BY _invoices_id"))
    assert per_invoice == {i["id"]: i["lines"]["total_count"] for i in api.invoices if i["lines"]["total_count"]}


def test_every_page_is_followed_with_starting_after_the_last_id(api: StripeAPI, warehouse: Readback) -> None:
    load(warehouse, api, items=("customers",), limit=2)

    newest_first = [c["id"] for c in sorted(api.customers, key=lambda c: (c["created"], c["id"]), reverse=True)]
    sent = [seen.params.get("starting_after") for seen in api.seen("/v1/customers")]
    assert sent == [None, newest_first[1], newest_first[3], newest_first[5]]  # 7 customers, 2 a page
    assert {seen.params["limit"] for seen in api.seen("/v1/customers")} == {"2"}
    assert warehouse.query("SELECT count(*) FROM customers") == [(len(api.customers),)]


def test_child_lists_page_too(api: StripeAPI, warehouse: Readback) -> None:
    load(warehouse, api, items=("invoices", "invoice_lines"), limit=2)

    longest = max(api.invoices, key=lambda i: i["lines"]["total_count"])
    pages = api.seen(f"/v1/invoices/{longest['id']}/lines")
    lines = [line["id"] for line in api.lines[longest["id"]]]
    assert [seen.params.get("starting_after") for seen in pages] == [None, lines[1], lines[3]]  # 5 lines
    assert [i for (i,) in warehouse.query(f"SELECT id FROM invoice_lines WHERE _invoices_id = '{longest['id']}' "
                                          "ORDER BY id")] == sorted(lines)


def test_second_run_asks_for_events_since_the_last_created_and_adds_only_new_ones(api: StripeAPI,
                                                                                sql_warehouse: Readback) -> None:
    warehouse = sql_warehouse
    load(warehouse, api, items=("events",))
    last_created = max(e["created"] for e in api.events)
    first_run_requests = len(api.requests)

    same_second = {**copy.deepcopy(api.events[0]), "id": "evt_1SameSecondAsTheLastOne0", "created": last_created,
                   "type": "customer.updated"}
    later = {**copy.deepcopy(api.events[1]), "id": "evt_1ALaterEvent000000000000", "created": last_created + 60}
    api.events += [same_second, later]
    load(warehouse, api, items=("events",))

    second_run = [seen for seen in api.requests[first_run_requests:] if seen.path == "/v1/events"]
    assert second_run[0].params["created[gte]"] == str(last_created)
    assert {seen.params["created[gte]"] for seen in api.seen("/v1/events")[:1]} == {"0"}  # the first run: all
    assert warehouse.query(EVENTS_SQL) == sorted(map(_event_row, api.events))


def test_customers_are_replaced_so_changes_and_deletions_show(api: StripeAPI, warehouse: Readback) -> None:
    load(warehouse, api, items=("customers",))
    removed = api.customers.pop(3)
    api.customers[0]["email"] = "jenny.rosen@example.org"
    load(warehouse, api, items=("customers",))

    assert warehouse.query(CUSTOMERS_SQL) == sorted(map(_customer_row, api.customers))
    assert warehouse.query(f"SELECT count(*) FROM customers WHERE id = '{removed['id']}'") == [(0,)]


def test_the_key_is_sent_as_a_bearer_token_with_the_api_version(api: StripeAPI, warehouse: Readback) -> None:
    load(warehouse, api, items=("customers",))

    assert {(seen.headers.get("Authorization"), seen.headers.get("Stripe-Version")) for seen in api.requests} == {
        (f"Bearer {API_KEY}", "2024-06-20")}


def test_a_rejected_key_is_an_error_naming_the_url_and_status_not_the_key(api: StripeAPI,
                                                                          warehouse: Readback) -> None:
    wrong = "sk_test_51WrongKey9876543210zyxwvuTSR"
    with pytest.raises(dataload.ResourceError) as raised:
        load(warehouse, api, api_key=wrong, items=("customers",))

    message = str(raised.value)
    assert raised.value.resource == "customers"
    assert "401" in message and "/v1/customers" in message and "Invalid API Key provided" in message
    assert wrong not in message


def test_the_key_resolves_under_sources_stripe(api: StripeAPI, warehouse: Readback,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__STRIPE__API_KEY", API_KEY)

    warehouse.pipe.run(stripe_account(base_url=api.base_url, items=("customers",)))

    assert warehouse.query("SELECT count(*) FROM customers") == [(len(api.customers),)]


@pytest.mark.parametrize("items, problem", [
    (("customers", "charges"), r"unknown items \['charges'\]: choose from customers, invoices, invoice_lines, events"),
    (("invoice_lines",), "invoice_lines are read per invoice: add 'invoices' to items"),
])
def test_wrong_items_are_refused_before_any_request(items: tuple[str, ...], problem: str) -> None:
    with pytest.raises(dataload.InvalidConfig, match=problem):
        stripe_config(API_KEY, items=items)
