"""Run one benchmark measurement in this (fresh) process.

    python benchmarks/_workload.py W1 build     <rows>
    python benchmarks/_workload.py W1 ours      <rows> --workdir DIR
    python benchmarks/_workload.py W1 reference <rows> --workdir DIR

``build`` generates the input and caches it under ``benchmarks/.cache/``.
``ours`` / ``reference`` load the cached input, time only the work, then verify
the destination (untimed) and print one line ``BENCH_RESULT {json}`` on stdout
with seconds, peak RSS (``ru_maxrss``), RSS before the work and rows verified.
``benchmarks/run.py`` starts one such process per measurement.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import pickle
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parent.parent))  # repo root, if not installed

from workloads import REGISTRY, SEED, Workload  # noqa: E402

RESULT_MARKER = "BENCH_RESULT "
# Imported before the timed region in every measurement, so both sides start equal.
PRELOAD = {
    "reference": ("pyarrow", "pyarrow.parquet", "duckdb"),
    "ours": ("pyarrow", "pyarrow.parquet", "duckdb", "dataload", "destinations"),
}
MB = 1024 * 1024


def current_rss_bytes() -> int:
    """Resident set size now (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes(resource.RUSAGE_SELF)


def peak_rss_bytes(who: int) -> int:
    """``ru_maxrss`` in bytes (kilobytes on Linux, bytes on macOS)."""
    value = resource.getrusage(who).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024


def build(workload: Workload, rows: int) -> dict:
    """Generate the input once and cache it atomically."""
    path = workload.cache_path(rows)
    started = time.perf_counter()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        data = workload.build_input(rows, SEED)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    return {"path": str(path), "seconds": time.perf_counter() - started}


def measure(workload: Workload, mode: str, rows: int, workdir: Path) -> dict:
    """Load the cached input, time the work, record memory, then verify."""
    path = workload.cache_path(rows)
    if not path.exists():
        raise SystemExit(f"input not built: {path} (run `{workload.name} build {rows}` first)")
    for module in PRELOAD[mode]:
        importlib.import_module(module)
    with open(path, "rb") as f:
        inp = pickle.load(f)
    workdir.mkdir(parents=True, exist_ok=True)
    workload.setup(mode, inp, workdir)
    run = workload.run_ours if mode == "ours" else workload.run_reference

    gc.collect()
    rss_before = current_rss_bytes()
    started = time.perf_counter()
    handle = run(inp, workdir)
    seconds = time.perf_counter() - started
    peak = peak_rss_bytes(resource.RUSAGE_SELF)
    children_peak = peak_rss_bytes(resource.RUSAGE_CHILDREN)

    verified = workload.verify(mode, inp, workdir, handle)
    return {
        "workload": workload.name,
        "mode": mode,
        "rows": rows,
        "seconds": seconds,
        "peak_rss_mb": peak / MB,
        "rss_before_mb": rss_before / MB,
        "rss_added_mb": max(0, peak - rss_before) / MB,
        "children_peak_rss_mb": children_peak / MB,
        "verified_rows": verified,
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run one step, print its result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(REGISTRY))
    parser.add_argument("mode", choices=("build", "ours", "reference"))
    parser.add_argument("rows", type=int)
    parser.add_argument("--workdir", type=Path, help="scratch directory for ours/reference")
    args = parser.parse_args(argv)
    workload = REGISTRY[args.workload]
    if args.mode == "build":
        result = build(workload, args.rows)
    else:
        if args.workdir is None:
            parser.error("--workdir is required for ours/reference")
        result = measure(workload, args.mode, args.rows, args.workdir)
    sys.stdout.flush()
    print(RESULT_MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
