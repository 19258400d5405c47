"""Run the dataload benchmark suite and print one results table.

    python benchmarks/run.py [--quick] [--repeat N] [--only W1,...] [--json PATH]

For every selected workload: build (or reuse) its cached input, then measure
``ours`` and ``reference`` (and ``reference2``, where the workload has a second
reference) N times each, alternating, every measurement in a
fresh process (``benchmarks/_workload.py``), and print medians. A workload's
untimed setup (W6's and W11's first load) runs in its own process before each measurement.
Row counts are verified in the destination after every measurement (untimed); a
mismatch or a failing measurement stops the run with a non-zero exit.
A memory-scale workload (W7, W7PG, W9, W10) runs ours at two sizes instead of ours vs reference.

Sizes: ``DATALOAD_BENCH_<WORKLOAD>_ROWS`` (e.g. ``DATALOAD_BENCH_W1_ROWS=1000000``)
wins over ``--quick`` (small sizes, 1 repeat unless ``--repeat`` is given).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.append(str(BENCH_DIR.parent))  # repo root, if dataload is not installed

from _workload import RESULT_MARKER  # noqa: E402
from workloads import CACHE_DIR, REGISTRY, Workload  # noqa: E402

WORKER = BENCH_DIR / "_workload.py"
HEADER = ("workload", "rows", "seconds", "rows/s", "peak RSS MB", "RSS added MB",
          "ref seconds", "ours/ref")
REF2_HEADER = ("ref2 seconds", "ours/ref2")  # only when some workload has a second reference


class BenchmarkFailed(RuntimeError):
    """A measurement process failed or its verification did not pass."""


def run_step(workload: Workload, mode: str, rows: int, workdir: Path | None = None,
             setup_for: str | None = None, env: dict[str, str] | None = None) -> dict:
    """Start ``_workload.py`` in a fresh process (with ``env`` added to its environment); its parsed result."""
    cmd = [sys.executable, str(WORKER), workload.name, mode, str(rows)]
    if workdir is not None:
        cmd += ["--workdir", str(workdir)]
    if setup_for is not None:
        cmd += ["--for", setup_for]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(BENCH_DIR.parent),
                          env={**os.environ, **(env or {})})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARKER)]
    if proc.returncode != 0 or not lines:
        raise BenchmarkFailed(
            f"{workload.name} {mode} ({rows} rows) failed with exit code {proc.returncode}\n"
            f"command: {' '.join(cmd)}\n--- stdout ---\n{proc.stdout[-4000:]}"
            f"\n--- stderr ---\n{proc.stderr[-8000:]}"
        )
    return json.loads(lines[-1][len(RESULT_MARKER):])


def build_input(workload: Workload, rows: int, log) -> None:
    """Build (or find cached) the input of ``workload`` for ``rows``."""
    built = run_step(workload, "build", rows)
    log(f"{workload.name}: input {rows:,} rows ready ({built['seconds']:.1f}s) {built['path']}")


def run_once(workload: Workload, mode: str, rows: int, label: str, log, env: dict[str, str] | None = None) -> dict:
    """One measurement of ``mode`` in a fresh scratch directory (after the setup, if any)."""
    scratch_root = CACHE_DIR / "work"
    scratch_root.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"{workload.name}-{mode}-", dir=scratch_root))
    try:
        if workload.has_setup:
            prepared = run_step(workload, "setup", rows, workdir, setup_for=mode, env=env)
            log(f"{workload.name}: {mode:<9} setup {prepared['seconds']:.2f}s (untimed, own process)")
        result = run_step(workload, mode, rows, workdir, env=env)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    expected = workload.timed_rows(rows)
    if result["verified_rows"] != expected:
        raise BenchmarkFailed(f"{workload.name} {mode}: verified {result['verified_rows']} "
                              f"rows, expected {expected}")
    steps = result.get("steps") or {}
    split = (" [" + ", ".join(f"{k} {v:.2f}s" for k, v in steps.items()) + "]") if steps else ""
    log(f"{workload.name}: {mode:<9} {label}: {result['seconds']:.2f}s (cpu {result['cpu_seconds']:.2f}s){split}, "
        f"peak {result['peak_rss_mb']:.0f} MB, verified {result['verified_rows']:,} rows")
    return result


def median_of(runs: list[dict], key: str) -> float:
    """Median of one measured value."""
    return statistics.median(r[key] for r in runs)


def median_steps(runs: list[dict]) -> dict[str, float]:
    """Median seconds of each pipeline step over ``runs``."""
    names = [n for n in ("extract", "normalize", "load") if any(n in (r.get("steps") or {}) for r in runs)]
    names += sorted({n for r in runs for n in (r.get("steps") or {})} - set(names))
    return {n: statistics.median((r.get("steps") or {}).get(n, 0.0) for r in runs) for n in names}


def ours_summary(name: str, workload: Workload, rows: int, runs: list[dict]) -> dict:
    """The columns of one table row that describe ours."""
    seconds = median_of(runs, "seconds")
    return {
        "workload": name,
        "title": workload.title,
        "size": rows,
        "rows": workload.timed_rows(rows),
        "seconds": seconds,
        "rows_per_s": workload.timed_rows(rows) / seconds if seconds else float("inf"),
        "cpu_seconds": median_of(runs, "cpu_seconds"),
        "peak_rss_mb": median_of(runs, "peak_rss_mb"),
        "rss_added_mb": median_of(runs, "rss_added_mb"),
        "children_peak_rss_mb": median_of(runs, "children_peak_rss_mb"),
        "steps": median_steps(runs),
        "note": f"{workload.name}: {workload.note}" if workload.note else "",
    }


def measure(workload: Workload, rows: int, repeat: int, log, prepared=None) -> list[dict]:
    """Build the input, run ours/reference ``repeat`` times each, return medians and raw runs.

    ``prepared(rows)`` enters the workload's ``prepare`` for a size (once per run) and returns its
    environment variables.
    """
    if workload.scale_of is not None:
        return measure_scale(workload, rows, repeat, log)
    env = prepared(rows) if prepared is not None else None
    build_input(workload, rows, log)
    runs: dict[str, list[dict]] = {mode: [] for mode in workload.modes}
    for i in range(repeat):
        for mode in workload.modes:
            runs[mode].append(run_once(workload, mode, rows, f"run {i + 1}/{repeat}", log, env))
    summary = ours_summary(workload.display, workload, rows, runs["ours"])
    summary.update(reference_summary("", summary["seconds"], runs["reference"]))
    if "reference2" in runs:
        summary.update(reference_summary("2", summary["seconds"], runs["reference2"]))
        summary["reference2"] = workload.reference2
    summary["runs"] = runs
    if workload.small_of is not None:
        summary.update(measure_small(workload, rows, repeat, log, prepared))
    return [summary]


def reference_summary(suffix: str, ours_seconds: float, runs: list[dict]) -> dict:
    """The medians of one reference's runs and ours ÷ it: ``ref_seconds``, ..., ``ratio`` for the
    first reference (``suffix`` ""), ``ref2_seconds``, ..., ``ratio2`` for the second (``suffix`` "2")."""
    seconds = median_of(runs, "seconds")
    return {
        f"ref{suffix}_seconds": seconds,
        f"ref{suffix}_cpu_seconds": median_of(runs, "cpu_seconds"),
        f"ref{suffix}_peak_rss_mb": median_of(runs, "peak_rss_mb"),
        f"ratio{suffix}": ours_seconds / seconds if seconds else float("inf"),
    }


def measure_small(workload: Workload, rows: int, repeat: int, log, prepared=None) -> dict:
    """Ours at ``small_of(rows)`` too: its peak RSS beside the one at ``rows``, in a note under the table."""
    assert workload.small_of is not None
    small = workload.small_of(rows)
    env = prepared(small) if prepared is not None else None
    build_input(workload, small, log)
    runs = [run_once(workload, "ours", small, f"{small:,} rows, run {i + 1}/{repeat}", log, env)
            for i in range(repeat)]
    return {"small_rows": small, "small_peak_rss_mb": median_of(runs, "peak_rss_mb"), "small_runs": runs}


def measure_scale(workload: Workload, rows: int, repeat: int, log) -> list[dict]:
    """A memory-scale workload: ours at ``scale_of(rows)`` and at ``rows``; ratio of the peaks."""
    assert workload.scale_of is not None
    small = workload.scale_of(rows)
    for size in (small, rows):
        build_input(workload, size, log)
    runs: dict[int, list[dict]] = {small: [], rows: []}
    for i in range(repeat):
        for size in (small, rows):
            runs[size].append(run_once(workload, "ours", size, f"{size:,} rows, run {i + 1}/{repeat}", log))
    low = ours_summary(f"{workload.name} N/10", workload, small, runs[small])
    low.update({"ref_seconds": None, "ref_peak_rss_mb": None, "ratio": None,
                "ref_display": "-", "ratio_display": "-", "runs": {"ours": runs[small]}})
    high = ours_summary(f"{workload.name} N", workload, rows, runs[rows])
    ratio = high["peak_rss_mb"] / low["peak_rss_mb"] if low["peak_rss_mb"] else float("inf")
    high.update({"ref_seconds": None, "ref_peak_rss_mb": low["peak_rss_mb"], "ratio": ratio,
                 "ratio_kind": "peak RSS at N / peak RSS at N/10",
                 "ref_display": f"{low['peak_rss_mb']:.0f} MB", "ratio_display": f"{ratio:.2f}x RSS",
                 "runs": {"ours": runs[rows]}})
    return [low, high]


def format_table(results: list[dict]) -> str:
    """Render the results as a Markdown table (readable in a terminal too).

    The columns ``ref2 seconds`` and ``ours/ref2`` are there only when some result has a second
    reference (``-`` in the rows of the others).
    """
    second = any(r.get("ref2_seconds") is not None for r in results)
    header = HEADER + (REF2_HEADER if second else ())
    rows = [header]
    for r in results:
        cells = (
            r["workload"], f"{r['rows']:,}", f"{r['seconds']:.2f}", f"{r['rows_per_s']:,.0f}",
            f"{r['peak_rss_mb']:.0f}", f"{r['rss_added_mb']:.0f}",
            r.get("ref_display") or f"{r['ref_seconds']:.2f}",
            r.get("ratio_display") or f"{r['ratio']:.2f}x",
        )
        if second:
            has = r.get("ref2_seconds") is not None
            cells += (f"{r['ref2_seconds']:.2f}", f"{r['ratio2']:.2f}x") if has else ("-", "-")
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 1) + ":" if i else "-" * (w + 2)
                                        for i, w in enumerate(widths)) + "|")
    return "\n".join(lines)


def git_info() -> dict:
    """The commit measured, and whether the working tree had uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=str(BENCH_DIR.parent),
                              timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "dirty": dirty} if commit else {}


def machine_info() -> dict:
    """Versions and hardware the numbers were taken on."""
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "cpu_model": platform.processor() or platform.machine()}
    try:
        with open("/proc/cpuinfo") as f:
            models = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        if models:
            info["cpu_model"] = models[0]
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["mem_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    info.update(git_info())
    try:
        info["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    for name in ("dataload", "duckdb", "pyarrow"):
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            try:  # e.g. dataload used from the source tree without installing it
                info[name] = __import__(name).__version__
            except (ImportError, AttributeError):
                info[name] = "not installed"
    return info


def _group(name: str) -> list[str]:
    """The workloads a name that is not one stands for: ``W5`` is W5PYARROW, W5NATIVE and W5SQLALCHEMY."""
    found = [n for n in REGISTRY if n.startswith(name) and not n[len(name)].isdigit()]
    return found or [name]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Run the dataload benchmark suite.")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and 1 repeat (CI smoke run, under a minute)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="measurements per side, median reported (default 3, 1 with --quick)")
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W2 (W5: its three backends)")
    parser.add_argument("--json", type=Path, help="also write all measurements to this JSON file")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    names = [n.strip().upper() for n in args.only.split(",") if n.strip()] or list(REGISTRY)
    names = [found for n in names for found in ([n] if n in REGISTRY else _group(n))]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; available: {', '.join(REGISTRY)}")
    args.names = names
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the selected workloads and print the table; returns the exit code."""
    args = parse_args(argv)
    # a plain `kill` unwinds like Ctrl-C, so what workloads prepared (W5's tables) is still removed
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    info = machine_info()
    log("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    if info.get("loadavg_at_start", [0])[0] > 0.5 * (info["cpus"] or 1):
        log(f"warning: load average {info['loadavg_at_start'][0]} on {info['cpus']} CPUs: other work is "
            "running, timings will be noisy (ours and reference alternate, so ratios suffer less)")
    started = time.perf_counter()
    results = []
    with contextlib.ExitStack() as stack:  # what workloads prepared (W5's PostgreSQL tables) is removed at the end
        prepared: dict[tuple, dict[str, str]] = {}
        for name in args.names:
            workload = REGISTRY[name]
            reason = workload.unavailable()
            if reason:
                log(f"{name}: skipped ({reason})")
                continue

            def prepare(rows: int, workload: Workload = workload) -> dict[str, str] | None:
                if workload.prepare is None:
                    return None
                key = (workload.prepare, rows)
                if key not in prepared:
                    began = time.perf_counter()
                    prepared[key] = stack.enter_context(workload.prepare(rows))
                    log(f"{workload.name}: prepared for {rows:,} rows ({time.perf_counter() - began:.1f}s, untimed)")
                return prepared[key]

            try:
                results.extend(measure(workload, workload.rows(args.quick), args.repeat, log, prepare))
            except BenchmarkFailed as exc:
                log(f"\nBENCHMARK FAILED: {exc}")
                return 1
    print()
    print(format_table(results))
    print(f"\nmedian of {args.repeat} fresh-process run(s) per side; "
          f"total {time.perf_counter() - started:.1f}s; "
          f"python {info['python']}, {info['cpus']} CPUs, duckdb {info['duckdb']}, "
          f"pyarrow {info['pyarrow']}, dataload {info['dataload']}")
    split = [f"{r['workload']} " + " / ".join(f"{k} {v:.2f}" for k, v in r["steps"].items())
             for r in results if r.get("steps")]
    if split:
        print("ours per step (median s): " + "; ".join(split))
    print("CPU seconds (median, user+sys, all threads) ours/ref" + ("/ref2" if any(
        r.get("ref2_cpu_seconds") for r in results) else "") + ": " + "; ".join(
        f"{r['workload']} {r['cpu_seconds']:.2f}" + "".join(
            f"/{r[key]:.2f}" for key in ("ref_cpu_seconds", "ref2_cpu_seconds") if r.get(key))
        for r in results))
    notes = [f"{r['workload']}: rows = {r['rows']:,} changed rows merged into {r['size']:,}"
             for r in results if r["rows"] != r["size"]]
    notes += [f"{r['workload']}: ref = peak RSS at N/10, ratio = {r['ratio_kind']}"
              for r in results if r.get("ratio_kind")]
    notes += [f"{r['workload']}: peak RSS {r['peak_rss_mb']:.0f} MB at {r['rows']:,} rows, "
              f"{r['small_peak_rss_mb']:.0f} MB at {r['small_rows']:,} "
              f"({r['peak_rss_mb'] / r['small_peak_rss_mb']:.2f}x)" for r in results if r.get("small_rows")]
    notes += [f"{r['workload']}: ref2 = {r['reference2']}" for r in results if r.get("reference2")]
    notes += list(dict.fromkeys(r["note"] for r in results if r.get("note")))  # once per workload
    for note in notes:
        print("note: " + note)
    if any(r["children_peak_rss_mb"] > 0 for r in results):
        print("note: peak RSS is this process only; worker processes peaked at "
              + ", ".join(f"{r['workload']} {r['children_peak_rss_mb']:.0f} MB" for r in results))
    try:
        info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
