"""Whole-process figures of the ``asl`` command: start-up of ``asl --help``, ``asl sql`` over
the embedded demo, and ``asl sql --connect`` against an endpoint serving a 100k-job loader.

Peers: a bare ``python -c pass`` for start-up and for the client, and a process that only
imports what ``asl sql --demo`` must import (DuckDB, pyarrow, sqlglot).
"""

from __future__ import annotations

import shutil
import sys

import sqlbridge
from loader import AsyncLoader, Pool

from .bench_dag import build_jobs
from .common import Figure, paired_median_times, whole_process
from .graphs import random_dag

IMPORTS = "import duckdb, pyarrow, sqlglot"
QUERY = "SELECT status, count() FROM system.asynchronous_loader GROUP BY status"
REMOTE_QUERIES = {
    "documented query": "SELECT * FROM system.asynchronous_loader FORMAT Vertical LIMIT 1",
    "every row as TSV": "SELECT * FROM system.asynchronous_loader FORMAT TSV",
}


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    asl = shutil.which("asl")
    if asl is None:  # not installed: run the module the console script points at
        base = [sys.executable, "-c", "from cli.main import main; main()"]
    else:
        base = [asl]
    bare, helped = paired_median_times(
        whole_process(sys.executable, "-c", "pass"), whole_process(*base, "--help"), repeat
    )
    imports, query = paired_median_times(
        whole_process(sys.executable, "-c", IMPORTS),
        whole_process(*base, "sql", "--demo", QUERY), repeat,
    )
    figures = [
        Figure("asl --help, whole process", helped, "s", "python -c pass", bare, "<= 0.3 s",
               helped <= 0.3),
        Figure("asl sql --demo (643 jobs), whole process", query, "s",
               f"python -c '{IMPORTS}'", imports, "", None),
    ]
    n = max(10, int(100_000 * scale))
    loader = AsyncLoader([Pool("ForegroundLoad", 2, 0), Pool("BackgroundLoad", 2, 1)],
                         paused=True)
    jobs = build_jobs(random_dag(n), pool=1)
    loader.schedule(jobs)
    with sqlbridge.serve(loader, "127.0.0.1:0") as server:
        for name, sql in REMOTE_QUERIES.items():
            bare, took = paired_median_times(
                whole_process(sys.executable, "-c", "pass"),
                whole_process(*base, "sql", "--connect", server.url, sql), repeat
            )
            figures.append(Figure(f"asl sql --connect, {n} jobs, {name}", took, "s",
                                  "python -c pass", bare, "<= 1 s", took <= 1))
    loader.remove(jobs)
    return figures
