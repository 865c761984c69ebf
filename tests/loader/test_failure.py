"""Job failures and dependency-failure policies.

Ports upstream ``JobFailure``, ``ScheduleJobWithFailedDependencies``,
``ScheduleJobWithCanceledDependencies``, ``IgnoreDependencyFailure`` and
``CustomDependencyFailure``.  Our own: the exact ``Code: 695`` / chain messages with the original
exception as ``__cause__`` (SPEC section 2), a 100k-deep chain whose root fails (bounded
messages, fast, no recursion), ``KeyboardInterrupt``/``SystemExit`` inside a job, custom
policies that keep a job (return ``None``).
"""

from __future__ import annotations

import time

import pytest
from loader_testkit import TIMEOUT, Counter, Recorder, job_row, noop, schedule_task

from loader import (
    AsyncLoadCanceled,
    AsyncLoadFailed,
    AsyncLoadWaitFailed,
    LoadJob,
    LoadStatus,
    cancel_on_dependency_failure,
    ignore_dependency_failure,
)

ERROR_MESSAGE = "test job failure"


def fail(loader, job):
    raise ValueError(ERROR_MESSAGE)


def boom(loader, job):
    raise ValueError("boom")


def test_job_failure(make_loader):
    """Upstream JobFailure."""
    loader = make_loader(1)
    loader.unpause()

    def job_func(loader, job):
        raise RuntimeError(ERROR_MESSAGE)

    job = LoadJob(job_func, name="job")
    schedule_task(loader, [job])
    loader.wait_all(timeout=TIMEOUT)

    assert job.status == LoadStatus.FAILED
    with pytest.raises(AsyncLoadWaitFailed) as info:
        loader.wait(job, timeout=TIMEOUT)
    assert info.value.code == 722
    assert ERROR_MESSAGE in info.value.message
    assert "ASYNC_LOAD_FAILED" in info.value.message


def test_failure_message_and_cause(make_loader):
    loader = make_loader(1, paused=False)
    original = ValueError("boom")

    def func(loader, job):
        raise original

    job = LoadJob(func, name="x")
    loader.schedule(job)
    loader.wait(job, no_throw=True, timeout=TIMEOUT)

    error = job.exception
    assert isinstance(error, AsyncLoadFailed)
    assert error.code == 695 and error.name == "ASYNC_LOAD_FAILED"
    assert error.message == "Load job 'x' failed: ValueError: boom"
    assert str(error) == "Code: 695. Load job 'x' failed: ValueError: boom. (ASYNC_LOAD_FAILED)"
    assert error.__cause__ is original
    assert original.__traceback__ is not None  # traceback kept
    assert job.result is None

    with pytest.raises(AsyncLoadWaitFailed) as info:
        loader.wait(job)
    assert str(info.value) == (
        "Code: 722. Waited job failed: Code: 695. Load job 'x' failed: ValueError: boom. "
        "(ASYNC_LOAD_FAILED). (ASYNC_LOAD_WAIT_FAILED)"
    )
    assert loader.wait(job, no_throw=True) is None


def test_dependent_chain_message(make_loader):
    loader = make_loader(1, paused=False)
    x = LoadJob(boom, name="x")
    y = LoadJob(noop, name="y", dependencies=[x])
    z = LoadJob(noop, name="z", dependencies=[y])
    loader.schedule(z)
    loader.wait_all(timeout=TIMEOUT)

    x_text = "Code: 695. Load job 'x' failed: ValueError: boom. (ASYNC_LOAD_FAILED)"
    assert isinstance(y.exception, AsyncLoadCanceled)
    assert y.exception.message == f"Load job 'y' -> {x_text}"
    assert str(y.exception) == f"Code: 696. Load job 'y' -> {x_text}. (ASYNC_LOAD_CANCELED)"
    assert str(z.exception) == (
        f"Code: 696. Load job 'z' -> Code: 696. Load job 'y' -> {x_text}. "
        "(ASYNC_LOAD_CANCELED). (ASYNC_LOAD_CANCELED)"
    )
    assert y.status == z.status == LoadStatus.CANCELED


def test_schedule_job_with_failed_dependencies(make_loader):
    """Upstream ScheduleJobWithFailedDependencies: cancellation happens at schedule time."""
    loader = make_loader(1)
    loader.unpause()
    failed_job = LoadJob(fail, name="failed_job")
    schedule_task(loader, [failed_job])
    loader.wait_all(timeout=TIMEOUT)

    ran = Counter()
    job1 = LoadJob(lambda loader, job: ran.add(), name="job1", dependencies=[failed_job])
    job2 = LoadJob(lambda loader, job: ran.add(), name="job2", dependencies=[job1])
    schedule_task(loader, [job1, job2])
    # Canceled under the schedule() lock, before any worker could see them.
    assert job1.status == LoadStatus.CANCELED
    assert job2.status == LoadStatus.CANCELED
    loader.wait_all(timeout=TIMEOUT)

    for job in (job1, job2):
        assert job.status == LoadStatus.CANCELED
        with pytest.raises(AsyncLoadWaitFailed) as info:
            loader.wait(job, timeout=TIMEOUT)
        assert info.value.code == 722
        assert "ASYNC_LOAD_CANCELED" in info.value.message
        assert ERROR_MESSAGE in info.value.message
    assert ran.get() == 0
    assert job1.exception.message == (
        "Load job 'job1' -> Code: 695. Load job 'failed_job' failed: "
        f"ValueError: {ERROR_MESSAGE}. (ASYNC_LOAD_FAILED)"
    )


def test_schedule_job_with_canceled_dependencies(make_loader):
    """Upstream ScheduleJobWithCanceledDependencies."""
    loader = make_loader(1)
    canceled_job = LoadJob(noop, name="canceled_job")
    canceled_task = schedule_task(loader, [canceled_job])
    canceled_task.remove()
    loader.unpause()

    job1 = LoadJob(noop, name="job1", dependencies=[canceled_job])
    job2 = LoadJob(noop, name="job2", dependencies=[job1])
    schedule_task(loader, [job1, job2])
    loader.wait_all(timeout=TIMEOUT)

    for job in (job1, job2):
        assert job.status == LoadStatus.CANCELED
        with pytest.raises(AsyncLoadWaitFailed) as info:
            loader.wait(job, timeout=TIMEOUT)
        assert info.value.code == 722
        assert "ASYNC_LOAD_CANCELED" in info.value.message
    assert "Load job 'canceled_job' canceled" in job2.exception.message


def test_ignore_dependency_failure(make_loader):
    """Upstream IgnoreDependencyFailure."""
    loader = make_loader(1)
    loader.unpause()
    success = Counter()

    failed_job = LoadJob(fail, name="failed_job")
    dependent_job = LoadJob(
        lambda loader, job: success.add(),
        name="dependent_job",
        dependencies=[failed_job],
        dependency_failure=ignore_dependency_failure,
    )
    schedule_task(loader, [failed_job, dependent_job])
    loader.wait_all(timeout=TIMEOUT)

    assert failed_job.status == LoadStatus.FAILED
    assert dependent_job.status == LoadStatus.OK
    assert success.get() == 1


def test_ignore_dependency_failure_of_canceled_and_already_failed(make_loader):
    loader = make_loader(1, paused=False)
    failed = LoadJob(boom, name="failed")
    loader.schedule(failed)
    loader.wait(failed, no_throw=True, timeout=TIMEOUT)
    canceled = LoadJob(noop, name="canceled")
    loader.pause()
    loader.schedule(canceled)
    loader.remove([canceled])

    keeps_going = LoadJob(
        lambda loader, job: "ran",
        name="keeps_going",
        dependencies=[failed, canceled],
        dependency_failure=ignore_dependency_failure,
    )
    loader.schedule(keeps_going)
    loader.unpause()
    assert loader.wait(keeps_going, timeout=TIMEOUT) == "ran"


def test_ignored_failure_still_waits_for_dependency_to_finish(make_loader, syncs):
    loader = make_loader(2, paused=False)
    release = syncs.event()
    order = Recorder()

    def slow_fail(loader, job):
        assert release.wait(TIMEOUT)
        order.add("dep")
        raise ValueError("late")

    dep = LoadJob(slow_fail, name="dep")
    job = LoadJob(
        lambda loader, job: order.add("job"),
        name="job",
        dependencies=[dep],
        dependency_failure=ignore_dependency_failure,
    )
    loader.schedule(job)
    with pytest.raises(TimeoutError):
        loader.wait(job, timeout=0.05)
    release.set()
    loader.wait(job, timeout=TIMEOUT)
    assert order.snapshot() == ["dep", "job"]


def test_custom_dependency_failure(make_loader, syncs):
    """Upstream CustomDependencyFailure: cancel after the second failed dependency."""
    loader = make_loader(16)
    error_count = Counter()
    good_count = Counter()
    wrongly_ran = Counter()
    canceled_sync = syncs.barrier(4)
    loader.unpause()

    def good_dep_func(loader, job):
        good_count.add()

    def late_dep_func(loader, job):
        canceled_sync.wait()  # wait for the failure (A) before this job finishes

    def must_not_run(loader, job):
        wrongly_ran.add()

    calls = []

    def fail_after_two(job, failed_dependency):
        calls.append((job, failed_dependency))
        if error_count.add() == 2:
            return AsyncLoadCanceled(
                f"Load job '{job.name}' canceled: too many dependencies have failed"
            )
        return None

    evil = [LoadJob(fail, name=f"evil_dep{i}") for i in (1, 2, 3)]
    good = [LoadJob(good_dep_func, name=f"good_dep{i}") for i in (1, 2, 3)]
    late = [LoadJob(late_dep_func, name=f"late_dep{i}") for i in (1, 2, 3)]
    collect_job = LoadJob(
        must_not_run,
        name="collect_job",
        dependencies=evil + good + late,
        dependency_failure=fail_after_two,
    )
    dependents = [
        LoadJob(must_not_run, name=f"dependent_job{i}", dependencies=[collect_job])
        for i in (1, 2, 3)
    ]
    schedule_task(loader, dependents + [collect_job] + late + good + evil)

    loader.wait(collect_job, no_throw=True, timeout=TIMEOUT)
    canceled_sync.wait()  # (A)
    loader.wait_all(timeout=TIMEOUT)

    assert [job.status for job in late] == [LoadStatus.OK] * 3
    assert collect_job.status == LoadStatus.CANCELED
    assert [job.status for job in dependents] == [LoadStatus.CANCELED] * 3
    assert good_count.get() == 3
    assert wrongly_ran.get() == 0
    assert collect_job.exception.message == (
        "Load job 'collect_job' canceled: too many dependencies have failed"
    )
    # Called once per failed dependency while collect_job was pending, never after.
    assert error_count.get() == 2
    assert all(job is collect_job for job, _ in calls)
    assert all(dep in evil for _, dep in calls)


def test_custom_policy_sees_canceled_dependency_at_schedule_time(make_loader):
    loader = make_loader(1)
    gone = LoadJob(noop, name="gone")
    loader.schedule(gone)
    loader.remove([gone])
    calls = []

    def policy(job, failed_dependency):
        calls.append((job.name, failed_dependency.name, failed_dependency.status))
        return None  # keep the job

    job = LoadJob(
        lambda loader, job: "kept", name="job", dependencies=[gone], dependency_failure=policy
    )
    loader.schedule(job)
    assert calls == [("job", "gone", LoadStatus.CANCELED)]
    loader.unpause()
    assert loader.wait(job, timeout=TIMEOUT) == "kept"


def test_cancel_on_dependency_failure_is_the_default(make_loader):
    loader = make_loader(1, paused=False)
    dep = LoadJob(boom, name="dep")
    explicit = LoadJob(
        noop, name="explicit", dependencies=[dep], dependency_failure=cancel_on_dependency_failure
    )
    implicit = LoadJob(noop, name="implicit", dependencies=[dep])
    loader.schedule([explicit, implicit])
    loader.wait_all(timeout=TIMEOUT)
    assert explicit.status == implicit.status == LoadStatus.CANCELED
    assert explicit.exception.message.replace("explicit", "implicit") == (
        implicit.exception.message
    )


def test_deep_chain_failure_cancels_everything_with_bounded_messages(make_loader):
    """A 100k-deep chain whose root fails: every job canceled within seconds, without deep
    recursion, every message at most 4 KiB naming the job, the root and the root cause."""
    depth = 100_000
    loader = make_loader(2)
    ran = Counter()

    def count(loader, job):
        ran.add()

    root = LoadJob(boom, name="root")
    jobs = [root]
    for index in range(1, depth):
        jobs.append(LoadJob(count, name=f"chain{index}", dependencies=[jobs[-1]]))
    loader.schedule(jobs[-1])
    assert loader.scheduled_job_count() == depth

    started = time.monotonic()
    loader.unpause()
    loader.wait(jobs[-1], no_throw=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert elapsed < 5.0, f"cascade took {elapsed:.1f}s"
    loader.wait_all(timeout=TIMEOUT)

    assert ran.get() == 0
    assert root.status == LoadStatus.FAILED
    for job in jobs[1:]:
        assert job.status == LoadStatus.CANCELED
        text = str(job.exception)
        assert len(text) <= 4096, (job.name, len(text))
        assert f"'{job.name}'" in text, job.name
        assert "'root'" in text, job.name
        assert "ValueError: boom" in text, job.name
    # short chains are rendered exactly as ClickHouse does
    assert jobs[1].exception.message == (
        "Load job 'chain1' -> Code: 695. Load job 'root' failed: ValueError: boom. "
        "(ASYNC_LOAD_FAILED)"
    )


def test_long_exception_message_is_bounded(make_loader):
    loader = make_loader(1, paused=False)

    def huge(loader, job):
        raise ValueError("x" * 1_000_000)

    job = LoadJob(huge, name="huge")
    dependent = LoadJob(noop, name="dependent", dependencies=[job])
    loader.schedule(dependent)
    loader.wait_all(timeout=TIMEOUT)
    assert job.status == LoadStatus.FAILED
    assert len(str(job.exception)) <= 4096
    assert len(str(dependent.exception)) <= 8192
    assert str(job.exception).startswith("Code: 695. Load job 'huge' failed: ValueError: xxx")


@pytest.mark.parametrize("exception_type", [KeyboardInterrupt, SystemExit])
def test_base_exceptions_fail_the_job_and_loader_keeps_working(make_loader, exception_type):
    loader = make_loader(1, paused=False)
    original = exception_type()

    def func(loader, job):
        raise original

    job = LoadJob(func, name="interrupted")
    dependent = LoadJob(noop, name="dependent", dependencies=[job])
    loader.schedule(dependent)
    loader.wait(job, no_throw=True, timeout=TIMEOUT)
    assert job.status == LoadStatus.FAILED
    assert isinstance(job.exception, AsyncLoadFailed)
    assert job.exception.message.startswith(
        f"Load job 'interrupted' failed: {exception_type.__name__}"
    )
    assert job.exception.__cause__ is original
    loader.wait_all(timeout=TIMEOUT)
    assert dependent.status == LoadStatus.CANCELED

    after = LoadJob(lambda loader, job: "alive", name="after")
    loader.schedule(after)
    assert loader.wait(after, timeout=TIMEOUT) == "alive"


def test_failure_with_broken_str(make_loader):
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no str")

    loader = make_loader(1, paused=False)

    def func(loader, job):
        raise Unprintable()

    job = LoadJob(func, name="odd")
    loader.schedule(job)
    loader.wait(job, no_throw=True, timeout=TIMEOUT)
    assert job.status == LoadStatus.FAILED
    assert "Load job 'odd' failed: " in str(job.exception)
    after = LoadJob(lambda loader, job: 1, name="after")
    loader.schedule(after)
    assert loader.wait(after, timeout=TIMEOUT) == 1


def test_custom_policy_may_cancel_with_any_exception(make_loader):
    loader = make_loader(1, paused=False)
    dep = LoadJob(boom, name="d")
    custom = RuntimeError("custom")
    job = LoadJob(noop, name="j", dependencies=[dep], dependency_failure=lambda job, failed: custom)
    dependent = LoadJob(noop, name="k", dependencies=[job])
    loader.schedule(dependent)
    loader.wait_all(timeout=TIMEOUT)
    assert job.status == LoadStatus.CANCELED
    assert job.exception is custom
    with pytest.raises(AsyncLoadWaitFailed) as info:
        loader.wait(job)
    assert info.value.message == "Waited job failed: RuntimeError: custom"
    assert str(dependent.exception) == (
        "Code: 696. Load job 'k' -> RuntimeError: custom. (ASYNC_LOAD_CANCELED)"
    )


def test_snapshot_renders_custom_exceptions_like_chains(make_loader):
    loader = make_loader(1, paused=False)
    dep = LoadJob(boom, name="d")
    job = LoadJob(
        noop,
        name="j",
        dependencies=[dep],
        dependency_failure=lambda job, failed: RuntimeError("custom"),
    )
    loader.schedule(job)
    loader.wait_all(timeout=TIMEOUT)
    assert job_row(loader, job)["exception"] == "RuntimeError: custom"


def test_job_failing_with_a_loader_error_nests_its_code(make_loader):
    """The common server case: a job waits for another job that failed, and fails itself."""
    loader = make_loader(1, paused=False)
    x = LoadJob(boom, name="x")

    def waits_for_x(loader, job):
        loader.wait(x, timeout=TIMEOUT)

    z = LoadJob(waits_for_x, name="z")
    loader.schedule(x)
    loader.wait(x, no_throw=True, timeout=TIMEOUT)
    loader.schedule(z)
    loader.wait_all(timeout=TIMEOUT)
    x_text = "Code: 695. Load job 'x' failed: ValueError: boom. (ASYNC_LOAD_FAILED)"
    assert z.exception.message == (
        f"Load job 'z' failed: Code: 722. Waited job failed: {x_text}. (ASYNC_LOAD_WAIT_FAILED)"
    )


def test_a_policy_returning_a_non_exception_cancels_its_job(make_loader):
    """Regression (fixed in 769dd82); the bug was: a dependency_failure policy that
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


def test_policy_raising_mid_cascade_cancels_and_the_cascade_goes_on(make_loader):
    """A broken policy must not break the loader: its job is canceled with a message that
    says so, and the cascade goes on through that job's own dependents."""
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
    after = LoadJob(lambda loader, job: "still runs", name="after")
    loader.schedule(after)
    assert loader.wait(after, timeout=TIMEOUT) == "still runs"


def test_status_is_published_only_with_its_exception(make_loader):
    """Regression (fixed in 769dd82); the bug was: _mark_finished publishes the status
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
