"""Helpers shared by the engine's acceptance tests (fixtures are in conftest.py).

Every test that builds a loader does it through ``make_loader``, which always shuts the loader
down.  Every barrier or event a job may block on comes from ``syncs``, which breaks them all
before the shutdown, so a failing test ends with a failed assertion instead of a hung worker.
Nothing here sleeps for correctness: waits are bounded (``TIMEOUT``) and polls assert.
"""

from __future__ import annotations

import contextlib
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from loader import AsyncLoader, LoadJob, LoadTask, Pool

#: Bound for waits that are expected to time out while a bug is present.
SHORT = 3.0

#: Upper bound for any single wait in a test.  Reaching it means a bug, never slowness.
TIMEOUT = 30.0


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail the test (never hang) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.0005)


class Recorder:
    """A list appended under a lock, for execution orders and per-job observations."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list = []

    def add(self, item) -> None:
        with self.lock:
            self.items.append(item)

    def snapshot(self) -> list:
        with self.lock:
            return list(self.items)

    def __len__(self) -> int:
        with self.lock:
            return len(self.items)


class Counter:
    """An integer shared between threads."""

    def __init__(self, value: int = 0) -> None:
        self.lock = threading.Lock()
        self.value = value

    def add(self, delta: int = 1) -> int:
        with self.lock:
            self.value += delta
            return self.value

    def get(self) -> int:
        with self.lock:
            return self.value


class Syncs:
    """Factory of barriers and events with bounded waits, all released at teardown."""

    def __init__(self) -> None:
        self._barriers: list[threading.Barrier] = []
        self._events: list[threading.Event] = []

    def barrier(self, parties: int, timeout: float = TIMEOUT) -> threading.Barrier:
        barrier = threading.Barrier(parties, timeout=timeout)
        self._barriers.append(barrier)
        return barrier

    def event(self) -> threading.Event:
        event = threading.Event()
        self._events.append(event)
        return event

    def release_all(self) -> None:
        for barrier in self._barriers:
            barrier.abort()
        for event in self._events:
            event.set()


def make_pools(specs: Sequence) -> list[Pool]:
    """``1`` -> Pool0 with one thread; ``(2, -1)`` -> two threads, priority -1; a Pool as is."""
    pools = []
    for index, spec in enumerate(specs):
        if isinstance(spec, Pool):
            pools.append(spec)
        elif isinstance(spec, int):
            pools.append(Pool(f"Pool{index}", max_threads=spec, priority=0))
        else:
            max_threads, priority = spec
            pools.append(Pool(f"Pool{index}", max_threads=max_threads, priority=priority))
    return pools


def shutdown_bounded(loader: AsyncLoader, timeout: float = TIMEOUT) -> None:
    """Shut ``loader`` down in a helper thread; fail instead of hanging if it never returns."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            loader.shutdown()
        except BaseException as error:  # reported below
            errors.append(error)

    thread = threading.Thread(target=run, name="test-shutdown", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"loader.shutdown() did not return within {timeout}s")
    if errors:
        raise errors[0]


def schedule_task(loader: AsyncLoader, jobs: Iterable[LoadJob], goals=None) -> LoadTask:
    """ClickHouse's test helper ``t.schedule(jobs)``: make a task and schedule it."""
    task = LoadTask(loader, list(jobs), goals)
    task.schedule()
    return task


def noop(loader, job) -> None:
    return None


def chain_jobs(count: int, func=noop, prefix: str = "job", **job_kwargs) -> list[LoadJob]:
    """``job0 <- job1 <- ... <- job{count-1}``, each depending on the previous one."""
    jobs = [LoadJob(func, name=f"{prefix}0", **job_kwargs)]
    for index in range(1, count):
        jobs.append(LoadJob(func, name=f"{prefix}{index}", dependencies=[jobs[-1]], **job_kwargs))
    return jobs


def random_jobs(
    rng: random.Random,
    count: int,
    dep_percent: int,
    func=noop,
    external: Sequence[LoadJob] = (),
    prefix: str = "job",
) -> list[LoadJob]:
    """ClickHouse's ``randomJobSet``: each job depends on each earlier one with ``dep_percent``
    probability, and (when ``external`` is given) on one random external job likewise."""
    jobs: list[LoadJob] = []
    for index in range(count):
        deps = [earlier for earlier in jobs if rng.randrange(100) < dep_percent]
        if external and rng.randrange(100) < dep_percent:
            deps.append(external[rng.randrange(len(external))])
        jobs.append(LoadJob(func, name=f"{prefix}{index}", dependencies=deps))
    return jobs


def run_in_thread(target: Callable[[], object], name: str = "test-helper") -> tuple:
    """Start ``target`` in a daemon thread; returns ``(thread, outcome)`` where ``outcome`` gets
    ``"result"`` or ``"error"`` when it ends."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = target()
        except BaseException as error:  # reported by join_thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread, outcome


def join_thread(thread: threading.Thread, outcome: dict, timeout: float = TIMEOUT):
    """Join a ``run_in_thread`` thread, failing instead of hanging; re-raise its error."""
    thread.join(timeout)
    assert not thread.is_alive(), f"thread {thread.name} did not finish within {timeout}s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def job_row(loader: AsyncLoader, job: LoadJob) -> dict:
    """The ``system.asynchronous_loader`` row of ``job`` (by job_id) as a dict."""
    rows = [row for row in loader.snapshot().to_pylist() if row["job_id"] == job.job_id]
    assert len(rows) == 1, f"expected one row for {job.name!r}, got {rows}"
    return rows[0]


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


def shutdown_quietly(loader: AsyncLoader, timeout: float = SHORT) -> bool:
    """Shut down in a daemon thread; False if it did not return (a leaked worker count)."""
    thread, _ = run_in_thread(loader.shutdown, name="test-shutdown")
    thread.join(timeout)
    return not thread.is_alive()


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

    thread = threading.Thread(target=fire, name="test-interrupter", daemon=True)
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
