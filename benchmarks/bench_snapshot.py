"""snapshot() of 100k jobs vs a row-by-row snapshot, and the stall a scheduling thread sees."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pyarrow as pa

from loader import AsyncLoader, LoadJob, Pool
from loader.snapshot import SCHEMA, build_table

from .bench_dag import build_jobs
from .common import Figure, median_time
from .graphs import random_dag


def row_by_row(jobs: list[LoadJob]) -> pa.Table:
    """The obvious snapshot: visit every job object under the lock and read its fields."""
    rows = []
    for job in jobs:
        rows.append({
            "job": job.name, "job_id": job.job_id,
            "dependencies": [d.job_id for d in job.dependencies],
            "status": job.status.name, "pool_id": job.pool_id,
            "execution_pool_id": job.execution_pool_id, "waiters": job.waiters_count,
            "elapsed": job.elapsed, "schedule_time": job.schedule_time,
            "enqueue_time": job.enqueue_time, "start_time": job.start_time,
            "finish_time": job.finish_time,
            "exception": None if job.exception is None else str(job.exception),
        })
    return pa.Table.from_pylist(rows)


def _stalls(loader: AsyncLoader, competitor: Callable[[], object] | None, seconds: float
            ) -> list[float]:
    """Every schedule() call's latency on this thread while another runs ``competitor`` in a
    loop (or nothing), sorted."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            competitor()

    thread = threading.Thread(target=loop) if competitor else None
    if thread:
        thread.start()
    latencies = []
    end = time.perf_counter() + seconds
    try:
        while time.perf_counter() < end:
            job = LoadJob(lambda loader, job: None)
            t = time.perf_counter()
            loader.schedule(job)
            latencies.append(time.perf_counter() - t)
            loader.remove([job])
    finally:
        stop.set()
        if thread:
            thread.join()
    return sorted(latencies)


def _p99(latencies: list[float]) -> float:
    return latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    n = max(10, int(100_000 * scale))
    loader = AsyncLoader([Pool("p", 2), Pool("q", 2, 1)], paused=True)
    jobs = build_jobs(random_dag(n))
    loader.schedule(jobs)
    assert loader.snapshot().schema == SCHEMA
    ours = median_time(loader.snapshot, repeat)

    def critical_section() -> None:  # exactly what snapshot() does under the lock
        with loader._lock:
            loader._columns.copy()

    held = median_time(critical_section, repeat)
    with loader._lock:  # the peer holds the lock for its whole walk, as a naive one would
        peer = median_time(lambda: row_by_row(jobs), max(1, repeat // 2))
    seconds = 2.0 if scale >= 1 else 0.05

    with loader._lock:
        frozen = loader._columns.copy()

    def unlocked_snapshot() -> None:
        """The same work as snapshot(), without the lock: what the GIL alone costs.  It copies
        a frozen copy of the columns, since the live ones change under a lock-free reader."""
        columns = {name: (dict(value) if isinstance(value, dict) else value[:])
                   for name, value in frozen.items()}
        build_table(columns, loader._pool_names(), loader._pool_priorities(), 0,
                    loader._name_order)

    locked = _stalls(loader, loader.snapshot, seconds)
    unlocked = _stalls(loader, unlocked_snapshot, seconds)
    loader.remove(jobs)
    return [
        Figure(f"snapshot() of {n} jobs", ours * 1e3, "ms", "row-by-row snapshot",
               peer * 1e3, "<= 30 ms", ours * 1e3 <= 30),
        Figure("  loader lock held by that snapshot", held * 1e3, "ms", "", None, "<= 5 ms",
               held * 1e3 <= 5),
        # A schedule() call stalls while another thread snapshots mostly because that thread
        # holds the GIL (CPython hands it over every 5 ms, sys.getswitchinterval()), not the
        # loader lock: the peer runs the same work without taking the lock at all.
        Figure("  schedule() stall while snapshotting, p99", _p99(locked) * 1e3, "ms",
               "same work without the lock", _p99(unlocked) * 1e3, "", None),
        Figure("  schedule() stall while snapshotting, worst", locked[-1] * 1e3, "ms",
               "same work without the lock", unlocked[-1] * 1e3,
               "lock adds <= 5 ms", locked[-1] - unlocked[-1] <= 0.005),
    ]
