"""A long soak: jobs through three pools with random failures and removals, memory measured.

``python -m benchmarks.bench_soak [--jobs 1000000] [--seed N]`` streams ``--jobs`` jobs
through a loader in tasks of a few hundred (random dependencies inside a task and on the
previous task, random failures, a few tasks removed before they finish), keeping a bounded
window of tasks alive and removing each once it is done.  It prints throughput, the resident
set (RSS) and Python's traced memory at the start, at the peak and after every task was
removed, and checks that no worker thread outlives ``shutdown()``.

The peer for the memory figures is the process itself before the run: "after / before" near
1 means removed jobs gave their memory back (the removed rows were compacted away).
``soak()`` is also the body of the suite's bounded soak (tests/loader/test_soak.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import random
import sys
import threading
import time
import tracemalloc
from collections import deque

from loader import AsyncLoader, LoadJob, LoadStatus, LoadTask, Pool, ignore_dependency_failure

from .common import Figure

POOLS = (Pool("Fg", 2, 0), Pool("Bg", 2, 1), Pool("Startup", 1, 2))


def rss_bytes() -> int:
    """The resident set size of this process now (Linux), 0 where unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@dataclasses.dataclass
class SoakResult:
    jobs: int
    seconds: float
    statuses: dict[str, int]
    problems: list[str]
    rows_left: int  # rows of the loader's columns after everything was removed
    leaked_threads: list[str]


def _ok(loader, job):
    return None


def _fail(loader, job):
    raise ValueError("soak failure")


def soak(total: int, *, seed: int = 1, task_size: int = 200, window: int = 8,
         fail_rate: float = 0.02, early_removal_rate: float = 0.05, name_padding: int = 0,
         on_window=None) -> SoakResult:
    """Run ``total`` jobs; ``on_window(loader)`` is called whenever the window is full."""
    rng = random.Random(seed)
    loader = AsyncLoader(POOLS, log_failures=False)
    problems: list[str] = []
    statuses = {s.name: 0 for s in LoadStatus}
    live: deque[tuple[LoadTask, list[LoadJob], set[int]]] = deque()
    previous: list[LoadJob] = []
    started = time.perf_counter()
    made = 0
    padding = "x" * name_padding
    try:
        while made < total:
            jobs: list[LoadJob] = []
            tolerant: set[int] = set()
            for i in range(min(task_size, total - made)):
                deps = []
                if jobs and rng.random() < 0.5:
                    deps.append(jobs[rng.randrange(len(jobs))])
                if previous and rng.random() < 0.05:
                    deps.append(previous[rng.randrange(len(previous))])
                ignores = rng.random() < 0.1
                jobs.append(LoadJob(
                    _fail if rng.random() < fail_rate else _ok, name=f"soak {made + i}{padding}",
                    pool=rng.randrange(3), dependencies=deps,
                    dependency_failure=ignore_dependency_failure if ignores else None))
                if ignores:
                    tolerant.add(id(jobs[-1]))
            made += len(jobs)
            task = LoadTask(loader, jobs)
            task.schedule()
            live.append((task, jobs, tolerant))
            previous = jobs
            if len(live) > window:
                if on_window is not None:
                    on_window(loader)
                _retire(loader, *live.popleft(), rng.random() < early_removal_rate,
                        statuses, problems)
        while live:
            _retire(loader, *live.popleft(), False, statuses, problems)
        loader.wait_all(timeout=60)
        if loader.snapshot().num_rows:
            problems.append(f"{loader.snapshot().num_rows} rows left after removing every task")
        rows_left = len(loader._columns)
    finally:
        loader.shutdown()
    seconds = time.perf_counter() - started
    prefixes = tuple(f"asl-{p.name}" for p in POOLS)
    deadline = time.monotonic() + 10
    leaked = [t.name for t in threading.enumerate() if t.name.startswith(prefixes)]
    while leaked and time.monotonic() < deadline:
        time.sleep(0.01)  # a worker's last bytecodes after its final release of the lock
        leaked = [t.name for t in threading.enumerate() if t.name.startswith(prefixes)]
    return SoakResult(made, seconds, statuses, problems, rows_left, leaked)


def _retire(loader: AsyncLoader, task: LoadTask, jobs: list[LoadJob], tolerant: set[int],
            early: bool, statuses: dict[str, int], problems: list[str]) -> None:
    """Remove a task: at once (canceling what has not run) or once its jobs are done."""
    if not early:
        for job in jobs:
            loader.wait(job, no_throw=True, timeout=60)
    task.remove()
    for job in jobs:
        status = job.status
        statuses[status.name] += 1
        if status == LoadStatus.PENDING:
            problems.append(f"{job.name} still PENDING after its task was removed")
        elif status == LoadStatus.OK and id(job) not in tolerant and any(
                d.status != LoadStatus.OK for d in job.dependencies):
            problems.append(f"{job.name} OK though a dependency failed")
        if status in (LoadStatus.OK, LoadStatus.FAILED) and job.start_time is None:
            problems.append(f"{job.name} {status.name} without a start time")
        if status == LoadStatus.CANCELED and job.start_time is not None:
            problems.append(f"{job.name} CANCELED but it started")


def run(scale: float = 1.0, repeat: int = 1) -> list[Figure]:
    total = max(1000, int(1_000_000 * scale))
    soak(1000, seed=2)  # warm-up: see main()
    gc.collect()
    before = rss_bytes()
    result = soak(total)
    gc.collect()
    after = rss_bytes()
    return [
        Figure("soak: jobs per second", total / result.seconds, "jobs/s"),
        Figure("soak: RSS after / before (MB)", after / 1e6, "MB", "before", before / 1e6,
               "after <= before + 20 MB", after <= before + 20e6),
        Figure("soak: rows left after removal", result.rows_left, "rows", target="small",
               met=result.rows_left < 2 * 200),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also trace Python allocations (about 2x slower)")
    args = parser.parse_args(argv)
    # Warm up first: the first loader makes pyarrow import pandas (20 MB of modules), which is
    # not the soak's to pay back.
    soak(2000, seed=args.seed + 1)
    gc.collect()
    rss_before = rss_bytes()
    if args.tracemalloc:
        tracemalloc.start()
    peak_rss = [rss_before]

    calls = [0]

    def sample(loader: AsyncLoader) -> None:
        calls[0] += 1
        if calls[0] % 16 == 0:
            peak_rss[0] = max(peak_rss[0], rss_bytes())

    traced_before = tracemalloc.get_traced_memory()[0] if args.tracemalloc else 0
    result = soak(args.jobs, seed=args.seed, on_window=sample)
    gc.collect()
    rss_after = rss_bytes()
    print(f"jobs {result.jobs} in {result.seconds:.1f} s: {result.jobs / result.seconds:,.0f} "
          f"jobs/s; statuses {result.statuses}")
    print(f"RSS MB: before {rss_before / 1e6:.1f}, peak {peak_rss[0] / 1e6:.1f}, after "
          f"{rss_after / 1e6:.1f} (after / before {rss_after / rss_before:.3f})")
    if args.tracemalloc:
        traced, peak = tracemalloc.get_traced_memory()
        print(f"traced MB: before {traced_before / 1e6:.1f}, peak {peak / 1e6:.1f}, after "
              f"{traced / 1e6:.1f}")
    print(f"rows left in the columns: {result.rows_left}; threads leaked: "
          f"{result.leaked_threads or 'none'}")
    for problem in result.problems[:20]:
        print("PROBLEM:", problem)
    return 1 if result.problems or result.leaked_threads else 0


if __name__ == "__main__":
    sys.exit(main())
