"""A 100k-job DAG with ~200k edges: asl vs dask.threaded.get and graphlib + ThreadPoolExecutor.

A third contender is no competitor but a floor: the least a pure-Python executor can do
(``run_floor``), to show how much of asl's time is its bookkeeping and how much is CPython.
"""

from __future__ import annotations

import queue
import threading
from array import array
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from graphlib import TopologicalSorter

from loader import AsyncLoader, LoadJob, Pool

from .common import Figure, interleaved_medians
from .graphs import edge_count, random_dag


def _noop(*args):
    return None


def build_jobs(deps: list[list[int]], pool: int = 0) -> list[LoadJob]:
    jobs: list[LoadJob] = []
    for d in deps:
        jobs.append(LoadJob(_noop, dependencies=[jobs[i] for i in d], pool=pool))
    return jobs


def run_asl(jobs: list[LoadJob]) -> None:
    with AsyncLoader([Pool("p", 2)]) as loader:
        loader.schedule(jobs)
        loader.wait_all()


def run_graphlib(graph: dict[int, list[int]]) -> None:
    """The textbook driver: a TopologicalSorter feeding a 2-thread executor."""
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    done: queue.SimpleQueue[int] = queue.SimpleQueue()
    with ThreadPoolExecutor(2) as pool:
        pending = 0
        while sorter.is_active():
            for node in sorter.get_ready():
                pool.submit(_noop).add_done_callback(lambda _f, node=node: done.put(node))
                pending += 1
            node = done.get()
            pending -= 1
            sorter.done(node)


def run_floor(deps: list[list[int]]) -> None:
    """Kahn's algorithm on one thread, one lock taken per start and per finish, no state kept
    per job beyond a dependency count: what any pure-Python executor must at least spend."""
    n = len(deps)
    left = array("q", map(len, deps))
    dependents: list[list[int]] = [[] for _ in range(n)]
    for job, d in enumerate(deps):
        for dep in d:
            dependents[dep].append(job)
    lock = threading.Lock()
    ready = deque(job for job in range(n) if not left[job])
    while ready:
        with lock:
            job = ready.popleft()
        _noop(None, job)
        with lock:
            for dependent in dependents[job]:
                left[dependent] -= 1
                if not left[dependent]:
                    ready.append(dependent)


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    import dask.threaded

    n = max(10, int(100_000 * scale))
    deps = random_dag(n)
    edges = edge_count(deps)
    graph = {i: d for i, d in enumerate(deps)}
    dsk = {i: (_noop, *d) for i, d in enumerate(deps)}

    ours, glib, dask_time, floor = interleaved_medians([
        (run_asl, lambda: build_jobs(deps)),
        (lambda: run_graphlib(graph), None),
        (lambda: dask.threaded.get(dsk, list(range(n)), num_workers=2), None),
        (lambda: run_floor(deps), None),
    ], repeat)
    name = f"DAG of {n} jobs, {edges} edges"
    return [
        Figure(name, ours, "s", "dask.threaded.get", dask_time, ">= 10x",
               dask_time / ours >= 10),
        Figure(name, ours, "s", "graphlib + ThreadPoolExecutor(2)", glib, ">= 4x",
               glib / ours >= 4),
        Figure(name, ours, "s", "floor: bare Kahn loop, 1 thread, no state", floor, "", None),
    ]
