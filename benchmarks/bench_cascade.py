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


def _scheduled(jobs: list[LoadJob]) -> AsyncLoader:
    loader = AsyncLoader([Pool("p", 2)], paused=True, log_failures=False)
    loader.schedule(jobs[-1])
    return loader


def _run(loader: AsyncLoader) -> None:
    """From the moment the root may run to the last job finished (scheduling not included)."""
    loader.unpause()
    loader.wait_all()
    loader.shutdown()


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    n = max(10, int(100_000 * scale))
    failing = median_time(_run, repeat, setup=lambda: _scheduled(chain(n, _boom)))
    passing = median_time(_run, repeat, setup=lambda: _scheduled(chain(n, _noop)))
    jobs = chain(n, _boom)
    loader = _scheduled(jobs)
    tracemalloc.start()
    _run(loader)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    longest = max(len(str(job.exception)) for job in jobs)
    return [
        Figure(f"failure cascade through a {n}-job chain", failing, "s",
               "the same chain succeeding", passing, "<= 1 s", failing <= 1),
        Figure("  peak memory of that cascade", peak / 2**20, "MiB", "", None,
               f"bounded (longest message {longest} B)", longest <= 4096),
    ]
