"""A failure at the root of a 100k-job chain vs the same chain succeeding."""

from __future__ import annotations

import tracemalloc

from loader import AsyncLoader, LoadJob, Pool

from .common import Figure, median_time


def _noop(loader, job):
    return None


def _boom(loader, job):
    raise ValueError("boom")


def chain(n: int, root_func) -> list[LoadJob]:
    jobs = [LoadJob(root_func, name="root")]
    for i in range(n):
        jobs.append(LoadJob(_noop, name=f"job {i}", dependencies=[jobs[-1]]))
    return jobs


def _run(jobs: list[LoadJob]) -> None:
    with AsyncLoader([Pool("p", 2)], log_failures=False) as loader:
        loader.schedule(jobs[-1])
        loader.wait_all()


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    n = max(10, int(100_000 * scale))
    failing = median_time(_run, repeat, setup=lambda: chain(n, _boom))
    passing = median_time(_run, repeat, setup=lambda: chain(n, _noop))
    jobs = chain(n, _boom)
    tracemalloc.start()
    _run(jobs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    longest = max(len(str(job.exception)) for job in jobs)
    return [
        Figure(f"failure cascade through a {n}-job chain", failing, "s",
               "the same chain succeeding", passing, "<= 1 s", failing <= 1),
        Figure("  peak memory of that cascade", peak / 2**20, "MiB", "", None,
               f"bounded (longest message {longest} B)", longest <= 4096),
    ]
