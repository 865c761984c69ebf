"""Cost of schedule() per edge and prioritize() per visited job, and memory of 1M jobs."""

from __future__ import annotations

import json
import subprocess
import sys
from graphlib import TopologicalSorter

from loader import AsyncLoader, LoadJob, Pool

from .bench_dag import build_jobs
from .common import Figure, median_time
from .graphs import edge_count, random_dag


def _schedule(jobs) -> None:
    loader = AsyncLoader([Pool("p", 2)], paused=True)
    loader.schedule(jobs)


def _prioritize(setup) -> None:
    loader, jobs = setup
    loader.prioritize(jobs[-1], 0)


def _prioritize_setup(deps):
    # Every job starts in the slow pool; the last one depends on all the others, so raising
    # it raises (visits) every job once.
    loader = AsyncLoader([Pool("fast", 1, 0), Pool("slow", 1, 1)], paused=True)
    jobs = build_jobs(deps, pool=1)
    jobs.append(LoadJob(lambda loader, job: None, dependencies=jobs, pool=1))
    loader.schedule(jobs)
    return loader, jobs


def _reachable(deps: list[list[int]], start: int) -> int:
    seen = {start}
    stack = [start]
    while stack:
        for d in deps[stack.pop()]:
            if d not in seen:
                seen.add(d)
                stack.append(d)
    return len(seen)


def _dfs_peer(deps: list[list[int]], start: int) -> None:
    """The least a prioritize must do: visit the same jobs once, in plain Python."""
    _reachable(deps, start)


# Current resident memory, not ru_maxrss: a child started from a big benchmark process inherits
# the parent's peak in ru_maxrss, which would hide the child's own.
_MEMORY_PROBE = """
import json, sys
from loader import AsyncLoader, LoadJob, Pool
def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
n = int(sys.argv[1])
def noop(loader, job):
    return None
base = rss_kib()
if sys.argv[2] == "asl":
    loader = AsyncLoader([Pool("p", 2)], paused=True)
    loader.schedule([LoadJob(noop) for _ in range(n)])
else:
    from graphlib import TopologicalSorter
    sorter = TopologicalSorter({i: () for i in range(n)})
    sorter.prepare()
print(json.dumps({"kib": rss_kib() - base}))
"""


def _rss_mib(n: int, which: str) -> float:
    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(n), which],
                         check=True, capture_output=True, text=True, timeout=600).stdout
    return json.loads(out)["kib"] / 1024


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    n = max(10, int(100_000 * scale))
    deps = random_dag(n)
    edges = edge_count(deps)
    graph = {i: d for i, d in enumerate(deps)}

    sched = median_time(_schedule, repeat, setup=lambda: build_jobs(deps))
    topo = median_time(lambda: TopologicalSorter(graph).prepare(), repeat)

    visited = n + 1
    prio = median_time(_prioritize, repeat, setup=lambda: _prioritize_setup(deps))
    sink_deps = deps + [list(range(n))]
    dfs = median_time(lambda: _dfs_peer(sink_deps, n), repeat)

    million = max(10, int(1_000_000 * scale))
    ours_mib = _rss_mib(million, "asl")
    peer_mib = _rss_mib(million, "graphlib")
    return [
        Figure(f"schedule per edge ({edges} edges)", sched / edges * 1e6, "us",
               "graphlib prepare() per edge", topo / edges * 1e6, "<= 2 us",
               sched / edges * 1e6 <= 2),
        Figure(f"prioritize per visited job ({visited} jobs)", prio / visited * 1e6, "us",
               "plain DFS per job", dfs / visited * 1e6, "<= 2 us",
               prio / visited * 1e6 <= 2),
        Figure(f"{million} scheduled jobs, resident", ours_mib, "MiB",
               "graphlib of the same jobs", peer_mib, "<= 1024 MiB", ours_mib <= 1024),
    ]
