"""Stripe: customers, invoices with their line items, and events, paged by ``starting_after`` cursors.

Stripe lists are pages of at most 100 objects, newest first: ``has_more`` says whether another
page follows, and the next page is asked for with ``starting_after=<id of the last object>``.
:func:`stripe_account` is the source; :func:`stripe_config` is the ``rest_api_source`` config it is
built from.

>>> config = stripe_config("sk_test_...", items=("customers",))
>>> [resource["name"] for resource in config["resources"]], config["client"]["paginator"]["cursor_param"]
(['customers'], 'starting_after')
>>> source = stripe_account()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dataload
from sources.rest_api import rest_api_resources

__all__ = ["API_URL", "API_VERSION", "ITEMS", "stripe_account", "stripe_config"]

API_URL = "https://api.stripe.com/v1"
"""Stripe's API."""
ITEMS = ("customers", "invoices", "invoice_lines", "events")
"""What :func:`stripe_account` can load: its tables."""
API_VERSION = "2024-06-20"
"""The Stripe API version requested (``Stripe-Version`` header): the shape of the objects loaded."""


@dataload.source(name="stripe")
def stripe_account(api_key: str = dataload.secrets.value, *, base_url: str = API_URL,
                   items: Sequence[str] = ITEMS, limit: int = 100, events_since: int = 0) -> list[dataload.Resource]:
    """The Stripe account of ``api_key`` (config key ``sources.stripe.api_key``; a restricted read-only key will do).

    ``customers``, ``invoices`` and ``invoice_lines`` (every line item of each invoice, with the
    invoice's id in ``_invoices_id``) are read whole and replace the tables on each run, so changed
    and deleted objects are right. ``events`` (Stripe keeps them 30 days) are merged on ``id`` and
    loaded incrementally by ``created``: each run asks for those created at or after the last one
    seen, starting at ``events_since`` (Unix seconds). An invoice's embedded first page of
    ``lines`` is left out of ``invoices``: ``invoice_lines`` holds them all. ``limit`` is the page
    size (at most 100). The key goes to ``base_url``'s host only, as a bearer token.
    """
    return rest_api_resources(stripe_config(api_key, base_url=base_url, items=items, limit=limit,
                                            events_since=events_since))


def stripe_config(api_key: str, *, base_url: str = API_URL, items: Sequence[str] = ITEMS, limit: int = 100,
                  events_since: int = 0) -> dict[str, Any]:
    """The ``rest_api_source`` config :func:`stripe_account` builds (same options), as a plain dict to edit."""
    unknown = [item for item in items if item not in ITEMS]
    if unknown:
        raise dataload.InvalidConfig(f"stripe_account: unknown items {unknown}: choose from {', '.join(ITEMS)}")
    if "invoice_lines" in items and "invoices" not in items:
        raise dataload.InvalidConfig("stripe_account: invoice_lines are read per invoice: add 'invoices' to items")
    resources: list[dict[str, Any]] = [
        {"name": "customers", "endpoint": {"path": "customers"}},
        {"name": "invoices", "endpoint": {"path": "invoices"}, "processing_steps": [{"map": _without_lines}]},
        {"name": "invoice_lines", "include_from_parent": ["id"],
         "endpoint": {"path": "invoices/{resources.invoices.id}/lines"}},
        {"name": "events", "write_disposition": "merge", "max_table_nesting": 0, "endpoint": {
            "path": "events",
            "incremental": {"cursor_path": "created", "initial_value": events_since, "start_param": "created[gte]"}}},
    ]
    return {
        "client": {
            "base_url": base_url,
            "auth": {"type": "bearer", "token": api_key},
            "headers": {"Stripe-Version": API_VERSION},
            "paginator": {"type": "cursor", "cursor_path": "data[-1].id", "cursor_param": "starting_after",
                          "has_more_path": "has_more"},
        },
        "resource_defaults": {"primary_key": "id", "write_disposition": "replace",
                              "endpoint": {"params": {"limit": limit}, "data_selector": "data"}},
        "resources": [resource for resource in resources if resource["name"] in items],
    }


def _without_lines(invoice: dict[str, Any]) -> dict[str, Any]:
    """The invoice without its embedded first page of line items (``invoice_lines`` has them all)."""
    return {key: value for key, value in invoice.items() if key != "lines"}
