"""``@dataload.destination``: a plain function as a destination (push to an API, a queue, a store).

The function receives batches of one table's rows and the table's schema::

    @dataload.destination(batch_size=500)
    def to_api(items, table):
        requests.post(f"https://example.com/{table.name}", json=items)

``loader_file_format="jsonl"`` (the default) passes lists of dicts; ``"parquet"`` passes pyarrow
Tables. A batch whose function raises an ``OSError`` (``ConnectionError``, ``TimeoutError``) or a
``TransientLoadError`` is retried with backoff; any other exception (a bug) fails the package at
once, which is kept in ``failed/``. A package is complete only when every batch of every table
returned. Batches already delivered are remembered in the package folder, so a
retried or resumed package does not send them twice. Rows come in load order: each root table
before its child tables. A function sink keeps no ``_dl_*`` tables, so state restore from the
destination is not available with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, overload

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from dataload.exceptions import InvalidConfig, TransientLoadError, UnsupportedOperation
from dataload.load.errors import destination_call
from dataload.protocol import Capabilities, LoadPackage
from dataload.schema.model import Table

SinkFunction = Callable[[Any, Table], None]
_FORMATS = ("jsonl", "parquet")


class FunctionDestination:
    """A destination that hands batches to a function; made by :func:`destination`."""

    capabilities = Capabilities(file_formats=_FORMATS, merge_strategies=(), keeps_state=False)

    def __init__(self, func: SinkFunction, *, batch_size: int, loader_file_format: str, name: str,
                 attempts: int = 3) -> None:
        self.func = func
        self.batch_size = batch_size
        self.loader_file_format = loader_file_format
        self.name = name
        self.attempts = attempts

    def client(self, *, dataset_name: str, pipeline_name: str, local_dir: Path) -> FunctionClient:
        """A client delivering packages to the function."""
        return FunctionClient(self)

    def check_dataset_name(self, dataset_name: str) -> None:
        """Any name: the function receives no dataset."""

    def attach_spec(self) -> dict[str, Any]:
        """Nothing: a function cannot be rebuilt by name, ``attach(name, destination=...)`` passes it again."""
        return {}

    def __call__(self, items: Any, table: Table) -> None:
        self.func(items, table)

    def __repr__(self) -> str:
        return f"<function destination {self.name!r}>"


class FunctionClient:
    """Delivers one package batch by batch, remembering what was delivered."""

    def __init__(self, destination: FunctionDestination) -> None:
        self.destination = destination

    def close(self) -> None:
        """Nothing to release."""

    def load_package(self, package: LoadPackage) -> bool:
        """Send every batch of every table; batches delivered in an earlier attempt are skipped."""
        progress_path = package.folder / "delivered.json" if package.folder else None
        delivered = set(json.loads(progress_path.read_text())) if progress_path and progress_path.exists() else set()
        for root in package.tables:
            for file in package.family_files(root):
                for index, batch in enumerate(self._batches(file.path)):
                    key = f"{file.path.relative_to(package.folder) if package.folder else file.path}#{index}"
                    if key in delivered:
                        continue
                    self._deliver(batch, package.schema.tables[file.table])
                    delivered.add(key)
                    if progress_path:
                        progress_path.write_text(json.dumps(sorted(delivered)))
                package.job_done([file])
        return True

    def _batches(self, path: Path) -> Any:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=self.destination.batch_size):
            if self.destination.loader_file_format == "parquet":
                import pyarrow as pa

                yield pa.Table.from_batches([batch])
            else:
                yield batch.to_pylist()

    def _deliver(self, batch: Any, table: Table) -> None:
        """Call the function; a transient error (see :mod:`dataload.load.errors`) is retried, any other is not."""
        retrying = Retrying(stop=stop_after_attempt(self.destination.attempts), reraise=True,
                            wait=wait_exponential(multiplier=0.2, max=5),
                            retry=retry_if_exception_type(TransientLoadError))
        what = f"destination {self.destination.name!r}, table {table.name!r}: the function raised"
        for attempt in retrying:
            with attempt:
                destination_call(lambda: self.destination.func(batch, table), what, table=table.name)

    def stored_schema(self, schema_name: str) -> dict[str, Any] | None:
        """A function keeps no schema."""
        return None

    def stored_state(self, pipeline_name: str) -> dict[str, Any] | None:
        """A function keeps no state."""
        return None

    def query(self, sql: str, parameters: list[Any] | None = None) -> Any:
        """Not available: the data went to the function."""
        raise UnsupportedOperation(f"destination {self.destination.name!r} is a function; its data cannot be queried")

    def read_table(self, table: str) -> Any:
        """Not available: the data went to the function."""
        return self.query("")

    def row_counts(self, tables: list[str]) -> dict[str, int]:
        """Not available: the data went to the function."""
        return self.query("")  # type: ignore[no-any-return]

    def drop_tables(self, tables: list[str]) -> None:
        """Nothing to drop."""


SinkDecorator = Callable[[SinkFunction], FunctionDestination]
"""What ``@destination(...)`` with options returns: it turns the function into a destination."""


@overload
def destination(func: SinkFunction, *, batch_size: int = 1000, loader_file_format: str = "jsonl",
                name: str | None = None, attempts: int = 3) -> FunctionDestination: ...
@overload
def destination(func: None = None, *, batch_size: int = 1000, loader_file_format: str = "jsonl",
                name: str | None = None, attempts: int = 3) -> SinkDecorator: ...


def destination(func: SinkFunction | None = None, *, batch_size: int = 1000, loader_file_format: str = "jsonl",
                name: str | None = None, attempts: int = 3) -> FunctionDestination | SinkDecorator:
    """Turn ``func(items, table) -> None`` into a destination.

    >>> @destination(batch_size=2)
    ... def printer(items, table):
    ...     print(table.name, items)
    >>> printer.name
    'printer'
    """
    if loader_file_format not in _FORMATS:
        raise InvalidConfig(f"loader_file_format {loader_file_format!r} is not one of {', '.join(_FORMATS)}")
    if batch_size < 1:
        raise InvalidConfig(f"batch_size must be at least 1, not {batch_size}")

    def make(target: SinkFunction) -> FunctionDestination:
        return FunctionDestination(target, batch_size=batch_size, loader_file_format=loader_file_format,
                                   name=name or str(getattr(target, "__name__", "function")), attempts=attempts)

    return make if func is None else make(func)
