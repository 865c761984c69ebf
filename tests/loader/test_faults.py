"""Fault injection: jobs, policies, hooks, log handlers and thread starts that break.

Each test breaks one thing and then checks the same three promises: the loader stays
consistent (every snapshot row agrees with itself and the pool counts return to zero), every
waiter gets an answer (a result, an error, never a hang), and no worker thread dies or
outlives ``shutdown()``.  Every wait is bounded; barriers and events come from ``syncs``.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import pytest
from loader_testkit import TIMEOUT, Recorder, join_thread, run_in_thread, wait_until
from model import pools_violations, snapshot_violations

import sqlbridge
from loader import (
    AsyncLoadCanceled,
    AsyncLoader,
    AsyncLoadFailed,
    AsyncLoadWaitFailed,
    LoadJob,
    LoadStatus,
    Pool,
    ignore_dependency_failure,
)

SHORT = 2.0


def noop(loader, job):
    return job.name


def assert_consistent(loader: AsyncLoader) -> None:
    names = [p.name for p in loader.pools]
    priorities = [p.priority for p in loader.pools]
    assert snapshot_violations(loader.snapshot(), names, priorities) == []
    assert pools_violations(loader.pool_snapshot()) == []


def assert_settled(loader: AsyncLoader) -> None:
    """Nothing pending, no worker counted, suspended or executing, no waiter left."""
    loader.wait_all(timeout=TIMEOUT)
    assert_consistent(loader)
    assert loader.scheduled_job_count() == 0
    for row in loader.pool_snapshot().to_pylist():
        assert (row["workers"], row["suspended_workers"], row["ready_jobs"],
                row["executing_jobs"]) == (0, 0, 0, 0), row
    assert set(loader.snapshot().column("waiters").to_pylist()) <= {0}


def assert_no_worker_left(loader: AsyncLoader) -> None:
    prefixes = tuple(f"asl-{p.name}" for p in loader.pools)
    wait_until(lambda: not [t for t in threading.enumerate() if t.name.startswith(prefixes)],
               what="every worker thread to exit")


def waiters(loader: AsyncLoader, job: LoadJob, count: int) -> list[tuple]:
    """``count`` threads blocked in ``loader.wait(job)``; join them with ``answers``."""
    threads = [run_in_thread(lambda: loader.wait(job, timeout=TIMEOUT), name=f"waiter-{i}")
               for i in range(count)]
    wait_until(lambda: job.waiters_count == count or job.status != LoadStatus.PENDING,
               what="the waiters to block")
    return threads


def answers(threads: list[tuple]) -> list:
    """What each waiter got: its result or its exception (a hang fails the test)."""
    got = []
    for thread, outcome in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), f"{thread.name} was never answered"
        got.append(outcome.get("error", outcome.get("result")))
    return got


# -- job functions raising what is not an Exception ------------------------------------------


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit, MemoryError, GeneratorExit])
def test_job_raising_a_base_exception_fails_only_itself(make_loader, syncs, raised):
    loader = make_loader(2, paused=False)
    gate = syncs.event()

    def breaks(loader, job):
        assert gate.wait(TIMEOUT)
        raise raised("from the job")

    broken = LoadJob(breaks, name="broken")
    dependent = LoadJob(noop, name="dependent", dependencies=[broken])
    tolerant = LoadJob(noop, name="tolerant", dependencies=[broken],
                       dependency_failure=ignore_dependency_failure)
    inner = Recorder()

    def waits_inside(loader, job):
        try:
            loader.wait(broken, timeout=TIMEOUT)
        except AsyncLoadWaitFailed as error:
            inner.add(error)

    insider = LoadJob(waits_inside, name="insider")
    loader.schedule([dependent, tolerant])
    outside = waiters(loader, broken, 3)
    loader.schedule(insider)
    wait_until(lambda: broken.waiters_count == 4, what="the job inside to wait too")
    gate.set()
    for error in answers(outside):
        assert isinstance(error, AsyncLoadWaitFailed)
        assert isinstance(error.__cause__, AsyncLoadFailed)
        assert isinstance(error.__cause__.__cause__, raised)
    loader.wait(insider, timeout=TIMEOUT)
    assert len(inner) == 1
    assert (broken.status, dependent.status, tolerant.status) == (
        LoadStatus.FAILED, LoadStatus.CANCELED, LoadStatus.OK)
    after = LoadJob(noop, name="after")  # the pool still works
    loader.schedule(after)
    assert loader.wait(after, timeout=TIMEOUT) == "after"
    assert_settled(loader)


# -- dependency-failure policies that raise ---------------------------------------------------


def _raising_policy(raised):
    def policy(job, dependency):
        raise raised(f"policy of {job.name}")
    return policy


@pytest.mark.parametrize("raised", [ValueError, KeyboardInterrupt, SystemExit])
def test_policy_raising_in_a_cascade_cancels_its_job(make_loader, raised):
    loader = make_loader(1, paused=False)

    def fail(loader, job):
        raise ValueError("root breaks")

    root = LoadJob(fail, name="root")
    broken = LoadJob(noop, name="broken", dependencies=[root],
                     dependency_failure=_raising_policy(raised))
    leaf = LoadJob(noop, name="leaf", dependencies=[broken])
    tolerant = LoadJob(noop, name="tolerant", dependencies=[broken],
                       dependency_failure=ignore_dependency_failure)
    loader.schedule([leaf, tolerant])
    outside = waiters(loader, leaf, 2)
    for error in answers(outside):
        assert isinstance(error, AsyncLoadWaitFailed)
    loader.wait(tolerant, timeout=TIMEOUT)
    assert broken.status == LoadStatus.CANCELED
    assert f"dependency_failure policy raised {raised.__name__}" in str(broken.exception)
    assert leaf.status == LoadStatus.CANCELED
    assert tolerant.status == LoadStatus.OK
    assert_settled(loader)


@pytest.mark.parametrize("raised", [ValueError, KeyboardInterrupt])
def test_policy_raising_at_schedule_time_cancels_its_job(make_loader, raised):
    """The dependency had failed before its dependent was scheduled: the policy runs inside
    ``schedule()``, where nothing may escape half-way."""
    loader = make_loader(1, paused=False)

    def fail(loader, job):
        raise ValueError("root breaks")

    root = LoadJob(fail, name="root")
    loader.schedule(root)
    loader.wait(root, no_throw=True, timeout=TIMEOUT)
    broken = LoadJob(noop, name="broken", dependencies=[root],
                     dependency_failure=_raising_policy(raised))
    leaf = LoadJob(noop, name="leaf", dependencies=[broken])
    loader.schedule(leaf)
    assert broken.status == LoadStatus.CANCELED
    assert leaf.status == LoadStatus.CANCELED
    with pytest.raises(AsyncLoadWaitFailed):
        loader.wait(leaf, timeout=TIMEOUT)
    assert_settled(loader)


# -- waiter hooks that raise -----------------------------------------------------------------


@pytest.mark.parametrize("raised", [RuntimeError, KeyboardInterrupt])
def test_raising_waiter_hooks_leave_the_other_waiters_answered(make_loader, syncs, raised):
    loader = make_loader(1, paused=False)
    gate = syncs.event()
    refused, broke_after = threading.Event(), threading.Event()

    def increment(job):
        if threading.current_thread().name == "refused" and not refused.is_set():
            refused.set()
            raise raised("no more waiters")

    def decrement(job):
        if threading.current_thread().name == "breaks-after" and not broke_after.is_set():
            broke_after.set()
            raise raised("decrement broke")

    def run(loader, job):
        assert gate.wait(TIMEOUT)
        return "done"

    job = LoadJob(run, name="hooked", on_waiters_increment=increment,
                  on_waiters_decrement=decrement)
    loader.schedule(job)
    normal = waiters(loader, job, 2)
    thread, outcome = run_in_thread(lambda: loader.wait(job, timeout=TIMEOUT), name="refused")
    with pytest.raises(raised, match="no more waiters"):
        join_thread(thread, outcome)
    assert job.waiters_count == 2  # the refused wait left no count behind
    late, late_outcome = run_in_thread(lambda: loader.wait(job, timeout=TIMEOUT),
                                       name="breaks-after")
    wait_until(lambda: job.waiters_count == 3, what="the last waiter to block")
    gate.set()
    assert answers(normal) == ["done", "done"]
    with pytest.raises(raised, match="decrement broke"):
        join_thread(late, late_outcome)
    assert job.waiters_count == 0
    assert loader.wait(job, timeout=TIMEOUT) == "done"  # hooks released: nobody waits now
    assert_settled(loader)


# -- a log handler that blocks ----------------------------------------------------------------


class BlockingHandler(logging.Handler):
    """Blocks on ``release`` (bounded) for every record whose message contains ``needle``."""

    def __init__(self, needle: str, release: threading.Event) -> None:
        super().__init__(logging.DEBUG)
        self.needle, self.release, self.blocked = needle, release, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.blocked.set()
            self.release.wait(TIMEOUT)


def test_blocking_failure_log_handler_stalls_only_its_worker(make_loader, syncs):
    """``log_failures`` logs outside the loader lock: while the handler blocks, the other
    pool runs, snapshots and SQL answer, and the failed job's waiters get their answer as soon
    as the handler returns."""
    loader = make_loader((1, 0), (1, 0), paused=False, log_failures=True)
    release = syncs.event()
    handler = BlockingHandler("Load job 'fails' failed", release)
    log = logging.getLogger("asl.loader")
    log.addHandler(handler)
    try:
        def fail(loader, job):
            raise ValueError("boom")

        failing = LoadJob(fail, name="fails", pool=0)
        loader.schedule(failing)
        outside = waiters(loader, failing, 2)
        assert handler.blocked.wait(TIMEOUT)
        other = LoadJob(noop, name="other", pool=1)
        loader.schedule(other)
        assert loader.wait(other, timeout=TIMEOUT) == "other"
        assert_consistent(loader)
        with sqlbridge.connect(loader) as db:
            rows = db.query("SELECT job, is_executing FROM system.asynchronous_loader "
                            "ORDER BY job").to_pylist()
        assert rows == [{"job": "fails", "is_executing": 1}, {"job": "other", "is_executing": 0}]
        with pytest.raises(TimeoutError):
            loader.wait(failing, timeout=0.01)
        release.set()
        assert all(isinstance(e, AsyncLoadWaitFailed) for e in answers(outside))
    finally:
        log.removeHandler(handler)
        release.set()
    assert_settled(loader)


# -- introspection during shutdown ------------------------------------------------------------


def test_snapshot_and_sql_during_and_after_shutdown(make_loader, syncs):
    loader = make_loader(2, paused=False)
    gate, started = syncs.event(), syncs.event()

    def slow(loader, job):
        started.set()
        assert gate.wait(TIMEOUT)
        return "slow"

    running = LoadJob(slow, name="running")
    blocked = LoadJob(noop, name="blocked", dependencies=[running])
    loader.schedule(blocked)
    assert started.wait(TIMEOUT)
    outside = waiters(loader, blocked, 2)
    with sqlbridge.connect(loader) as db:
        thread, outcome = run_in_thread(loader.shutdown, name="shutdown")
        wait_until(lambda: blocked.status == LoadStatus.CANCELED, what="shutdown to cancel")
        assert_consistent(loader)
        during = db.query("SELECT job, status FROM system.asynchronous_loader "
                          "ORDER BY job").to_pylist()
        # remove() erases what it canceled once the running jobs are done (reference 2.9)
        assert during == [{"job": "blocked", "status": "CANCELED"},
                          {"job": "running", "status": "PENDING"}]
        assert all(isinstance(e, AsyncLoadWaitFailed) for e in answers(outside))
        gate.set()
        join_thread(thread, outcome)
        assert running.status == LoadStatus.OK
        after = db.query("SELECT count() AS n FROM system.asynchronous_loader").to_pylist()
        assert after == [{"n": 0}]
        assert db.query("SELECT sum(workers) AS w FROM system.asynchronous_loader_pools"
                        ).to_pylist() == [{"w": 0}]
    with pytest.raises(AsyncLoadCanceled, match="AsyncLoader was shut down"):
        loader.schedule(LoadJob(noop, name="late"))
    assert_settled(loader)
    assert_no_worker_left(loader)


# -- a worker thread that cannot start --------------------------------------------------------


@contextlib.contextmanager
def failing_thread_starts(monkeypatch, count: int = 1):
    """The next ``count`` starts of a loader worker raise, as when the OS is out of threads."""
    real_start = threading.Thread.start
    left = [count]

    def start(thread):
        if thread.name.startswith("asl-") and left[0] > 0:
            left[0] -= 1
            raise RuntimeError("can't start new thread")
        return real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    try:
        yield left
    finally:
        monkeypatch.undo()


def test_waiters_are_answered_after_a_worker_failed_to_start(monkeypatch):
    """The only spawn for a ready job fails: no worker exists to run it.  Its waiters (and
    wait_all) retry the spawn instead of waiting for ever."""
    loader = AsyncLoader([Pool("p", 1)], log_failures=False)
    try:
        with failing_thread_starts(monkeypatch) as left:
            job = LoadJob(noop, name="stranded")
            loader.schedule(job)
            assert left == [0]
        assert loader.wait(job, timeout=SHORT) == "stranded"
        again = LoadJob(noop, name="again")
        with failing_thread_starts(monkeypatch):
            loader.schedule(again)
        loader.wait_all(timeout=SHORT)
        assert again.status == LoadStatus.OK
        assert_settled(loader)
    finally:
        loader.shutdown()
    assert_no_worker_left(loader)


def test_a_stand_in_that_failed_to_start_is_retried(monkeypatch, syncs):
    """A job waiting on its sub-job in its own pool needs a stand-in worker; if that thread
    cannot start, the wait retries the spawn rather than hang with the pool's only worker."""
    loader = AsyncLoader([Pool("p", 1)], log_failures=False)
    sub_scheduled = syncs.event()
    try:
        with failing_thread_starts(monkeypatch, count=0) as left:
            def parent_func(loader, job):
                sub = LoadJob(noop, name="sub")
                loader.schedule(sub)  # queued: the pool's only worker runs this job
                left[0] = 1  # the stand-in's start fails
                sub_scheduled.set()
                return loader.wait(sub, timeout=SHORT)

            parent = LoadJob(parent_func, name="parent")
            loader.schedule(parent)
            assert sub_scheduled.wait(TIMEOUT)
            assert loader.wait(parent, timeout=TIMEOUT) == "sub"
        assert_settled(loader)
    finally:
        loader.shutdown()
    assert_no_worker_left(loader)


def test_a_wait_that_began_before_the_failed_start_is_answered(monkeypatch, syncs):
    """The waiter blocks first; only then does the spawn its job needs fail (the high pool's
    last worker exits and the low pool's worker cannot start).  It still gets its answer: a
    wait looks every second whether a start failed since it blocked."""
    loader = AsyncLoader([Pool("high", 1, 0), Pool("low", 1, 1)], log_failures=False)
    gate = syncs.event()
    try:
        with failing_thread_starts(monkeypatch, count=0) as left:
            def high_func(loader, job):
                assert gate.wait(TIMEOUT)
                left[0] = 1  # the low pool's spawn, when this job's worker exits, fails

            high = LoadJob(high_func, name="high", pool=0)
            loader.schedule(high)
            low = LoadJob(noop, name="low", pool=1)  # outranked: queued, no worker yet
            loader.schedule(low)
            outside = waiters(loader, low, 1)
            gate.set()
            assert answers(outside) == ["low"]
            assert left == [0]
        assert_settled(loader)
    finally:
        loader.shutdown()
    assert_no_worker_left(loader)


def test_a_thread_start_that_keeps_failing_never_spins_under_the_lock(monkeypatch):
    """Every start fails for a while (the OS is out of threads): unpause() and set_max_threads(),
    which spawn while a pool may, return at once instead of retrying under the loader lock; the
    jobs run once threads can start again, and their waiters get their answers."""
    loader = AsyncLoader([Pool("p", 2)], paused=True, log_failures=False)
    jobs = [LoadJob(noop, name=f"j{i}") for i in range(3)]
    loader.schedule(jobs)
    try:
        with failing_thread_starts(monkeypatch, count=10**9) as left:
            for call in (loader.unpause, lambda: loader.set_max_threads("p", 4)):
                thread, outcome = run_in_thread(call, name="spawner")
                join_thread(thread, outcome, timeout=SHORT)
            outside = waiters(loader, jobs[0], 2)
            assert all(job.status == LoadStatus.PENDING for job in jobs)
            left[0] = 0  # threads can start again: the blocked waiters' retry runs the jobs
            assert answers(outside) == ["j0", "j0"]
        loader.wait_all(timeout=TIMEOUT)
        assert [job.status for job in jobs] == [LoadStatus.OK] * 3
        assert_settled(loader)
    finally:
        loader.shutdown()
    assert_no_worker_left(loader)
