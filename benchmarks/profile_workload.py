"""Profile one ``ours`` run of a workload with pyinstrument (not part of the timed suite).

    python benchmarks/profile_workload.py W3 [--rows N] [--html PATH] [--depth 40]

Builds (or reuses) the cached input exactly like ``run.py``, runs the workload's
untimed setup, then runs ``run_ours`` once (inside the workload's ``serve``, e.g. W8's
HTTP server) under pyinstrument and prints: the per-step split from ``pipe.last_trace``,
the peak RSS seen during each step (sampled every 5 ms; steps located by their cumulative
seconds), and the call tree.
Needs ``pip install pyinstrument`` (py-spy works too:
``py-spy record -o out.svg -- python benchmarks/_workload.py W3 ours N --workdir DIR``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.append(str(BENCH_DIR.parent))

from _workload import build, current_rss_bytes, load_input, peak_rss_bytes, step_seconds  # noqa: E402
from workloads import CACHE_DIR, REGISTRY  # noqa: E402

MB = 1024 * 1024


class RssSampler(threading.Thread):
    """Samples the RSS of this process every ``interval`` seconds."""

    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append((time.perf_counter(), current_rss_bytes()))
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, build the input, profile one ours run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(REGISTRY))
    parser.add_argument("--rows", type=int, help="size (default: the workload's default size)")
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML report here")
    parser.add_argument("--depth", type=int, default=40, help="lines of the call tree to print")
    parser.add_argument("--no-profile", action="store_true", help="only the step split and RSS, no profiler")
    args = parser.parse_args(argv)
    workload = REGISTRY[args.workload]
    rows = args.rows or workload.rows(False)
    build(workload, rows)
    inp = load_input(workload, "ours", rows)
    scratch = CACHE_DIR / "work"
    scratch.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"profile-{workload.name}-", dir=scratch))
    with contextlib.ExitStack() as prepared:
        if workload.prepare is not None:  # e.g. W5's PostgreSQL table, dropped after
            os.environ.update(prepared.enter_context(workload.prepare(rows)))
        profile(workload, rows, inp, workdir, args)
    os._exit(0)  # skip interpreter teardown of large inputs (after what prepare built is removed)


def profile(workload, rows: int, inp, workdir: Path, args: argparse.Namespace) -> None:
    """Profile one ours run of ``workload`` in ``workdir`` (removed after) and print the report."""
    try:
        workload.setup("ours", inp, workdir)
        profiler = None
        if not args.no_profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
        sampler = RssSampler()
        with workload.serve(inp) as served:  # e.g. W8's HTTP server, in its own process
            rss_before = current_rss_bytes()
            sampler.start()
            started = time.perf_counter()
            if profiler:
                profiler.start()
            handle = workload.run_ours(served, workdir)
            if profiler:
                profiler.stop()
            seconds = time.perf_counter() - started
            sampler.stop()
        steps = step_seconds(handle)
        print(f"{workload.name} ours, {rows:,} rows: {seconds:.2f}s; RSS before {rss_before / MB:.0f} MB, "
              f"peak sampled {max(r for _, r in sampler.samples) / MB:.0f} MB, "
              f"ru_maxrss {peak_rss_bytes(resource.RUSAGE_SELF) / MB:.0f} MB (includes the setup)")
        # steps run back to back at the end of the run; locate each by its cumulative seconds
        end = sampler.samples[-1][0]
        bounds, t = [], end - sum(steps.values())
        for name, secs in steps.items():
            bounds.append((name, t, t + secs))
            t += secs
        for name, lo, hi in bounds:
            window = [r for ts, r in sampler.samples if lo <= ts <= hi] or [0]
            print(f"  {name:<9} {hi - lo:6.2f}s  peak RSS in step {max(window) / MB:6.0f} MB")
        if profiler:
            text = profiler.output_text(unicode=True, color=False)
            print("\n".join(text.splitlines()[: args.depth + 8]))
            if args.html:
                args.html.write_text(profiler.output_html())
                print(f"wrote {args.html}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
