"""W13: W5's PostgreSQL table copied through 8 partitions on a Dask ``LocalCluster`` (2 worker processes).

The source is W5's table (``prepare`` is W5's, so one build serves both). Two workloads, one per
destination: ``W13PG`` copies into a PostgreSQL schema of its own (``bench_w13_<pid>_<random>``,
dropped after verification), ``W13PARQUET`` into Parquet files (the ``filesystem`` destination) in
the measurement's folder.

* ours: ``sql_table(..., backend="pyarrow", partition_on="id", partitions=8)`` run with
  ``executor=<distributed.Client>`` on a ``LocalCluster(n_workers=2, processes=True,
  threads_per_worker=1)``; the cluster is started before the timed region and closed after it
  (``serve``), so ``seconds`` is the run alone.
* reference: the same copy (same source, backend and destination) with no partitions, in this one
  process. ``ours/ref`` below 1 is a speed-up.

After each run of ours the peak RSS of each worker process (``ru_maxrss``, asked of the workers
through the client) and the per-partition seconds of each step are printed to stderr: memory per
worker is bounded by the partition, not the table. Verification: W5's row count, sums and latest
timestamp equal the source's. Skipped when no PostgreSQL answers or Dask is not installed.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

from . import VerificationError, Workload, w5
from ._common import DATASET, POSTGRES_URL, drop_postgres_schema, postgres_unavailable, query_postgres, unique_dataset

PARTITIONS = 8
WORKERS = 2
SOURCE_URL = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def unavailable() -> Optional[str]:
    """Skip without PostgreSQL or without the dask extra."""
    if importlib.util.find_spec("distributed") is None:
        return "Dask is not installed (pip install 'dataload[dask]')"
    return postgres_unavailable()


@contextmanager
def local_cluster(inp: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A LocalCluster of two single-threaded worker processes for the run; the input with its client."""
    import distributed

    with distributed.LocalCluster(n_workers=WORKERS, processes=True, threads_per_worker=1, dashboard_address=":0",
                                  worker_dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        yield {**inp, "client": client}


def _destination(kind: str, workdir: Path) -> tuple[Any, str]:
    from destinations import filesystem, postgres

    if kind == "postgres":
        return postgres(POSTGRES_URL), unique_dataset("bench_w13")
    return filesystem(str(workdir / "files")), DATASET


def _copy(kind: str, partitioned: bool) -> Any:
    def run(inp: dict[str, Any], workdir: Path) -> Any:
        """Copy W5's table through sql_table into the destination; returns the pipeline."""
        import dataload
        from sources.sql_database import sql_table

        destination, dataset = _destination(kind, workdir)
        pipe = dataload.pipeline(f"bench_w13_{kind}", destination=destination, dataset_name=dataset,
                                 pipelines_dir=str(workdir / "pipelines"))
        split = {"partition_on": "id", "partitions": PARTITIONS} if partitioned else {}
        table = sql_table(SOURCE_URL, table=w5.TABLE, schema=w5.source_schema(inp), backend="pyarrow",
                          chunk_size=w5.CHUNK_SIZE, **split)
        try:
            pipe.run(table, executor=inp["client"] if partitioned else None)
        except BaseException:
            if kind == "postgres":
                drop_postgres_schema(dataset)
            raise
        if partitioned:
            report_workers(inp["client"], pipe)
        return pipe

    return run


def report_workers(client: Any, pipe: Any) -> None:
    """Print each worker's peak RSS and the per-partition seconds of each step (stderr)."""
    peaks = client.run(_peak_rss_mb)
    per_step: dict[str, list[float]] = {}
    for step in pipe.last_trace.steps:
        per_step.setdefault(step.step, []).append(step.seconds)
    steps = ", ".join(f"{name} {sum(s) / len(s):.2f} s (max {max(s):.2f})" for name, s in per_step.items())
    print(f"W13: worker peak RSS {', '.join(f'{mb:.0f} MB' for mb in peaks.values())}; "
          f"per partition: {steps}", file=sys.stderr)


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def verify(kind: str) -> Any:
    def check(mode: str, inp: dict[str, Any], workdir: Path, handle: Any) -> int:
        """W5's row count, sums and latest timestamp in the destination equal the source's."""
        expected = query_postgres(w5.CHECK_SQL.format(table=f'"{w5.source_schema(inp)}".w5'))[0]
        if kind == "postgres":
            try:
                found = query_postgres(w5.CHECK_SQL.format(table=f'"{handle.dataset_name}".w5'))[0]
            finally:
                drop_postgres_schema(handle.dataset_name)
        else:
            import duckdb

            files = str(workdir / "files" / DATASET / w5.TABLE / "*.parquet")
            found = duckdb.sql(w5.CHECK_SQL.format(table=f"read_parquet('{files}')")).fetchall()[0]
        if tuple(found) != tuple(expected):
            raise VerificationError(f"W13 {kind} {mode}: the destination holds (count, sum(id), sum(amount), "
                                    f"count(name), max(created_at)) = {tuple(found)}, the source {tuple(expected)}")
        return int(found[0])

    return check


def _workload(kind: str, name: str) -> Workload:
    return Workload(
        name=name,
        label=f"W13 {kind}",
        title=f"W5's PostgreSQL table -> {kind} through {PARTITIONS} partitions on a LocalCluster of {WORKERS} "
              "worker processes; ref: the same copy in one process",
        default_rows=10_000_000,
        quick_rows=100_000,
        build_input=w5.build_input,
        run_ours=_copy(kind, partitioned=True),
        run_reference=_copy(kind, partitioned=False),
        verify=verify(kind),
        unavailable=unavailable,
        prepare=w5.source_table,
        serve=local_cluster,
    )


WORKLOADS = (_workload("postgres", "W13PG"), _workload("parquet", "W13PARQUET"))
