"""What breaks around the loader never breaks the loader: log handlers that raise (on a
failure, on progress, during schedule()), a thread that cannot start, a job error that
cannot be printed.  The worker survives, counts stay right, and shutdown() returns.

Tests that leave a loader broken while the bug is present build it themselves and shut it
down with a short bound (``shutdown_quietly``) instead of using ``make_loader``.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import pytest
from loader_testkit import SHORT, noop, shutdown_quietly, swallow_thread_deaths

from loader import AsyncLoadCanceled, AsyncLoader, AsyncLoadWaitFailed, LoadJob, LoadStatus, Pool


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


class RaisingHandler(logging.Handler):
    """A log handler that raises (a broken handler, or one whose sink is gone) for records
    whose message contains ``needle``."""

    def __init__(self, needle: str) -> None:
        super().__init__(logging.DEBUG)
        self.needle = needle

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            raise RuntimeError(f"log handler broke on {record.getMessage()!r}")


def test_a_raising_log_handler_on_a_failure_leaves_the_worker_running():
    """Regression (fixed in 769dd82); the bug was: with log_failures=True (the default)
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


def test_a_raising_log_handler_on_progress_leaves_the_worker_running():
    """Regression (fixed in 769dd82); the bug was: with log_progress=True the progress
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


def test_a_raising_log_handler_during_schedule_leaves_it_whole_or_absent():
    """Regression (fixed in 769dd82); the bug was: with log_events=True schedule() logs
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


def test_a_loader_error_with_a_non_str_message_fails_only_its_job():
    """Regression (fixed in 769dd82); the bug was: format_exception() calls str() on
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


def test_a_failed_thread_start_is_rolled_back(monkeypatch):
    """Regression (fixed in 769dd82); the bug was: _spawn() counts the worker
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
