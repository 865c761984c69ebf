"""Waiting on jobs.

Ports upstream ``WaitersLimit``.  Our own (reference sections 2.7, 2.12, SPEC section 2):
``wait`` returns the job's result, raises ``AsyncLoadWaitFailed`` unless ``no_throw``, times
out with ``TimeoutError``; waits from inside a job inherit priority to the waiter's execution
pool and suspend the waiter (a spawned replacement runs the waited job); ``LogicalError`` for a
wait on a dependent job, on itself, or on an unscheduled job; waiter hooks.
"""

from __future__ import annotations

import threading

import pytest
from loader_testkit import (
    SHORT,
    TIMEOUT,
    Counter,
    Recorder,
    join_thread,
    noop,
    run_in_thread,
    wait_until,
)

from loader import (
    AsyncLoadFailed,
    AsyncLoadWaitFailed,
    LoadJob,
    LoadStatus,
    LogicalError,
    current_pool_or,
    wait_load,
)


class TooManyWaiters(Exception):
    pass


def test_waiters_limit(make_loader, syncs):
    """Upstream WaitersLimit: the increment hook refuses the sixth waiter and later ones."""
    loader = make_loader(16)
    waiters_lock = threading.Lock()
    waiters_total = [0]
    waiters_limit = 5

    def waiters_inc(job):
        with waiters_lock:
            if waiters_total[0] >= waiters_limit:
                raise TooManyWaiters(f"Too many waiters: {waiters_total[0]}")
            waiters_total[0] += 1

    def waiters_dec(job):
        with waiters_lock:
            waiters_total[0] -= 1

    sync = syncs.barrier(2)
    loader.unpause()

    def job_func(loader, job):
        sync.wait()  # (A)

    job = LoadJob(
        job_func, name="job", on_waiters_increment=waiters_inc, on_waiters_decrement=waiters_dec
    )
    loader.schedule(job)

    failure = Recorder()
    success = Counter()

    def waiter():
        try:
            loader.wait(job, timeout=TIMEOUT)
            success.add()
        except Exception as error:  # counted: the test checks which ones failed
            failure.add(error)

    threads = [threading.Thread(target=waiter, daemon=True) for _ in range(10)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(failure) == 5, what="five refused waiters")
    assert job.waiters_count == 5

    sync.wait()  # (A)
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive()

    assert success.get() == 5
    assert len(failure) == 5
    assert all(isinstance(error, TooManyWaiters) for error in failure.snapshot())
    assert waiters_total[0] == 0
    assert job.waiters_count == 0
    loader.wait_all(timeout=TIMEOUT)


def test_refused_wait_propagates_even_with_no_throw(make_loader):
    loader = make_loader(1)
    calls = Recorder()

    def refuse(job):
        calls.add("inc")
        raise TooManyWaiters("no")

    job = LoadJob(
        noop,
        name="job",
        on_waiters_increment=refuse,
        on_waiters_decrement=lambda job: calls.add("dec"),
    )
    loader.schedule(job)
    with pytest.raises(TooManyWaiters):
        loader.wait(job, no_throw=True, timeout=TIMEOUT)
    assert calls.snapshot() == ["inc"]  # the decrement hook is not called
    assert job.waiters_count == 0
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    # a finished job needs no blocking: the hooks are not called at all
    loader.wait(job, timeout=TIMEOUT)
    assert calls.snapshot() == ["inc"]


def test_hooks_bracket_each_blocking_wait(make_loader, syncs):
    loader = make_loader(1, paused=False)
    release = syncs.event()
    calls = Recorder()
    job = LoadJob(
        lambda loader, job: release.wait(TIMEOUT),
        name="job",
        on_waiters_increment=lambda job: calls.add(("inc", job.name)),
        on_waiters_decrement=lambda job: calls.add(("dec", job.name)),
    )
    loader.schedule(job)
    waiters = [run_in_thread(lambda: loader.wait(job, timeout=TIMEOUT)) for _ in range(3)]
    wait_until(lambda: job.waiters_count == 3)
    release.set()
    for thread, outcome in waiters:
        assert join_thread(thread, outcome) is True
    assert sorted(calls.snapshot()) == [("dec", "job")] * 3 + [("inc", "job")] * 3


def test_wait_returns_result(make_loader):
    loader = make_loader(2, paused=False)
    job = LoadJob(lambda loader, job: {"answer": 42}, name="job")
    loader.schedule(job)
    assert loader.wait(job, timeout=TIMEOUT) == {"answer": 42}
    assert loader.wait(job) == {"answer": 42}  # finished: returns at once
    assert loader.wait(job, no_throw=True) == {"answer": 42}


def test_wait_timeout(make_loader):
    loader = make_loader(1)
    job = LoadJob(noop, name="job")
    loader.schedule(job)
    with pytest.raises(TimeoutError):
        loader.wait(job, timeout=0.05)
    assert job.waiters_count == 0
    assert job.status == LoadStatus.PENDING
    loader.unpause()
    loader.wait(job, timeout=TIMEOUT)


def test_wait_failed_job_no_throw(make_loader):
    loader = make_loader(1, paused=False)

    def fail(loader, job):
        raise KeyError("k")

    job = LoadJob(fail, name="job")
    loader.schedule(job)
    loader.wait(job, no_throw=True, timeout=TIMEOUT)
    assert job.status == LoadStatus.FAILED
    with pytest.raises(AsyncLoadWaitFailed) as info:
        loader.wait(job)
    assert "ASYNC_LOAD_FAILED" in info.value.message


def test_wait_on_unscheduled_job(make_loader):
    loader = make_loader(1, paused=False)
    job = LoadJob(noop, name="never")
    with pytest.raises(LogicalError) as info:
        loader.wait(job, timeout=TIMEOUT)
    assert info.value.code == 49
    assert "waits for not scheduled load job 'never'" in info.value.message

    seen = {}

    def waiter(loader, me):
        try:
            loader.wait(job, timeout=TIMEOUT)
        except LogicalError as error:
            seen["message"] = error.message

    outer = LoadJob(waiter, name="outer")
    loader.schedule(outer)
    loader.wait(outer, timeout=TIMEOUT)
    # The reference text, optionally followed by a hint.
    assert seen["message"].startswith("Load job 'outer' waits for not scheduled load job 'never'")


def test_wait_on_dependent_job_is_a_logical_error(make_loader):
    loader = make_loader(2, paused=False)
    seen = Recorder()
    jobs = {}

    def first(loader, job):
        try:
            loader.wait(jobs["third"], timeout=TIMEOUT)
        except LogicalError as error:
            seen.add(error.message)

    a = LoadJob(first, name="first")
    b = LoadJob(noop, name="second", dependencies=[a])
    c = LoadJob(noop, name="third", dependencies=[b])
    jobs["third"] = c
    loader.schedule(c)
    loader.wait_all(timeout=TIMEOUT)
    assert seen.snapshot() == ["Load job 'first' waits for dependent load job 'third'"]
    assert [job.status for job in (a, b, c)] == [LoadStatus.OK] * 3


def test_wait_on_itself_is_a_logical_error(make_loader):
    loader = make_loader(1, paused=False)

    def selfish(loader, job):
        loader.wait(job, timeout=TIMEOUT)

    job = LoadJob(selfish, name="selfish")
    loader.schedule(job)
    loader.wait(job, no_throw=True, timeout=TIMEOUT)
    assert job.status == LoadStatus.FAILED
    assert isinstance(job.exception, AsyncLoadFailed)
    cause = job.exception.__cause__
    assert isinstance(cause, LogicalError)
    assert cause.message == "Load job 'selfish' waits for dependent load job 'selfish'"


def test_wait_on_diamond_dependency_graph_is_fast(make_loader):
    """The dependent-wait search needs a visited set: 2**40 paths otherwise."""
    loader = make_loader(2)
    layers = [[LoadJob(noop, name="bottom")]]
    for level in range(40):
        below = layers[-1]
        layers.append([LoadJob(noop, name=f"l{level}{side}", dependencies=below) for side in "ab"])
    top = layers[-1][0]
    unrelated_holder = {}

    def waiter(loader, job):
        return loader.wait(unrelated_holder["top"], timeout=TIMEOUT)

    outer = LoadJob(waiter, name="outer")
    unrelated_holder["top"] = top
    loader.schedule(top)
    loader.schedule(outer)
    loader.unpause()
    loader.wait(outer, timeout=TIMEOUT)
    assert outer.status == LoadStatus.OK


def test_wait_inherits_priority_to_the_waiters_execution_pool(make_loader):
    """A high-pool job waits on a low-pool job: without inheritance nothing could run it
    (the low pool is gated while the high pool is busy).  The waited job and its dependency
    move to the high pool and run there on a spawned worker."""
    loader = make_loader((1, 0), (1, 1))  # pool 0 is more urgent
    seen = {}
    dep = LoadJob(lambda loader, job: "dep", name="dep", pool=1)
    waited = LoadJob(lambda loader, job: "waited", name="waited", pool=1, dependencies=[dep])

    def waiter(loader, job):
        seen["pool_or"] = current_pool_or(1)
        seen["result"] = loader.wait(waited, timeout=TIMEOUT)
        seen["suspended_after"] = loader.suspended_workers_count(0)

    outer = LoadJob(waiter, name="outer", pool=0)
    loader.schedule([waited, outer])
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)

    assert outer.status == LoadStatus.OK, outer.exception
    assert seen == {"pool_or": 0, "result": "waited", "suspended_after": 0}
    assert (waited.pool_id, waited.execution_pool_id) == (0, 0)
    assert (dep.pool_id, dep.execution_pool_id) == (0, 0)
    assert loader.suspended_workers_count(0) == 0


def test_suspended_worker_is_counted_while_waiting_in_same_pool(make_loader, syncs):
    loader = make_loader(1)
    release = syncs.event()
    observed = {}
    child = LoadJob(lambda loader, job: release.wait(TIMEOUT), name="child")

    def parent(loader, job):
        return loader.wait(child, timeout=TIMEOUT)

    outer = LoadJob(parent, name="parent")
    loader.schedule(outer)  # the smaller ready_seqno: the only worker takes it first
    loader.schedule(child)
    loader.unpause()
    wait_until(lambda: child.waiters_count == 1 and child.start_time is not None)
    observed["suspended"] = loader.suspended_workers_count(0)
    release.set()
    loader.wait_all(timeout=TIMEOUT)
    assert observed["suspended"] == 1
    assert loader.suspended_workers_count(0) == 0
    assert outer.result is True


def test_wait_on_higher_priority_pool_is_a_plain_wait(make_loader, syncs):
    loader = make_loader((1, 0), (1, -1), paused=False)
    release = syncs.event()
    high_scheduled = syncs.event()
    high = LoadJob(lambda loader, job: release.wait(TIMEOUT), name="high", pool=1)
    observed = {}

    def low_waiter(loader, job):
        assert high_scheduled.wait(TIMEOUT)
        return loader.wait(high, timeout=TIMEOUT)

    low = LoadJob(low_waiter, name="low", pool=0)
    loader.schedule(low)
    wait_until(lambda: low.start_time is not None)
    loader.schedule(high)  # more urgent: spawns at once, next to the running low job
    high_scheduled.set()
    wait_until(lambda: high.waiters_count == 1)
    observed["suspended"] = (loader.suspended_workers_count(0), loader.suspended_workers_count(1))
    release.set()
    loader.wait_all(timeout=TIMEOUT)
    assert observed["suspended"] == (0, 0)
    assert high.pool_id == 1 and low.result is True


def test_waiters_count_tracks_blocked_threads(make_loader):
    loader = make_loader(1)
    job = LoadJob(noop, name="job")
    loader.schedule(job)
    waiters = [run_in_thread(lambda: loader.wait(job, timeout=TIMEOUT)) for _ in range(4)]
    wait_until(lambda: job.waiters_count == 4)
    loader.unpause()
    for thread, outcome in waiters:
        join_thread(thread, outcome)
    assert job.waiters_count == 0


def test_wait_load_helper(make_loader):
    from loader import LoadTask

    loader = make_loader((1, 0), (1, -1), paused=False)
    dep = LoadJob(lambda loader, job: "dep", name="dep")
    goal = LoadJob(lambda loader, job: "goal", name="goal", dependencies=[dep])
    task = LoadTask(loader, [dep, goal], goals=[goal])
    wait_load(loader, task, pool=1)
    assert goal.status == LoadStatus.OK and goal.result == "goal"
    assert goal.pool_id == 1 and dep.pool_id == 1
    assert goal.execution_pool_id == 1
    task.remove()


def test_wait_load_no_throw(make_loader):
    from loader import LoadTask

    loader = make_loader(1, paused=False)

    def fail(loader, job):
        raise ValueError("x")

    task = LoadTask(loader, [LoadJob(fail, name="bad")])
    wait_load(loader, task, no_throw=True)
    with pytest.raises(AsyncLoadWaitFailed):
        wait_load(loader, task)
    task.remove()


def test_inheritance_uses_the_more_urgent_of_the_waiters_execution_and_current_pool(
        make_loader, syncs):
    """The waiter runs in pool 0 but was boosted to pool 1 meanwhile: what it waits on is
    raised to pool 1, the more urgent of the two (asl's rule, reference section 2.7 step b;
    ClickHouse raises it to the execution pool only, which can deadlock)."""
    loader = make_loader((1, 0), (1, -1), (1, 1), paused=False)
    boosted = syncs.event()
    waited = LoadJob(lambda loader, job: job.execution_pool_id, name="waited", pool=2)

    def waiter(loader, job):
        assert boosted.wait(TIMEOUT)
        loader.schedule(waited)
        return loader.wait(waited, timeout=TIMEOUT)

    outer = LoadJob(waiter, name="outer", pool=0)
    loader.schedule(outer)
    wait_until(lambda: outer.start_time is not None)
    loader.prioritize(outer, 1)
    boosted.set()
    assert loader.wait(outer, timeout=TIMEOUT) == 1
    assert (outer.pool_id, outer.execution_pool_id) == (1, 0)
    assert (waited.pool_id, waited.execution_pool_id) == (1, 1)


def test_remove_itself_from_inside_a_job(make_loader):
    loader = make_loader(1, paused=False)
    seen = {}

    def remover(loader, job):
        try:
            loader.remove([job])
        except LogicalError as error:
            seen["message"] = error.message
        return "done"

    job = LoadJob(remover, name="self_remover")
    loader.schedule(job)
    assert loader.wait(job, timeout=TIMEOUT) == "done"
    assert seen["message"] == (
        "Load job 'self_remover' waits for dependent load job 'self_remover'"
    )


def test_wait_log_event(make_loader, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="asl.loader")
    loader = make_loader(1, log_events=True)
    child = LoadJob(noop, name="child")

    def parent(loader, job):
        loader.wait(child, timeout=TIMEOUT)

    loader.schedule(LoadJob(parent, name="parent"))
    loader.schedule(child)
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    lines = [r.getMessage() for r in caplog.records if r.name == "asl.loader"]
    assert "Wait load job 'child' in Pool0" in lines


def test_timed_out_wait_inside_a_job_restores_the_suspension(make_loader, syncs):
    loader = make_loader(1, paused=False)
    release = syncs.event()
    holder = LoadJob(lambda loader, job: release.wait(TIMEOUT), name="holder")
    blocked = LoadJob(noop, name="blocked", dependencies=[holder])
    observed = {}

    def impatient(loader, job):
        try:
            loader.wait(blocked, timeout=0.05)
        except TimeoutError:
            observed["timed_out"] = True
        observed["suspended"] = loader.suspended_workers_count(0)
        observed["waiters"] = blocked.waiters_count

    loader.schedule(holder)
    wait_until(lambda: holder.start_time is not None)
    loader.schedule(blocked)
    waiter = LoadJob(impatient, name="impatient")
    loader.schedule(waiter)  # one thread, busy: runs on the worker spawned for the wait below
    loader.set_max_threads(0, 2)
    loader.wait(waiter, timeout=TIMEOUT)
    release.set()
    loader.wait_all(timeout=TIMEOUT)
    assert observed == {"timed_out": True, "suspended": 0, "waiters": 0}
    assert blocked.status == LoadStatus.OK


def test_deep_chain_prioritize_and_dependent_search_do_not_recurse(make_loader):
    """prioritize() and the wait-on-dependent search walk a 20k-deep chain iteratively."""
    loader = make_loader((1, 0), (1, -1))
    seen = {}
    chain_end = []

    def root_waits_for_the_end(loader, job):
        try:
            loader.wait(chain_end[0], timeout=TIMEOUT)
        except LogicalError as error:
            seen["message"] = error.message

    chain = [LoadJob(root_waits_for_the_end, name="root")]
    for index in range(1, 20_000):
        chain.append(LoadJob(noop, name=f"c{index}", dependencies=[chain[-1]]))
    chain_end.append(chain[-1])
    loader.schedule(chain[-1])
    loader.prioritize(chain[-1], 1)
    assert chain[0].pool_id == 1 and chain[10_000].pool_id == 1
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert seen["message"] == "Load job 'root' waits for dependent load job 'c19999'"
    assert all(job.status == LoadStatus.OK for job in chain)


def test_many_threads_in_wait_all_while_batches_arrive(make_loader):
    """Sixteen threads loop in wait_all() while another schedules batches and a third pauses
    and unpauses: every wait_all returns (none misses its wake-up), every job runs, and no
    latch is left behind."""
    loader = make_loader(2, paused=False)
    stop = threading.Event()
    done = Counter()
    jobs: list[LoadJob] = []

    def waiter() -> None:
        while not stop.is_set():
            try:
                loader.wait_all(timeout=TIMEOUT)
            except LogicalError:
                pass  # caught paused with jobs pending: a correct answer, try again
            done.add()

    def scheduler() -> None:
        for batch in range(200):
            new = [LoadJob(noop, name=f"b{batch}.{i}") for i in range(5)]
            new[-1].add_dependencies(*new[:-1])
            jobs.extend(new)
            loader.schedule(new)

    def toggler() -> None:
        while not stop.is_set():
            loader.pause()
            loader.unpause()

    waiters = [run_in_thread(waiter, name=f"waiter-{i}") for i in range(16)]
    toggle = run_in_thread(toggler, name="toggler")
    join_thread(*run_in_thread(scheduler, name="scheduler"))
    stop.set()
    join_thread(*toggle)
    for thread, outcome in waiters:
        join_thread(thread, outcome)
    loader.wait_all(timeout=TIMEOUT)
    assert all(job.status == LoadStatus.OK for job in jobs) and len(jobs) == 1000
    assert loader._idle_latches == [] and done.value >= 16


def test_hooks_may_call_the_loader_and_run_one_at_a_time_per_job(make_loader, syncs):
    """Hooks run outside the loader lock, under the job's own lock: a hook may call the loader
    (snapshot, schedule, another wait) without deadlock, and twelve threads waiting on one job
    never run its hooks concurrently; every increment is paired with a decrement."""
    loader = make_loader(2, paused=False)
    release = syncs.event()
    inside = Counter()
    overlaps = Counter()
    calls = Counter()
    side_jobs: list[LoadJob] = []

    def hook(job):
        if inside.add() > 1:
            overlaps.add()
        calls.add()
        loader.pool_snapshot()  # the loader lock is free: no deadlock
        side = LoadJob(noop, name=f"side {calls.get()}")
        side_jobs.append(side)
        loader.schedule(side)
        loader.wait(side, timeout=TIMEOUT)  # a nested wait, from inside a hook
        inside.add(-1)

    job = LoadJob(lambda loader, job: release.wait(TIMEOUT), name="slow",
                  on_waiters_increment=hook, on_waiters_decrement=hook)
    loader.schedule(job)
    waiters = [run_in_thread(lambda: loader.wait(job, timeout=TIMEOUT), name=f"waiter-{i}")
               for i in range(12)]
    wait_until(lambda: job.waiters_count == 12, what="twelve waiters counted")
    release.set()
    for thread, outcome in waiters:
        assert join_thread(thread, outcome) is True
    assert calls.get() == 24 and overlaps.get() == 0 and inside.get() == 0
    assert job.waiters_count == 0
    loader.wait_all(timeout=TIMEOUT)
    assert all(side.status == LoadStatus.OK for side in side_jobs)


def test_a_job_finishing_while_the_increment_hook_runs_still_gets_its_decrement(make_loader,
                                                                                 syncs):
    loader = make_loader(1, paused=False)
    in_hook, finish = syncs.event(), syncs.event()
    calls = Recorder()

    def increment(job):
        calls.add("inc")
        in_hook.set()
        assert finish.wait(TIMEOUT)
        wait_until(lambda: job.status == LoadStatus.OK, what="job finished during the hook")

    job = LoadJob(lambda loader, job: finish.wait(TIMEOUT) and "done", name="job",
                  on_waiters_increment=increment,
                  on_waiters_decrement=lambda job: calls.add("dec"))
    loader.schedule(job)
    waiter, outcome = run_in_thread(lambda: loader.wait(job, timeout=TIMEOUT), name="waiter")
    assert in_hook.wait(TIMEOUT)
    finish.set()
    assert join_thread(waiter, outcome) == "done"
    assert calls.snapshot() == ["inc", "dec"] and job.waiters_count == 0


def test_waiter_hook_does_not_block_the_whole_loader(make_loader, syncs):
    """Regression; the deviation was: the waiter hooks ran under the loader-wide
    lock (reference 2.12: under the job's own mutex), so a hook that took a while stalled every
    other thread's loader call, and a hook that called the loader deadlocked.  They now run
    outside the loader lock, under the job's own lock."""
    loader = make_loader(1, paused=False)
    release = syncs.event()
    other_call_done = Recorder()

    def hook(job):
        # While this hook runs, another thread asks the loader something unrelated.
        thread, outcome = run_in_thread(loader.pool_snapshot, name="test-other-caller")
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


def test_wait_all_while_paused_raises_with_only_a_suspended_worker(make_loader, syncs):
    """Regression (fixed in 769dd82, SPEC 2: wait_all 'raises
    LogicalError (never hangs) when jobs are pending but no worker can run them'): while
    paused, a running job that waits on its queued child keeps a suspended worker alive, so
    wait_all() sees workers > 0 and waits for ever instead of raising; suspended workers
    cannot run anything.
    """
    loader = make_loader(1, paused=False)
    assert_wait_all_raises_while_paused(loader, syncs, LoadJob(noop, name="child"), 0)


def test_wait_all_while_paused_raises_with_a_worker_waiting_on_another_pool(make_loader, syncs):
    loader = make_loader((1, -1), (1, 0), paused=False)
    assert_wait_all_raises_while_paused(loader, syncs, LoadJob(noop, name="other", pool=0), 1)


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
    pauser, pause_outcome = run_in_thread(loader.pause, name="test-pause")
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
