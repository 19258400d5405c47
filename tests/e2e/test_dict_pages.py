"""Pages of dicts with Decimal and datetime columns (converted to Arrow a column at a time) come back
from DuckDB and PostgreSQL as the source held them: decimals exact, datetimes the same instants."""

from __future__ import annotations

import datetime
import decimal
import random
from typing import Any
from zoneinfo import ZoneInfo

import dataload

UTC = datetime.timezone.utc
ZONES = [ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), UTC, datetime.timezone(datetime.timedelta(hours=-3))]
AMOUNTS = ["12.30", "-0.005", "7", "0", "-0.000000001", "123456789012345678901.123456789", "99.5"]


def page(rng: random.Random, start: int, size: int) -> list[dict[str, Any]]:
    """Rows whose first columns make the page worth splitting; nulls, missing keys, mixed zones."""
    rows = []
    for i in range(start, start + size):
        wall = datetime.datetime(2024, 3, 31, 0, 0) + datetime.timedelta(minutes=rng.randint(0, 600),
                                                                          microseconds=rng.randint(0, 999_999))
        row: dict[str, Any] = {
            "id": i,
            "amount": None if i % 11 == 0 else decimal.Decimal(rng.choice(AMOUNTS)),
            "at_utc": wall.replace(tzinfo=ZoneInfo("Etc/UTC")),
            "at_india": wall.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))),
            "at_zones": wall.replace(tzinfo=rng.choice(ZONES), fold=rng.randint(0, 1)),
            "naive": None if i % 7 == 0 else wall,
        }
        if i % 3:
            row["note"] = f"row {i}"
        rows.append(row)
    return rows


def instant(value: datetime.datetime | None) -> datetime.datetime | None:
    """The instant a datetime names as an aware UTC datetime (naive ones are UTC)."""
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def test_decimal_and_datetime_pages_come_back_as_the_source_held_them(sql_pipeline: Any) -> None:
    rng = random.Random(7)
    pages = [page(rng, start, 400) for start in range(0, 1200, 400)]

    @dataload.resource(name="ledger")
    def ledger() -> Any:
        yield from pages

    pipe = sql_pipeline()
    pipe.run(ledger())
    loaded = {row["id"]: row for row in pipe.dataset().table("ledger").arrow().to_pylist()}
    source = [row for rows in pages for row in rows]
    assert len(loaded) == len(source)
    for row in source:
        got = loaded[row["id"]]
        assert got["amount"] == row["amount"], row  # exact: decimal(38, 9) holds every value
        for column in ("at_utc", "at_india", "at_zones", "naive"):
            assert instant(got[column]) == instant(row[column]), (column, row)
        assert got["note"] == row.get("note")
