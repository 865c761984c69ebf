"""Basics of the engine.

Ports upstream ``TEST(AsyncLoader, Smoke)`` (src/Common/tests/gtest_async_loader.cpp) and adds
our own checks of the SPEC section 2 surface: job fields, ids, times, idempotent scheduling,
scheduling of unscheduled dependencies, pools by id or name, pause/unpause and shutdown.
"""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from loader_testkit import (
    TIMEOUT,
    Counter,
    Recorder,
    join_thread,
    noop,
    run_in_thread,
    schedule_task,
    shutdown_bounded,
    wait_until,
)

from loader import (
    AsyncLoadCanceled,
    AsyncLoader,
    AsyncLoadWaitFailed,
    LoadJob,
    LoadStatus,
    LogicalError,
    Pool,
)


def test_smoke(make_loader):
    """Upstream Smoke: five jobs over two pools, waited from several threads."""
    loader = make_loader((2, 0), (2, 1))
    low_priority_pool = 1
    jobs_done = Counter()
    low_priority_jobs_done = Counter()

    def job_func(loader, job):
        jobs_done.add()
        if job.pool_id == low_priority_pool:
            low_priority_jobs_done.add()

    job1 = LoadJob(job_func, name="job1")
    job2 = LoadJob(job_func, name="job2", dependencies=[job1])
    task1 = schedule_task(loader, [job1, job2])

    job3 = LoadJob(job_func, name="job3", dependencies=[job2])
    job4 = LoadJob(job_func, name="job4", dependencies=[job2])
    task2 = schedule_task(loader, [job3, job4])
    job5 = LoadJob(job_func, name="job5", dependencies=[job3, job4], pool=low_priority_pool)
    task2.merge(schedule_task(loader, [job5]))

    waiter, outcome = run_in_thread(lambda: loader.wait(job5, timeout=TIMEOUT))

    loader.unpause()
    loader.wait(job3, timeout=TIMEOUT)
    loader.wait_all(timeout=TIMEOUT)
    loader.wait(job4, timeout=TIMEOUT)
    join_thread(waiter, outcome)

    assert job1.status == LoadStatus.OK
    assert job2.status == LoadStatus.OK
    task1.remove()
    task2.remove()
    assert jobs_done.get() == 5
    assert low_priority_jobs_done.get() == 1
    loader.pause()


def test_load_status_values():
    assert issubclass(LoadStatus, int)
    assert [(s.name, int(s)) for s in LoadStatus] == [
        ("PENDING", 0),
        ("OK", 1),
        ("FAILED", 2),
        ("CANCELED", 3),
    ]


def test_job_fields_before_and_after_running(make_loader):
    loader = make_loader(1)
    dep = LoadJob(noop, name="dep")
    job = LoadJob(lambda loader, job: 42, name="job", dependencies=[dep])

    assert job.name == "job"
    assert job.dependencies == (dep,)
    assert job.job_id == 0
    assert job.status == LoadStatus.PENDING
    assert job.exception is None
    assert job.result is None
    assert job.pool_id == 0
    assert job.execution_pool_id == 0
    assert job.waiters_count == 0
    assert job.schedule_time is None
    assert job.enqueue_time is None
    assert job.start_time is None
    assert job.finish_time is None
    assert job.elapsed == 0

    task = schedule_task(loader, [job])  # dep is scheduled too, as an unscheduled dependency
    assert dep.job_id != 0 and job.job_id != 0
    assert isinstance(job.schedule_time, dt.datetime)
    assert job.schedule_time.utcoffset() == dt.timedelta(0)
    assert job.enqueue_time is None  # blocked by dep
    assert dep.enqueue_time is not None  # ready (the loader is paused)
    assert dep.start_time is None

    loader.unpause()
    assert loader.wait(job, timeout=TIMEOUT) == 42
    assert job.result == 42
    assert job.status == LoadStatus.OK
    assert job.exception is None
    for field in ("schedule_time", "enqueue_time", "start_time", "finish_time"):
        value = getattr(job, field)
        assert isinstance(value, dt.datetime), field
        assert value.tzinfo is not None and value.utcoffset() == dt.timedelta(0), field
    assert job.schedule_time <= job.enqueue_time <= job.start_time <= job.finish_time
    assert dep.finish_time <= job.start_time
    assert isinstance(job.elapsed, float) and job.elapsed >= 0
    task.remove()


def test_job_ids_count_from_one_per_loader(make_loader):
    first = make_loader(1)
    second = make_loader(1)
    jobs = [LoadJob(noop, name=f"j{i}") for i in range(3)]
    for job in jobs:
        first.schedule(job)
    assert [job.job_id for job in jobs] == [1, 2, 3]
    other = LoadJob(noop, name="other")
    second.schedule(other)
    assert other.job_id == 1


def test_schedule_is_idempotent(make_loader):
    loader = make_loader(1)
    job = LoadJob(noop, name="job")
    loader.schedule(job)
    job_id = job.job_id
    loader.schedule(job)
    loader.schedule([job, job])
    assert job.job_id == job_id
    assert loader.scheduled_job_count() == 1
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    loader.schedule(job)  # finished: ignored
    assert job.job_id == job_id
    assert loader.scheduled_job_count() == 0


def test_schedule_accepts_jobs_tasks_and_iterables(make_loader):
    loader = make_loader(1)
    from loader import LoadTask

    a, b, c = (LoadJob(noop, name=name) for name in "abc")
    task = LoadTask(loader, [b])
    loader.schedule(a)
    loader.schedule(task)
    loader.schedule(iter([c]))
    assert all(job.job_id for job in (a, b, c))
    assert loader.scheduled_job_count() == 3


def test_unscheduled_dependencies_are_scheduled_too(make_loader):
    loader = make_loader(2, paused=False)
    order = Recorder()

    def record(loader, job):
        order.add(job.name)

    a = LoadJob(record, name="a")
    b = LoadJob(record, name="b", dependencies=[a])
    c = LoadJob(record, name="c", dependencies=[b])
    loader.schedule(c)
    assert a.job_id and b.job_id and c.job_id
    loader.wait_all(timeout=TIMEOUT)
    assert order.snapshot() == ["a", "b", "c"]


def test_ok_dependencies_add_no_edge(make_loader):
    loader = make_loader(1, paused=False)
    a = LoadJob(noop, name="a")
    loader.schedule(a)
    loader.wait(a, timeout=TIMEOUT)
    b = LoadJob(noop, name="b", dependencies=[a])
    loader.pause()
    loader.schedule(b)
    # already-OK dependency: b is immediately ready, not blocked
    assert b.enqueue_time is not None
    loader.unpause()
    loader.wait(b, timeout=TIMEOUT)


def test_pools_by_id_or_name(make_loader):
    loader = AsyncLoader(
        [Pool("fg", max_threads=2, priority=0), Pool("bg", max_threads=1, priority=1)],
        paused=True,
        log_failures=False,
    )
    try:
        assert loader.pool_id("fg") == 0 and loader.pool_id("bg") == 1
        assert loader.pool_name(1) == "bg" and loader.pool_name("bg") == "bg"
        assert loader.pool_priority(0) == 0 and loader.pool_priority("bg") == 1
        assert loader.get_max_threads("fg") == 2 and loader.get_max_threads(1) == 1
        job = LoadJob(noop, name="named", pool="bg")
        loader.schedule(job)
        assert job.pool_id == 1
        loader.prioritize(job, "fg")
        assert job.pool_id == 0
        loader.set_max_threads("bg", 3)
        assert loader.get_max_threads(1) == 3
        assert loader.suspended_workers_count("fg") == 0
        loader.unpause()
        loader.wait(job, timeout=TIMEOUT)
        assert job.execution_pool_id == 0
    finally:
        shutdown_bounded(loader)


def test_zero_max_threads_means_cpu_count(make_loader):
    loader = make_loader(0)
    assert loader.get_max_threads(0) == os.cpu_count()
    loader.set_max_threads(0, 1)
    assert loader.get_max_threads(0) == 1
    loader.set_max_threads(0, 0)
    assert loader.get_max_threads(0) == os.cpu_count()


def test_constructed_running_unless_paused(make_loader):
    loader = make_loader(1, paused=False)
    job = LoadJob(lambda loader, job: "done", name="job")
    loader.schedule(job)
    assert loader.wait(job, timeout=TIMEOUT) == "done"


def test_pause_waits_for_executing_jobs_and_keeps_pending_ones(make_loader, syncs):
    loader = make_loader(1, paused=False)
    started = syncs.event()
    release = syncs.event()

    def blocker(loader, job):
        started.set()
        assert release.wait(TIMEOUT)

    running = LoadJob(blocker, name="running")
    loader.schedule(running)
    assert started.wait(TIMEOUT)

    pauser, outcome = run_in_thread(loader.pause)
    pauser.join(0.05)
    assert pauser.is_alive(), "pause() returned while a job was still executing"
    release.set()
    join_thread(pauser, outcome)
    assert running.status == LoadStatus.OK

    late = LoadJob(noop, name="late")
    loader.schedule(late)
    with pytest.raises(TimeoutError):
        loader.wait(late, timeout=0.05)
    assert late.status == LoadStatus.PENDING
    assert loader.scheduled_job_count() == 1
    loader.unpause()
    loader.wait(late, timeout=TIMEOUT)
    assert late.status == LoadStatus.OK


def test_scheduling_while_paused_registers_and_enqueues(make_loader):
    loader = make_loader(1)
    ran = Counter()
    job = LoadJob(lambda loader, job: ran.add(), name="job")
    loader.schedule(job)
    row_status = job.status
    assert row_status == LoadStatus.PENDING
    assert job.enqueue_time is not None
    assert ran.get() == 0
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert ran.get() == 1


def test_shutdown_cancels_pending_and_waits_for_executing(make_loader, syncs):
    loader = make_loader(1, paused=False)
    started = syncs.event()
    release = syncs.event()

    def blocker(loader, job):
        started.set()
        assert release.wait(TIMEOUT)
        return "finished"

    running = LoadJob(blocker, name="running")
    blocked = LoadJob(noop, name="blocked", dependencies=[running])
    other = LoadJob(noop, name="other")
    loader.schedule([blocked, other])
    assert started.wait(TIMEOUT)

    stopper, outcome = run_in_thread(loader.shutdown)
    wait_until(lambda: blocked.status != LoadStatus.PENDING, what="blocked job canceled")
    assert running.status == LoadStatus.PENDING  # still executing: waited for, not canceled
    release.set()
    join_thread(stopper, outcome)

    assert running.status == LoadStatus.OK
    assert running.result == "finished"
    assert blocked.status == LoadStatus.CANCELED
    assert other.status == LoadStatus.CANCELED
    assert loader.scheduled_job_count() == 0
    assert str(other.exception) == "Code: 696. Load job 'other' canceled. (ASYNC_LOAD_CANCELED)"
    with pytest.raises(AsyncLoadWaitFailed):
        loader.wait(other)


def test_schedule_after_shutdown_raises(make_loader):
    loader = make_loader(1, paused=False)
    done = LoadJob(noop, name="done")
    loader.schedule(done)
    loader.wait(done, timeout=TIMEOUT)
    shutdown_bounded(loader)

    job = LoadJob(noop, name="late")
    with pytest.raises(AsyncLoadCanceled) as info:
        loader.schedule(job)
    assert info.value.code == 696
    assert info.value.message == "AsyncLoader was shut down"
    assert str(info.value) == "Code: 696. AsyncLoader was shut down. (ASYNC_LOAD_CANCELED)"
    assert job.job_id == 0
    assert job.status == LoadStatus.PENDING
    # An empty or no-op schedule returns quietly, even after shutdown.
    loader.schedule([])
    loader.schedule(done)


def test_context_manager_shuts_down():
    with AsyncLoader([Pool("p", max_threads=1)], paused=True, log_failures=False) as loader:
        job = LoadJob(noop, name="job")
        loader.schedule(job)
    assert job.status == LoadStatus.CANCELED
    with pytest.raises(AsyncLoadCanceled):
        loader.schedule(LoadJob(noop, name="after"))


def test_current_job_and_current_pool_or(make_loader):
    from loader import current_job, current_pool_or

    loader = make_loader(1, (1, -1), paused=False)
    seen = {}

    def func(loader, job):
        seen["job"] = current_job()
        seen["pool"] = current_pool_or(0)
        seen["thread"] = threading.current_thread()

    job = LoadJob(func, name="job", pool=1)
    loader.schedule(job)
    loader.wait(job, timeout=TIMEOUT)
    assert seen["job"] is job
    assert seen["pool"] == 1
    assert seen["thread"] is not threading.current_thread()
    assert current_job() is None
    assert current_pool_or(0) == 0
    assert current_pool_or(1) == 1


def test_wait_all_on_empty_loader_returns(make_loader):
    loader = make_loader(1)
    loader.wait_all(timeout=TIMEOUT)
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)


def test_wait_all_raises_instead_of_hanging_while_paused(make_loader):
    loader = make_loader(1)
    job = LoadJob(noop, name="stuck")
    loader.schedule(job)
    with pytest.raises(LogicalError):
        loader.wait_all(timeout=TIMEOUT)
    assert job.status == LoadStatus.PENDING
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert job.status == LoadStatus.OK


def test_wait_all_waits_for_jobs_scheduled_by_jobs(make_loader):
    loader = make_loader(2, paused=False)
    children = Recorder()

    def parent(loader, job):
        for index in range(5):
            child = LoadJob(lambda loader, job: None, name=f"child{index}")
            children.add(child)
            loader.schedule(child)

    loader.schedule(LoadJob(parent, name="parent"))
    loader.wait_all(timeout=TIMEOUT)
    assert len(children) == 5
    assert all(child.status == LoadStatus.OK for child in children.snapshot())


def test_wait_all_timeout(make_loader, syncs):
    loader = make_loader(1, paused=False)
    release = syncs.event()
    job = LoadJob(lambda loader, job: release.wait(TIMEOUT), name="slow")
    loader.schedule(job)
    with pytest.raises(TimeoutError):
        loader.wait_all(timeout=0.05)
    release.set()
    loader.wait_all(timeout=TIMEOUT)


def test_dependencies_are_a_set(make_loader):
    loader = make_loader(1, paused=False)
    a = LoadJob(noop, name="a")
    b = LoadJob(noop, name="b", dependencies=[a, a])
    b.add_dependencies(a)
    assert b.dependencies == (a,)
    loader.schedule(b)
    loader.wait_all(timeout=TIMEOUT)
    rows = {row["job"]: row for row in loader.snapshot().to_pylist()}
    assert rows["b"]["dependencies"] == [a.job_id]
    assert b.status == LoadStatus.OK


@pytest.mark.parametrize("call", ["wait_all", "pause", "shutdown"])
def test_calls_that_would_wait_for_the_calling_job_raise(make_loader, call):
    """From inside a job these would wait for that very job: a LogicalError, never a hang."""
    loader = make_loader(2, paused=False)
    seen = {}

    def func(loader, job):
        try:
            getattr(loader, call)()
        except LogicalError as error:
            seen["error"] = error
        return "returned"

    job = LoadJob(func, name="caller")
    loader.schedule(job)
    assert loader.wait(job, timeout=TIMEOUT) == "returned"
    assert "caller" in seen["error"].message
    after = LoadJob(lambda loader, job: 1, name="after")
    loader.schedule(after)
    assert loader.wait(after, timeout=TIMEOUT) == 1


def test_dependency_removed_after_finishing_ok(make_loader):
    loader = make_loader(1, paused=False)
    dep = LoadJob(noop, name="dep")
    loader.schedule(dep)
    loader.wait(dep, timeout=TIMEOUT)
    loader.remove([dep])
    job = LoadJob(lambda loader, job: "ran", name="job", dependencies=[dep])
    loader.schedule(job)
    assert loader.wait(job, timeout=TIMEOUT) == "ran"
    assert dep.status == LoadStatus.OK
    # The dependent's row still names the removed dependency; nothing else is in the table.
    rows = loader.snapshot().to_pylist()
    assert [r["job"] for r in rows] == ["job"] and rows[0]["dependencies"] == [dep.job_id]


def test_elapsed_matches_start_and_finish(make_loader, syncs):
    loader = make_loader(1, paused=False)
    started = syncs.event()
    release = syncs.event()

    def func(loader, job):
        started.set()
        assert release.wait(TIMEOUT)

    job = LoadJob(func, name="job")
    loader.schedule(job)
    assert started.wait(TIMEOUT)
    first = job.elapsed
    wait_until(lambda: job.elapsed > first, what="elapsed to grow while executing")
    release.set()
    loader.wait(job, timeout=TIMEOUT)
    span = (job.finish_time - job.start_time).total_seconds()
    # elapsed may come from a monotonic clock read next to (not with) the wall-clock times
    assert job.elapsed == pytest.approx(span, abs=0.05)


def test_no_worker_threads_outlive_shutdown(syncs):
    baseline = threading.active_count()
    loader = AsyncLoader([Pool("a", 4), Pool("b", 3, -1)], log_failures=False)
    jobs = [LoadJob(noop, name=f"j{i}", pool=i % 2) for i in range(500)]
    loader.schedule(jobs)
    shutdown_bounded(loader)
    wait_until(lambda: threading.active_count() <= baseline, what="worker threads to exit")
    assert all(job.status in (LoadStatus.OK, LoadStatus.CANCELED) for job in jobs)


def test_idle_loader_has_no_threads():
    """Workers never idle: once everything is done, every worker thread exits."""
    baseline = threading.active_count()
    loader = AsyncLoader([Pool("a", 4)], log_failures=False)
    try:
        loader.schedule([LoadJob(noop, name=f"j{i}") for i in range(200)])
        loader.wait_all(timeout=TIMEOUT)
        wait_until(lambda: threading.active_count() <= baseline, what="idle workers to exit")
    finally:
        shutdown_bounded(loader)


def test_shutdown_fails_waiters_of_pending_jobs(make_loader):
    loader = make_loader(1)
    job = LoadJob(noop, name="never_runs")
    loader.schedule(job)
    waiter, outcome = run_in_thread(lambda: loader.wait(job, timeout=TIMEOUT))
    wait_until(lambda: job.waiters_count == 1)
    shutdown_bounded(loader)
    with pytest.raises(AsyncLoadWaitFailed) as info:
        join_thread(waiter, outcome)
    assert "Load job 'never_runs' canceled" in info.value.message


def test_shutdown_races_with_schedulers():
    """Schedulers keep adding jobs while the loader shuts down: each schedule() either raises
    "AsyncLoader was shut down" or its jobs end up finished; nothing stays pending."""
    loader = AsyncLoader([Pool("a", 2), Pool("b", 2, -1)], log_failures=False)
    start = threading.Barrier(5, timeout=TIMEOUT)
    scheduled: list[LoadJob] = []
    refused = Counter()
    lock = threading.Lock()
    errors = []

    def scheduler(seed: int) -> None:
        try:
            start.wait()
            for batch in range(10_000):
                jobs = [LoadJob(noop, name=f"s{seed}b{batch}j{i}", pool=i % 2) for i in range(3)]
                jobs[2].add_dependencies(jobs[0], jobs[1])
                try:
                    loader.schedule(jobs)
                except AsyncLoadCanceled as error:
                    assert error.message == "AsyncLoader was shut down"
                    refused.add()
                    return
                with lock:
                    scheduled.extend(jobs)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=scheduler, args=(s,), daemon=True) for s in range(4)]
    for thread in threads:
        thread.start()
    start.wait()
    wait_until(lambda: len(scheduled) > 300, what="some jobs to be scheduled")
    shutdown_bounded(loader)
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    assert not errors, errors
    assert refused.get() == 4
    assert loader.scheduled_job_count() == 0
    for job in scheduled:
        assert job.status in (LoadStatus.OK, LoadStatus.CANCELED), job
        assert job.job_id != 0
