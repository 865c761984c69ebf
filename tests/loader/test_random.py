"""Randomized graphs.

Ports upstream ``RandomIndependentTasks`` and ``RandomDependentTasks`` (seeded, so a failure
reproduces).  Our own: a hypothesis property test over random DAGs, pools, failures and
dependency-failure policies, scheduled in random chunks, checking that every job runs after all
its dependencies, that statuses, results and exceptions match a model, and that schedule-time
inheritance leaves every dependency at least as urgent as its dependents.
"""

from __future__ import annotations

import random
import threading
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loader_testkit import TIMEOUT, Recorder, random_jobs, schedule_task, shutdown_bounded

from loader import (
    AsyncLoadCanceled,
    AsyncLoader,
    AsyncLoadFailed,
    LoadJob,
    LoadStatus,
    Pool,
    ignore_dependency_failure,
)

SEED = 20261123


def test_random_independent_tasks(make_loader):
    """Upstream RandomIndependentTasks: 512 tasks of 1..32 jobs with random dependencies."""
    rng = random.Random(SEED)
    loader = make_loader(16)
    loader.unpause()
    bad = Recorder()

    def job_func(loader, job):
        for dep in job.dependencies:
            if dep.status != LoadStatus.OK:
                bad.add((job.name, dep.name, dep.status))

    tasks = []
    for _ in range(512):
        tasks.append(schedule_task(loader, random_jobs(rng, rng.randint(1, 32), 5, job_func)))
    # C++ destroys the tasks here: pending jobs are canceled, executing ones waited for.
    for task in tasks:
        task.remove()
    loader.wait_all(timeout=TIMEOUT)
    assert not bad.snapshot()
    assert loader.scheduled_job_count() == 0
    assert loader.snapshot().num_rows == 0


def test_random_dependent_tasks(make_loader):
    """Upstream RandomDependentTasks: 1000 tasks depending on earlier (maybe removed) jobs,
    keeping fewer than 100 jobs scheduled and removing random old tasks."""
    rng = random.Random(SEED + 1)
    loader = make_loader(16)
    loader.unpause()
    cv = threading.Condition()
    bad = Recorder()
    tasks = []
    all_jobs: list[LoadJob] = []

    def job_func(loader, job):
        for dep in job.dependencies:
            if dep.status != LoadStatus.OK:
                bad.add((job.name, dep.name, dep.status))
        with cv:
            cv.notify()

    for _ in range(1000):
        # A job notifies before it finishes, so also re-check on a short period: a
        # notification can precede the count's drop.
        deadline = time.monotonic() + TIMEOUT
        with cv:
            while loader.scheduled_job_count() >= 100:
                assert time.monotonic() < deadline, "the loader stopped making progress"
                cv.wait(0.005)
        jobs = random_jobs(rng, rng.randint(1, 32), 5, job_func, external=all_jobs)
        all_jobs.extend(jobs)
        tasks.append(schedule_task(loader, jobs))
        if len(tasks) > 100:
            tasks.pop(rng.randrange(len(tasks))).remove()

    loader.wait_all(timeout=TIMEOUT)
    assert not bad.snapshot()
    for job in all_jobs:
        assert job.status in (LoadStatus.OK, LoadStatus.CANCELED)
    for task in tasks:
        task.remove()


# ---- property test ------------------------------------------------------------------------

POOLS = [(2, 0), (1, -1), (2, 1)]  # (max_threads, priority)


@st.composite
def dags(draw):
    count = draw(st.integers(min_value=1, max_value=24))
    nodes = []
    for index in range(count):
        deps = (
            draw(st.sets(st.integers(min_value=0, max_value=index - 1), max_size=3))
            if index
            else set()
        )
        nodes.append(
            {
                "deps": sorted(deps),
                "pool": draw(st.integers(min_value=0, max_value=len(POOLS) - 1)),
                "fails": draw(st.integers(min_value=0, max_value=5)) == 0,
                "ignore": draw(st.integers(min_value=0, max_value=4)) == 0,
            }
        )
    chunks = draw(st.lists(st.integers(min_value=0, max_value=count - 1), min_size=1, max_size=4))
    return nodes, chunks


def expected_status(nodes) -> list[LoadStatus]:
    result: list[LoadStatus] = []
    for node in nodes:
        if not node["ignore"] and any(result[d] != LoadStatus.OK for d in node["deps"]):
            result.append(LoadStatus.CANCELED)
        else:
            result.append(LoadStatus.FAILED if node["fails"] else LoadStatus.OK)
    return result


@settings(
    max_examples=60,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(dags())
def test_random_dag_property(case):
    nodes, chunk_heads = case
    loader = AsyncLoader(
        [Pool(f"p{i}", max_threads=t, priority=p) for i, (t, p) in enumerate(POOLS)],
        paused=True,
        log_failures=False,
    )
    try:
        events = Recorder()

        def func(loader, job):
            events.add(("start", job.name))
            if nodes[int(job.name)]["fails"]:
                events.add(("end", job.name))
                raise ValueError(f"fail {job.name}")
            events.add(("end", job.name))
            return f"result {job.name}"

        jobs: list[LoadJob] = []
        for index, node in enumerate(nodes):
            jobs.append(
                LoadJob(
                    func,
                    name=str(index),
                    pool=node["pool"],
                    dependencies=[jobs[d] for d in node["deps"]],
                    dependency_failure=ignore_dependency_failure if node["ignore"] else None,
                )
            )
        # Schedule in chunks (each job drags its unscheduled dependencies in), then the rest.
        for head in chunk_heads:
            loader.schedule(jobs[head])
        loader.schedule(jobs)
        assert sorted(job.job_id for job in jobs) == list(range(1, len(jobs) + 1))
        for job in jobs:
            for dep in job.dependencies:
                assert loader.pool_priority(dep.pool_id) <= loader.pool_priority(job.pool_id)

        loader.unpause()
        loader.wait_all(timeout=TIMEOUT)

        order = events.snapshot()
        position = {event: index for index, event in enumerate(order)}
        expected = expected_status(nodes)
        for index, job in enumerate(jobs):
            name = job.name
            assert job.status == expected[index], (index, job.status, expected[index], nodes)
            ran = ("start", name) in position
            assert ran == (job.status in (LoadStatus.OK, LoadStatus.FAILED))
            if ran:
                assert job.start_time is not None and job.finish_time is not None
                assert job.execution_pool_id == job.pool_id  # no dynamic prioritization here
                for dep in job.dependencies:
                    if ("end", dep.name) in position:
                        assert position[("end", dep.name)] < position[("start", name)]
                    assert dep.status != LoadStatus.PENDING
            else:
                assert job.start_time is None
            if job.status == LoadStatus.OK:
                assert job.exception is None and job.result == f"result {name}"
            elif job.status == LoadStatus.FAILED:
                assert isinstance(job.exception, AsyncLoadFailed)
                assert str(job.exception.__cause__) == f"fail {name}"
            else:
                assert isinstance(job.exception, AsyncLoadCanceled)
        assert loader.scheduled_job_count() == 0
        rows = loader.snapshot().to_pylist()
        assert sorted(row["job_id"] for row in rows) == sorted(job.job_id for job in jobs)
        for row in rows:
            assert row["is_executing"] == row["is_blocked"] == row["is_ready"] == 0
    finally:
        shutdown_bounded(loader)
