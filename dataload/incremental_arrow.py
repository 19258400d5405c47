"""The incremental cursor on Arrow tables: vectorized filters, Python only for boundary rows.

Timestamp, date and ISO 8601 text columns are compared as UTC instants (naive timestamps are UTC),
converted column-wise with Arrow compute, like the stored cursor (see :mod:`dataload.incremental_values`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataload.exceptions import ResourceError
from dataload.incremental_values import cursor_key

if TYPE_CHECKING:
    from dataload._incremental import Incremental


def is_table(item: Any) -> bool:
    """True for pyarrow Tables and RecordBatches and pandas DataFrames."""
    module = type(item).__module__
    return module.startswith("pyarrow") or (module.startswith("pandas") and hasattr(item, "columns"))


def filter_table(cursor: Incremental, item: Any) -> tuple[Any, bool]:
    """Rows of ``item`` that pass the cursor, as an Arrow table; and whether to stop the resource."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.Table.from_pandas(item, preserve_index=False) if not isinstance(item, (pa.Table, pa.RecordBatch)) \
        else item
    if cursor.cursor_path not in table.column_names:
        raise ResourceError(cursor._resource, f"cursor column {cursor.cursor_path!r} is not in the Arrow table "
                            f"(columns: {table.column_names}); nested paths work only on dict rows")
    if cursor.last_value_func not in (max, min):
        return _filter_by_rows(cursor, table)
    values = _comparable(table.column(cursor.cursor_path))
    nulls = pc.is_null(values)
    if cursor.on_cursor_value_missing == "raise" and pc.any(nulls).as_py():
        raise ResourceError(cursor._resource, f"cursor {cursor.cursor_path!r} is null in an Arrow table row")
    newer, older = (pc.greater, pc.less) if cursor.last_value_func is max else (pc.less, pc.greater)
    keep = pc.invert(nulls) if cursor.on_cursor_value_missing != "include" else pa.array([True] * len(values))
    keep = pc.fill_null(keep, False)
    stop = False
    if cursor.end_value is not None:
        before_end = pc.fill_null(older(values, _scalar(cursor, cursor._end_key, values.type)), False)
        stop = cursor.row_order == "asc" and not pc.all(pc.or_(before_end, nulls)).as_py()
        keep = pc.and_(keep, pc.or_(before_end, nulls))
    if cursor._start_key is not None:
        start = _scalar(cursor, cursor._start_key, values.type)
        after = pc.fill_null(newer(values, start), False)
        at_start = pc.fill_null(pc.equal(values, start), False)
        if cursor.lag is None and cursor._seen and pc.any(at_start).as_py():
            at_start = _unseen(cursor, table, at_start)
        passes = pc.or_(pc.or_(after, at_start), nulls)
        stop = stop or (cursor.row_order == "desc" and not pc.all(passes).as_py())
        keep = pc.and_(keep, passes)
    kept = table.filter(keep)
    _advance(cursor, kept, values.filter(keep))
    return kept, stop


def _comparable(column: Any) -> Any:
    """``column`` as the cursor compares it: instants in UTC for timestamps, dates and ISO text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from dataload.schema.infer import iso_instants

    if pa.types.is_dictionary(column.type):  # pandas categoricals
        column = pc.cast(column, column.type.value_type)
    kind = column.type
    if pa.types.is_timestamp(kind):
        return column if kind.tz is not None else pc.assume_timezone(column, "UTC")
    if pa.types.is_date(kind):
        return pc.assume_timezone(pc.cast(pc.cast(column, pa.date32()), pa.timestamp("s")), "UTC")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        instants = iso_instants(column)
        return column if instants is None else instants
    return column


def _scalar(cursor: Incremental, key: Any, arrow_type: Any) -> Any:
    import pyarrow as pa

    try:
        return pa.scalar(key).cast(arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ResourceError(cursor._resource, f"cursor {cursor.cursor_path!r}: the Arrow column of type "
                            f"{arrow_type} cannot be compared with the cursor value {key!r}") from exc


def _unseen(cursor: Incremental, table: Any, at_start: Any) -> Any:
    import pyarrow as pa

    flags = at_start.to_pylist()
    rows = table.filter(at_start).to_pylist()
    unseen = iter([cursor.row_hash(r) not in cursor._seen for r in rows])
    return pa.array([next(unseen) if flag else False for flag in flags])


def _advance(cursor: Incremental, kept: Any, values: Any) -> None:
    """Advance the cursor to the newest of ``values`` (the comparable cursor column of ``kept``)."""
    import pyarrow.compute as pc

    if len(values) == values.null_count:
        return
    best = (pc.max if cursor.last_value_func is max else pc.min)(values)
    for row in kept.filter(pc.fill_null(pc.equal(values, best), False)).to_pylist():
        cursor.advance(row[cursor.cursor_path], row, cursor_key(best.as_py()))


def _filter_by_rows(cursor: Incremental, table: Any) -> tuple[Any, bool]:
    import pyarrow as pa

    keep: list[bool] = []
    for row in table.to_pylist():
        verdict = cursor.judge(row, cursor._value_of(row))
        if verdict == "stop":
            keep.extend([False] * (table.num_rows - len(keep)))
            return table.filter(pa.array(keep)), True
        keep.append(verdict == "keep")
    return table.filter(pa.array(keep)), False
