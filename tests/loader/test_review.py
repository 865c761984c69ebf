"""Review of the engine: demonstrated bugs (``xfail(strict=True)``), regression tests for the
bugs this review found that were fixed since (769dd82, 0b1bbf7), and tricky behaviours that
were checked and found right.

Every wait is bounded.  Tests that leave a loader broken on purpose (a dead worker keeps its
pool's worker count forever) build the loader themselves and shut it down with a short bound
instead of using ``make_loader``, whose teardown would wait the full ``TIMEOUT``.
"""

from __future__ import annotations

import contextlib
import gc
import linecache
import logging
import signal
import sys
import threading
import time
import tracemalloc

import pytest
from loader_testkit import TIMEOUT, Recorder, join_thread, run_in_thread, wait_until

from loader import (
    AsyncLoadCanceled,
    AsyncLoader,
    AsyncLoadFailed,
    AsyncLoadWaitFailed,
    LoadJob,
    LoadStatus,
    LoadTask,
    LogicalError,
    Pool,
    ignore_dependency_failure,
)

SHORT = 3.0  # bound for waits that are expected to time out while a bug is present


def noop(loader, job):
    return None


# -- helpers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def swallow_thread_deaths():
    """Record threads that die of an exception instead of letting the autouse fixture fail
    the test in teardown: the xfail tests below demonstrate exactly such deaths."""
    died: list[str] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: died.append(f"{args.exc_type.__name__}: {args.exc_value}")
    try:
        yield died
    finally:
        threading.excepthook = previous


@contextlib.contextmanager
def loader_log_handler(handler: logging.Handler, level: int | None = None):
    log = logging.getLogger("asl.loader")
    old_level = log.level
    log.addHandler(handler)
    if level is not None:
        log.setLevel(level)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)


def shutdown_quietly(loader: AsyncLoader, timeout: float = SHORT) -> bool:
    """Shut down in a daemon thread; False if it did not return (a leaked worker count)."""
    thread, _ = run_in_thread(loader.shutdown, name="review-shutdown")
    thread.join(timeout)
    return not thread.is_alive()


class RaisingHandler(logging.Handler):
    """A log handler that raises (a broken handler, or one whose sink is gone) for records
    whose message contains ``needle``."""

    def __init__(self, needle: str) -> None:
        super().__init__(logging.DEBUG)
        self.needle = needle

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            raise RuntimeError(f"log handler broke on {record.getMessage()!r}")


class Interrupted(BaseException):
    """Stands for KeyboardInterrupt (a real one would abort the pytest session if it escaped)."""


@contextlib.contextmanager
def interrupt_main_when(predicate, what: str):
    """Deliver a real signal to the main thread (whose handler raises ``Interrupted``) once
    ``predicate`` holds, as Ctrl-C does to a thread blocked in the loader."""
    assert threading.current_thread() is threading.main_thread()

    def handler(signum, frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGUSR1, handler)
    main = threading.main_thread().ident
    stop = threading.Event()

    def fire() -> None:
        wait_until(lambda: predicate() or stop.is_set(), what=what)
        if not stop.is_set():
            signal.pthread_kill(main, signal.SIGUSR1)

    thread = threading.Thread(target=fire, name="review-interrupter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(TIMEOUT)
        signal.signal(signal.SIGUSR1, previous)


def main_is_in(function: str) -> bool:
    """Is the main thread currently inside a call of ``function`` (by code name)?"""
    frame = sys._current_frames().get(threading.main_thread().ident)
    while frame is not None:
        if frame.f_code.co_name == function:
            return True
        frame = frame.f_back
    return False


# =============================================================================================
# Demonstrated bugs (fixed ones are regression tests now; the rest are strict xfails)
# =============================================================================================


def test_raising_log_handler_on_failure_kills_the_worker():
    """Regression test (fixed in 769dd82); was an engine bug: with log_failures=True (the default)
    the worker logs a job's failure from inside its except block; a log handler that raises
    kills the worker thread, so the job stays PENDING forever, its waiters hang, and the
    pool's worker count leaks (wait_all, pause and shutdown never return).
    """
    loader = AsyncLoader([Pool("p", 1)], log_failures=True)

    def fail(loader, job):
        raise ValueError("boom")

    job = LoadJob(fail, name="fails")
    after = LoadJob(noop, name="after")
    with swallow_thread_deaths(), loader_log_handler(RaisingHandler("failed")):
        try:
            loader.schedule(job)
            with pytest.raises(AsyncLoadWaitFailed):
                loader.wait(job, timeout=SHORT)
            assert job.status == LoadStatus.FAILED
            loader.schedule(after)  # the pool still has a worker to run it
            loader.wait(after, timeout=SHORT)
        finally:
            assert shutdown_quietly(loader), "shutdown hangs: the dead worker is still counted"


def test_job_raising_a_loader_error_with_a_non_str_message_kills_the_worker():
    """Regression test (fixed in 769dd82); was an engine bug: format_exception() calls str() on
    AsyncLoadError instances unguarded (only foreign exceptions are guarded); a job that
    raises a loader error built with a non-str message, e.g.
    AsyncLoadCanceled(ValueError(...)), makes the worker's except block raise AttributeError:
    the worker dies, the job stays PENDING for ever and the pool's worker count leaks.
    """
    loader = AsyncLoader([Pool("p", 1)], log_failures=False)

    def fail(loader, job):
        raise AsyncLoadCanceled(ValueError("wrapped, not formatted"))

    job = LoadJob(fail, name="fails")
    with swallow_thread_deaths():
        try:
            loader.schedule(job)
            with pytest.raises(AsyncLoadWaitFailed):
                loader.wait(job, timeout=SHORT)
            assert job.status == LoadStatus.FAILED
        finally:
            assert shutdown_quietly(loader), "shutdown hangs: the dead worker is still counted"


def test_raising_log_handler_on_progress_kills_the_worker():
    """Regression test (fixed in 769dd82); was an engine bug: with log_progress=True the progress
    line is logged under the loader lock in the worker right after _finish_ok; a raising
    handler kills the worker with pool.workers never decremented, so the next job of that pool
    never runs.
    """
    loader = AsyncLoader([Pool("p", 1)], log_progress=True)
    jobs = [LoadJob(noop, name=f"job{i}") for i in range(300)]  # progress is logged at 256
    with swallow_thread_deaths(), loader_log_handler(RaisingHandler("Processed"), logging.INFO):
        try:
            loader.schedule(jobs)
            for job in jobs:
                loader.wait(job, timeout=SHORT)
            assert all(job.status == LoadStatus.OK for job in jobs)
        finally:
            assert shutdown_quietly(loader), "shutdown hangs: the dead worker is still counted"


def test_raising_log_handler_during_schedule_leaves_half_registered_jobs():
    """Regression test (fixed in 769dd82); was an engine bug: with log_events=True schedule() logs
    'Schedule load job' after rows are appended but before dependencies are linked ('Nothing
    below may raise' is false);  a raising handler leaves half-registered jobs: snapshot()
    raises ArrowInvalid forever and the jobs are counted as scheduled but never run.
    """
    loader = AsyncLoader([Pool("p", 1)], paused=True, log_events=True)
    a = LoadJob(noop, name="a")
    b = LoadJob(noop, name="b", dependencies=[a])
    try:
        with loader_log_handler(RaisingHandler("Schedule load job"), logging.DEBUG):
            with contextlib.suppress(RuntimeError):
                loader.schedule(b)
        # Either the schedule took effect entirely, or not at all; the loader must stay usable.
        table = loader.snapshot()
        assert table.num_rows == loader.scheduled_job_count()
        loader.unpause()
        if b.job_id:
            loader.wait(b, timeout=SHORT)
        else:
            assert a.job_id == 0 and loader.scheduled_job_count() == 0
    finally:
        shutdown_quietly(loader)


def _running_job_refusing_one_wait(syncs):
    """A job that runs until released and whose first waiter is refused, and a dependent.

    Returns (running, blocked, started, release): the removal under test is interrupted by
    the refusal while it waits for ``running``; a retry then succeeds.
    """
    started, release = syncs.event(), syncs.event()
    refusals = [1]

    def refuse_once(job):
        if refusals[0]:
            refusals[0] -= 1
            raise RuntimeError("too many waiters")

    def run(loader, job):
        started.set()
        release.wait(TIMEOUT)

    running = LoadJob(run, name="running", on_waiters_increment=refuse_once)
    blocked = LoadJob(noop, name="blocked", dependencies=[running])
    return running, blocked, started, release


def test_task_remove_interrupted_by_waiter_hook_cannot_be_retried(make_loader, syncs):
    """Regression test (fixed in 769dd82); was an engine bug: LoadTask.remove() empties the task
    before loader.remove() returns;  when removal is interrupted while waiting for an executing
    job (here: its waiter hook refuses the wait), the task has forgotten its jobs and a retry
    removes nothing, so the finished jobs stay in the table for ever (ClickHouse clears the
    sets after remove()).
    """
    loader = make_loader(2, paused=False)
    running, blocked, started, release = _running_job_refusing_one_wait(syncs)
    task = LoadTask(loader, [running, blocked])
    task.schedule()
    assert started.wait(TIMEOUT)
    with pytest.raises(RuntimeError, match="too many waiters"):
        task.remove()
    release.set()
    loader.wait(running, timeout=TIMEOUT)
    task.remove()  # the retry
    assert loader.snapshot().num_rows == 0


def test_task_remove_interrupted_by_ctrl_c_cannot_be_retried(make_loader, syncs):
    """Regression test (fixed in 769dd82); was an engine bug: Ctrl-C (KeyboardInterrupt) in the
    main thread while LoadTask.remove()  waits for an executing job: the task was already
    emptied, so the canceled and the executing job stay in system.asynchronous_loader for ever
    and nothing can remove them through the task.
    """
    loader = make_loader(2, paused=False)
    started, release = syncs.event(), syncs.event()

    def run(loader, job):
        started.set()
        release.wait(TIMEOUT)

    running = LoadJob(run, name="running")
    blocked = LoadJob(noop, name="blocked", dependencies=[running])
    task = LoadTask(loader, [running, blocked])
    task.schedule()
    assert started.wait(TIMEOUT)
    with (
        interrupt_main_when(lambda: running.waiters_count == 1, "remove() blocked on 'running'"),
        pytest.raises(Interrupted),
    ):
        task.remove()
    assert blocked.status == LoadStatus.CANCELED
    release.set()
    loader.wait(running, timeout=TIMEOUT)
    task.remove()  # the retry
    assert loader.snapshot().num_rows == 0


def test_retried_shutdown_erases_what_the_interrupted_one_canceled(make_loader, syncs):
    """Regression test (fixed in 769dd82); was an engine bug: shutdown() interrupted while waiting
    for an executing job (here its waiter hook refuses remove()'s internal wait) has already
    canceled the other pending jobs but not erased them; a retried shutdown() only collects
    PENDING jobs, so the jobs canceled by the first attempt stay in the table for ever
    (reference 2.1: shutdown erases every job that was scheduled when it was called).
    """
    loader = make_loader(2, paused=False)
    running, blocked, started, release = _running_job_refusing_one_wait(syncs)
    loader.schedule(blocked)
    assert started.wait(TIMEOUT)
    with pytest.raises(RuntimeError, match="too many waiters"):
        loader.shutdown()
    assert blocked.status == LoadStatus.CANCELED
    release.set()
    loader.shutdown()  # the retry
    assert loader.snapshot().num_rows == 0


def test_prioritize_through_a_foreign_dependency_corrupts_another_job(make_loader):
    """Regression test (fixed in 769dd82); was an engine bug: prioritize() of an unscheduled job
    recurses into a dependency that is scheduled in ANOTHER loader and uses that job's slot as
    an index into THIS loader's columns: it raises an unrelated job of this loader to the new
    pool (and could move its ready-queue entry); wait_load(..., pool=...) does this before
    schedule() raises.
    """
    pools = ((1, -1), (1, 0))
    mine = make_loader(*pools)
    other = make_loader(*pools)
    victim = LoadJob(noop, name="victim", pool=1)
    mine.schedule(victim)  # slot 0 here
    foreign = LoadJob(noop, name="foreign", pool=1)
    other.schedule(foreign)  # slot 0 there
    unscheduled = LoadJob(noop, name="unscheduled", pool=1, dependencies=[foreign])
    with contextlib.suppress(LogicalError):
        mine.prioritize(unscheduled, 0)
    assert victim.pool_id == 1, "a job unrelated to the prioritized one changed pool"
    assert foreign.pool_id == 1 or foreign.pool_id == 0  # either refused or raised in its own


def test_policy_returning_a_non_exception(make_loader):
    """Regression test (fixed in 769dd82); was an engine bug: a dependency_failure policy that
    returns a non-exception (e.g. a message string) is stored as the job's 'exception'; wait()
    then raises TypeError ('exception causes must derive from BaseException') instead of
    AsyncLoadWaitFailed and the table shows 'str: ...'. It should be treated like a policy
    that raised.
    """
    loader = make_loader(1, paused=False)

    def fail(loader, job):
        raise ValueError("boom")

    root = LoadJob(fail, name="root")
    child = LoadJob(
        noop, name="child", dependencies=[root], dependency_failure=lambda job, dep: "nope"
    )
    loader.schedule(child)
    with pytest.raises(AsyncLoadWaitFailed):
        loader.wait(child, timeout=TIMEOUT)
    assert isinstance(child.exception, BaseException)


def test_status_is_published_only_with_its_exception(make_loader):
    """Regression test (fixed in 769dd82); was an engine bug: _mark_finished publishes the status
    (FAILED/CANCELED) before the exception; job.status and job.exception are read without the
    lock, so another thread can see status FAILED with exception None (ClickHouse reads both
    under the job mutex).
    """
    seen = Recorder()

    class ObservedJob(LoadJob):
        """Observes, at the instant the engine stores the error, what a reader sees."""

        __slots__ = ("_stored_error",)

        @property
        def _error(self):
            return getattr(self, "_stored_error", None)

        @_error.setter
        def _error(self, value):
            if value is not None:
                seen.add((self.status, self.exception))
            self._stored_error = value

    loader = make_loader(1, paused=False)

    def fail(loader, job):
        raise ValueError("boom")

    job = ObservedJob(fail, name="fails")
    loader.schedule(job)
    with pytest.raises(AsyncLoadWaitFailed):
        loader.wait(job, timeout=TIMEOUT)
    assert seen.snapshot(), "the observer was not called"
    for status, exception in seen.snapshot():
        # A reader at this instant must not see a finished status without its exception.
        assert status == LoadStatus.PENDING or exception is not None, (status, exception)


@pytest.mark.xfail(
    reason="engine bug (leak): removed jobs keep their row in the columns for ever "
    "(names, dependency ids, times): a long-lived loader that schedules and removes tasks "
    "grows without bound and every snapshot copies every row ever scheduled",
    strict=True,
)
def test_removed_jobs_release_their_memory(make_loader):
    loader = make_loader(2, paused=False)
    name_size, rounds, per_round = 20_000, 20, 10
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for r in range(rounds):
            jobs = [LoadJob(noop, name=f"{r}-{i}-" + "x" * name_size) for i in range(per_round)]
            with LoadTask(loader, jobs) as task:
                task.schedule()
                for job in jobs:
                    loader.wait(job, timeout=TIMEOUT)
            del jobs, task
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert loader.snapshot().num_rows == 0
    scheduled_bytes = name_size * rounds * per_round  # 4 MB of names were scheduled and removed
    assert retained < scheduled_bytes // 4, f"{retained} bytes retained after removal"


@pytest.mark.xfail(
    reason="engine bug (deadlock, inherited from upstream's design): a job x of a low pool "
    "that was raised by a high-priority waiter h, and then waits on its own child y queued in "
    "x's execution pool, suspends its worker but no stand-in may spawn there while h's pool "
    "is active (h is suspended on x): h -> x -> y never progresses. Inheritance on wait uses "
    "only x's execution pool, not its raised current pool",
    strict=True,
)
def test_raised_job_waiting_on_its_queued_child_deadlocks(make_loader, syncs):
    loader = make_loader((1, 0), (1, 1), paused=False)
    child_scheduled, go = syncs.event(), syncs.event()
    box: dict = {}

    def x_func(loader, job):
        y = LoadJob(noop, name="y", pool=job.pool_id)  # queued behind x in x's pool
        box["y"] = y
        loader.schedule(y)
        child_scheduled.set()
        go.wait(TIMEOUT)
        loader.wait(y, timeout=SHORT)  # bounded: a deadlock ends as a TimeoutError

    x = LoadJob(x_func, name="x", pool=1)

    def h_func(loader, job):
        loader.wait(x)

    h = LoadJob(h_func, name="h", pool=0)
    loader.schedule(x)
    assert child_scheduled.wait(TIMEOUT)
    loader.schedule(h)
    wait_until(lambda: x.waiters_count == 1, what="h waits on x")
    go.set()
    loader.wait(h, timeout=TIMEOUT, no_throw=True)
    assert box["y"].status == LoadStatus.OK
    assert x.status == LoadStatus.OK, x.exception
    assert h.status == LoadStatus.OK, h.exception


def test_waiter_hook_does_not_block_the_whole_loader(make_loader, syncs):
    """Regression test; was an engine deviation: the waiter hooks ran under the loader-wide
    lock (reference 2.12: under the job's own mutex), so a hook that took a while stalled every
    other thread's loader call, and a hook that called the loader deadlocked.  They now run
    outside the loader lock, under the job's own lock."""
    loader = make_loader(1, paused=False)
    release = syncs.event()
    other_call_done = Recorder()

    def hook(job):
        # While this hook runs, another thread asks the loader something unrelated.
        thread, outcome = run_in_thread(loader.pool_snapshot, name="review-other-caller")
        thread.join(1.0)
        other_call_done.add(not thread.is_alive())

    def run(loader, job):
        release.wait(TIMEOUT)

    job = LoadJob(run, name="slow", on_waiters_increment=hook)
    loader.schedule(job)
    waiter, outcome = run_in_thread(lambda: loader.wait(job, timeout=TIMEOUT), name="waiter")
    wait_until(lambda: len(other_call_done) == 1, what="the hook ran")
    release.set()
    join_thread(waiter, outcome)
    assert other_call_done.snapshot() == [True], "an unrelated loader call waited for the hook"


def test_ctrl_c_while_reacquiring_the_loader_lock_breaks_mutual_exclusion(syncs):
    """Regression test (fixed in 0b1bbf7); was an engine bug: wait() blocked on a Condition over
    the loader-wide lock; Ctrl-C reaching the main thread while it re-acquired that lock made
    Condition.wait raise WITHOUT the lock, and the 'with self._lock' exit then released the
    lock the WORKER held: another thread entered the loader mid-cascade and the worker died on
    'release unlocked lock'.  Now the interrupt is raised once the main thread has the lock
    and has undone its wait's counts: mutual exclusion holds throughout.
    """
    loader = AsyncLoader([Pool("p", 2)], log_failures=False)
    gate, in_policy, release_policy = syncs.event(), syncs.event(), syncs.event()

    def fail(loader, job):
        gate.wait(TIMEOUT)
        raise ValueError("boom")

    def slow_policy(job, dep):  # runs under the loader lock, after the waiters were woken
        in_policy.set()
        release_policy.wait(TIMEOUT)
        return None

    root = LoadJob(fail, name="root")
    dependent = LoadJob(noop, name="dependent", dependencies=[root],
                        dependency_failure=slow_policy)
    main = threading.main_thread().ident
    excluded: list[bool] = []

    def main_is_taking_the_lock() -> bool:
        frame = sys._current_frames().get(main)
        return frame is not None and frame.f_code.co_name == "acquire_despite_interrupts"

    def orchestrate() -> None:
        wait_until(lambda: root.waiters_count == 1, what="main blocked in wait()")
        gate.set()
        assert in_policy.wait(TIMEOUT)
        deadline = time.monotonic() + 2.0
        while not main_is_taking_the_lock() and time.monotonic() < deadline:
            time.sleep(0.001)
        signal.pthread_kill(main, signal.SIGUSR1)
        # The worker is still inside its critical section (the policy): nobody else may be.
        other = threading.Thread(target=loader.pool_snapshot, name="review-other", daemon=True)
        other.start()
        other.join(1.0)
        excluded.append(other.is_alive())
        release_policy.set()
        other.join(TIMEOUT)

    def handler(signum, frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGUSR1, handler)
    with swallow_thread_deaths() as died:
        try:
            loader.schedule(dependent)
            helper, outcome = run_in_thread(orchestrate, name="review-orchestrator")
            with pytest.raises(Interrupted):
                loader.wait(root, no_throw=True)
            join_thread(helper, outcome)
            try:
                wait_until(lambda: dependent.status == LoadStatus.OK, timeout=SHORT)
                dependent_ran = True
            except AssertionError:
                dependent_ran = False
            shut_down = shutdown_quietly(loader)
        finally:
            signal.signal(signal.SIGUSR1, previous)
            release_policy.set()
    assert excluded == [True], (
        f"another thread entered the loader while a worker held its lock; "
        f"dead threads: {died}; dependent ran: {dependent_ran}; shut down: {shut_down}"
    )
    assert not died, died
    assert dependent_ran and shut_down
    assert root.waiters_count == 0


def test_failed_thread_start_leaks_a_phantom_worker(monkeypatch):
    """Regression test (fixed in 769dd82); was an engine bug: _spawn() counts the worker
    (pool.workers += 1) before Thread.start(), which can raise (thread limit, memory); the
    exception escapes schedule() mid-way and the phantom worker is counted for ever, so a
    1-thread pool never runs anything again and shutdown hangs (upstream PR #114897, reference
    2.18: roll back 'workers' on failure).
    """
    loader = AsyncLoader([Pool("p", 1)], log_failures=False)
    real_start = threading.Thread.start
    failures = [1]

    def flaky_start(thread):
        if thread.name.startswith("asl-") and failures[0]:
            failures[0] -= 1
            raise RuntimeError("can't start new thread")
        return real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", flaky_start)
    first = LoadJob(noop, name="first")
    second = LoadJob(noop, name="second")
    try:
        with contextlib.suppress(RuntimeError):
            loader.schedule(first)
        loader.schedule(second)  # the next spawn works
        loader.wait(second, timeout=SHORT)
        if first.job_id:
            loader.wait(first, timeout=SHORT)
    finally:
        monkeypatch.undo()
        assert shutdown_quietly(loader), "shutdown hangs: the phantom worker is still counted"


def test_wait_all_while_paused_with_only_a_suspended_worker_hangs(make_loader, syncs):
    """Regression test (fixed in 769dd82); was an engine bug (SPEC 2: wait_all 'raises
    LogicalError (never hangs) when jobs are pending but no worker can run them'): while
    paused, a running job that waits on its queued child keeps a suspended worker alive, so
    wait_all() sees workers > 0 and waits for ever instead of raising; suspended workers
    cannot run anything.
    """
    loader = make_loader(1, paused=False)
    assert_wait_all_raises_while_paused(loader, syncs, LoadJob(noop, name="child"), 0)


def assert_wait_all_raises_while_paused(loader, syncs, waited: LoadJob, parent_pool: int):
    """Pause while a running parent (in ``parent_pool``) waits on ``waited``, which it has
    just scheduled: wait_all() must raise LogicalError, not wait for the blocked worker."""
    started, go = syncs.event(), syncs.event()

    def parent_func(loader, job):
        started.set()
        go.wait(TIMEOUT)
        loader.schedule(waited)
        loader.wait(waited, timeout=3 * SHORT)  # bounded: ends the test's stall

    parent = LoadJob(parent_func, name="parent", pool=parent_pool)
    loader.schedule(parent)
    assert started.wait(TIMEOUT)
    pauser, pause_outcome = run_in_thread(loader.pause, name="review-pause")
    wait_until(lambda: not loader.is_running, what="pause() requested")
    go.set()
    wait_until(lambda: waited.waiters_count == 1, what="the parent waits")
    try:
        with pytest.raises(LogicalError):
            loader.wait_all(timeout=SHORT)
    finally:
        join_thread(pauser, pause_outcome)  # returns once the parent's wait timed out
        loader.unpause()
        loader.wait(waited, timeout=TIMEOUT)


def test_ctrl_c_while_wait_retakes_the_loader_lock_leaks_the_waiter_count(syncs):
    loader = AsyncLoader([Pool("p", 2)], log_failures=False)
    gate, in_policy, release_policy = syncs.event(), syncs.event(), syncs.event()
    hooks = Recorder()

    def fail(loader, job):
        gate.wait(TIMEOUT)
        raise ValueError("boom")

    def slow_policy(job, dep):  # runs under the loader lock, after the waiters were woken
        in_policy.set()
        release_policy.wait(TIMEOUT)
        return None

    root = LoadJob(fail, name="root", on_waiters_increment=lambda j: hooks.add("+"),
                   on_waiters_decrement=lambda j: hooks.add("-"))
    dependent = LoadJob(noop, name="dependent", dependencies=[root],
                        dependency_failure=slow_policy)
    main = threading.main_thread().ident

    def main_blocked_on_loader_lock() -> bool:
        frame = sys._current_frames().get(main)
        if frame is None or frame.f_code.co_name != "wait":
            return False
        return "self._lock" in linecache.getline(frame.f_code.co_filename, frame.f_lineno)

    def orchestrate() -> None:
        wait_until(lambda: root.waiters_count == 1, what="main blocked in wait()")
        gate.set()
        assert in_policy.wait(TIMEOUT)
        deadline = time.monotonic() + 2.0
        while not main_blocked_on_loader_lock() and time.monotonic() < deadline:
            time.sleep(0.001)
        signal.pthread_kill(main, signal.SIGUSR1)

    def handler(signum, frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        loader.schedule(dependent)
        helper, outcome = run_in_thread(orchestrate, name="review-orchestrator")
        with pytest.raises(Interrupted):
            loader.wait(root, no_throw=True)
        join_thread(helper, outcome)
        release_policy.set()
        wait_until(lambda: dependent.status == LoadStatus.OK, what="dependent ran")
    finally:
        signal.signal(signal.SIGUSR1, previous)
        release_policy.set()
        shutdown_quietly(loader)
    assert root.waiters_count == 0
    assert hooks.snapshot() == ["+", "-"]


def test_wait_all_while_paused_with_a_worker_waiting_on_another_pool(make_loader, syncs):
    loader = make_loader((1, -1), (1, 0), paused=False)
    assert_wait_all_raises_while_paused(loader, syncs, LoadJob(noop, name="other", pool=0), 1)


# =============================================================================================
# Checked and found right
# =============================================================================================


def test_ctrl_c_in_wait_leaves_the_loader_consistent(make_loader, syncs):
    """An interrupt of the main thread blocked in wait(): the waiter count drops back, the
    decrement hook runs once, and the job can still be waited for and finishes."""
    loader = make_loader(1, paused=False)
    release = syncs.event()
    hooks = Recorder()

    def run(loader, job):
        release.wait(TIMEOUT)
        return 42

    job = LoadJob(
        run,
        name="slow",
        on_waiters_increment=lambda j: hooks.add("+"),
        on_waiters_decrement=lambda j: hooks.add("-"),
    )
    loader.schedule(job)
    with (
        interrupt_main_when(lambda: job.waiters_count == 1, "main blocked in wait()"),
        pytest.raises(Interrupted),
    ):
        loader.wait(job, timeout=TIMEOUT)
    assert job.waiters_count == 0
    assert hooks.snapshot() == ["+", "-"]
    assert job.status == LoadStatus.PENDING
    release.set()
    assert loader.wait(job, timeout=TIMEOUT) == 42
    loader.wait_all(timeout=TIMEOUT)


def test_loader_remove_interrupted_by_ctrl_c_can_be_retried(make_loader, syncs):
    """At the loader level an interrupted remove() is recoverable: a second call drops all."""
    loader = make_loader(2, paused=False)
    started, release = syncs.event(), syncs.event()

    def run(loader, job):
        started.set()
        release.wait(TIMEOUT)

    running = LoadJob(run, name="running")
    blocked = LoadJob(noop, name="blocked", dependencies=[running])
    loader.schedule(blocked)
    assert started.wait(TIMEOUT)
    with (
        interrupt_main_when(lambda: running.waiters_count == 1, "remove() blocked"),
        pytest.raises(Interrupted),
    ):
        loader.remove([running, blocked])
    release.set()
    loader.remove([running, blocked])
    assert loader.snapshot().num_rows == 0
    assert running.status == LoadStatus.OK and blocked.status == LoadStatus.CANCELED


def test_policy_raising_mid_cascade_cancels_and_the_cascade_goes_on(make_loader):
    loader = make_loader(1, paused=False)

    def fail(loader, job):
        raise ValueError("boom")

    def broken_policy(job, dep):
        raise KeyError("policy bug")

    root = LoadJob(fail, name="root")
    mid = LoadJob(noop, name="mid", dependencies=[root], dependency_failure=broken_policy)
    leaf = LoadJob(noop, name="leaf", dependencies=[mid])
    ignored = LoadJob(
        noop, name="ignored", dependencies=[mid], dependency_failure=ignore_dependency_failure
    )
    loader.schedule([leaf, ignored])
    loader.wait_all(timeout=TIMEOUT)
    assert root.status == LoadStatus.FAILED
    assert mid.status == LoadStatus.CANCELED
    assert "dependency_failure policy raised KeyError" in str(mid.exception)
    assert leaf.status == LoadStatus.CANCELED
    assert ignored.status == LoadStatus.OK
    assert loader.scheduled_job_count() == 0


def test_refused_wait_inside_a_job_restores_suspension(make_loader, syncs):
    """The increment hook refuses a same-pool wait from inside a job: no waiter is counted,
    the suspended-worker count goes back to 0 and the waited job still runs."""
    loader = make_loader(1, paused=False)
    errors = Recorder()

    def refuse(job):
        raise RuntimeError("refused")

    child = LoadJob(noop, name="child", on_waiters_increment=refuse)

    def parent_func(loader, job):
        loader.schedule(child)
        try:
            loader.wait(child, no_throw=True)
        except RuntimeError as error:
            errors.add(str(error))
        assert loader.suspended_workers_count(0) == 0

    parent = LoadJob(parent_func, name="parent")
    loader.schedule(parent)
    loader.wait(parent, timeout=TIMEOUT)
    wait_until(lambda: child.status == LoadStatus.OK, what="child ran")  # no hook: no wait()
    assert errors.snapshot() == ["refused"]
    assert child.waiters_count == 0
    loader.wait_all(timeout=TIMEOUT)
    assert loader.pool_snapshot().to_pylist()[0]["workers"] == 0


def test_same_pool_wait_chain_in_a_single_thread_pool(make_loader):
    """Nested same-pool waits in a max_threads=1 pool never deadlock (stand-in workers)."""
    loader = make_loader(1, paused=False)
    depth = 20

    def nested(level):
        def func(loader, job):
            if level == 0:
                return 0
            child = LoadJob(nested(level - 1), name=f"level{level - 1}", pool=job.pool_id)
            loader.schedule(child)
            return loader.wait(child) + 1

        return func

    top = LoadJob(nested(depth), name=f"level{depth}")
    loader.schedule(top)
    assert loader.wait(top, timeout=TIMEOUT) == depth
    loader.wait_all(timeout=TIMEOUT)
    assert loader.suspended_workers_count(0) == 0


def test_no_lower_priority_job_starts_while_a_higher_one_is_ready(make_loader, syncs):
    """Prioritizing a ready job while a low-priority job runs: the next low-priority job does
    not start until the high-priority pool is idle; the moved job keeps its seqno."""
    loader = make_loader((1, -1), (1, 0))
    order = Recorder()
    gate = syncs.event()

    def blocker(loader, job):
        order.add(job.name)
        gate.wait(TIMEOUT)

    def record(loader, job):
        order.add(job.name)

    low_running = LoadJob(blocker, name="low_running", pool=1)
    low_next = LoadJob(record, name="low_next", pool=1)
    moved = LoadJob(record, name="moved", pool=1)
    loader.schedule([low_running, moved, low_next])
    seqno = {row["job"]: row["ready_seqno"] for row in loader.snapshot().to_pylist()}
    loader.unpause()
    wait_until(lambda: order.snapshot() == ["low_running"], what="low_running starts")
    loader.prioritize(moved, 0)
    wait_until(lambda: moved.status == LoadStatus.OK, what="moved runs in the high pool")
    row = {r["job"]: r for r in loader.snapshot().to_pylist()}
    assert row["moved"]["execution_pool_id"] == 0
    assert order.snapshot() == ["low_running", "moved"]
    gate.set()
    loader.wait_all(timeout=TIMEOUT)
    assert order.snapshot() == ["low_running", "moved", "low_next"]
    assert seqno["moved"] is not None


def test_snapshot_rows_are_never_self_contradictory_under_churn(make_loader):
    loader = make_loader(4, (2, 1), paused=False)
    stop = threading.Event()
    bad = Recorder()

    def check_rows():
        while not stop.is_set():
            for r in loader.snapshot().to_pylist():
                states = r["is_blocked"] + r["is_ready"] + r["is_executing"]
                finished = r["status"] != "PENDING"
                problems = []
                if finished and (states or r["dependencies_left"] or r["ready_seqno"]):
                    problems.append("finished job in a pending state")
                if not finished and states != 1:
                    problems.append("pending job not in exactly one state")
                if (r["ready_seqno"] is not None) != bool(r["is_ready"]):
                    problems.append("ready_seqno vs is_ready")
                if (r["exception"] is not None) != (r["status"] in ("FAILED", "CANCELED")):
                    problems.append("exception vs status")
                if (r["finish_time"] is not None) != finished:
                    problems.append("finish_time vs status")
                if (r["start_time"] is None) != (r["elapsed"] == 0):
                    problems.append("elapsed vs start_time")
                if r["is_executing"] and r["start_time"] is None:
                    problems.append("executing without start_time")
                if problems:
                    bad.add((problems, r))

    def work(loader, job):
        if job.name.endswith("7"):
            raise ValueError("seven")

    thread, outcome = run_in_thread(check_rows, name="review-snapshotter")
    try:
        for round_ in range(20):
            jobs: list[LoadJob] = []
            for i in range(40):
                deps = jobs[-3:] if i % 5 else []
                jobs.append(LoadJob(work, name=f"r{round_}j{i}", dependencies=deps, pool=i % 2))
            task = LoadTask(loader, jobs)
            task.schedule()
            if round_ % 3 == 0:
                task.remove()
        loader.wait_all(timeout=TIMEOUT)
    finally:
        stop.set()
        join_thread(thread, outcome)
    assert not bad.snapshot(), bad.snapshot()[:3]


def test_wait_from_a_job_on_a_job_of_another_loader_is_refused(make_loader, syncs):
    first = make_loader(1, paused=False)
    second = make_loader(1)
    foreign = LoadJob(noop, name="foreign")
    second.schedule(foreign)
    errors = Recorder()

    def waits(loader, job):
        try:
            loader.wait(foreign, timeout=TIMEOUT)
        except LogicalError as error:
            errors.add(str(error))

    job = LoadJob(waits, name="waiter")
    first.schedule(job)
    first.wait(job, timeout=TIMEOUT)
    assert len(errors) == 1 and "in another AsyncLoader" in errors.snapshot()[0]


def test_job_failing_with_keyboard_interrupt_fails_only_itself(make_loader):
    loader = make_loader(1, paused=False)

    def interrupted(loader, job):
        raise KeyboardInterrupt

    job = LoadJob(interrupted, name="ki")
    after = LoadJob(
        noop, name="after", dependencies=[job], dependency_failure=ignore_dependency_failure
    )
    loader.schedule(after)
    loader.wait(after, timeout=TIMEOUT)
    assert job.status == LoadStatus.FAILED
    assert isinstance(job.exception, AsyncLoadFailed)
    assert isinstance(job.exception.__cause__, KeyboardInterrupt)


def test_schedule_after_shutdown_only_when_something_is_new(make_loader):
    loader = make_loader(1, paused=False)
    done = LoadJob(noop, name="done")
    loader.schedule(done)
    loader.wait(done, timeout=TIMEOUT)
    loader.shutdown()
    loader.schedule(done)  # nothing new: quiet
    with pytest.raises(AsyncLoadCanceled, match="AsyncLoader was shut down"):
        loader.schedule(LoadJob(noop, name="late", dependencies=[done]))


def test_shutdown_cancels_a_child_a_running_job_waits_for(make_loader, syncs):
    """shutdown() cancels the blocked child a running job waits on (releasing that job with
    AsyncLoadWaitFailed), then waits for the running jobs, and returns."""
    loader = make_loader(3, paused=False)
    gate, dep_started = syncs.event(), syncs.event()
    outcome = Recorder()

    def dep_func(loader, job):
        dep_started.set()
        gate.wait(TIMEOUT)

    dep = LoadJob(dep_func, name="dep")
    child = LoadJob(noop, name="child", dependencies=[dep])

    def parent_func(loader, job):
        loader.schedule(child)
        try:
            loader.wait(child)
        except AsyncLoadWaitFailed as error:
            outcome.add(str(error))

    parent = LoadJob(parent_func, name="parent")
    loader.schedule(dep)
    assert dep_started.wait(TIMEOUT)
    loader.schedule(parent)
    wait_until(lambda: child.waiters_count == 1, what="parent waits on child")
    thread, result = run_in_thread(loader.shutdown, name="review-shutdown")
    wait_until(lambda: len(outcome) == 1, what="parent released by the cancellation")
    assert "Load job 'child' canceled" in outcome.snapshot()[0]
    gate.set()
    join_thread(thread, result)
    assert parent.status == LoadStatus.OK and dep.status == LoadStatus.OK
    assert child.status == LoadStatus.CANCELED
    assert loader.pool_snapshot().to_pylist()[0]["workers"] == 0


def test_inheritance_reaches_every_dependency_scheduled_in_the_same_call(make_loader):
    """New jobs are linked in pre-order; a diamond whose high-priority root is linked last
    still raises the shared dependency and its own dependencies."""
    loader = make_loader((1, 0), (1, 1))
    e = LoadJob(noop, name="e", pool=1)
    d = LoadJob(noop, name="d", pool=1, dependencies=[e])
    low_root = LoadJob(noop, name="low_root", pool=1, dependencies=[d])
    high_root = LoadJob(noop, name="high_root", pool=0, dependencies=[d])
    loader.schedule([low_root, high_root])
    pools = {row["job"]: row["pool_id"] for row in loader.snapshot().to_pylist()}
    assert pools == {"e": 0, "d": 0, "low_root": 1, "high_root": 0}
    execution = {row["job"]: row["execution_pool_id"] for row in loader.snapshot().to_pylist()}
    assert execution == {"e": 1, "d": 1, "low_root": 1, "high_root": 0}


def test_ready_job_moved_through_two_pools_runs_once_with_its_seqno(make_loader):
    loader = make_loader((1, 0), (1, 1), (1, 2))
    runs = Recorder()

    def record(loader, job):
        runs.add((job.name, job.execution_pool_id))

    jobs = [LoadJob(record, name=f"j{i}", pool=2) for i in range(3)]
    loader.schedule(jobs)
    before = {r["job"]: r["ready_seqno"] for r in loader.snapshot().to_pylist()}
    loader.prioritize(jobs[1], 1)
    loader.prioritize(jobs[1], 0)
    after = {r["job"]: r for r in loader.snapshot().to_pylist()}
    assert after["j1"]["ready_seqno"] == before["j1"] and after["j1"]["pool_id"] == 0
    assert [r["is_ready"] for r in after.values()] == [1, 1, 1]
    assert loader.pool_snapshot().column("ready_jobs").to_pylist() == [1, 0, 2]
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert sorted(runs.snapshot()) == [("j0", 2), ("j1", 0), ("j2", 2)]


def test_removing_a_finished_dependency_does_not_touch_its_pending_dependent(make_loader):
    loader = make_loader(1, paused=False)
    dep = LoadJob(noop, name="dep")
    loader.schedule(dep)
    loader.wait(dep, timeout=TIMEOUT)
    loader.remove([dep])
    dependent = LoadJob(lambda loader, job: "ran", name="dependent", dependencies=[dep])
    loader.schedule(dependent)
    assert loader.wait(dependent, timeout=TIMEOUT) == "ran"
    row = [r for r in loader.snapshot().to_pylist()]
    assert [r["job"] for r in row] == ["dependent"] and row[0]["dependencies"] == [dep.job_id]


def test_ctrl_c_in_wait_all_can_be_retried(make_loader, syncs):
    loader = make_loader(1, paused=False)
    release = syncs.event()
    job = LoadJob(lambda loader, job: release.wait(TIMEOUT), name="slow")
    loader.schedule(job)
    wait_until(lambda: job.start_time is not None, what="job started")
    with (
        interrupt_main_when(lambda: main_is_in("wait_all"), "main in wait_all()"),
        pytest.raises(Interrupted),
    ):
        loader.wait_all(timeout=TIMEOUT)
    release.set()
    loader.wait_all(timeout=TIMEOUT)
    assert job.status == LoadStatus.OK


def test_second_ctrl_c_while_wait_all_retakes_the_lock_keeps_mutual_exclusion(make_loader,
                                                                              syncs):
    """wait_all() (and pause, shutdown) used to block on a Condition over the loader lock,
    whose wait re-takes that lock in a ``finally``: a second Ctrl-C landing there raised
    without the lock, and the ``with`` exit then released a lock another thread held.  Now
    they block on a latch of their own, and the interrupt is raised only once the main thread
    holds the lock again."""
    loader = make_loader(1, paused=False)
    release = syncs.event()
    job = LoadJob(lambda loader, job: release.wait(TIMEOUT), name="slow")
    loader.schedule(job)
    wait_until(lambda: job.start_time is not None, what="job started")
    main = threading.main_thread().ident
    fired: list[int] = []
    held: list[bool] = []

    def retaking() -> bool:
        frame = sys._current_frames().get(main)
        return frame is not None and frame.f_code.co_name == "acquire_despite_interrupts"

    def orchestrate() -> None:
        wait_until(lambda: loader._idle_latches, what="main blocked in wait_all()")
        with loader._lock:  # stands for any critical section of another thread
            loader._notify_idle_locked()  # wakes main, which now needs the lock
            signal.pthread_kill(main, signal.SIGUSR1)  # a first Ctrl-C...
            wait_until(retaking, what="main re-taking the loader lock")
            signal.pthread_kill(main, signal.SIGUSR1)  # ...and a second while it waits
            wait_until(lambda: len(fired) == 2, what="both interrupts handled")
            held.append(loader._lock.locked())  # main must not have released our hold

    def handler(signum, frame):
        fired.append(signum)
        raise Interrupted()

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        helper, outcome = run_in_thread(orchestrate, name="review-orchestrator")
        with pytest.raises(Interrupted):
            loader.wait_all(timeout=TIMEOUT)
        join_thread(helper, outcome)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert held == [True]
    assert not loader._lock.locked() and loader._idle_latches == []
    release.set()
    loader.wait_all(timeout=TIMEOUT)
    assert job.status == LoadStatus.OK


def test_parent_suspended_on_a_child_is_released_when_the_child_is_removed(make_loader, syncs):
    loader = make_loader((1, 0), (1, 1), paused=False)
    gate, waiting = syncs.event(), syncs.event()
    outcome = Recorder()
    blocker = LoadJob(lambda loader, job: gate.wait(TIMEOUT), name="blocker", pool=1)
    child = LoadJob(noop, name="child", dependencies=[blocker])

    def parent_func(loader, job):
        loader.schedule(child)
        waiting.set()
        try:
            loader.wait(child, timeout=TIMEOUT)
        except AsyncLoadWaitFailed as error:
            outcome.add(str(error))

    parent = LoadJob(parent_func, name="parent")
    loader.schedule(blocker)
    wait_until(lambda: blocker.start_time is not None, what="blocker started")
    loader.schedule(parent)
    assert waiting.wait(TIMEOUT)
    wait_until(lambda: child.waiters_count == 1, what="parent waits")
    assert loader.suspended_workers_count(0) == 1
    loader.remove([child])
    wait_until(lambda: parent.status == LoadStatus.OK, what="parent released")
    assert "Load job 'child' canceled" in outcome.snapshot()[0]
    assert loader.suspended_workers_count(0) == 0
    gate.set()
    loader.wait_all(timeout=TIMEOUT)
