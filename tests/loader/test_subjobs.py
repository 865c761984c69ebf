"""Jobs that create, schedule and wait for other jobs.

Ports upstream ``SubJobs``, ``RecursiveJob``,
``SpawnIsAttemptedWhileTheOnlyWorkerWaitsForAnotherPool`` and
``SpawnIsAttemptedWhenTheOnlyWorkerStartsWaitingForAnotherPool`` (the latter two without
ClickHouse's thread-allocation fault injection, which has no Python counterpart: thread creation
is infallible here, and what remains is that a queued job runs while its pool's only worker is
blocked in a cross-pool wait).  Upstream's other ``SpawnFailure*`` tests and the death test are
about failing to allocate an OS thread; what they assert beyond that is in test_max_threads.py.
Our own: a one-thread pool waits on sub-jobs five levels deep; children created in
``job.pool_id`` inherit a boost.
"""

from __future__ import annotations

import threading

from loader_testkit import SHORT, TIMEOUT, Counter, Recorder, noop, schedule_task, wait_until

from loader import AsyncLoadWaitFailed, LoadJob, LoadStatus, LoadTask, wait_load

JOBS_PER_THREAD = (0.5, 1.0, 2.0)
THREADS = (1, 2, 4, 8, 16, 32)


def wait_tasks(loader, tasks) -> None:
    """``waitLoad(tasks)`` from the test thread, with a bound: schedule all, wait every goal."""
    loader.schedule(tasks)
    for task in tasks:
        for goal in task.goals:
            loader.wait(goal, timeout=TIMEOUT)


class SubJobsComponent:
    """Upstream SubJobs' MyComponent: its main job loads five sub-jobs and waits for them."""

    def __init__(self, loader, jobs: int) -> None:
        self.loader = loader
        self.jobs_left = Counter(jobs)
        self.load_task: LoadTask | None = None

    def load_async(self) -> LoadTask:
        def sub_job_func(loader, job):
            self.jobs_left.add(-1)

        def job_func(loader, job):
            jobs = [
                LoadJob(sub_job_func, name=f"sub job {index}")
                for index in range(self.jobs_left.get())
            ]
            with LoadTask(loader, jobs) as sub_task:
                wait_load(loader, sub_task)

        self.load_task = LoadTask(self.loader, [LoadJob(job_func, name="main job")])
        return self.load_task

    def is_loaded(self) -> bool:
        return self.jobs_left.get() == 0


def test_sub_jobs(make_loader):
    """Upstream SubJobs: main jobs wait for sub-jobs of their own pool, whatever the size."""
    loader = make_loader(1)
    loader.unpause()
    for jobs_per_thread in JOBS_PER_THREAD:
        for threads in THREADS:
            loader.set_max_threads(0, threads)
            components = [
                SubJobsComponent(loader, 5) for _ in range(int(jobs_per_thread * threads))
            ]
            tasks = [component.load_async() for component in components]
            wait_tasks(loader, tasks)
            assert all(component.is_loaded() for component in components), (
                jobs_per_thread,
                threads,
            )
            for task in tasks:
                task.remove()
    assert loader.scheduled_job_count() == 0


class RecursiveComponent:
    """Upstream RecursiveJob's MyComponent: job N waits for a new job N-1 in its own pool."""

    def __init__(self, loader, jobs: int) -> None:
        self.loader = loader
        self.jobs_left = Counter(jobs)
        self.load_task: LoadTask | None = None

    def load_async(self) -> LoadTask:
        self.load_task = self._load_async_impl(self.jobs_left.get())
        return self.load_task

    def _load_async_impl(self, index: int) -> LoadTask:
        job = LoadJob(lambda loader, job: self._job_function(job), name=f"job{index}")
        return LoadTask(self.loader, [job])

    def _job_function(self, job: LoadJob) -> None:
        remaining = self.jobs_left.add(-1)
        if remaining > 0:
            with self._load_async_impl(remaining) as task:
                wait_load(self.loader, task, pool=job.pool_id)

    def is_loaded(self) -> bool:
        return self.jobs_left.get() == 0


def test_recursive_job(make_loader):
    """Upstream RecursiveJob: chains of nested waits five deep, on 1..32 threads."""
    loader = make_loader(1)
    loader.unpause()
    for jobs_per_thread in JOBS_PER_THREAD:
        for threads in THREADS:
            loader.set_max_threads(0, threads)
            components = [
                RecursiveComponent(loader, 5) for _ in range(int(jobs_per_thread * threads))
            ]
            tasks = [component.load_async() for component in components]
            wait_tasks(loader, tasks)
            assert all(component.is_loaded() for component in components), (
                jobs_per_thread,
                threads,
            )
            for task in tasks:
                task.remove()


def test_one_thread_pool_waits_five_levels_deep(make_loader):
    loader = make_loader(1, paused=False)
    observed = {}

    def level(depth: int):
        def func(loader, job):
            if depth == 5:
                observed["suspended"] = loader.suspended_workers_count(0)
                observed["max_threads"] = loader.get_max_threads(0)
                return "bottom"
            child = LoadJob(level(depth + 1), name=f"level{depth + 1}", pool=job.pool_id)
            loader.schedule(child)
            return loader.wait(child, timeout=TIMEOUT)

        return func

    top = LoadJob(level(1), name="level1")
    loader.schedule(top)
    assert loader.wait(top, timeout=TIMEOUT) == "bottom"
    assert observed == {"suspended": 4, "max_threads": 1}
    assert loader.suspended_workers_count(0) == 0
    loader.wait_all(timeout=TIMEOUT)


def test_children_created_in_current_pool_inherit_a_boost(make_loader, syncs):
    loader = make_loader((1, 0), (1, -1), paused=False)
    boosted = syncs.event()
    children = []

    def parent(loader, job):
        assert boosted.wait(TIMEOUT)
        child = LoadJob(lambda loader, job: job.execution_pool_id, name="child", pool=job.pool_id)
        children.append(child)
        loader.schedule(child)
        return loader.wait(child, timeout=TIMEOUT)

    job = LoadJob(parent, name="parent", pool=0)
    loader.schedule(job)
    wait_until(lambda: job.start_time is not None)
    loader.prioritize(job, 1)
    boosted.set()
    assert loader.wait(job, timeout=TIMEOUT) == 1
    assert job.execution_pool_id == 0
    assert children[0].pool_id == 1


def test_queued_job_runs_while_the_only_worker_waits_for_another_pool(make_loader, syncs):
    """Upstream SpawnIsAttemptedWhileTheOnlyWorkerWaitsForAnotherPool."""
    loader = make_loader((2, 0), (2, 0))  # sibling pools of equal priority: no inheritance
    sync = syncs.barrier(2)
    jobs_done = Counter()

    def awaited_job_func(loader, job):
        sync.wait()  # (A)
        jobs_done.add()

    awaited_job = LoadJob(awaited_job_func, name="awaited_job", pool=0)
    awaited_task = schedule_task(loader, [awaited_job])

    def waiting_job_func(loader, job):
        loader.wait(awaited_job, timeout=TIMEOUT)  # a pool-1 worker blocks on a pool-0 job
        jobs_done.add()

    waiting_task = schedule_task(loader, [LoadJob(waiting_job_func, name="waiting_job", pool=1)])
    loader.unpause()

    wait_until(lambda: awaited_job.waiters_count > 0)
    suspended_in_pool1 = loader.suspended_workers_count(1)

    queued_job = LoadJob(lambda loader, job: jobs_done.add(), name="queued_job", pool=1)
    queued_task = schedule_task(loader, [queued_job])
    ran_during_wait = True
    try:
        wait_until(lambda: queued_job.status == LoadStatus.OK, timeout=10)
    except AssertionError:
        ran_during_wait = False

    sync.wait()  # (A) release the awaited job before asserting, so a failure cannot hang
    for task in (awaited_task, waiting_task, queued_task):
        wait_tasks(loader, [task])

    assert suspended_in_pool1 == 0  # a cross-pool wait is not a suspension
    assert ran_during_wait
    assert jobs_done.get() == 3
    loader.wait_all(timeout=TIMEOUT)


def test_queued_job_runs_when_the_only_worker_starts_waiting_for_another_pool(make_loader, syncs):
    """Upstream SpawnIsAttemptedWhenTheOnlyWorkerStartsWaitingForAnotherPool."""
    loader = make_loader((2, 0), (2, 0))
    sync = syncs.barrier(2)
    start_waiting = syncs.event()
    queued_job_done = threading.Event()
    jobs_done = Counter()

    def awaited_job_func(loader, job):
        sync.wait()  # (A)
        jobs_done.add()

    awaited_job = LoadJob(awaited_job_func, name="awaited_job", pool=0)
    awaited_task = schedule_task(loader, [awaited_job])

    def waiting_job_func(loader, job):
        assert start_waiting.wait(TIMEOUT)  # stay running while the next job is queued
        loader.wait(awaited_job, timeout=TIMEOUT)
        jobs_done.add()

    waiting_job = LoadJob(waiting_job_func, name="waiting_job", pool=1)
    waiting_task = schedule_task(loader, [waiting_job])
    loader.unpause()
    wait_until(lambda: waiting_job.start_time is not None)

    def queued_func(loader, job):
        queued_job_done.set()
        jobs_done.add()

    queued_task = schedule_task(loader, [LoadJob(queued_func, name="queued_job", pool=1)])

    start_waiting.set()  # the pool's worker now enters a cross-pool wait
    wait_until(lambda: awaited_job.waiters_count > 0)
    ran_during_wait = queued_job_done.wait(10)

    sync.wait()  # (A) release the awaited job, so everything drains either way
    for task in (awaited_task, waiting_task, queued_task):
        wait_tasks(loader, [task])

    assert ran_during_wait
    assert jobs_done.get() == 3
    loader.wait_all(timeout=TIMEOUT)


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


def test_raised_job_waiting_on_its_own_queued_child_finishes(make_loader, syncs):
    """Regression test; was a deadlock inherited from ClickHouse (a strict xfail): x, raised
    by the waiter h, waited on its child y queued in x's outranked execution pool.  The wait
    now raises y to the more urgent of x's execution and current pools (reference 2.7 b)."""
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
