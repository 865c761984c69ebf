"""Latency of the HTTP endpoint under 8 concurrent clients while 10k jobs run.

8 client threads, each with its own kept-alive connection, send 500 ``GROUP BY status``
queries over ``system.asynchronous_loader`` while a loader works through 10,000 jobs (each
sleeps 10 ms, 4 workers: they run for the whole measurement, so every query snapshots a
table that is changing). Two servers over the same loader, in the same run, their turns
interleaved in halves so drift hits both: *after* (today's endpoint: each statement on a
DuckDB cursor of its own, TCP_NODELAY) against *before* (``max_lanes=1``: one statement at a
time per session, behind one lock, as the endpoint ran before lanes; and Nagle's algorithm on,
as http.server's two writes per answer had it). Then the same again while a ninth client keeps
one slow statement running (a cross product stopped by ``max_execution_time=1``), the case
the session lock made everyone wait for.

Figures: p50 and p99 of the per-query latency (request sent -> answer read); the peer is
*before*, so a ratio above 1 means today's endpoint is faster.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
import urllib.parse

import sqlbridge
from loader import AsyncLoader, LoadJob, Pool
from sqlbridge.endpoint.connections import Timeouts

from .common import Figure

QUERY = "SELECT status, count() FROM system.asynchronous_loader GROUP BY status ORDER BY status"
CLIENTS = 8
SLOW = ("SELECT count() FROM numbers(100000) AS a, numbers(100000) AS b "
        "WHERE a.number + b.number = 3 SETTINGS max_execution_time = {seconds}")


def _slow_client(server: sqlbridge.Server, stop: threading.Event,
                 seconds: float) -> threading.Thread:
    """A client running one slow statement after another until ``stop``."""
    host, port = server.address  # type: ignore[misc]
    path = "/?" + urllib.parse.urlencode({"query": SLOW.format(seconds=seconds)})

    def loop() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=120)
        try:
            while not stop.is_set():
                conn.request("GET", path)
                conn.getresponse().read()  # 408 TIMEOUT_EXCEEDED after 1 s
        finally:
            conn.close()

    thread = threading.Thread(target=loop)
    thread.start()
    return thread


def _clients(server: sqlbridge.Server, per_client: int) -> tuple[list[float], float]:
    """Latencies of every query, and the wall time of the whole burst."""
    host, port = server.address  # type: ignore[misc]
    path = "/?" + urllib.parse.urlencode({"query": QUERY})
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS + 1)
    errors: list[BaseException] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=120)
        try:
            start.wait(60)
            for _ in range(per_client):
                t = time.perf_counter()
                conn.request("GET", path)
                reply = conn.getresponse()
                reply.read()
                latencies[k].append(time.perf_counter() - t)
                if reply.status != 200:
                    raise RuntimeError(f"HTTP {reply.status}")
        except BaseException as e:  # reported by the caller, not lost in a thread
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    start.wait(60)
    began = time.perf_counter()
    for t in threads:
        t.join(600)
    wall = time.perf_counter() - began
    if errors:
        raise errors[0]
    return [x for per in latencies for x in per], wall


def _percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    jobs_n = max(100, int(10_000 * scale))
    per_client = max(4, int(500 * scale))
    slow_seconds = 1.0 if scale >= 0.1 else 0.2
    loader = AsyncLoader([Pool("BackgroundLoad", 4, 0)], log_failures=False)
    stop = threading.Event()

    def work(loader: AsyncLoader, job: LoadJob) -> None:
        stop.wait(0.01)

    jobs = [LoadJob(work, name=f"load table db.t{i}") for i in range(jobs_n)]
    loader.schedule(jobs)
    results: dict[tuple[str, bool], list[float]] = {}
    try:
        with sqlbridge.serve(loader, "127.0.0.1:0", time_zone="UTC") as after, \
                sqlbridge.serve(loader, "127.0.0.1:0", time_zone="UTC", max_lanes=1,
                                timeouts=Timeouts(tcp_nodelay=False)) as before:
            for server in (after, before):  # warm-up: sessions, translation cache, connections
                _clients(server, 2)
            halves = [per_client // 2, per_client - per_client // 2]
            for slow in (False, True):
                for half in halves:
                    for name, server in (("before", before), ("after", after)):
                        done = threading.Event()
                        background = _slow_client(server, done, slow_seconds) \
                            if slow else None
                        if background is not None:
                            time.sleep(0.05)  # the slow statement is under way
                        got, _ = _clients(server, half)
                        done.set()
                        if background is not None:
                            background.join(120)
                        results.setdefault((name, slow), []).extend(got)
    finally:
        stop.set()
        loader.shutdown()
    peer = "before: one lane, Nagle on"
    figures = []
    for slow in (False, True):
        what = (f"{CLIENTS} clients x {per_client} GROUP BY, {jobs_n} jobs running"
                + (", one slow query alongside" if slow else ""))
        new, old = results[("after", slow)], results[("before", slow)]
        for p in (50, 99):
            figures.append(Figure(f"endpoint p{p} latency, {what}", _percentile(new, p) * 1e3,
                                  "ms", peer, _percentile(old, p) * 1e3))
    return figures


if __name__ == "__main__":
    from .run import format_table

    print(format_table(run()))
