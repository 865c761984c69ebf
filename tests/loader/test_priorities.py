"""Pool priorities and prioritization.

Ports upstream ``StaticPriorities``, ``SimplePrioritization``, ``DynamicPriorities`` and
``JobPrioritizedWhileWaited``.  Our own (reference sections 2.2, 2.4, 2.6): ``prioritize`` only
raises, never moves between pools of equal priority, recurses into dependencies and stops at jobs
already high enough; a ready job changes queue and keeps its ``ready_seqno``; an executing job
keeps its execution pool; schedule-time inheritance; ``prioritize_load`` raises goals only; and
the priority gate under load (many pools, many threads, random DAGs).
"""

from __future__ import annotations

import contextlib
import random
import threading

from loader_testkit import TIMEOUT, Recorder, job_row, noop, schedule_task, wait_until

from loader import LoadJob, LoadStatus, LoadTask, LogicalError, prioritize_load

TEN_POOLS = [(1, -priority) for priority in range(10)]  # PoolN has priority -N


def test_static_priorities(make_loader):
    """Upstream StaticPriorities: H9 pulls its whole dependency tree into pool 9."""
    loader = make_loader(*TEN_POOLS)
    schedule = Recorder()

    def job_func(loader, job):
        schedule.add(f"{job.name}{job.pool_id}")

    # A0(9) -+-> B3
    #        |
    #        `-> C4
    #        |
    #        `-> D1(9) -.
    #        |          +-> F0(9) --> G0(9) --> H9
    #        `-> E2(9) -'
    a = LoadJob(job_func, name="A", pool=0)
    b = LoadJob(job_func, name="B", pool=3, dependencies=[a])
    c = LoadJob(job_func, name="C", pool=4, dependencies=[a])
    d = LoadJob(job_func, name="D", pool=1, dependencies=[a])
    e = LoadJob(job_func, name="E", pool=2, dependencies=[a])
    f = LoadJob(job_func, name="F", pool=0, dependencies=[d, e])
    g = LoadJob(job_func, name="G", pool=0, dependencies=[f])
    h = LoadJob(job_func, name="H", pool=9, dependencies=[g])
    schedule_task(loader, [a, b, c, d, e, f, g, h])

    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert "".join(schedule.snapshot()) in ("A9E9D9F9G9H9C4B3", "A9D9E9F9G9H9C4B3")


def test_simple_prioritization(make_loader):
    """Upstream SimplePrioritization: A boosts C above B, so the order is A, C, B."""
    loader = make_loader((1, 0), (1, -1), (1, -2))
    loader.unpause()
    executed = Recorder()
    job_to_prioritize = []

    def job_func_a_booster(loader, job):
        executed.add("A")
        loader.prioritize(job_to_prioritize[0], 2)

    def record(loader, job):
        executed.add(job.name)

    a = LoadJob(job_func_a_booster, name="A", pool=1)
    b = LoadJob(record, name="B", pool=1, dependencies=[a])
    c = LoadJob(record, name="C", pool=0)
    task = LoadTask(loader, [a, b, c])
    job_to_prioritize.append(c)

    from loader import schedule_load, wait_load

    schedule_load(loader, task)
    wait_load(loader, task)
    assert executed.snapshot() == ["A", "C", "B"]
    assert c.pool_id == 2 and c.execution_pool_id == 2
    task.remove()


def run_dynamic_priorities(loader, syncs, prioritize: bool) -> tuple[str, int, int]:
    sync = syncs.barrier(2)
    wait_sync = [prioritize]
    wait_sync_lock = threading.Lock()
    schedule = Recorder()
    seqno = {}
    job_to_prioritize = []

    def job_func(loader, job):
        schedule.add(f"{job.name}{job.execution_pool_id}")

        if prioritize and job.name == "C":
            for row in loader.snapshot().to_pylist():
                if row["job"] in ("D", "E"):
                    seqno[row["job"]] = row["ready_seqno"]
            # D and E are in their ready queues now
            assert seqno["D"] and seqno["E"]
            # Dynamic prioritization G0 -> G9 spawns a concurrent worker in the higher pool
            loader.prioritize(job_to_prioritize[0], 9)
            sync.wait()  # (A) wait for the higher-priority worker (B): they run concurrently

        if job.name in ("D", "E"):
            with wait_sync_lock:
                first = wait_sync[0]
                wait_sync[0] = False
            if first:
                sync.wait()  # (B)

    # A0 -+-> B3
    #     |
    #     `-> C4
    #     |
    #     `-> D1 -.
    #     |       +-> F0 --> G0 --> H0
    #     `-> E2 -'
    a = LoadJob(job_func, name="A", pool=0)
    b = LoadJob(job_func, name="B", pool=3, dependencies=[a])
    c = LoadJob(job_func, name="C", pool=4, dependencies=[a])
    d = LoadJob(job_func, name="D", pool=1, dependencies=[a])
    e = LoadJob(job_func, name="E", pool=2, dependencies=[a])
    f = LoadJob(job_func, name="F", pool=0, dependencies=[d, e])
    g = LoadJob(job_func, name="G", pool=0, dependencies=[f])
    h = LoadJob(job_func, name="H", pool=0, dependencies=[g])
    task = schedule_task(loader, [a, b, c, d, e, f, g, h])
    job_to_prioritize.append(g)

    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    loader.pause()
    assert all(job.status == LoadStatus.OK for job in task.jobs), [
        (job.name, job.exception) for job in task.jobs if job.exception
    ]
    task.remove()
    return "".join(schedule.snapshot()), seqno.get("D", 0), seqno.get("E", 0)


def test_dynamic_priorities(make_loader, syncs):
    """Upstream DynamicPriorities: boosting G to pool 9 while C4 runs postpones B3."""
    loader = make_loader(*TEN_POOLS)
    order, _, _ = run_dynamic_priorities(loader, syncs, prioritize=False)
    assert order == "A4C4B3E2D1F0G0H0"

    order, seqno_d, seqno_e = run_dynamic_priorities(loader, syncs, prioritize=True)
    if seqno_d < seqno_e:
        assert order == "A4C4D9E9F9G9B3H0"
    else:
        assert order == "A4C4E9D9F9G9B3H0"


def test_job_prioritized_while_waited(make_loader, syncs):
    """Upstream JobPrioritizedWhileWaited: the waited job moves pools; suspension ends."""
    loader = make_loader((2, 0), (1, -1))
    sync = syncs.barrier(2)
    job_to_wait = []

    def running_job_func(loader, job):
        sync.wait()

    def waiting_job_func(loader, job):
        loader.wait(job_to_wait[0], timeout=TIMEOUT)

    running = LoadJob(running_job_func, name="running", pool=0)
    dependent = LoadJob(noop, name="dependent", pool=0, dependencies=[running])
    waiting = LoadJob(waiting_job_func, name="waiting", pool=0)
    task = schedule_task(loader, [running, dependent, waiting])
    job_to_wait.append(dependent)

    loader.unpause()
    wait_until(lambda: dependent.waiters_count > 0, what="the waiting job to wait")
    assert loader.suspended_workers_count(0) == 1

    loader.prioritize(dependent, 1)
    sync.wait()

    loader.wait_all(timeout=TIMEOUT)
    loader.pause()
    assert [job.status for job in task.jobs] == [LoadStatus.OK] * 3
    assert dependent.execution_pool_id == 1
    assert loader.suspended_workers_count(1) == 0
    assert loader.suspended_workers_count(0) == 0


# ---- our own ------------------------------------------------------------------------------


def test_prioritize_only_raises(make_loader):
    loader = make_loader((1, 0), (1, 1), (1, 0), (1, -1))
    job = LoadJob(noop, name="job", pool=0)
    loader.schedule(job)
    loader.prioritize(job, 1)  # lower priority: ignored
    assert job.pool_id == 0
    loader.prioritize(job, 2)  # equal priority, other pool: ignored
    assert job.pool_id == 0
    loader.prioritize(job, 3)
    assert job.pool_id == 3
    loader.prioritize(job, 0)  # never goes back down
    assert job.pool_id == 3
    assert job_row(loader, job)["pool_id"] == 3


def test_prioritize_recurses_and_stops_at_jobs_high_enough(make_loader):
    """Unscheduled jobs (no schedule-time inheritance yet) make the stop observable."""
    loader = make_loader((1, 0), (1, -1), (1, -2))
    a = LoadJob(noop, name="a", pool=0)
    b = LoadJob(noop, name="b", pool=2, dependencies=[a])
    c = LoadJob(noop, name="c", pool=0, dependencies=[b])
    other = LoadJob(noop, name="other", pool=0, dependencies=[a])

    loader.prioritize(c, 1)
    assert (c.pool_id, b.pool_id, a.pool_id) == (1, 2, 0)  # stopped at b
    loader.prioritize(c, 2)
    assert (c.pool_id, b.pool_id, a.pool_id) == (2, 2, 0)  # b has that priority already

    x = LoadJob(noop, name="x", pool=0)
    y = LoadJob(noop, name="y", pool=0, dependencies=[x])
    z = LoadJob(noop, name="z", pool=0, dependencies=[y])
    loader.prioritize(z, 2)
    assert (z.pool_id, y.pool_id, x.pool_id) == (2, 2, 2)  # recursed all the way
    assert other.pool_id == 0  # dependents are never raised


def test_schedule_time_inheritance(make_loader):
    loader = make_loader((1, 0), (1, -1))
    dep = LoadJob(noop, name="dep", pool=0)
    deeper = LoadJob(noop, name="deeper", pool=0)
    dep.add_dependencies(deeper)
    top = LoadJob(noop, name="top", pool=1, dependencies=[dep])
    sibling = LoadJob(noop, name="sibling", pool=0, dependencies=[dep])
    loader.schedule([sibling, top])
    assert (top.pool_id, dep.pool_id, deeper.pool_id, sibling.pool_id) == (1, 1, 1, 0)
    assert dep.execution_pool_id == deeper.execution_pool_id == 0  # initial until it runs
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert deeper.execution_pool_id == 1


def test_ready_job_changes_queue_and_keeps_ready_seqno(make_loader):
    loader = make_loader((1, 0), (1, -1))
    first = LoadJob(noop, name="first", pool=0)
    second = LoadJob(noop, name="second", pool=0)
    loader.schedule(first)
    loader.schedule(second)
    before = job_row(loader, second)
    assert before["is_ready"] == 1 and before["ready_seqno"]
    assert before["ready_seqno"] > job_row(loader, first)["ready_seqno"]

    loader.prioritize(second, 1)
    after = job_row(loader, second)
    assert after["is_ready"] == 1
    assert after["pool_id"] == 1
    assert after["ready_seqno"] == before["ready_seqno"]
    assert after["execution_pool_id"] == 0  # before execution it stays the initial pool
    assert second.execution_pool_id == 0

    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    order = sorted([first, second], key=lambda job: job.start_time)
    assert order == [second, first]  # the boosted job ran first
    assert second.execution_pool_id == 1


def test_executing_job_keeps_its_execution_pool(make_loader, syncs):
    loader = make_loader((1, 0), (1, -1), paused=False)
    started = syncs.event()
    release = syncs.event()
    seen = {}

    def func(loader, job):
        started.set()
        assert release.wait(TIMEOUT)
        seen["pool"] = job.pool_id
        seen["execution_pool"] = job.execution_pool_id

    job = LoadJob(func, name="job", pool=0)
    loader.schedule(job)
    assert started.wait(TIMEOUT)
    loader.prioritize(job, 1)
    row = job_row(loader, job)
    assert row["is_executing"] == 1
    assert row["pool_id"] == 1 and row["execution_pool_id"] == 0
    release.set()
    loader.wait(job, timeout=TIMEOUT)
    assert seen == {"pool": 1, "execution_pool": 0}
    assert job.execution_pool_id == 0


def test_prioritize_finished_job_changes_pool_only(make_loader):
    loader = make_loader((1, 0), (1, -1), paused=False)
    job = LoadJob(noop, name="job")
    loader.schedule(job)
    loader.wait(job, timeout=TIMEOUT)
    loader.prioritize(job, 1)
    assert job.pool_id == 1
    assert job.execution_pool_id == 0
    assert job.status == LoadStatus.OK


def test_prioritize_load_raises_goals_only(make_loader):
    loader = make_loader((1, 0), (1, -1))
    dep = LoadJob(noop, name="dep")
    goal = LoadJob(noop, name="goal", dependencies=[dep])
    extra = LoadJob(noop, name="extra")
    task = LoadTask(loader, [dep, goal, extra], goals=[goal])
    prioritize_load(loader, task, 1)
    assert (goal.pool_id, dep.pool_id, extra.pool_id) == (1, 1, 0)
    task.remove()


def test_lower_priority_pool_waits_for_higher_one(make_loader):
    """All jobs ready at once: no low job starts before every high job has finished."""
    loader = make_loader((2, 1), (2, 0))
    lock = threading.Lock()
    high_total = 40
    high_done = [0]
    violations = []

    def high(loader, job):
        with lock:
            high_done[0] += 1

    def low(loader, job):
        with lock:
            if high_done[0] != high_total:
                violations.append((job.name, high_done[0]))

    jobs = [LoadJob(low, name=f"low{i}", pool=0) for i in range(40)]
    jobs += [LoadJob(high, name=f"high{i}", pool=1) for i in range(high_total)]
    random.Random(7).shuffle(jobs)
    loader.schedule(jobs)
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert not violations
    assert all(job.status == LoadStatus.OK for job in jobs)


def test_priority_gate_and_max_threads_hammer(make_loader):
    """Random DAGs over four pools, scheduled from several threads while paused, then run with
    many workers: a job starts only after every job of a strictly higher-priority pool has
    finished (all were ready or blocked only on higher-or-equal jobs, thanks to inheritance),
    and no pool ever runs more jobs at once than its max_threads."""
    pools = [(3, 3), (2, 2), (3, 1), (2, 0)]  # (max_threads, priority): pool 3 most urgent
    rng = random.Random(20261123)

    for _round in range(4):
        loader = make_loader(*pools)
        lock = threading.Lock()
        running = [0] * len(pools)
        peak = [0] * len(pools)
        finished_by_priority: dict[int, int] = {}
        violations = []
        jobs: list[LoadJob] = []
        total_by_priority: dict[int, int] = {}

        def func(
            loader,
            job,
            lock=lock,
            running=running,
            peak=peak,
            finished_by_priority=finished_by_priority,
            violations=violations,
            total_by_priority=total_by_priority,
        ):
            pool = job.execution_pool_id
            priority = loader.pool_priority(pool)
            with lock:
                for other, total in total_by_priority.items():
                    if other < priority and finished_by_priority.get(other, 0) != total:
                        violations.append(("gate", job.name, priority, other))
                running[pool] += 1
                peak[pool] = max(peak[pool], running[pool])
            with lock:
                running[pool] -= 1
                finished_by_priority[priority] = finished_by_priority.get(priority, 0) + 1

        for index in range(600):
            deps = [jobs[rng.randrange(index)] for _ in range(rng.randrange(3))] if index else []
            jobs.append(
                LoadJob(
                    func,
                    name=f"j{index}",
                    pool=rng.randrange(len(pools)),
                    dependencies=list(dict.fromkeys(deps)),
                )
            )
        chunks = [jobs[start::4] for start in range(4)]
        schedulers = [
            threading.Thread(target=loader.schedule, args=(chunk,), daemon=True) for chunk in chunks
        ]
        for thread in schedulers:
            thread.start()
        for thread in schedulers:
            thread.join(TIMEOUT)
            assert not thread.is_alive()

        for job in jobs:  # schedule-time inheritance: dependencies at least as urgent
            for dep in job.dependencies:
                assert loader.pool_priority(dep.pool_id) <= loader.pool_priority(job.pool_id)
        for job in jobs:
            priority = loader.pool_priority(job.pool_id)
            total_by_priority[priority] = total_by_priority.get(priority, 0) + 1

        loader.unpause()
        loader.wait_all(timeout=TIMEOUT)
        assert not violations, violations[:5]
        assert all(job.status == LoadStatus.OK for job in jobs)
        for pool, (max_threads, _) in enumerate(pools):
            assert peak[pool] <= max_threads, (pool, peak[pool])


def test_max_threads_hammer_with_concurrent_schedule_prioritize_remove(make_loader):
    """Schedulers, prioritizers and removers race with running jobs; per-pool concurrency never
    exceeds max_threads and every job ends in a consistent state."""
    pools = [(2, 0), (3, -1), (1, -2)]
    loader = make_loader(*pools, paused=False)
    lock = threading.Lock()
    running = [0] * len(pools)
    peak = [0] * len(pools)
    bad_dependency = []

    def func(loader, job):
        pool = job.execution_pool_id
        with lock:
            running[pool] += 1
            peak[pool] = max(peak[pool], running[pool])
        for dep in job.dependencies:
            if dep.status != LoadStatus.OK:
                bad_dependency.append((job.name, dep.name, dep.status))
        with lock:
            running[pool] -= 1

    all_jobs: list[LoadJob] = []
    all_lock = threading.Lock()
    errors = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for batch in range(30):
                with all_lock:
                    known = list(all_jobs[-50:])
                new = []
                for index in range(rng.randrange(1, 12)):
                    deps = [rng.choice(known)] if known and rng.random() < 0.3 else []
                    deps += [new[-1]] if new and rng.random() < 0.5 else []
                    new.append(
                        LoadJob(
                            func,
                            name=f"w{seed}b{batch}j{index}",
                            pool=rng.randrange(len(pools)),
                            dependencies=deps,
                        )
                    )
                with all_lock:
                    all_jobs.extend(new)
                task = LoadTask(loader, new)
                task.schedule()
                if known:
                    loader.prioritize(rng.choice(known), rng.randrange(len(pools)))
                if rng.random() < 0.3:
                    task.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(seed,), daemon=True) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    assert not errors, errors
    loader.wait_all(timeout=TIMEOUT)

    assert not bad_dependency, bad_dependency[:5]
    for pool, (max_threads, _) in enumerate(pools):
        assert peak[pool] <= max_threads, (pool, peak[pool])
    for job in all_jobs:
        assert job.job_id != 0
        assert job.status != LoadStatus.PENDING
        if job.status == LoadStatus.OK:
            assert job.exception is None
            assert all(dep.status == LoadStatus.OK for dep in job.dependencies)
        else:
            assert job.status == LoadStatus.CANCELED
            assert job.start_time is None
    assert loader.scheduled_job_count() == 0


def test_prioritize_storm_while_jobs_run(make_loader):
    """Threads keep raising random jobs (ready, blocked, executing, finished) while workers of
    four pools churn: queues stay consistent (everything runs exactly once, nothing is left
    behind, no worker dies) and no pool exceeds its max_threads."""
    pools = [(2, 3), (2, 2), (1, 1), (2, 0)]
    loader = make_loader(*pools)
    lock = threading.Lock()
    running = [0] * len(pools)
    peak = [0] * len(pools)
    runs: dict[str, int] = {}

    def func(loader, job):
        pool = job.execution_pool_id
        with lock:
            runs[job.name] = runs.get(job.name, 0) + 1
            running[pool] += 1
            peak[pool] = max(peak[pool], running[pool])
        with lock:
            running[pool] -= 1

    rng = random.Random(5)
    jobs: list[LoadJob] = []
    for index in range(1500):
        deps = [jobs[rng.randrange(index)]] if index and rng.random() < 0.4 else []
        jobs.append(LoadJob(func, name=f"j{index}", pool=0, dependencies=deps))
    loader.schedule(jobs)
    stop = threading.Event()
    errors = []

    def prioritizer(seed: int) -> None:
        local = random.Random(seed)
        try:
            while not stop.is_set():
                loader.prioritize(jobs[local.randrange(len(jobs))], local.randrange(len(pools)))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=prioritizer, args=(s,), daemon=True) for s in range(3)]
    for thread in threads:
        thread.start()
    loader.unpause()
    try:
        loader.wait_all(timeout=TIMEOUT)
    finally:
        stop.set()
        for thread in threads:
            thread.join(TIMEOUT)
    assert not errors, errors
    assert all(job.status == LoadStatus.OK for job in jobs)
    assert all(runs.get(job.name) == 1 for job in jobs)
    for pool, (max_threads, _) in enumerate(pools):
        assert peak[pool] <= max_threads, (pool, peak[pool])
    for job in jobs:  # the inheritance invariant survives the storm
        for dep in job.dependencies:
            assert loader.pool_priority(dep.pool_id) <= loader.pool_priority(job.pool_id)
    assert loader.scheduled_job_count() == 0
    assert all(row["is_ready"] == 0 for row in loader.snapshot().to_pylist())


def test_prioritized_unscheduled_job_keeps_initial_execution_pool_until_it_runs(make_loader):
    loader = make_loader((1, 0), (1, -1))
    job = LoadJob(lambda loader, job: job.execution_pool_id, name="job", pool=0)
    loader.prioritize(job, 1)
    assert job.pool_id == 1
    assert job.execution_pool_id == 0
    loader.schedule(job)  # enqueued straight into pool 1
    row = job_row(loader, job)
    assert (row["pool_id"], row["execution_pool_id"], row["is_ready"]) == (1, 0, 1)
    loader.unpause()
    assert loader.wait(job, timeout=TIMEOUT) == 1


def test_ready_queue_is_fifo_by_readiness(make_loader):
    """Workers take the smallest ready_seqno: jobs run in the order they became ready, and a
    dependent that becomes ready later queues behind jobs that were ready before it."""
    loader = make_loader(1)
    order = Recorder()

    def record(loader, job):
        order.add(job.name)

    first = LoadJob(record, name="first")
    jobs = [first] + [LoadJob(record, name=f"ready{i}") for i in range(5)]
    later = LoadJob(record, name="later", dependencies=[first])
    for job in jobs:
        loader.schedule(job)
    loader.schedule(later)
    seqnos = [job_row(loader, job)["ready_seqno"] for job in jobs]
    assert seqnos == sorted(seqnos) and len(set(seqnos)) == len(seqnos)
    assert job_row(loader, later)["ready_seqno"] is None and job_row(loader, later)["is_blocked"]
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert order.snapshot() == [job.name for job in jobs] + ["later"]


def test_prioritize_through_a_foreign_dependency_leaves_other_jobs_alone(make_loader):
    """Regression (fixed in 769dd82); the bug was: prioritize() of an unscheduled job
    recurses into a dependency that is scheduled in ANOTHER loader and uses that job's slot as
    an index into THIS loader's columns: it raises an unrelated job of this loader to the new
    pool (and could move its ready-queue entry); wait_load(..., pool=...) does this before
    schedule() raises.
    """
    pools = ((1, -1), (1, 0))
    mine = make_loader(*pools)
    other = make_loader(*pools)
    victim = LoadJob(noop, name="victim", pool=1)
    mine.schedule(victim)  # slot 0 here
    foreign = LoadJob(noop, name="foreign", pool=1)
    other.schedule(foreign)  # slot 0 there
    unscheduled = LoadJob(noop, name="unscheduled", pool=1, dependencies=[foreign])
    with contextlib.suppress(LogicalError):
        mine.prioritize(unscheduled, 0)
    assert victim.pool_id == 1, "a job unrelated to the prioritized one changed pool"
    assert foreign.pool_id == 1 or foreign.pool_id == 0  # either refused or raised in its own


def test_no_lower_priority_job_starts_while_a_higher_one_is_ready(make_loader, syncs):
    """Prioritizing a ready job while a low-priority job runs: the next low-priority job does
    not start until the high-priority pool is idle; the moved job keeps its seqno."""
    loader = make_loader((1, -1), (1, 0))
    order = Recorder()
    gate = syncs.event()

    def blocker(loader, job):
        order.add(job.name)
        gate.wait(TIMEOUT)

    def record(loader, job):
        order.add(job.name)

    low_running = LoadJob(blocker, name="low_running", pool=1)
    low_next = LoadJob(record, name="low_next", pool=1)
    moved = LoadJob(record, name="moved", pool=1)
    loader.schedule([low_running, moved, low_next])
    seqno = {row["job"]: row["ready_seqno"] for row in loader.snapshot().to_pylist()}
    loader.unpause()
    wait_until(lambda: order.snapshot() == ["low_running"], what="low_running starts")
    loader.prioritize(moved, 0)
    wait_until(lambda: moved.status == LoadStatus.OK, what="moved runs in the high pool")
    row = {r["job"]: r for r in loader.snapshot().to_pylist()}
    assert row["moved"]["execution_pool_id"] == 0
    assert order.snapshot() == ["low_running", "moved"]
    gate.set()
    loader.wait_all(timeout=TIMEOUT)
    assert order.snapshot() == ["low_running", "moved", "low_next"]
    assert seqno["moved"] is not None


def test_inheritance_reaches_every_dependency_scheduled_in_the_same_call(make_loader):
    """New jobs are linked in pre-order; a diamond whose high-priority root is linked last
    still raises the shared dependency and its own dependencies."""
    loader = make_loader((1, 0), (1, 1))
    e = LoadJob(noop, name="e", pool=1)
    d = LoadJob(noop, name="d", pool=1, dependencies=[e])
    low_root = LoadJob(noop, name="low_root", pool=1, dependencies=[d])
    high_root = LoadJob(noop, name="high_root", pool=0, dependencies=[d])
    loader.schedule([low_root, high_root])
    pools = {row["job"]: row["pool_id"] for row in loader.snapshot().to_pylist()}
    assert pools == {"e": 0, "d": 0, "low_root": 1, "high_root": 0}
    execution = {row["job"]: row["execution_pool_id"] for row in loader.snapshot().to_pylist()}
    assert execution == {"e": 1, "d": 1, "low_root": 1, "high_root": 0}


def test_ready_job_moved_through_two_pools_runs_once_with_its_seqno(make_loader):
    loader = make_loader((1, 0), (1, 1), (1, 2))
    runs = Recorder()

    def record(loader, job):
        runs.add((job.name, job.execution_pool_id))

    jobs = [LoadJob(record, name=f"j{i}", pool=2) for i in range(3)]
    loader.schedule(jobs)
    before = {r["job"]: r["ready_seqno"] for r in loader.snapshot().to_pylist()}
    loader.prioritize(jobs[1], 1)
    loader.prioritize(jobs[1], 0)
    after = {r["job"]: r for r in loader.snapshot().to_pylist()}
    assert after["j1"]["ready_seqno"] == before["j1"] and after["j1"]["pool_id"] == 0
    assert [r["is_ready"] for r in after.values()] == [1, 1, 1]
    assert loader.pool_snapshot().column("ready_jobs").to_pylist() == [1, 0, 2]
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert sorted(runs.snapshot()) == [("j0", 2), ("j1", 0), ("j2", 2)]
