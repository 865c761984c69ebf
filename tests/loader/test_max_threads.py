"""Worker limits.

Ports upstream ``TestConcurrency``, ``TestOverload`` and ``SetMaxThreads``.  Our own: the exact
concurrency after every ``set_max_threads`` change is proven with barriers (no sleeps), a raise
while paused only records the value, and the limit holds while many threads schedule.
"""

from __future__ import annotations

import threading
import time

from loader_testkit import TIMEOUT, Counter, chain_jobs, schedule_task, wait_until

from loader import LoadJob, LoadStatus


class Executing:
    """Counts jobs inside their function and remembers the peak and any over-limit entry."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.over_limit: list[tuple[int, int]] = []

    def enter(self, limit: int | None = None) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            if limit is not None and self.now > limit:
                self.over_limit.append((self.now, limit))

    def leave(self) -> None:
        with self.lock:
            self.now -= 1

    def get(self) -> int:
        with self.lock:
            return self.now


def test_concurrency(make_loader, syncs):
    """Upstream TestConcurrency: `concurrency` chains run exactly `concurrency` at a time."""
    loader = make_loader(10)
    loader.unpause()

    for concurrency in range(1, 11):
        sync = syncs.barrier(concurrency)
        executing = Executing()

        def job_func(loader, job, sync=sync, executing=executing, concurrency=concurrency):
            executing.enter(limit=concurrency)
            sync.wait()
            executing.leave()

        tasks = [schedule_task(loader, chain_jobs(5, job_func)) for _ in range(concurrency)]
        loader.wait_all(timeout=TIMEOUT)
        assert executing.get() == 0
        assert not executing.over_limit
        for task in tasks:
            assert all(job.status == LoadStatus.OK for job in task.jobs), concurrency
            task.remove()


def test_overload(make_loader):
    """Upstream TestOverload: 4..8 chains on three threads never run more than three jobs."""
    loader = make_loader(3)
    loader.unpause()
    max_threads = loader.get_max_threads(0)
    assert max_threads == 3
    executing = Executing()

    def job_func(loader, job):
        executing.enter(limit=max_threads)
        time.sleep(0.0002)  # only to make overlaps likely, never needed for correctness
        executing.leave()

    for concurrency in range(4, 9):
        loader.pause()
        tasks = [schedule_task(loader, chain_jobs(5, job_func)) for _ in range(concurrency)]
        loader.unpause()
        loader.wait_all(timeout=TIMEOUT)
        assert executing.get() == 0
        for task in tasks:
            task.remove()
    assert not executing.over_limit
    assert executing.peak <= max_threads


MAX_THREADS_VALUES = [1, 2, 3, 4, 5, 4, 3, 2, 1, 5, 10, 5, 1, 20, 1]


def test_set_max_threads(make_loader, syncs):
    """Upstream SetMaxThreads: after each change exactly the new number of jobs run at once.

    Round ``i`` owns a barrier of ``values[i] + 1`` parties.  Jobs of round ``i`` meet the main
    thread at (A) -- which proves ``values[i]`` run at once, since the main thread waits for
    exactly that many to be inside and never sees more -- then the main thread switches to the
    next value and they all meet again at (B), so ``executing`` is back to zero before the next
    round's jobs start.
    """
    loader = make_loader(1)
    state_lock = threading.Lock()
    sync_index = [0]
    executing = Executing()
    barriers = [syncs.barrier(value + 1) for value in MAX_THREADS_VALUES]

    def job_func(loader, job):
        with state_lock:
            index = sync_index[0]
        if index < len(barriers):
            executing.enter()
            barriers[index].wait()  # (A)
            executing.leave()
            barriers[index].wait()  # (B)

    # enough independent jobs
    tasks = [schedule_task(loader, [LoadJob(job_func, name="job")]) for _ in range(1000)]

    loader.unpause()
    for index, value in enumerate(MAX_THREADS_VALUES):

        def exactly_value_running(value=value):
            now = executing.get()
            assert now <= value, f"{now} jobs running with max_threads={value}"
            return now == value

        wait_until(exactly_value_running, what=f"{value} running jobs (round {index})")
        assert loader.get_max_threads(0) == value
        barriers[index].wait()  # (A): all `value` jobs are inside, and no more
        with state_lock:
            sync_index[0] += 1
        if index + 1 < len(MAX_THREADS_VALUES):
            loader.set_max_threads(0, MAX_THREADS_VALUES[index + 1])
        barriers[index].wait()  # (B)

    loader.wait_all(timeout=TIMEOUT)
    assert all(job.status == LoadStatus.OK for task in tasks for job in task.jobs)
    assert executing.peak == max(MAX_THREADS_VALUES)


def test_set_max_threads_while_paused_only_records(make_loader):
    loader = make_loader(1)
    ran = Counter()
    jobs = [LoadJob(lambda loader, job: ran.add(), name=f"j{i}") for i in range(5)]
    loader.schedule(jobs)
    loader.set_max_threads(0, 4)
    assert loader.get_max_threads(0) == 4
    assert ran.get() == 0
    assert all(job.start_time is None for job in jobs)
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert ran.get() == 5


def test_raising_max_threads_spawns_at_once(make_loader, syncs):
    loader = make_loader(1, paused=False)
    sync = syncs.barrier(3)
    jobs = [LoadJob(lambda loader, job: sync.wait(), name=f"j{i}") for i in range(3)]
    loader.schedule(jobs)
    wait_until(lambda: sum(job.start_time is not None for job in jobs) == 1)
    loader.set_max_threads(0, 3)  # the two queued jobs start now, and all three meet
    loader.wait_all(timeout=TIMEOUT)
    assert all(job.status == LoadStatus.OK for job in jobs)


def test_max_threads_holds_while_many_threads_schedule(make_loader):
    loader = make_loader(3, (2, 0), paused=False)
    per_pool = [Executing(), Executing()]
    limits = [3, 2]

    def job_func(loader, job):
        pool = job.execution_pool_id
        per_pool[pool].enter(limit=limits[pool])
        time.sleep(0)  # yield the GIL inside the job to interleave threads
        per_pool[pool].leave()

    def scheduler(seed: int) -> None:
        for batch in range(40):
            jobs = chain_jobs(3, job_func, prefix=f"s{seed}b{batch}-", pool=(seed + batch) % 2)
            loader.schedule(jobs)

    threads = [threading.Thread(target=scheduler, args=(seed,), daemon=True) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    loader.wait_all(timeout=TIMEOUT)
    assert per_pool[0].over_limit == [] and per_pool[1].over_limit == []
    assert loader.scheduled_job_count() == 0


# Upstream's SpawnFailure* tests inject thread-allocation failures, which Python has no
# counterpart for (creating a thread either works or raises out of the engine).  What they
# assert beyond surviving the failure is ported below: the pool spawns a worker whenever a
# job becomes ready and the limit allows it, whoever enqueued the job.


def test_job_enqueued_while_another_runs_gets_its_own_worker(make_loader, syncs):
    """From upstream SpawnFailureThenRecovers: two jobs must overlap, the second being
    enqueued while the first already runs (the case whose spawn upstream may drop)."""
    loader = make_loader(16, paused=False)
    overlap = syncs.barrier(2)

    def overlapping(loader, job):
        overlap.wait()

    first = LoadJob(overlapping, name="overlapping_job0")
    first_task = schedule_task(loader, [first])
    wait_until(lambda: first.start_time is not None)
    second_task = schedule_task(loader, [LoadJob(overlapping, name="overlapping_job1")])
    loader.wait_all(timeout=TIMEOUT)
    for task in (first_task, second_task):
        assert all(job.status == LoadStatus.OK for job in task.jobs)


def test_dependents_enqueued_by_a_finishing_worker_run_concurrently(make_loader, syncs):
    """From upstream SpawnFailureFromFinishDoesNotTerminate: finish() enqueues eight
    dependents from inside a worker; each gets a worker (they all meet at a barrier)."""
    loader = make_loader(16)
    release = syncs.event()
    together = syncs.barrier(8)

    blocking_job = LoadJob(lambda loader, job: release.wait(TIMEOUT), name="blocking_job")
    dependents = [
        LoadJob(
            lambda loader, job: together.wait(),
            name=f"dependent_job{i}",
            dependencies=[blocking_job],
        )
        for i in range(8)
    ]
    task = schedule_task(loader, [blocking_job, *dependents])
    loader.unpause()
    wait_until(lambda: blocking_job.start_time is not None)
    release.set()
    loader.wait_all(timeout=TIMEOUT)
    assert all(job.status == LoadStatus.OK for job in task.jobs)


def test_every_enqueue_spawns_until_the_limit(make_loader, syncs):
    """From upstream SpawnIsRequiredWhileNoWorkerHasStarted: eight single-job tasks scheduled
    one by one on a running loader all run at once."""
    loader = make_loader(16, paused=False)
    together = syncs.barrier(8)
    tasks = [
        schedule_task(loader, [LoadJob(lambda loader, job: together.wait(), name="job")])
        for _ in range(8)
    ]
    loader.wait_all(timeout=TIMEOUT)
    assert all(job.status == LoadStatus.OK for task in tasks for job in task.jobs)
