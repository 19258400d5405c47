"""W8: a REST API -- pages of records plus dependent detail requests from a local HTTP server -> DuckDB.

Input: W1's ``rows`` flat records (12 columns) with a small nested dict ``shipping``
(``carrier``, ``weight_kg``), served in pages of 500, and a detail record (``item_id``, a
``summary`` of 10-30 characters, a ``rating``, a ``reviews`` count) for every 50th record. The
"API":

* ``GET /items?page=N`` -> ``{"page": N, "next": N + 1 or null on the last page, "items": [...]}``
* ``GET /items/{id}/detail`` -> the detail record of item ``id`` (ids divisible by 50)

The response bodies are rendered once when the input is built and cached next to it
(``W8-<rows>-...-bodies.pickle``); the measured process only gets their path and the counts.

* server (untimed, both sides; ``serve``): ``_http_server.py`` in a process of its own, bound
  to a free port of 127.0.0.1, started before the timed run and stopped after it.
* ours: a ``rest_api_source`` config: the resource ``items`` pages through ``/items`` with a
  ``cursor`` paginator (``next`` sent back as ``page`` until it is null), and ``item_details``,
  a dependent resource on ``items/{resources.items.id}/detail`` with a ``parent_filter`` for
  every 50th item; its requests run concurrently (8 at once) on httpx's async client.
* reference: the same requests in the same order with one plain ``httpx.Client`` loop, the
  page records and the detail records written as two JSONL files, nothing else.

``rows`` counts the page records; the detail records (``rows / 50``, as many requests) come on
top. Verification: ours' tables hold every record and every detail once (count and sum of the
ids) with their columns; the reference's files hold as many lines.
"""

from __future__ import annotations

import json
import math
import pickle
import random
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Callable

from . import CACHE_DIR, VerificationError, Workload, w1
from ._common import DATASET, check_rows_and_columns, pipeline, query_ours
from ._http_server import http_server

PAGE_SIZE = 500
DETAIL_EVERY = 50  # every 50th record (by id) has a detail request
INPUT_VERSION = 1
ITEMS = "items"
DETAILS = "item_details"
ITEM_COLUMNS = (*w1.COLUMNS, "shipping__carrier", "shipping__weight_kg")
DETAIL_COLUMNS = ("item_id", "summary", "rating", "reviews")
_CARRIERS = ("DHL", "UPS", "FedEx", "Posten", "PostNord", "GLS", "DPD")


def bodies_path(rows: int, seed: int) -> Path:
    """Where the server's response bodies for this input are cached."""
    return CACHE_DIR / "inputs" / f"W8-{rows}-seed{seed}-v{INPUT_VERSION}-bodies.pickle"


def _records(rows: int, seed: int) -> list[dict[str, Any]]:
    """W1's records, each with a nested ``shipping`` dict."""
    rng = random.Random(seed + 8)
    records = w1.build_input(rows, seed)
    for record in records:
        record["shipping"] = {"carrier": rng.choice(_CARRIERS), "weight_kg": round(rng.uniform(0.1, 30.0), 2)}
    return records


def _page_bodies(records: list[dict[str, Any]]) -> dict[str, bytes]:
    """``/items?page=N`` -> its JSON body, pages of :data:`PAGE_SIZE` numbered from 1."""
    pages = math.ceil(len(records) / PAGE_SIZE)
    bodies = {}
    for page in range(1, pages + 1):
        body = {"page": page, "next": page + 1 if page < pages else None,
                "items": records[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]}
        bodies[f"/items?page={page}"] = json.dumps(body).encode()
    return bodies


def _detail_bodies(rows: int, seed: int) -> dict[str, bytes]:
    """``/items/{id}/detail`` -> its JSON body, for every id divisible by :data:`DETAIL_EVERY`."""
    rng = random.Random(seed + 88)
    bodies = {}
    for item_id in range(DETAIL_EVERY, rows + 1, DETAIL_EVERY):
        detail = {"item_id": item_id, "summary": w1._text(rng), "rating": round(rng.uniform(1.0, 5.0), 1),
                  "reviews": rng.randint(0, 5_000)}
        bodies[f"/items/{item_id}/detail"] = json.dumps(detail).encode()
    return bodies


def _write_bodies(bodies: dict[str, bytes], path: Path) -> None:
    """Pickle the bodies to ``path`` (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pickle.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(bodies, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def build_input(rows: int, seed: int) -> dict[str, Any]:
    """Render and cache the server's bodies; the input is their path and the expected counts."""
    path = bodies_path(rows, seed)
    _write_bodies({**_page_bodies(_records(rows, seed)), **_detail_bodies(rows, seed)}, path)
    return {"bodies": str(path), "rows": rows, "details": rows // DETAIL_EVERY}


@contextmanager
def serve(inp: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The HTTP server for this input, in its own process; the run gets its URL as ``inp["url"]``."""
    with http_server(Path(inp["bodies"])) as url:
        yield {**inp, "url": url}


def _has_detail(item: dict[str, Any]) -> bool:
    """Every 50th item (by id) has a detail."""
    return bool(item["id"] % DETAIL_EVERY == 0)


def _items_api(url: str) -> Any:
    """Ours, as a user writes it: a ``rest_api_source`` config with the paged items and, as a dependent
    resource, the detail of every 50th item."""
    from sources.rest_api import rest_api_source

    return rest_api_source({
        "client": {"base_url": url, "paginator": {"type": "cursor", "cursor_path": "next", "cursor_param": "page"}},
        "resources": [
            {"name": ITEMS, "endpoint": {"path": "items", "params": {"page": 1}, "data_selector": "items"}},
            {"name": DETAILS, "parent_filter": _has_detail,
             "endpoint": {"path": "items/{resources.items.id}/detail", "paginator": "single_page"}},
        ],
    }, name="items_api")


def run_ours(inp: dict[str, Any], workdir: Path) -> Any:
    """Run the source through a dataload pipeline into DuckDB; returns the pipeline."""
    pipe = pipeline("bench_w8", workdir)
    pipe.run(_items_api(inp["url"]))
    return pipe


def run_reference(inp: dict[str, Any], workdir: Path) -> tuple[Path, Path]:
    """The same requests with a plain httpx loop, written as JSONL; returns the two files."""
    import httpx

    items_path, details_path = workdir / f"{ITEMS}.jsonl", workdir / f"{DETAILS}.jsonl"
    with (httpx.Client(base_url=inp["url"]) as client, open(items_path, "w", encoding="utf-8") as items,
          open(details_path, "w", encoding="utf-8") as details):
        page = 1
        while page is not None:
            body = client.get("/items", params={"page": page}).json()
            for record in body["items"]:
                items.write(json.dumps(record) + "\n")
                if record["id"] % DETAIL_EVERY == 0:
                    details.write(json.dumps(client.get(f"/items/{record['id']}/detail").json()) + "\n")
            page = body["next"]
    return items_path, details_path


def _sum_to(n: int) -> int:
    """1 + 2 + ... + n."""
    return n * (n + 1) // 2


def _verify_ours(query: Callable[[str], list[tuple]], rows: int, details: int) -> None:
    """Every record and every detail once, with their columns (count and sum of the ids)."""
    check_rows_and_columns("W8 ours", query, ITEMS, rows, ITEM_COLUMNS)
    check_rows_and_columns("W8 ours", query, DETAILS, details, DETAIL_COLUMNS)
    sums = query(f'SELECT (SELECT sum(id) FROM "{DATASET}"."{ITEMS}"), '
                 f'(SELECT sum(item_id) FROM "{DATASET}"."{DETAILS}")')[0]
    expected = (_sum_to(rows), DETAIL_EVERY * _sum_to(details))
    if sums != expected:
        raise VerificationError(f"W8 ours: sums of the ids {sums}, expected {expected}")


def _line_count(path: Path) -> int:
    """Lines in a text file."""
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def verify(mode: str, inp: dict[str, Any], workdir: Path, handle: Any) -> int:
    """Ours: the tables (see :func:`_verify_ours`); the reference: the line counts of its two files."""
    rows, details = inp["rows"], inp["details"]
    if mode == "ours":
        _verify_ours(partial(query_ours, handle), rows, details)
        return rows
    found = tuple(_line_count(path) for path in handle)
    if found != (rows, details):
        raise VerificationError(f"W8 reference: {found} lines in {ITEMS}.jsonl and {DETAILS}.jsonl, "
                                f"expected {(rows, details)}")
    return rows


WORKLOAD = Workload(
    name="W8",
    title="REST: pages of 500 records + every 50th record's detail from a local HTTP server -> DuckDB",
    default_rows=1_000_000,
    quick_rows=50_000,
    build_input=build_input,
    run_ours=run_ours,
    run_reference=run_reference,
    verify=verify,
    input_version=INPUT_VERSION,
    serve=serve,
    preload=("httpx",),
    note="rows = page records (pages of 500); on top, rows / 50 detail records, one request each",
)
