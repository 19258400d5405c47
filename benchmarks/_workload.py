"""Run one benchmark measurement in this (fresh) process.

    python benchmarks/_workload.py W1 build     <rows>
    python benchmarks/_workload.py W6 setup     <rows> --workdir DIR --for ours|reference
    python benchmarks/_workload.py W1 ours      <rows> --workdir DIR
    python benchmarks/_workload.py W1 reference <rows> --workdir DIR
    python benchmarks/_workload.py W1 reference2 <rows> --workdir DIR   (a workload's second reference)

``build`` generates the input and caches it under ``benchmarks/.cache/``.
``setup`` runs a workload's untimed preparation (e.g. W6's first load) into DIR in its
own process, so that it adds neither time nor peak RSS to the measurement.
``ours`` / ``reference`` / ``reference2`` load the cached input, time only the work, then verify
the destination (untimed) and print one line ``BENCH_RESULT {json}`` on stdout
with seconds, peak RSS (``ru_maxrss``), RSS before the work, rows verified and, for
ours, the seconds of each pipeline step (``pipe.last_trace``).
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
# pandas (if installed) too: pyarrow imports it on its first conversion of Python or numpy
# objects (pa.array, Table.from_pylist; also duckdb's register), a one-off 0.5-1 s that
# would otherwise land inside the timed region of whichever side converts first.
# Ours also imports the modules behind dataload.pipeline and dataload.resource and the DuckDB
# destination: `import dataload` resolves its public names on first use (since 0ae376c), which
# put about 0.2 CPU s of module imports inside every timed region of ours. dataload.facade is
# named too: dataload.pipeline() imports it on its first call (since c740974), 47-75 ms.
PRELOAD = {
    "reference": ("pyarrow", "pyarrow.parquet", "duckdb"),
    "ours": ("pyarrow", "pyarrow.parquet", "duckdb", "dataload", "dataload.pipelines", "dataload.facade",
             "dataload.decorators", "destinations", "destinations._duckdb"),
}
PRELOAD["reference2"] = PRELOAD["reference"]
SIDES = tuple(PRELOAD)
OPTIONAL_PRELOAD = ("pandas",)
MB = 1024 * 1024


def current_rss_bytes() -> int:
    """Resident set size now (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes(resource.RUSAGE_SELF)


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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


def load_input(workload: Workload, mode: str, rows: int) -> object:
    """Import what ``mode`` needs, then unpickle the cached input."""
    path = workload.cache_path(rows)
    if not path.exists():
        raise SystemExit(f"input not built: {path} (run `{workload.name} build {rows}` first)")
    for module in (*PRELOAD[mode], *workload.preload):
        importlib.import_module(module)
    for module in OPTIONAL_PRELOAD:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    with open(path, "rb") as f:
        return pickle.load(f)


def setup(workload: Workload, mode: str, rows: int, workdir: Path) -> dict:
    """Run the workload's untimed preparation for ``mode`` into ``workdir``."""
    inp = load_input(workload, mode, rows)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    workload.setup(mode, inp, workdir)
    return {"workload": workload.name, "mode": f"setup-{mode}", "seconds": time.perf_counter() - started}


def step_seconds(handle: object) -> dict[str, float]:
    """Seconds per pipeline step (extract/normalize/load) from ``pipe.last_trace``, if any."""
    steps = getattr(getattr(handle, "last_trace", None), "steps", None) or []
    out: dict[str, float] = {}
    for step in steps:
        name, seconds = getattr(step, "step", None), getattr(step, "seconds", None)
        if isinstance(name, str) and isinstance(seconds, (int, float)):
            out[name] = out.get(name, 0.0) + float(seconds)
    return out


def measure(workload: Workload, mode: str, rows: int, workdir: Path) -> dict:
    """Load the cached input, time the work, record memory, then verify."""
    inp = load_input(workload, mode, rows)
    workdir.mkdir(parents=True, exist_ok=True)
    run = workload.runner(mode)

    with workload.serve(inp) as served:  # e.g. W8's HTTP server, started and stopped untimed
        gc.collect()
        rss_before = current_rss_bytes()
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        handle = run(served, workdir)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
        peak = peak_rss_bytes(resource.RUSAGE_SELF)
        children_peak = peak_rss_bytes(resource.RUSAGE_CHILDREN)

    steps = step_seconds(handle)
    verified = workload.verify(mode, served, workdir, handle)
    return {
        "workload": workload.name,
        "mode": mode,
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_mb": peak / MB,
        "rss_before_mb": rss_before / MB,
        "rss_added_mb": max(0, peak - rss_before) / MB,
        "children_peak_rss_mb": children_peak / MB,
        "verified_rows": verified,
        "steps": steps,
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run one step, print its result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(REGISTRY))
    parser.add_argument("mode", choices=("build", "setup", *SIDES))
    parser.add_argument("rows", type=int)
    parser.add_argument("--workdir", type=Path, help="scratch directory for setup/ours/reference")
    parser.add_argument("--for", dest="for_mode", choices=SIDES,
                        help="with setup: which side to prepare")
    args = parser.parse_args(argv)
    workload = REGISTRY[args.workload]
    if args.mode == "build":
        result = build(workload, args.rows)
    else:
        if args.workdir is None:
            parser.error("--workdir is required for setup/" + "/".join(SIDES))
        if args.mode == "setup":
            if args.for_mode is None:
                parser.error("setup needs --for " + "|".join(SIDES))
            result = setup(workload, args.for_mode, args.rows, args.workdir)
        else:
            result = measure(workload, args.mode, args.rows, args.workdir)
    sys.stdout.flush()
    print(RESULT_MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
