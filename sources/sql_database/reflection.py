"""Table reflection through SQLAlchemy: the tables of a schema, one table's columns and keys, as resource hints.

>>> import sqlalchemy as sa
>>> engine = sa.create_engine("sqlite://")
>>> with engine.begin() as c:
...     _ = c.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
>>> shape = reflect_table(engine, "users", level="full")
>>> shape.primary_key, shape.columns["name"]
(('id',), {'name': 'name', 'nullable': False, 'data_type': 'text'})
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dataload
from sources.sql_database.column_types import REFLECTION_LEVELS, ReflectionLevel, column_hints
from sources.sql_database.connection import database_errors, display_url, sqlalchemy

TableAdapter = Callable[[Any], Any]
"""``table_adapter_callback(table)``: change the reflected ``sqlalchemy.Table`` in place, or return one to use."""
TypeAdapter = Callable[[Any], Any]
"""``type_adapter_callback(sqltype)``: a SQLAlchemy type to read the column as, or None to keep the reflected one."""


@dataclass(frozen=True)
class TableShape:
    """A reflected table, ready to read: the ``sqlalchemy.Table``, the columns selected, their hints, the key."""

    table: Any
    selected: tuple[Any, ...]
    columns: dict[str, dict[str, Any]]
    primary_key: tuple[str, ...]


def table_names(engine: Any, schema: str | None, *, include_views: bool) -> list[str]:
    """The tables (and views, if asked) of ``schema`` (the connection's default schema when None)."""
    with database_errors(engine, f"listing the tables of schema {schema!r}"):
        inspector = sqlalchemy().inspect(engine)
        names = list(inspector.get_table_names(schema=schema))
        if include_views:
            names += inspector.get_view_names(schema=schema)
    return names


def reflect_table(
    engine: Any,
    name: str,
    *,
    schema: str | None = None,
    level: ReflectionLevel = "full",
    included_columns: Sequence[str] | None = None,
    excluded_columns: Sequence[str] | None = None,
    table_adapter_callback: TableAdapter | None = None,
    type_adapter_callback: TypeAdapter | None = None,
    json_as_text: bool = False,
) -> TableShape:
    """Reflect table ``name`` and derive what the resource reading it needs (see :class:`TableShape`).

    ``json_as_text``: hint ``json`` columns as ``text``, for the backends that deliver JSON as text.
    """
    if level not in REFLECTION_LEVELS:
        raise dataload.InvalidConfig(f"reflection_level must be one of {', '.join(REFLECTION_LEVELS)}, not {level!r}")
    sa = sqlalchemy()
    with database_errors(engine, f"reflecting table {name!r}"):
        try:
            table = sa.Table(name, sa.MetaData(schema=schema), autoload_with=engine, resolve_fks=False)
        except sa.exc.NoSuchTableError:
            table = None
    if table is None:
        known = table_names(engine, schema, include_views=True)
        raise dataload.InvalidConfig(f"sql_database: no table or view {name!r} in schema {schema!r} of "
                                     f"{display_url(engine)}; there are: {', '.join(sorted(known)) or 'none'}")
    if table_adapter_callback is not None:
        table = table_adapter_callback(table) or table
    if type_adapter_callback is not None:
        for column in table.columns:
            column.type = type_adapter_callback(column.type) or column.type
    selected = _selected_columns(table, included_columns, excluded_columns)
    names = {c.name for c in selected}
    key = tuple(c.name for c in table.primary_key.columns)
    return TableShape(table=table, selected=tuple(selected),
                      columns={c.name: column_hints(c, level, json_as_text=json_as_text) for c in selected},
                      primary_key=key if key and set(key) <= names else ())


def _selected_columns(table: Any, included: Sequence[str] | None, excluded: Sequence[str] | None) -> list[Any]:
    """The columns to read: all, or ``included`` ones in table order, less ``excluded``; unknown names are refused."""
    present = [c.name for c in table.columns]
    unknown = sorted((set(included or ()) | set(excluded or ())) - set(present))
    if unknown:
        raise dataload.InvalidConfig(f"sql_database: table {table.name!r} has no column(s) {unknown}; "
                                     f"its columns: {', '.join(present)}")
    keep = set(included) if included is not None else set(present)
    keep -= set(excluded or ())
    return [c for c in table.columns if c.name in keep]
