"""Cancellation and removal.

Ports upstream ``CancelPendingJob``, ``CancelPendingTask``, ``CancelPendingDependency``,
``CancelExecutingJob`` and ``CancelExecutingTask``.  Our own: exact cancellation messages
(reference section 2.5), a canceled job's function never runs, ``remove`` cancels blocked and
ready jobs but waits for executing ones which keep OK or FAILED (section 2.9), unscheduled jobs are
ignored, removed jobs leave the snapshot.
"""

from __future__ import annotations

import gc
import threading
import tracemalloc

import pytest
from loader_testkit import (
    TIMEOUT,
    Counter,
    Recorder,
    join_thread,
    noop,
    run_in_thread,
    schedule_task,
    wait_until,
)

from loader import AsyncLoadCanceled, AsyncLoadWaitFailed, LoadJob, LoadStatus, LoadTask


def canceled_text(name: str) -> str:
    return f"Code: 696. Load job '{name}' canceled. (ASYNC_LOAD_CANCELED)"


def assert_wait_fails_canceled(loader, job) -> AsyncLoadWaitFailed:
    with pytest.raises(AsyncLoadWaitFailed) as info:
        loader.wait(job, timeout=TIMEOUT)
    error = info.value
    assert error.code == 722
    assert "ASYNC_LOAD_CANCELED" in error.message
    assert error.message == f"Waited job failed: {job.exception}"
    assert str(error) == f"Code: 722. {error.message}. (ASYNC_LOAD_WAIT_FAILED)"
    return error


def test_cancel_pending_job(make_loader):
    """Upstream CancelPendingJob: removing the task cancels its pending job."""
    loader = make_loader(1)
    job = LoadJob(noop, name="job")
    task = schedule_task(loader, [job])

    task.remove()  # the loader was never unpaused, so the job is pending

    assert job.status == LoadStatus.CANCELED
    assert isinstance(job.exception, AsyncLoadCanceled)
    assert str(job.exception) == canceled_text("job")
    assert_wait_fails_canceled(loader, job)
    assert loader.scheduled_job_count() == 0
    assert loader.snapshot().num_rows == 0


def test_cancel_pending_task(make_loader):
    """Upstream CancelPendingTask: both jobs of the task are canceled, in either order."""
    loader = make_loader(1)
    job1 = LoadJob(noop, name="job1")
    job2 = LoadJob(noop, name="job2", dependencies=[job1])
    task = schedule_task(loader, [job1, job2])

    task.remove()

    assert job1.status == LoadStatus.CANCELED
    assert job2.status == LoadStatus.CANCELED
    assert str(job1.exception) == canceled_text("job1")
    # Which message job2 gets depends on the (unspecified) order remove() visits the jobs.
    assert str(job2.exception) in (
        canceled_text("job2"),
        f"Code: 696. Load job 'job2' -> {canceled_text('job1')}. (ASYNC_LOAD_CANCELED)",
    )
    assert_wait_fails_canceled(loader, job1)
    assert_wait_fails_canceled(loader, job2)


def test_cancel_pending_dependency(make_loader):
    """Upstream CancelPendingDependency: removing job1's task cancels job2 of another task."""
    loader = make_loader(1)
    job1 = LoadJob(noop, name="job1")
    job2 = LoadJob(noop, name="job2", dependencies=[job1])
    task1 = schedule_task(loader, [job1])
    task2 = schedule_task(loader, [job2])

    task1.remove()

    assert job1.status == LoadStatus.CANCELED
    assert job2.status == LoadStatus.CANCELED
    assert str(job2.exception) == (
        f"Code: 696. Load job 'job2' -> {canceled_text('job1')}. (ASYNC_LOAD_CANCELED)"
    )
    assert_wait_fails_canceled(loader, job1)
    assert_wait_fails_canceled(loader, job2)
    # job2 is finished but not removed: it stays in the table until its task goes.
    assert [row["job"] for row in loader.snapshot().to_pylist()] == ["job2"]
    task2.remove()
    assert loader.snapshot().num_rows == 0


def test_cancel_executing_job(make_loader, syncs):
    """Upstream CancelExecutingJob: remove() waits for an executing job, which ends OK."""
    loader = make_loader(1)
    loader.unpause()
    sync = syncs.barrier(2)

    def job_func(loader, job):
        sync.wait()  # (A) sync with main thread
        sync.wait()  # (B) wait for the canceler to be waiting
        # signals (C) by returning

    job = LoadJob(job_func, name="job")
    task = schedule_task(loader, [job])

    sync.wait()  # (A) the job is executing
    canceler, outcome = run_in_thread(task.remove)  # waits for (C)
    wait_until(lambda: job.waiters_count > 0, what="remove() waiting for the job")
    assert job.status == LoadStatus.PENDING
    sync.wait()  # (B)
    join_thread(canceler, outcome)

    assert job.status == LoadStatus.OK
    loader.wait(job, timeout=TIMEOUT)


def test_cancel_executing_task(make_loader, syncs):
    """Upstream CancelExecutingTask: 100 dependents of an executing blocker are canceled, a job
    of another task that depends on the blocker still runs; ten rounds to catch races."""
    loader = make_loader(16)
    loader.unpause()
    sync = syncs.barrier(2)
    wrongly_ran = Counter()

    def blocker_job_func(loader, job):
        sync.wait()  # (A)
        sync.wait()  # (B)

    def job_to_cancel_func(loader, job):
        wrongly_ran.add()

    for _iteration in range(10):
        blocker_job = LoadJob(blocker_job_func, name="blocker_job")
        task1_jobs = [blocker_job]
        task1_jobs += [
            LoadJob(job_to_cancel_func, name="job_to_cancel", dependencies=[blocker_job])
            for _ in range(100)
        ]
        task1 = schedule_task(loader, task1_jobs)
        job_to_succeed = LoadJob(noop, name="job_to_succeed", dependencies=[blocker_job])
        task2 = schedule_task(loader, [job_to_succeed])

        sync.wait()  # (A)
        canceler, outcome = run_in_thread(task1.remove)
        wait_until(lambda blocker=blocker_job: blocker.waiters_count > 0)
        assert blocker_job.status == LoadStatus.PENDING
        sync.wait()  # (B)
        join_thread(canceler, outcome)
        loader.wait_all(timeout=TIMEOUT)

        assert blocker_job.status == LoadStatus.OK
        assert job_to_succeed.status == LoadStatus.OK
        for job in task1_jobs[1:]:
            assert job.status == LoadStatus.CANCELED
        task2.remove()
    assert wrongly_ran.get() == 0


def test_canceled_job_function_never_runs(make_loader):
    loader = make_loader(2)
    ran = Counter()
    jobs = [LoadJob(lambda loader, job: ran.add(), name=f"j{i}") for i in range(50)]
    task = schedule_task(loader, jobs)
    task.remove()
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert ran.get() == 0
    assert all(job.status == LoadStatus.CANCELED for job in jobs)
    assert all(job.start_time is None and job.finish_time is not None for job in jobs)


def test_remove_cancels_blocked_and_ready_waits_for_executing(make_loader, syncs):
    loader = make_loader(1, paused=False)
    started = syncs.event()
    release = syncs.event()

    def blocker(loader, job):
        started.set()
        assert release.wait(TIMEOUT)
        return "kept"

    executing = LoadJob(blocker, name="executing")
    blocked = LoadJob(noop, name="blocked", dependencies=[executing])
    ready = LoadJob(noop, name="ready")  # one thread, busy: stays in the ready queue
    outsider = LoadJob(noop, name="outsider", dependencies=[blocked])
    loader.schedule(executing)
    assert started.wait(TIMEOUT)
    loader.schedule([blocked, ready, outsider])
    assert ready.enqueue_time is not None and ready.start_time is None

    remover, outcome = run_in_thread(lambda: loader.remove([executing, blocked, ready]))
    wait_until(lambda: executing.waiters_count > 0, what="remove() waiting for executing job")
    assert blocked.status == LoadStatus.CANCELED
    assert ready.status == LoadStatus.CANCELED
    assert outsider.status == LoadStatus.CANCELED  # cascaded through dependency_failure
    assert executing.status == LoadStatus.PENDING
    release.set()
    join_thread(remover, outcome)

    assert executing.status == LoadStatus.OK
    assert executing.result == "kept"
    assert str(ready.exception) == canceled_text("ready")
    assert str(blocked.exception) == canceled_text("blocked")
    assert str(outsider.exception) == (
        f"Code: 696. Load job 'outsider' -> {canceled_text('blocked')}. (ASYNC_LOAD_CANCELED)"
    )
    # removed jobs leave the table; the outsider was not removed
    assert [row["job"] for row in loader.snapshot().to_pylist()] == ["outsider"]


def test_remove_waits_for_executing_job_that_fails(make_loader, syncs):
    loader = make_loader(2, paused=False)
    started = syncs.event()
    release = syncs.event()

    def failing(loader, job):
        started.set()
        assert release.wait(TIMEOUT)
        raise ValueError("boom")

    executing = LoadJob(failing, name="executing")
    dependent = LoadJob(noop, name="dependent", dependencies=[executing])
    loader.schedule(dependent)
    assert started.wait(TIMEOUT)

    remover, outcome = run_in_thread(lambda: loader.remove([executing]))
    wait_until(lambda: executing.waiters_count > 0)
    release.set()
    join_thread(remover, outcome)  # remove() waits with no_throw: no error here

    assert executing.status == LoadStatus.FAILED  # kept, not replaced by CANCELED
    assert dependent.status == LoadStatus.CANCELED
    assert "Load job 'executing' failed: ValueError: boom" in str(dependent.exception)


def test_remove_ignores_unscheduled_and_drops_finished(make_loader):
    loader = make_loader(1, paused=False)
    never = LoadJob(noop, name="never")
    done = LoadJob(noop, name="done")
    loader.schedule(done)
    loader.wait(done, timeout=TIMEOUT)
    assert loader.snapshot().num_rows == 1

    loader.remove([never, done])

    assert never.status == LoadStatus.PENDING and never.job_id == 0
    assert done.status == LoadStatus.OK
    assert loader.snapshot().num_rows == 0
    loader.remove([done])  # removing twice is harmless


def test_remove_from_many_threads(make_loader):
    """Concurrent removals of overlapping job sets while the jobs run."""
    loader = make_loader(4, paused=False)
    jobs = [LoadJob(noop, name=f"j{i}") for i in range(400)]
    for index in range(1, len(jobs)):
        if index % 3:
            jobs[index].add_dependencies(jobs[index - 1])
    loader.schedule(jobs)
    threads = [
        threading.Thread(target=loader.remove, args=(jobs[start::4],), daemon=True)
        for start in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    loader.wait_all(timeout=TIMEOUT)
    assert all(job.status in (LoadStatus.OK, LoadStatus.CANCELED) for job in jobs)
    assert loader.snapshot().num_rows == 0
    assert loader.scheduled_job_count() == 0


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
    thread, result = run_in_thread(loader.shutdown, name="test-shutdown")
    wait_until(lambda: len(outcome) == 1, what="parent released by the cancellation")
    assert "Load job 'child' canceled" in outcome.snapshot()[0]
    gate.set()
    join_thread(thread, result)
    assert parent.status == LoadStatus.OK and dep.status == LoadStatus.OK
    assert child.status == LoadStatus.CANCELED
    assert loader.pool_snapshot().to_pylist()[0]["workers"] == 0


def test_removed_jobs_release_their_memory(make_loader):
    """Regression test; was a known limit (a strict xfail): removed jobs kept their rows for
    ever.  Their rows are compacted away now once they outnumber the live ones."""
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
