"""``sql_table`` (one table as a resource) and ``sql_database`` (a source with a resource per table).

>>> import sqlalchemy as sa
>>> engine = sa.create_engine("sqlite://")
>>> with engine.begin() as c:
...     _ = c.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
...     _ = c.exec_driver_sql("INSERT INTO users VALUES (1, 'Ann'), (2, 'Bob')")
>>> users = sql_table(engine, table="users")
>>> users.hints.primary_key, list(users)
(('id',), [{'id': 1, 'name': 'Ann'}, {'id': 2, 'name': 'Bob'}])
>>> list(sql_database(engine).resources)
['users']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Union

import dataload
from dataload import Incremental, Resource, Source
from sources.sql_database.backends import JSON_AS_TEXT, ReadPlan, backend_named
from sources.sql_database.column_types import REFLECTION_LEVELS, ReflectionLevel
from sources.sql_database.connection import engine_of
from sources.sql_database.partitions import check_partitioning, plan_of
from sources.sql_database.query import KeyRange, QueryAdapter, build_select
from sources.sql_database.reflection import TableAdapter, TableShape, TypeAdapter, reflect_table
from sources.sql_database.reflection import table_names as table_names_of

CredentialsArg = Union[str, Any]
"""A database URL (``"postgresql+psycopg://user@host/db"``), a ``sqlalchemy.URL`` or an ``Engine``."""
WriteDispositionArg = Union[str, Mapping[str, str]]
"""``"append"``, ``"replace"``, ``"merge"`` or ``{"disposition": "merge", "strategy": "upsert"}``."""


@dataclass(frozen=True)
class _TableReader:
    """Everything needed to read one table; reflects it when the resource runs if it was not reflected before."""

    engine: Any
    table: str
    schema: str | None
    backend: str
    chunk_size: int
    level: ReflectionLevel
    included_columns: Sequence[str] | None
    excluded_columns: Sequence[str] | None
    table_adapter_callback: TableAdapter | None
    query_adapter_callback: QueryAdapter | None
    type_adapter_callback: TypeAdapter | None

    def reflect(self) -> TableShape:
        return reflect_table(self.engine, self.table, schema=self.schema, level=self.level,
                             included_columns=self.included_columns, excluded_columns=self.excluded_columns,
                             table_adapter_callback=self.table_adapter_callback,
                             type_adapter_callback=self.type_adapter_callback,
                             json_as_text=self.backend in JSON_AS_TEXT)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled with the engine's URL (password included), not the engine: a partition task
        rebuilds the engine on the worker that runs it."""
        url = self.engine.url.render_as_string(hide_password=False)
        return _reader_on_worker, (url, *(getattr(self, f.name) for f in fields(self)[1:]))

    def resource(self, *, name: str | None, incremental: Incremental | None, defer_table_reflect: bool,
                 write_disposition: WriteDispositionArg, primary_key: str | Sequence[str] | None) -> Resource:
        """The resource reading this table (hints from the reflection, unless it is deferred)."""
        shape = None if defer_table_reflect else self.reflect()
        columns = shape.columns if shape is not None else None
        key = primary_key if primary_key is not None else (shape.primary_key if shape is not None else None)
        made = dataload.resource(_read_table, name=name or self.table, write_disposition=write_disposition,
                                 primary_key=key or None, columns=columns)
        return made(self, shape, incremental=incremental)


def _reader_on_worker(url: str, *settings: Any) -> _TableReader:
    return _TableReader(engine_of(url), *settings)


def _read_table(reader: _TableReader, shape: TableShape | None, incremental: Incremental | None = None,
                key_range: KeyRange | None = None) -> Iterator[Any]:
    """The resource function: the table's rows through the backend, the incremental range and the
    partition's key range in the SELECT."""
    shape = shape or reader.reflect()
    select = build_select(shape.table, shape.selected, incremental, reader.query_adapter_callback, key_range)
    plan = ReadPlan(reader.engine, select, reader.table, shape.primary_key, reader.chunk_size)
    yield from backend_named(reader.backend)(plan)


def sql_table(
    credentials: CredentialsArg = dataload.secrets.value,
    *,
    table: str,
    schema: str | None = None,
    name: str | None = None,
    incremental: Incremental | None = None,
    included_columns: Sequence[str] | None = None,
    excluded_columns: Sequence[str] | None = None,
    backend: str = "sqlalchemy",
    chunk_size: int = 50_000,
    reflection_level: ReflectionLevel = "full",
    defer_table_reflect: bool = False,
    table_adapter_callback: TableAdapter | None = None,
    query_adapter_callback: QueryAdapter | None = None,
    type_adapter_callback: TypeAdapter | None = None,
    write_disposition: WriteDispositionArg = "append",
    primary_key: str | Sequence[str] | None = None,
    partition_on: str | None = None,
    partitions: int | None = None,
    partition_bounds: Sequence[Any] | None = None,
) -> Resource:
    """A resource reading ``table`` (of ``schema``) in chunks of ``chunk_size`` rows, named after the table.

    The table is reflected now (``defer_table_reflect=True``: when the resource runs, and no
    column hints or primary key are set); its primary key becomes the ``primary_key`` hint, so
    ``write_disposition="merge"`` needs nothing more. ``incremental`` is pushed into the SELECT.
    ``credentials`` not given come from ``sources.sql_database.credentials`` in config. See
    docs/sql_database.md for every option.

    ``partition_on`` splits the table into key ranges of that column for partitioned runs
    (``pipe.run(..., executor=...)``, see docs/scale-out.md): ``partitions`` ranges of equal width
    between the column's min and max, or the ranges between ``partition_bounds``.
    """
    check_partitioning(table, partition_on, partitions, partition_bounds, incremental)
    reader = _reader(engine_of(credentials), table, schema, backend, chunk_size, reflection_level, included_columns,
                     excluded_columns, table_adapter_callback, query_adapter_callback, type_adapter_callback)
    made = reader.resource(name=name, incremental=incremental, defer_table_reflect=defer_table_reflect,
                           write_disposition=write_disposition, primary_key=primary_key)
    if partition_on is None:
        return made
    return made.partition_by(plan_of(reader, partition_on, partitions, partition_bounds))


def _reader(engine: Any, table: str, schema: str | None, backend: str, chunk_size: int, level: ReflectionLevel,
            included_columns: Sequence[str] | None, excluded_columns: Sequence[str] | None,
            table_adapter_callback: TableAdapter | None, query_adapter_callback: QueryAdapter | None,
            type_adapter_callback: TypeAdapter | None) -> _TableReader:
    if level not in REFLECTION_LEVELS:
        raise dataload.InvalidConfig(f"reflection_level must be one of {', '.join(REFLECTION_LEVELS)}, not {level!r}")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise dataload.InvalidConfig(f"sql_database: chunk_size must be a whole number >= 1, not {chunk_size!r}")
    backend_named(backend)  # an unknown name is refused now, not when the resource runs
    return _TableReader(engine, table, schema, backend, chunk_size, level, included_columns,
                        excluded_columns, table_adapter_callback, query_adapter_callback, type_adapter_callback)


def _tables(
    credentials: CredentialsArg = dataload.secrets.value,
    *,
    schema: str | None = None,
    table_names: Sequence[str] | None = None,
    backend: str = "sqlalchemy",
    chunk_size: int = 50_000,
    reflection_level: ReflectionLevel = "full",
    include_views: bool = False,
    defer_table_reflect: bool = False,
    table_adapter_callback: TableAdapter | None = None,
    query_adapter_callback: QueryAdapter | None = None,
    type_adapter_callback: TypeAdapter | None = None,
    write_disposition: WriteDispositionArg = "append",
) -> list[Resource]:
    engine = engine_of(credentials)
    names = list(table_names) if table_names is not None else table_names_of(engine, schema,
                                                                             include_views=include_views)
    return [_reader(engine, name, schema, backend, chunk_size, reflection_level, None, None, table_adapter_callback,
                    query_adapter_callback, type_adapter_callback)
            .resource(name=None, incremental=None, defer_table_reflect=defer_table_reflect,
                      write_disposition=write_disposition, primary_key=None)
            for name in names]


_source = dataload.source(name="sql_database")(_tables)


def sql_database(
    credentials: CredentialsArg = dataload.secrets.value,
    *,
    schema: str | None = None,
    table_names: Sequence[str] | None = None,
    backend: str = "sqlalchemy",
    chunk_size: int = 50_000,
    reflection_level: ReflectionLevel = "full",
    include_views: bool = False,
    defer_table_reflect: bool = False,
    table_adapter_callback: TableAdapter | None = None,
    query_adapter_callback: QueryAdapter | None = None,
    type_adapter_callback: TypeAdapter | None = None,
    write_disposition: WriteDispositionArg = "append",
) -> Source:
    """A source with one resource per table of ``schema`` (all its tables, or ``table_names``; views too
    with ``include_views=True``), each as :func:`sql_table` reads it.

    ``credentials`` not given come from ``sources.sql_database.credentials`` in config
    (``SOURCES__SQL_DATABASE__CREDENTIALS``). For an incremental table, read it with :func:`sql_table`;
    see docs/sql_database.md for every option.
    """
    return _source(credentials, schema=schema, table_names=table_names, backend=backend, chunk_size=chunk_size,
                   reflection_level=reflection_level, include_views=include_views,
                   defer_table_reflect=defer_table_reflect, table_adapter_callback=table_adapter_callback,
                   query_adapter_callback=query_adapter_callback, type_adapter_callback=type_adapter_callback,
                   write_disposition=write_disposition)
