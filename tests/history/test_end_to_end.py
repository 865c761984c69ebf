"""record_history on a real loader with its real journal: the rows a user gets."""

from __future__ import annotations

import threading

from history_testkit import TIMEOUT, query, rows

from loader import LoadJob
from sqlbridge.history import record_history


def noop(loader, job):
    return None


def test_a_real_loader_records_starts_finishes_workers_and_sub_jobs(loader, history):
    subs = []

    def parent(loader, job):
        sub = LoadJob(noop, name="sub", tags={"of": job.name})
        subs.append(sub)
        loader.schedule([sub])
        return [1, 2, 3]

    with record_history(loader, history, flush_interval=0.05) as rec:
        loader.schedule([LoadJob(parent, name="parent", tags={"resource": "vm-1"})])
        loader.wait_all(timeout=TIMEOUT)
        loader.wait_all(timeout=TIMEOUT)
    got = {(r["job"], r["type"]): r for r in rows(history, "log")}
    assert set(got) == {("parent", "JobStart"), ("parent", "JobFinish"), ("sub", "JobStart"),
                        ("sub", "JobFinish")}
    p, s = got["parent", "JobFinish"], got["sub", "JobFinish"]
    assert p["result"] == "[1,2,3]" and p["tags"] == {"resource": "vm-1"}
    assert s["parent_job_id"] == p["job_id"] and s["tags"] == {"of": "parent"}
    for r in got.values():
        assert r["worker"] is not None and r["thread_id"] is not None
        assert r["loader_instance"] == rec.instance
    start = got["parent", "JobStart"]
    assert start["status"] == "PENDING" and start["is_executing"] == 1
    assert start["event_time_microseconds"] == start["start_time"]
    assert p["event_time_microseconds"] == p["finish_time"] and p["status"] == "OK"


def test_a_job_canceled_before_it_started_has_only_a_finish_row(loader, history):
    release = threading.Event()
    blocker = LoadJob(lambda _l, _j: release.wait(TIMEOUT), name="blocker")
    waiting = LoadJob(noop, name="never runs", dependencies=[blocker])
    with record_history(loader, history, flush_interval=0.05):
        loader.schedule([waiting])
        loader.remove([waiting])
        release.set()
        loader.wait_all(timeout=TIMEOUT)
    assert query(history, "log", "SELECT job, type, status FROM t ORDER BY job, type DESC") == [
        ("blocker", "JobStart", "PENDING"), ("blocker", "JobFinish", "OK"),
        ("never runs", "JobFinish", "CANCELED")]


def test_a_full_journal_drops_and_the_processes_row_says_how_many(loader, history):
    release = threading.Event()
    with record_history(loader, history, flush_interval=3600, capacity=10) as rec:
        loader.schedule([LoadJob(noop, name=f"j{i}") for i in range(20)])
        loader.wait_all(timeout=TIMEOUT)
        release.set()
    assert rec.events_dropped == 30
    row = rows(history, "processes")[0]
    assert row["events_dropped"] == 30 and row["events_written"] == 10
    assert query(history, "log", "SELECT count(*) FROM t") == [(10,)]


def test_a_full_disk_is_counted_the_engine_keeps_running_and_writing_resumes(
        loader, history, monkeypatch):
    import errno

    import sqlbridge.history.segments as segments

    real_write = segments.pq.write_table

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    rec = record_history(loader, history, flush_interval=3600)
    monkeypatch.setattr(segments.pq, "write_table", full_disk)
    loader.schedule([LoadJob(noop, name=f"while full {i}") for i in range(50)])
    loader.wait_all(timeout=TIMEOUT)  # the engine never waits on the disk
    rec.flush()
    assert rec.write_errors >= 1 and "No space left on device" in rec.last_error
    assert list((history / ".tmp").iterdir()) == []  # no half-written leftovers
    monkeypatch.setattr(segments.pq, "write_table", real_write)
    loader.schedule([LoadJob(noop, name="after")])
    loader.wait_all(timeout=TIMEOUT)
    rec.close()
    assert query(history, "log", "SELECT count(*) FROM t WHERE type = 'JobFinish'") == [(51,)]
    row = rows(history, "processes")[0]
    assert row["write_errors"] >= 2 and "No space left on device" in row["last_error"]
    assert row["events_dropped"] == 0 and row["end_reason"] == "closed"
