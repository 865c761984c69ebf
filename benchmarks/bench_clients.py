"""Fetching every row of a 100k-job loader through real ClickHouse clients of the endpoint.

``clickhouse-connect`` (ClickHouse's Python driver: ``FORMAT Native`` decoded into Python rows,
and ``query_arrow``) against ``asl sql --connect URL "SELECT * ..."`` (the whole process, TSV to
/dev/null), in one run against the same server; the peer of each figure is ``asl sql
--connect``, so a ratio above 1 means the driver fetched faster.
"""

from __future__ import annotations

import shutil
import sys

import sqlbridge
from loader import AsyncLoader, Pool

from .bench_dag import build_jobs
from .common import Figure, interleaved_medians, whole_process
from .graphs import random_dag

QUERY = "SELECT * FROM system.asynchronous_loader"


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    try:
        import clickhouse_connect
    except ImportError:  # a dev dependency; without it there is nothing to compare
        return []
    asl = shutil.which("asl")
    base = [asl] if asl else [sys.executable, "-c", "from cli.main import main; main()"]
    n = max(10, int(100_000 * scale))
    loader = AsyncLoader([Pool("ForegroundLoad", 2, 0), Pool("BackgroundLoad", 2, 1)],
                         paused=True)
    jobs = build_jobs(random_dag(n), pool=1)
    loader.schedule(jobs)
    try:
        with sqlbridge.serve(loader, "127.0.0.1:0", time_zone="UTC") as server:
            host, port = server.url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
            client = clickhouse_connect.get_client(host=host, port=int(port))
            try:
                rows = len(client.query(QUERY).result_rows)
                assert rows == n, (rows, n)
                native, arrow, cli = interleaved_medians([
                    (lambda: client.query(QUERY).result_rows, None),
                    (lambda: client.query_arrow(QUERY), None),
                    (whole_process(*base, "sql", "--connect", server.url, QUERY), None),
                ], repeat)
            finally:
                client.close()
    finally:
        loader.remove(jobs)
    peer = "asl sql --connect (TSV, whole process)"
    return [
        Figure(f"clickhouse-connect query(), {n} rows x 22 columns (Native)", native, "s",
               peer, cli),
        Figure(f"clickhouse-connect query_arrow(), {n} rows (Arrow)", arrow, "s", peer, cli),
    ]
