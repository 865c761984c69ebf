"""The job graphs the benchmarks run, built the same way for asl and for each peer."""

from __future__ import annotations

import random


def random_dag(n: int, edges_per_job: int = 2, seed: int = 7) -> list[list[int]]:
    """``deps[i]``: up to ``edges_per_job`` distinct earlier jobs, so about n*k edges, no cycle."""
    rng = random.Random(seed)
    deps: list[list[int]] = []
    for i in range(n):
        k = min(i, edges_per_job)
        deps.append(rng.sample(range(i), k) if k else [])
    return deps


def edge_count(deps: list[list[int]]) -> int:
    return sum(len(d) for d in deps)
