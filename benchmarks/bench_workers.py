"""Why workers yield the GIL before sleeping on the loader lock: the same DAG with 2 and 8
workers, against the same engine taking the lock the plain way (``YIELDS_BEFORE_SLEEP = 0``)."""

from __future__ import annotations

from loader import AsyncLoader, Pool
from loader import latches as engine

from .bench_dag import build_jobs
from .common import Figure, interleaved_medians
from .graphs import random_dag


def _run_with(threads: int, yields: int):
    def run(jobs) -> None:
        saved = engine.YIELDS_BEFORE_SLEEP
        engine.YIELDS_BEFORE_SLEEP = yields
        try:
            with AsyncLoader([Pool("p", threads)]) as loader:
                loader.schedule(jobs)
                loader.wait_all()
        finally:
            engine.YIELDS_BEFORE_SLEEP = saved
    return run


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    n = max(10, int(50_000 * scale))
    deps = random_dag(n)
    figures = []
    for threads in (2, 8):
        ours, plain = interleaved_medians([
            (_run_with(threads, engine.YIELDS_BEFORE_SLEEP), lambda: build_jobs(deps)),
            (_run_with(threads, 0), lambda: build_jobs(deps)),
        ], repeat)
        figures.append(Figure(f"DAG of {n} jobs, {threads} workers", ours, "s",
                              "the same, sleeping on the lock", plain, "", None))
    return figures
