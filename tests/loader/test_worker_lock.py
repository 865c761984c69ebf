"""How workers take the loader lock: yield the GIL a bounded number of times, then sleep."""

from __future__ import annotations

import threading

import loader.latches as engine
from loader import AsyncLoader, LoadJob, Pool

TIMEOUT = 30


def test_a_worker_waits_for_a_sleeping_holder_by_sleeping_not_spinning(monkeypatch):
    """While the holder sleeps with the lock held, the waiter yields exactly
    YIELDS_BEFORE_SLEEP times, then blocks; it gets the lock once it is released."""
    lock = threading.Lock()
    yields = 0
    exhausted = threading.Event()
    real_sleep = engine.time.sleep

    class Clock:
        @staticmethod
        def sleep(seconds: float) -> None:
            nonlocal yields
            assert seconds == 0
            yields += 1
            if yields == engine.YIELDS_BEFORE_SLEEP:
                exhausted.set()
            real_sleep(0)

    monkeypatch.setattr(engine, "time", Clock)
    got = threading.Event()

    def waiter() -> None:
        engine.acquire_yielding(lock)
        got.set()
        lock.release()

    lock.acquire()
    thread = threading.Thread(target=waiter)
    thread.start()
    assert exhausted.wait(TIMEOUT)
    assert not got.is_set()
    lock.release()
    assert got.wait(TIMEOUT)
    thread.join(TIMEOUT)
    assert yields == engine.YIELDS_BEFORE_SLEEP


def test_a_free_lock_is_taken_without_yielding(monkeypatch):
    lock = threading.Lock()

    class Clock:
        @staticmethod
        def sleep(seconds: float) -> None:
            raise AssertionError("yielded although the lock was free")

    monkeypatch.setattr(engine, "time", Clock)
    engine.acquire_yielding(lock)
    assert lock.locked()
    lock.release()


def test_many_workers_of_short_jobs_keep_every_count_exact():
    """Eight workers hammer the lock with empty jobs in a DAG; every job runs exactly once,
    after its dependencies, and the loader ends idle with consistent counts."""
    ran: list[int] = []
    order_lock = threading.Lock()

    def record(_loader, job):
        with order_lock:
            ran.append(job.job_id)
        for dep in job.dependencies:
            assert dep.status.name == "OK"

    jobs: list[LoadJob] = []
    for i in range(4000):
        deps = [jobs[i // 2], jobs[i // 3]] if i else []
        jobs.append(LoadJob(record, name=f"j{i}", dependencies=deps))
    with AsyncLoader([Pool("p", 8)]) as loader:
        loader.schedule(jobs)
        loader.wait_all(timeout=TIMEOUT)
        assert sorted(ran) == list(range(1, 4001))
        assert loader.scheduled_job_count() == 0
        (row,) = loader.pool_snapshot().to_pylist()
        assert (row["workers"], row["ready_jobs"], row["executing_jobs"]) == (0, 0, 0)
