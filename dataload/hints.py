"""Table hints: the loose arguments users pass, converted once into one internal form."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Union

from dataload.exceptions import InvalidConfig
from dataload.schema.model import DATA_TYPES, MERGE_STRATEGIES, WRITE_DISPOSITIONS, Column

WriteDispositionArg = Union[str, Mapping[str, str]]
ColumnsArg = Union[Mapping[str, Mapping[str, Any]], Sequence[Mapping[str, Any]], Mapping[str, Any], type, None]
KeyArg = Union[str, Sequence[str], None]
TableNameArg = Union[str, Callable[[Any], str], None]
ContractArg = Union[str, Mapping[str, str], None]

CONTRACT_MODES = ("evolve", "freeze", "discard_row", "discard_value")
CONTRACT_ENTITIES = ("tables", "columns", "data_type")
_COLUMN_HINTS = {"data_type", "nullable", "primary_key", "merge_key", "precision", "scale"}
UNIQUE_REFUSED = ("the 'unique' hint is refused: no destination enforces it (files cannot, DuckDB cannot add the "
                  "constraint to a table that exists), and a uniqueness that is not kept is worse than none; declare "
                  "primary_key=... with write_disposition='merge' to keep one row per key")


@dataclass(frozen=True)
class WriteDisposition:
    """How a table is written: ``append``, ``replace`` or ``merge`` (with a merge strategy)."""

    name: str = "append"
    strategy: str = "delete-insert"

    @classmethod
    def parse(cls, value: WriteDispositionArg) -> WriteDisposition:
        """Accept ``"merge"`` or ``{"disposition": "merge", "strategy": "upsert"}``.

        >>> WriteDisposition.parse({"disposition": "merge", "strategy": "upsert"}).strategy
        'upsert'
        """
        if isinstance(value, Mapping):
            name, strategy = value.get("disposition", "append"), value.get("strategy", "delete-insert")
        else:
            name, strategy = value, "delete-insert"
        if name not in WRITE_DISPOSITIONS:
            raise InvalidConfig(f"write_disposition {name!r} is not one of {', '.join(WRITE_DISPOSITIONS)}")
        if strategy not in MERGE_STRATEGIES:
            raise InvalidConfig(f"merge strategy {strategy!r} is not one of {', '.join(MERGE_STRATEGIES)}")
        return cls(str(name), str(strategy))


@dataclass(frozen=True)
class TableHints:
    """Everything a resource says about the table(s) it fills.

    >>> TableHints.build(primary_key="id").primary_key
    ('id',)
    """

    table_name: TableNameArg = None
    write_disposition: WriteDisposition = field(default_factory=WriteDisposition)
    primary_key: tuple[str, ...] = ()
    merge_key: tuple[str, ...] = ()
    columns: dict[str, Column] = field(default_factory=dict)
    schema_contract: dict[str, str] | None = None
    max_table_nesting: int | None = None
    json_schema: dict[str, Any] | None = None

    @classmethod
    def build(
        cls,
        *,
        table_name: TableNameArg = None,
        write_disposition: WriteDispositionArg = "append",
        primary_key: KeyArg = None,
        merge_key: KeyArg = None,
        columns: ColumnsArg = None,
        schema_contract: ContractArg = None,
        max_table_nesting: int | None = None,
    ) -> TableHints:
        """Validate and convert user hint arguments."""
        return cls(
            table_name=table_name,
            write_disposition=WriteDisposition.parse(write_disposition),
            primary_key=as_key(primary_key),
            merge_key=as_key(merge_key),
            columns=parse_columns(columns),
            schema_contract=parse_contract(schema_contract),
            max_table_nesting=_nesting(max_table_nesting),
            json_schema=json_schema_of(columns),
        )

    def require_merge_key(self, resource: str) -> None:
        """Refuse a ``merge`` without any key: it would only ever append duplicates.

        >>> TableHints.build(write_disposition="merge").require_merge_key("users")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        dataload.exceptions.InvalidConfig: resource 'users' has write_disposition 'merge' but no key: ...
        """
        if self.write_disposition.name != "merge" or self.primary_key or self.merge_key:
            return
        if any(c.primary_key or c.merge_key for c in self.columns.values()):
            return
        raise InvalidConfig(f"resource {resource!r} has write_disposition 'merge' but no key: give primary_key= "
                            "(rows with the same key are replaced) or merge_key= (rows with the same merge key "
                            "are replaced as a group), or use write_disposition 'append'")

    def merged(self, **changes: Any) -> TableHints:
        """A copy with the given (loose) hint arguments applied over these; a name that is not a hint
        argument of :meth:`build` is refused.

        >>> TableHints().merged(primary_kye="id")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        dataload.exceptions.InvalidConfig: unknown hint(s) ['primary_kye']; known: table_name, ...
        """
        unknown = sorted(set(changes) - set(HINT_ARGUMENTS))
        if unknown:
            raise InvalidConfig(f"unknown hint(s) {unknown}; known: {', '.join(HINT_ARGUMENTS)}")
        converters: dict[str, Callable[[Any], Any]] = {
            "write_disposition": WriteDisposition.parse, "primary_key": as_key, "merge_key": as_key,
            "columns": parse_columns, "schema_contract": parse_contract, "max_table_nesting": _nesting}
        converted = {k: converters.get(k, lambda v: v)(v) for k, v in changes.items()}
        if "columns" in converted:
            converted["columns"] = {**self.columns, **converted["columns"]}
            converted["json_schema"] = json_schema_of(changes["columns"]) or self.json_schema
        return replace(self, **converted)


HINT_ARGUMENTS = ("table_name", "write_disposition", "primary_key", "merge_key", "columns", "schema_contract",
                  "max_table_nesting")
"""The hint arguments of ``@resource``, ``@transformer`` and ``Resource.apply_hints``."""


def _nesting(max_table_nesting: int | None) -> int | None:
    if max_table_nesting is not None and (not isinstance(max_table_nesting, int) or max_table_nesting < 0):
        raise InvalidConfig(f"max_table_nesting must be a whole number >= 0, not {max_table_nesting!r}")
    return max_table_nesting


def as_key(value: KeyArg) -> tuple[str, ...]:
    """``"id"`` or ``["a", "b"]`` as a tuple of column names."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def json_schema_of(value: Any) -> dict[str, Any] | None:
    """The JSON Schema document behind a ``columns=`` value (a JSON Schema or a pydantic model)."""
    from dataload.schema.jsonschema import is_json_schema

    if isinstance(value, type) and hasattr(value, "model_json_schema"):
        return value.model_json_schema()  # type: ignore[no-any-return]
    return dict(value) if is_json_schema(value) else None


def parse_columns(value: ColumnsArg) -> dict[str, Column]:
    """Column hints from a dict ``{name: hints}``, a list of dicts with a ``name`` each, a JSON
    Schema document, or a pydantic model class.

    >>> parse_columns({"amount": {"data_type": "decimal", "scale": 2}})["amount"].scale
    2
    """
    if value is None:
        return {}
    document = json_schema_of(value)
    if document is not None:
        from dataload.schema.jsonschema import columns_from_json_schema

        return columns_from_json_schema(document)
    if isinstance(value, type):
        raise InvalidConfig(f"columns: class {value.__name__!r} is not a pydantic model (it has no model_json_schema)")
    items = value.items() if isinstance(value, Mapping) else [(c["name"], c) for c in value]
    columns: dict[str, Column] = {}
    for name, hints in items:
        if "unique" in hints:
            raise InvalidConfig(f"column {name!r}: {UNIQUE_REFUSED}")
        unknown = set(hints) - _COLUMN_HINTS - {"name"}
        if unknown:
            raise InvalidConfig(f"column {name!r}: unknown hint(s) {sorted(unknown)}; known: {sorted(_COLUMN_HINTS)}")
        data_type = hints.get("data_type")
        if data_type is not None and data_type not in DATA_TYPES:
            raise InvalidConfig(f"column {name!r}: data_type {data_type!r} is not one of {', '.join(DATA_TYPES)}")
        columns[name] = Column(name, **{k: v for k, v in hints.items() if k != "name"})
    return columns


def parse_contract(value: ContractArg) -> dict[str, str] | None:
    """One mode for every entity, or a dict over ``tables``/``columns``/``data_type``."""
    if value is None:
        return None
    modes = {e: value for e in CONTRACT_ENTITIES} if isinstance(value, str) else dict(value)
    for entity, mode in modes.items():
        if entity not in CONTRACT_ENTITIES:
            raise InvalidConfig(f"schema_contract entity {entity!r} is not one of {', '.join(CONTRACT_ENTITIES)}")
        if mode not in CONTRACT_MODES:
            raise InvalidConfig(f"schema_contract mode {mode!r} is not one of {', '.join(CONTRACT_MODES)}")
    return modes
