"""A query over a 100k-job loader, in process, from call to rendered text, vs a bare snapshot."""

from __future__ import annotations

import sqlbridge
from loader import AsyncLoader, Pool

from .bench_dag import build_jobs
from .common import Figure, paired_median_times
from .graphs import random_dag

QUERIES = {
    "documented query (Vertical, LIMIT 1)":
        "SELECT * FROM system.asynchronous_loader FORMAT Vertical LIMIT 1",
    "summary by pool and status (PrettyCompact)":
        "SELECT pool, status, count() AS jobs, countIf(is_blocked) AS blocked, "
        "max(elapsed) FROM system.asynchronous_loader GROUP BY pool, status "
        "ORDER BY pool, status FORMAT PrettyCompact",
    "every row (TabSeparated)": "SELECT * FROM system.asynchronous_loader",
}


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    n = max(10, int(100_000 * scale))
    loader = AsyncLoader([Pool("ForegroundLoad", 2, 0), Pool("BackgroundLoad", 2, 1)],
                         paused=True)
    jobs = build_jobs(random_dag(n), pool=1)
    loader.schedule(jobs)
    figures = []
    with sqlbridge.connect(loader, time_zone="UTC") as db:
        db.run("SELECT 1")  # the first statement pays for imports and setup
        for name, sql in QUERIES.items():
            bare, took = paired_median_times(
                loader.snapshot, lambda sql=sql: db.run(sql), repeat
            )
            figures.append(Figure(f"{name}, {n} jobs", took * 1e3, "ms",
                                  "bare loader.snapshot()", bare * 1e3))
    loader.remove(jobs)
    return figures
