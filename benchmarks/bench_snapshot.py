"""snapshot() of 100k jobs vs a row-by-row snapshot, and the stall a scheduling thread sees."""

from __future__ import annotations

import threading
import time

import pyarrow as pa

from loader import AsyncLoader, LoadJob, Pool
from loader.snapshot import SCHEMA

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


def _max_stall(loader: AsyncLoader, snapshots: bool, seconds: float) -> float:
    """Longest single schedule() call on one thread while another snapshots (or not)."""
    stop = threading.Event()

    def snapshotter() -> None:
        while not stop.is_set():
            loader.snapshot()

    thread = threading.Thread(target=snapshotter) if snapshots else None
    if thread:
        thread.start()
    worst = 0.0
    end = time.perf_counter() + seconds
    try:
        while time.perf_counter() < end:
            job = LoadJob(lambda loader, job: None)
            t = time.perf_counter()
            loader.schedule(job)
            worst = max(worst, time.perf_counter() - t)
            loader.remove([job])
    finally:
        stop.set()
        if thread:
            thread.join()
    return worst


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
    seconds = 0.5 if scale >= 1 else 0.05
    baseline = _max_stall(loader, False, seconds)
    stall = _max_stall(loader, True, seconds * 4)
    loader.remove(jobs)
    return [
        Figure(f"snapshot() of {n} jobs", ours * 1e3, "ms", "row-by-row snapshot",
               peer * 1e3, "<= 30 ms", ours * 1e3 <= 30),
        Figure("  loader lock held by that snapshot", held * 1e3, "ms", "", None, "<= 5 ms",
               held * 1e3 <= 5),
        # Includes waiting for the GIL while the snapshot thread builds Arrow arrays outside
        # the lock: CPython hands the GIL over every 5 ms (sys.getswitchinterval()).
        Figure("  worst schedule() stall while snapshotting", stall * 1e3, "ms",
               "worst stall without snapshots", baseline * 1e3, "", None),
    ]
