"""A call interrupted by Ctrl-C, or by a waiter hook that refuses the wait, leaves the loader
consistent (counts undone, the lock never released by the wrong thread) and can be retried.

Ctrl-C is a real signal delivered to the main thread while it is blocked in the loader
(``interrupt_main_when``); its handler raises ``Interrupted``, which stands for
KeyboardInterrupt.  Tests that leave a loader broken on purpose build it themselves and shut
it down with a short bound (``shutdown_quietly``).
"""

from __future__ import annotations

import linecache
import signal
import sys
import threading
import time

import pytest
from loader_testkit import (
    SHORT,
    TIMEOUT,
    Interrupted,
    Recorder,
    interrupt_main_when,
    join_thread,
    main_is_in,
    noop,
    run_in_thread,
    shutdown_quietly,
    swallow_thread_deaths,
    wait_until,
)

from loader import AsyncLoader, LoadJob, LoadStatus, LoadTask, Pool


def _running_job_refusing_one_wait(syncs):
    """A job that runs until released and whose first waiter is refused, and a dependent.

    Returns (running, blocked, started, release): the removal under test is interrupted by
    the refusal while it waits for ``running``; a retry then succeeds.
    """
    refusals = [1]

    def refuse_once(job):
        if refusals[0]:
            refusals[0] -= 1
            raise RuntimeError("too many waiters")

    return running_job_and_dependent(syncs, on_waiters_increment=refuse_once)


def running_job_and_dependent(syncs, **running_options):
    """``running``, which runs until ``release`` is set (``started`` once it runs), and
    ``blocked``, which depends on it: (running, blocked, started, release)."""
    started, release = syncs.event(), syncs.event()

    def run(loader, job):
        started.set()
        release.wait(TIMEOUT)

    running = LoadJob(run, name="running", **running_options)
    blocked = LoadJob(noop, name="blocked", dependencies=[running])
    return running, blocked, started, release


def test_task_remove_refused_by_a_waiter_hook_can_be_retried(make_loader, syncs):
    """Regression (fixed in 769dd82); the bug was: LoadTask.remove() empties the task
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


def test_task_remove_interrupted_by_ctrl_c_can_be_retried(make_loader, syncs):
    """Regression (fixed in 769dd82); the bug was: Ctrl-C (KeyboardInterrupt) in the
    main thread while LoadTask.remove()  waits for an executing job: the task was already
    emptied, so the canceled and the executing job stay in system.asynchronous_loader for ever
    and nothing can remove them through the task.
    """
    loader = make_loader(2, paused=False)
    running, blocked, started, release = running_job_and_dependent(syncs)
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
    """Regression (fixed in 769dd82); the bug was: shutdown() interrupted while waiting
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


def test_loader_remove_interrupted_by_ctrl_c_can_be_retried(make_loader, syncs):
    """At the loader level an interrupted remove() is recoverable: a second call drops all."""
    loader = make_loader(2, paused=False)
    running, blocked, started, release = running_job_and_dependent(syncs)
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


def root_failing_into_a_slow_policy(syncs, **root_options):
    """``root`` fails once ``gate`` is set; ``dependent``'s policy then runs under the loader
    lock (after root's waiters were woken) until ``release_policy``, setting ``in_policy``.
    Returns (root, dependent, gate, in_policy, release_policy)."""
    gate, in_policy, release_policy = syncs.event(), syncs.event(), syncs.event()

    def fail(loader, job):
        gate.wait(TIMEOUT)
        raise ValueError("boom")

    def slow_policy(job, dep):
        in_policy.set()
        release_policy.wait(TIMEOUT)
        return None

    root = LoadJob(fail, name="root", **root_options)
    dependent = LoadJob(noop, name="dependent", dependencies=[root],
                        dependency_failure=slow_policy)
    return root, dependent, gate, in_policy, release_policy


def fail_root_then_interrupt_main(root, gate, in_policy, main_is_there) -> None:
    """From a helper thread: once the main thread waits on ``root``, let it fail; while the
    dependent's policy holds the loader lock, Ctrl-C the main thread as soon as
    ``main_is_there()`` (or after a bounded poll, if it never gets there)."""
    wait_until(lambda: root.waiters_count == 1, what="main blocked in wait()")
    gate.set()
    assert in_policy.wait(TIMEOUT)
    deadline = time.monotonic() + 2.0
    while not main_is_there() and time.monotonic() < deadline:
        time.sleep(0.001)
    signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)


def test_ctrl_c_while_wait_retakes_the_loader_lock_keeps_mutual_exclusion(syncs):
    """Regression (fixed in 0b1bbf7); the bug was: wait() blocked on a Condition over
    the loader-wide lock; Ctrl-C reaching the main thread while it re-acquired that lock made
    Condition.wait raise WITHOUT the lock, and the 'with self._lock' exit then released the
    lock the WORKER held: another thread entered the loader mid-cascade and the worker died on
    'release unlocked lock'.  Now the interrupt is raised once the main thread has the lock
    and has undone its wait's counts: mutual exclusion holds throughout.
    """
    loader = AsyncLoader([Pool("p", 2)], log_failures=False)
    root, dependent, gate, in_policy, release_policy = root_failing_into_a_slow_policy(syncs)
    main = threading.main_thread().ident
    excluded: list[bool] = []

    def main_is_taking_the_lock() -> bool:
        frame = sys._current_frames().get(main)
        return frame is not None and frame.f_code.co_name == "acquire_despite_interrupts"

    def orchestrate() -> None:
        fail_root_then_interrupt_main(root, gate, in_policy, main_is_taking_the_lock)
        # The worker is still inside its critical section (the policy): nobody else may be.
        other = threading.Thread(target=loader.pool_snapshot, name="test-other", daemon=True)
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
            helper, outcome = run_in_thread(orchestrate, name="test-orchestrator")
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


def test_ctrl_c_just_after_the_loader_lock_is_taken_is_returned_not_a_second_wait():
    """Python runs a signal handler between bytecodes, so Ctrl-C can be raised just after
    ``acquire()`` has returned with the lock held.  A retry of ``acquire()`` then waited for
    ever on its own lock (seen once in CI, under load, in the test above).  A profile hook
    raising at the first C return of ``acquire_despite_interrupts`` puts an interrupt exactly
    there, deterministically."""
    from loader.latches import acquire_despite_interrupts

    lock = threading.Lock()
    fired: list[object] = []

    def interrupt_at_first_return(frame, event, arg):
        if event == "c_return" and frame.f_code is acquire_despite_interrupts.__code__:
            fired.append(arg)
            raise Interrupted()  # raising also ends profiling: one interrupt

    def take() -> BaseException | None:
        sys.setprofile(interrupt_at_first_return)
        try:
            return acquire_despite_interrupts(lock)
        finally:
            sys.setprofile(None)

    taker, outcome = run_in_thread(take, name="test-taker")
    taker.join(SHORT)
    stuck = taker.is_alive()
    if stuck:
        lock.release()  # it took the lock, then waited on it: free it so the thread ends
    join_thread(taker, outcome)
    assert not stuck, "an interrupt just after the lock was taken made it wait on the lock"
    assert fired and isinstance(outcome["result"], Interrupted) and lock.locked()


def test_ctrl_c_while_wait_waits_for_the_loader_lock_undoes_its_waiter_count(syncs):
    loader = AsyncLoader([Pool("p", 2)], log_failures=False)
    hooks = Recorder()
    root, dependent, gate, in_policy, release_policy = root_failing_into_a_slow_policy(
        syncs, on_waiters_increment=lambda j: hooks.add("+"),
        on_waiters_decrement=lambda j: hooks.add("-"))
    main = threading.main_thread().ident

    def main_blocked_on_loader_lock() -> bool:
        frame = sys._current_frames().get(main)
        if frame is None or frame.f_code.co_name != "wait":
            return False
        return "self._lock" in linecache.getline(frame.f_code.co_filename, frame.f_lineno)

    def orchestrate() -> None:
        fail_root_then_interrupt_main(root, gate, in_policy, main_blocked_on_loader_lock)

    def handler(signum, frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        loader.schedule(dependent)
        helper, outcome = run_in_thread(orchestrate, name="test-orchestrator")
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
        helper, outcome = run_in_thread(orchestrate, name="test-orchestrator")
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
