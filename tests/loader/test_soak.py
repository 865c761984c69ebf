"""A bounded soak: 50k jobs through three pools with random failures and removals.

The long one (1M jobs, RSS) is ``python -m benchmarks.bench_soak``; this one runs the same
driver small enough for the suite and checks what must hold at any size: every job of a
removed task is finished and consistent with its dependencies, the removed rows are compacted
away (the columns hold no more than a window of live jobs), Python's traced memory returns
near where it started, and no worker thread outlives ``shutdown()``.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import random
import threading
import tracemalloc

from loader_testkit import TIMEOUT, noop
from model import snapshot_violations

from benchmarks.bench_soak import soak
from loader import AsyncLoader, LoadJob, LoadStatus, LoadTask, Pool

TASK_SIZE = 200
WINDOW = 8


def check(result, jobs: int) -> None:
    assert result.problems == []
    assert result.leaked_threads == []
    assert result.jobs == jobs
    assert sum(result.statuses.values()) == jobs
    assert result.statuses["FAILED"] > 0 and result.statuses["CANCELED"] > 0
    # Removed rows are compacted once they outnumber the live ones: at most a window's worth
    # (the live tasks and as many removed rows) is left however many jobs went through.
    assert result.rows_left <= 2 * (WINDOW + 1) * TASK_SIZE, result.rows_left


def test_soak_of_50k_jobs_keeps_only_a_window_of_rows():
    check(soak(50_000, seed=20261202, task_size=TASK_SIZE, window=WINDOW), 50_000)


def test_soak_returns_its_memory():
    """Traced by tracemalloc (slow, so fewer jobs): without compaction each removed job keeps
    its ~100 bytes of columns and its name, here 10k names of 100 bytes."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = soak(10_000, seed=7, task_size=TASK_SIZE, window=WINDOW, name_padding=100)
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    check(result, 10_000)
    assert retained < 500_000, f"{retained} bytes retained after every task was removed"


def test_compaction_under_concurrent_schedule_remove_read_and_snapshot():
    """Hammer: schedulers, removers, lock-free readers of job state (which also prioritize, wait
    on and remove random jobs, removed ones included) and snapshotters at once, while removals
    keep compacting the columns.  A reader must never see a job's state change
    once it finished, its id change, or a value that belongs to another job; no snapshot row
    may contradict itself."""
    loader = AsyncLoader([Pool("Fg", 2, 0), Pool("Bg", 2, 1), Pool("Startup", 1, 2)],
                         log_failures=False)
    names = [p.name for p in loader.pools]
    priorities = [p.priority for p in loader.pools]
    problems: list[str] = []
    everyone: list[LoadJob] = []  # appended by schedulers, read by everybody (GIL-atomic)
    tasks: queue.Queue = queue.Queue()
    done = threading.Event()
    rounds, per_task = 60, 40

    def fail(loader, job):
        raise ValueError("hammer")

    def scheduler(seed: int) -> None:
        rng = random.Random(seed)
        for r in range(rounds):
            jobs = []
            for i in range(per_task):
                deps = [rng.choice(jobs)] if jobs and rng.random() < 0.5 else []
                if everyone and rng.random() < 0.2:
                    deps.append(everyone[rng.randrange(max(0, len(everyone) - 500),
                                                       len(everyone))])  # maybe removed
                jobs.append(LoadJob(fail if rng.random() < 0.05 else noop,
                                    name=f"h{seed}-{r}-{i}", pool=rng.randrange(3),
                                    dependencies=deps))
            task = LoadTask(loader, jobs)
            task.schedule()
            everyone.extend(jobs)
            tasks.put(task)

    def remover() -> None:
        while not (done.is_set() and tasks.empty()):
            try:
                task = tasks.get(timeout=0.05)
            except queue.Empty:
                continue
            task.remove()

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        final: dict[int, tuple] = {}
        while not done.is_set() or not tasks.empty():
            if not everyone:
                continue
            job = everyone[rng.randrange(len(everyone))]
            action = rng.randrange(16)
            # Calls that read a slot which may be a removed job's (or one compaction moved).
            if action == 0:
                loader.prioritize(job, rng.randrange(3))
            elif action == 1:
                with contextlib.suppress(TimeoutError):
                    loader.wait(job, no_throw=True, timeout=0.01)
            elif action == 2 and job.status != LoadStatus.PENDING:
                loader.remove([job])  # before its task does: removed twice
            # The status first: the engine writes it last, so once it reads finished, the
            # times read after it are final.
            state = (job.status, job.job_id, job.finish_time, job.start_time, job.pool_id)
            if state[1] == 0 or not isinstance(state[0], LoadStatus):
                problems.append(f"{job.name}: read {state}")
            if state[0] != LoadStatus.PENDING:
                if state[2] is None:
                    problems.append(f"{job.name}: {state[0].name} without a finish time")
                seen = final.setdefault(id(job), state[:4])
                if seen != state[:4]:
                    problems.append(f"{job.name}: finished state changed {seen} -> {state}")

    def snapshotter() -> None:
        while not done.is_set():
            problems.extend(snapshot_violations(loader.snapshot(), names, priorities))

    threads = [threading.Thread(target=scheduler, args=(s,)) for s in (1, 2)]
    others = [threading.Thread(target=remover) for _ in range(2)]
    others += [threading.Thread(target=reader, args=(s,)) for s in (3, 4)]
    others.append(threading.Thread(target=snapshotter))
    for thread in threads + others:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    done.set()
    for thread in others:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads + others), "a hammer thread hangs"
    loader.wait_all(timeout=TIMEOUT)
    assert problems[:10] == []
    assert loader.snapshot().num_rows == 0
    assert len(loader._columns) <= 2 * per_task * 4 + 64, len(loader._columns)
    assert loader._epoch >= 2 * 2, f"only {loader._epoch // 2} compactions ran meanwhile"
    assert {job.status for job in everyone} <= {LoadStatus.OK, LoadStatus.FAILED,
                                                LoadStatus.CANCELED}
    loader.shutdown()
