"""HTML for the ``show`` pages, escaped by construction.

Text is escaped wherever it is put into a page; only :class:`Markup` (HTML this module built) goes
in as it is. So a table name, column name or value holding ``<script>`` renders as text, and a
page can only be put together from escaped pieces.
"""

from __future__ import annotations

import datetime
import html
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from urllib.parse import quote

MAX_CHARS = 1000
"""A longer value is cut to this many characters on a page (the page says it was cut)."""

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 2rem 2rem; color: #1d1d1f; }
nav { padding: .8rem 0; border-bottom: 1px solid #ddd; margin-bottom: 1rem; }
nav a { margin-right: 1.2rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f6; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.null { color: #999; font-style: italic; } .cut { color: #999; }
.error { background: #fff0f0; border: 1px solid #e0a0a0; padding: .6rem; white-space: pre-wrap; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; } dt { color: #666; }
ul#tree, ul#tree ul { list-style: none; padding-left: 1.2rem; } ul#tree { padding-left: 0; }
"""


class Markup(str):
    """HTML built by this module: put into a page as it is (any other ``str`` is escaped)."""


def text(value: object) -> Markup:
    """``value`` as escaped HTML text (``Markup`` passes through unchanged).

    >>> text("<b>x</b> & y")
    '&lt;b&gt;x&lt;/b&gt; &amp; y'
    """
    return value if isinstance(value, Markup) else Markup(html.escape(str(value), quote=True))


def join(parts: Iterable[object], separator: str = "") -> Markup:
    """The parts, each escaped unless it is ``Markup``, one after the other."""
    return Markup(text(separator).join(text(part) for part in parts))


def element(tag: str, content: object = "", **attributes: str) -> Markup:
    """``<tag attributes>content</tag>``: attribute values and content escaped (``class_`` → ``class``).

    >>> element("td", "a<b", class_="number")
    '<td class="number">a&lt;b</td>'
    """
    attrs = "".join(f' {name.rstrip("_")}="{text(value)}"' for name, value in attributes.items())
    return Markup(f"<{tag}{attrs}>{text(content)}</{tag}>")


def link(href: str, content: object) -> Markup:
    """A link to a path of the site."""
    return element("a", content, href=href)


def table_path(name: str) -> str:
    """The path of a table's page, the name percent-quoted whole (``/`` included).

    >>> table_path("a/b c")
    '/tables/a%2Fb%20c'
    """
    return "/tables/" + quote(name, safe="")


def data_table(table_id: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Markup:
    """A ``<table id=...>`` with a header row; numbers are right-aligned, ``None`` shows as NULL."""
    head = element("tr", join(element("th", name) for name in header))
    body = join(element("tr", join(_cell(value) for value in row)) for row in rows)
    return element("table", Markup(head + body), id=table_id)


def _cell(value: object) -> Markup:
    if value is None:
        return element("td", "NULL", class_="null")
    if isinstance(value, Markup):
        return element("td", value)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return element("td", value, class_="number")
    shown = display(value)
    if len(shown) > MAX_CHARS:
        cut = element("span", f" … ({len(shown):,} characters, cut)", class_="cut")
        return element("td", join([shown[:MAX_CHARS], cut]))
    return element("td", shown)


def display(value: object) -> str:
    """How a value read from the destination is shown: ISO dates, JSON for lists and dicts, hex bytes.

    >>> display({"a": [1, None]}), display(b"\\x00\\xff"), display(datetime.date(2024, 5, 1))
    ('{"a": [1, null]}', '00ff', '2024-05-01')
    """
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def error_box(message: str) -> Markup:
    """A visible problem on a page (the message escaped)."""
    return element("div", message, class_="error")


def page(title: str, heading: object, body: Markup) -> Markup:
    """A whole page: title, navigation, heading and body."""
    nav = element("nav", join([link("/", "Tables"), link("/loads", "Loads"), link("/trace", "Last run")]))
    return Markup("<!doctype html>\n" + element("html", join([
        element("head", join([Markup('<meta charset="utf-8">'), element("title", title),
                              element("style", Markup(STYLE))])),
        element("body", join([nav, element("h1", heading), body])),
    ]), lang="en"))
