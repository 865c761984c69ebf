"""Reading a history: ``asl sql --history`` over a 1M-job history answering a GROUP BY summary,
whole process (SPEC section 6 and issue 10: <= 1 s), against a process that only imports what
it must (DuckDB, pyarrow, sqlglot).

The history is synthesized with the stored schema (``sqlbridge.history.schema.LOG_SCHEMA``):
2 rows per job (JobStart, JobFinish), 1% failures, realistic names, pools, tags and times, in
16 segments per instance (what the writer's merging leaves) and 4 instances (restarts), plus a
processes row each.  Recording 1M real jobs would take minutes and measure the writer, which
``bench_recording`` does; the reader only sees the files, and these are the same files.

A second whole-process figure over a 1000-job history (same layout) separates what depends on
the million jobs from asl's fixed start-up.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .common import Figure, paired_median_times, whole_process

IMPORTS = "import duckdb, pyarrow, sqlglot"
SUMMARY = ("SELECT execution_pool, status, count() AS jobs, round(avg(elapsed), 3) AS avg_s, "
           "round(quantile(0.95)(elapsed), 3) AS p95_s FROM system.asynchronous_loader_log "
           "WHERE type = 'JobFinish' GROUP BY execution_pool, status ORDER BY jobs DESC")

#: Jobs of the small history (the fixed start-up figure).
SMALL = 1000

_T0 = np.datetime64("2026-12-01T00:00:00", "us")


def _segment(first_job: int, jobs: int, instance: str) -> pa.Table:
    from sqlbridge.history.schema import LOG_SCHEMA

    rng = np.random.default_rng(first_job)
    ids = np.repeat(np.arange(first_job, first_job + jobs, dtype=np.uint64), 2)
    n = len(ids)
    start = np.arange(n) % 2 == 0
    failed = (ids % 100 == 7) & ~start
    elapsed = np.where(start, 0.0, rng.lognormal(-4.0, 1.0, n))
    sched = _T0 + (ids.astype(np.int64) * 50)
    started = sched + 1000
    finished = started + (elapsed * 1e6).astype(np.int64)
    event = np.where(start, started, finished)
    pool = np.where(ids % 3 == 0, "ForegroundLoad", "BackgroundLoad")
    kind = np.where(ids % 2 == 0, "load table db", "startup table db")
    names = np.char.add(np.char.add(kind, (ids % 50).astype(str)),
                        np.char.add(".t", ids.astype(str)))
    status = np.where(start, "PENDING", np.where(failed, "FAILED", "OK"))
    ts = pa.timestamp("us", tz="UTC")
    cols = {
        "hostname": pa.array(["bench"] * n), "event_date": pa.array(
            event.astype("datetime64[D]"), pa.date32()),
        "event_time": pa.array(event.astype("datetime64[s]").astype("datetime64[us]"), ts),
        "event_time_microseconds": pa.array(event, ts),
        "type": pa.array(np.where(start, "JobStart", "JobFinish")),
        "job": pa.array(names), "job_id": pa.array(ids),
        "dependencies": pa.array([[]] * n, pa.list_(pa.uint64())),
        "dependencies_left": pa.array(np.zeros(n, np.uint64)), "status": pa.array(status),
        "is_executing": pa.array(start.astype(np.uint8)),
        "is_blocked": pa.array(np.zeros(n, np.uint8)),
        "is_ready": pa.array(np.zeros(n, np.uint8)), "elapsed": pa.array(elapsed),
        "pool_id": pa.array((ids % 3 == 0).astype(np.uint64)), "pool": pa.array(pool),
        "priority": pa.array((ids % 3 != 0).astype(np.int64)),
        "execution_pool_id": pa.array((ids % 3 == 0).astype(np.uint64)),
        "execution_pool": pa.array(pool),
        "execution_priority": pa.array((ids % 3 != 0).astype(np.int64)),
        "ready_seqno": pa.nulls(n, pa.uint64()), "waiters": pa.array(np.zeros(n, np.uint64)),
        "exception": pa.array(np.where(failed, "Load job failed: disk error", None)),
        "schedule_time": pa.array(sched, ts), "enqueue_time": pa.array(sched, ts),
        "start_time": pa.array(started, ts),
        "finish_time": pa.array(np.where(start, np.datetime64("NaT"), finished), ts),
        "parent_job_id": pa.nulls(n, pa.uint64()),
        "tags": pa.array([[("table", "t")]] * n, pa.map_(pa.string(), pa.string())),
        "result": pa.nulls(n, pa.string()),
        "error_type": pa.array(np.where(failed, "OSError", None)),
        "traceback": pa.array(np.where(failed, "Traceback ...\nOSError: disk error", None)),
        "worker": pa.array((ids % 2).astype(np.uint32)),
        "thread_id": pa.array((ids % 2 + 1000).astype(np.uint64)),
        "pid": pa.array(np.full(n, 4242, np.uint32)),
        "loader_instance": pa.array([instance] * n), "version": pa.array(["bench"] * n),
        "reason": pa.nulls(n, pa.string()),
    }
    return pa.table(cols).cast(LOG_SCHEMA)


def synthesize(root: Path, jobs: int, instances: int = 4, segments: int = 16) -> None:
    """A history of ``jobs`` finished jobs under ``root`` (see the module docstring)."""
    from sqlbridge.history.schema import PROCESSES_SCHEMA, marker_text, segment_name

    (root / "log").mkdir(parents=True)
    (root / "processes").mkdir()
    (root / "asl-history.json").write_text(marker_text())
    per_instance = max(1, jobs // instances)
    per_segment = max(1, per_instance // segments)
    t0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for i in range(instances):
        instance = f"{i + 1:032x}"
        done = 0
        for s in range(segments):
            count = per_segment if s < segments - 1 else per_instance - done
            if count <= 0:
                break
            table = _segment(1 + done, count, instance)
            pq.write_table(table, root / "log" / segment_name(instance, s * 8 + 1, s * 8 + 8))
            done += count
        row = {"hostname": "bench", "loader_instance": instance, "pid": 4242, "version": "b",
               "started": t0, "heartbeat": t0, "flush_interval": 1.0, "ended": t0,
               "end_reason": "closed", "events_written": 2 * done, "events_dropped": 0,
               "text_log_dropped": 0, "write_errors": 0, "last_error": None}
        pq.write_table(pa.Table.from_pylist([row], schema=PROCESSES_SCHEMA),
                       root / "processes" / f"{instance}.parquet")


#: The summary as plain DuckDB over the same files (no interrupted rows, no sandbox, no enums).
_BARE = ("SELECT execution_pool, status, count() AS jobs, round(avg(elapsed), 3) AS avg_s, "
         "round(quantile_cont(elapsed, 0.95), 3) AS p95_s "
         "FROM read_parquet('{root}/log/*.parquet') "
         "WHERE type = 'JobFinish' GROUP BY execution_pool, status ORDER BY jobs DESC")


def _in_process(root: Path) -> None:
    import sqlbridge
    from sqlbridge.history import HistorySource

    with sqlbridge.connect(HistorySource(root)) as db:
        db.run(SUMMARY)


def _bare_duckdb(root: Path) -> None:
    import duckdb

    con = duckdb.connect()
    try:
        con.sql(_BARE.format(root=root)).fetchall()
    finally:
        con.close()


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    import sys

    jobs = max(1000, int(1_000_000 * scale))
    work = Path(tempfile.mkdtemp(prefix="asl-bench-read-"))
    try:
        synthesize(work / "history", jobs)
        synthesize(work / "small", SMALL)
        base = [sys.executable, "-c", "from cli.main import main; main()"]
        imports, query = paired_median_times(
            whole_process(sys.executable, "-c", IMPORTS),
            whole_process(*base, "sql", "--history", str(work / "history"), SUMMARY), repeat)
        small_imports, small = paired_median_times(
            whole_process(sys.executable, "-c", IMPORTS),
            whole_process(*base, "sql", "--history", str(work / "small"), SUMMARY), repeat)
        size = sum(p.stat().st_size for p in (work / "history").rglob("*.parquet"))
        session, bare = paired_median_times(
            lambda: _in_process(work / "history"), lambda: _bare_duckdb(work / "history"),
            repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        Figure(f"history session, connect + first GROUP BY ({jobs} jobs), in process",
               session, "s", "duckdb read_parquet, same query", bare),
        Figure(f"asl sql --history ({jobs} jobs, GROUP BY), whole process", query, "s",
               "python -c '" + IMPORTS + "'", imports, "<= 1 s", query <= 1.0),
        Figure(f"asl sql --history ({SMALL} jobs, GROUP BY), whole process", small, "s",
               "python -c '" + IMPORTS + "'", small_imports),
        Figure("synthesized history size per million jobs", size / (1 << 20) * 1e6 / jobs,
               "MiB"),
    ]
