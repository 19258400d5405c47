"""Run the dataload benchmark suite and print one results table.

    python benchmarks/run.py [--quick] [--repeat N] [--only W1,...] [--json PATH]

For every selected workload: build (or reuse) its cached input, then measure
``ours`` and ``reference`` N times each, alternating, every measurement in a
fresh process (``benchmarks/_workload.py``), and print medians. Row counts are
verified in the destination after every measurement (untimed); a mismatch or a
failing measurement stops the run with a non-zero exit.

Sizes: ``DATALOAD_BENCH_<WORKLOAD>_ROWS`` (e.g. ``DATALOAD_BENCH_W1_ROWS=1000000``)
wins over ``--quick`` (50,000 rows for W1, 1 repeat unless ``--repeat`` is given).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
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


class BenchmarkFailed(RuntimeError):
    """A measurement process failed or its verification did not pass."""


def run_step(workload: Workload, mode: str, rows: int, workdir: Path | None = None) -> dict:
    """Start ``_workload.py`` in a fresh process and return its parsed result."""
    cmd = [sys.executable, str(WORKER), workload.name, mode, str(rows)]
    if workdir is not None:
        cmd += ["--workdir", str(workdir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(BENCH_DIR.parent))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARKER)]
    if proc.returncode != 0 or not lines:
        raise BenchmarkFailed(
            f"{workload.name} {mode} ({rows} rows) failed with exit code {proc.returncode}\n"
            f"command: {' '.join(cmd)}\n--- stdout ---\n{proc.stdout[-4000:]}"
            f"\n--- stderr ---\n{proc.stderr[-8000:]}"
        )
    return json.loads(lines[-1][len(RESULT_MARKER):])


def measure(workload: Workload, rows: int, repeat: int, log) -> dict:
    """Build the input, run ours/reference ``repeat`` times each, return medians and raw runs."""
    built = run_step(workload, "build", rows)
    log(f"{workload.name}: input {rows:,} rows ready ({built['seconds']:.1f}s) {built['path']}")
    runs: dict[str, list[dict]] = {"ours": [], "reference": []}
    scratch_root = CACHE_DIR / "work"
    scratch_root.mkdir(parents=True, exist_ok=True)
    for i in range(repeat):
        for mode in ("reference", "ours"):
            workdir = Path(tempfile.mkdtemp(prefix=f"{workload.name}-{mode}-", dir=scratch_root))
            try:
                result = run_step(workload, mode, rows, workdir)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            if result["verified_rows"] != rows:
                raise BenchmarkFailed(f"{workload.name} {mode}: verified {result['verified_rows']} "
                                      f"rows, expected {rows}")
            runs[mode].append(result)
            log(f"{workload.name}: {mode:<9} run {i + 1}/{repeat}: {result['seconds']:.2f}s, "
                f"peak {result['peak_rss_mb']:.0f} MB, verified {result['verified_rows']:,} rows")

    def med(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[mode])

    seconds = med("ours", "seconds")
    ref_seconds = med("reference", "seconds")
    return {
        "workload": workload.name,
        "title": workload.title,
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds if seconds else float("inf"),
        "peak_rss_mb": med("ours", "peak_rss_mb"),
        "rss_added_mb": med("ours", "rss_added_mb"),
        "children_peak_rss_mb": med("ours", "children_peak_rss_mb"),
        "ref_seconds": ref_seconds,
        "ref_peak_rss_mb": med("reference", "peak_rss_mb"),
        "ratio": seconds / ref_seconds if ref_seconds else float("inf"),
        "runs": runs,
    }


def format_table(results: list[dict]) -> str:
    """Render the results as a Markdown table (readable in a terminal too)."""
    rows = [HEADER]
    for r in results:
        rows.append((
            r["workload"], f"{r['rows']:,}", f"{r['seconds']:.2f}", f"{r['rows_per_s']:,.0f}",
            f"{r['peak_rss_mb']:.0f}", f"{r['rss_added_mb']:.0f}", f"{r['ref_seconds']:.2f}",
            f"{r['ratio']:.2f}x",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 1) + ":" if i else "-" * (w + 2)
                                        for i, w in enumerate(widths)) + "|")
    return "\n".join(lines)


def machine_info() -> dict:
    """Versions and hardware the numbers were taken on."""
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count()}
    try:
        with open("/proc/meminfo") as f:
            info["mem_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Run the dataload benchmark suite.")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and 1 repeat (CI smoke run, under a minute)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="measurements per side, median reported (default 3, 1 with --quick)")
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W2")
    parser.add_argument("--json", type=Path, help="also write all measurements to this JSON file")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    names = [n.strip().upper() for n in args.only.split(",") if n.strip()] or list(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; available: {', '.join(REGISTRY)}")
    args.names = names
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the selected workloads and print the table; returns the exit code."""
    args = parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    info = machine_info()
    log("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    started = time.perf_counter()
    results = []
    for name in args.names:
        workload = REGISTRY[name]
        reason = workload.unavailable()
        if reason:
            log(f"{name}: skipped ({reason})")
            continue
        try:
            results.append(measure(workload, workload.rows(args.quick), args.repeat, log))
        except BenchmarkFailed as exc:
            log(f"\nBENCHMARK FAILED: {exc}")
            return 1
    print()
    print(format_table(results))
    print(f"\nmedian of {args.repeat} fresh-process run(s) per side; "
          f"total {time.perf_counter() - started:.1f}s; "
          f"python {info['python']}, {info['cpus']} CPUs, duckdb {info['duckdb']}, "
          f"pyarrow {info['pyarrow']}, dataload {info['dataload']}")
    if any(r["children_peak_rss_mb"] > 0 for r in results):
        print("note: peak RSS is this process only; worker processes peaked at "
              + ", ".join(f"{r['workload']} {r['children_peak_rss_mb']:.0f} MB" for r in results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
