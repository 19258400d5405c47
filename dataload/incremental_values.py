"""Cursor values: datetime-like values compare as instants, are stored in one form, shown in the user's.

* :func:`cursor_key` is what the cursor compares: ISO 8601 text, ``datetime`` (pandas
  ``Timestamp`` too) and ``date`` become aware UTC datetimes (naive values are UTC, a date is its
  midnight UTC); any other value is compared as it is.
* :func:`canonical` is what the state stores: ISO timestamps as UTC text ending in ``Z``, ISO dates
  as ``YYYY-MM-DD``, datetimes as aware UTC datetimes, other values unchanged.
* :func:`form_of` gives a function that shows an instant the way the user wrote the
  ``initial_value`` (the same offset, separator and precision), for ``start_value`` sent to an API.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dataload.schema.infer import as_utc, parse_iso_text

UTC = datetime.timezone.utc
_ZONE = re.compile(r"(Z|z|[+-]\d{2}(:?\d{2})?)$")


def cursor_key(value: Any) -> Any:
    """The value the cursor compares: an aware datetime for datetime-like values (naive ones in UTC).

    It runs once per row on dict rows, so it converts no zone: aware datetimes compare as instants.

    >>> cursor_key("2024-05-01T13:00:00+02:00") == cursor_key("2024-05-01T11:00:00Z")
    True
    >>> cursor_key("v1.2")
    'v1.2'
    """
    if isinstance(value, str):
        value = _instant_of_text(value)
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def _instant_of_text(text: str) -> Any:
    """``text`` as a datetime or date when it is ISO 8601, else ``text`` itself."""
    if len(text) < 10 or text[4:5] != "-":
        return text
    try:
        return datetime.datetime.fromisoformat(text)  # the usual forms, at C speed
    except ValueError:  # the rest of the engine's rules (lowercase z, nanoseconds, ...)
        parsed = parse_iso_text(text)
        return text if parsed is None else parsed


def _parsed(text: str) -> datetime.datetime | datetime.date | None:
    """``text`` parsed as ISO 8601 (a cheap look at its start first: most other text stops there)."""
    return parse_iso_text(text) if len(text) >= 10 and text[4:5] == "-" else None


def is_date_like(value: Any) -> bool:
    """True for a ``date`` (not a datetime) or an ISO date text: ``lag`` counts days for these."""
    if isinstance(value, str):
        value = _parsed(value)
    return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)


def canonical(value: Any) -> Any:
    """The one form the state stores a cursor value in.

    >>> canonical("2024-05-01T13:00:00+02:00")
    '2024-05-01T11:00:00Z'
    """
    if isinstance(value, str):
        parsed = _parsed(value)
        if isinstance(parsed, datetime.datetime):
            return parsed.isoformat().replace("+00:00", "Z")
        return parsed.isoformat() if parsed is not None else value
    if isinstance(value, datetime.datetime):
        utc = as_utc(value)
        return datetime.datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond,
                                 tzinfo=UTC)  # a plain datetime, also for pandas Timestamps
    return value


def form_of(example: Any) -> Callable[[Any], Any]:
    """A function that shows a cursor value (or key) in the form of ``example`` (the initial value).

    >>> form_of("2024-01-01T00:00:00+02:00")("2024-05-01T11:00:00Z")
    '2024-05-01T13:00:00+02:00'
    """
    if isinstance(example, str):
        text_form = _IsoForm.of(example)
        if text_form is not None:
            return text_form.show
    elif is_date_like(example):
        return _as_date
    return canonical


def _as_date(value: Any) -> Any:
    key = cursor_key(value)
    return as_utc(key).date() if isinstance(key, datetime.datetime) else value


@dataclass(frozen=True)
class _IsoForm:
    """How an ISO 8601 text was written: date only, separator, precision and time zone."""

    date_only: bool
    separator: str = "T"
    timespec: str = "seconds"
    zone: str = ""
    offset: datetime.tzinfo | None = None

    @classmethod
    def of(cls, text: str) -> _IsoForm | None:
        parsed = _parsed(text)
        if parsed is None:
            return None
        if not isinstance(parsed, datetime.datetime):
            return cls(date_only=True)
        zone_match = _ZONE.search(text)
        zone = zone_match.group(0) if zone_match else ""
        clock = text[11:len(text) - len(zone)]
        fraction = clock.partition(".")[2]
        timespec = "minutes" if clock.count(":") == 1 else \
            "seconds" if not fraction else "milliseconds" if len(fraction) <= 3 else "microseconds"
        offset = None if not zone else UTC if zone in "Zz" else \
            datetime.datetime.fromisoformat("2000-01-01T00:00:00" + zone).tzinfo
        return cls(False, text[10], timespec, zone, offset)

    def show(self, value: Any) -> Any:
        """``value`` written this way, at this precision (cut, never rounded up); non-instants unchanged."""
        key = cursor_key(value)
        if not isinstance(key, datetime.datetime):
            return value
        key = as_utc(key)
        if self.date_only:
            return key.date().isoformat()
        local = key.astimezone(self.offset) if self.offset is not None else key.replace(tzinfo=None)
        text = local.replace(tzinfo=None).isoformat(sep=self.separator, timespec=self.timespec)
        if self.zone in ("Z", "z"):
            return text + self.zone
        return text + local.isoformat()[-6:] if self.zone else text
