"""LoadTask and the helper functions.

No upstream test is dedicated to tasks (every upstream test uses them, see ``Smoke`` for
``merge``); these are our own checks of SPEC section 2 and reference sections 1.5 and 2.13:
``schedule``, ``remove``, ``merge``, ``goals``, the context manager, ``schedule_load``,
``prioritize_load`` and ``wait_load`` over several tasks.
"""

from __future__ import annotations

import pytest
from loader_testkit import TIMEOUT, Recorder, noop

from loader import (
    LoadJob,
    LoadStatus,
    LoadTask,
    LogicalError,
    prioritize_load,
    schedule_load,
    wait_load,
)


def test_task_is_not_scheduled_at_construction(make_loader):
    loader = make_loader(1)
    job = LoadJob(noop, name="job")
    task = LoadTask(loader, [job])
    assert job.job_id == 0
    assert loader.scheduled_job_count() == 0
    task.schedule()
    assert job.job_id != 0
    task.schedule()  # idempotent
    assert loader.scheduled_job_count() == 1


def test_goals_default_to_all_jobs(make_loader):
    loader = make_loader(1)
    a, b = LoadJob(noop, name="a"), LoadJob(noop, name="b", dependencies=[])
    task = LoadTask(loader, [a, b])
    assert set(task.jobs) == {a, b}
    assert set(task.goals) == {a, b}
    with_goals = LoadTask(loader, [a, b], goals=[b])
    assert set(with_goals.goals) == {b}
    assert set(with_goals.jobs) == {a, b}


def test_remove_clears_the_task_and_is_idempotent(make_loader):
    loader = make_loader(1)
    job = LoadJob(noop, name="job")
    task = LoadTask(loader, [job], goals=[job])
    task.schedule()
    task.remove()
    assert job.status == LoadStatus.CANCELED
    assert len(task.jobs) == 0 and len(task.goals) == 0
    task.remove()
    assert loader.snapshot().num_rows == 0


def test_merge_moves_jobs_and_goals(make_loader):
    loader = make_loader(1)
    a, b, c = (LoadJob(noop, name=name) for name in "abc")
    first = LoadTask(loader, [a, b], goals=[b])
    second = LoadTask(loader, [c], goals=[c])
    first.merge(second)
    assert set(first.jobs) == {a, b, c}
    assert set(first.goals) == {b, c}
    assert len(second.jobs) == 0 and len(second.goals) == 0
    second.remove()  # empty: does nothing
    first.schedule()
    assert all(job.job_id for job in (a, b, c))
    first.remove()
    assert all(job.status == LoadStatus.CANCELED for job in (a, b, c))


def test_merge_across_loaders_is_refused(make_loader):
    first_loader, second_loader = make_loader(1), make_loader(1)
    first = LoadTask(first_loader, [LoadJob(noop, name="a")])
    second = LoadTask(second_loader, [LoadJob(noop, name="b")])
    with pytest.raises(LogicalError):
        first.merge(second)


def test_context_manager_removes(make_loader):
    loader = make_loader(1)
    job = LoadJob(noop, name="job")
    with LoadTask(loader, [job]) as task:
        task.schedule()
        assert job.status == LoadStatus.PENDING
    assert job.status == LoadStatus.CANCELED
    assert loader.scheduled_job_count() == 0


def test_context_manager_keeps_finished_results(make_loader):
    loader = make_loader(1, paused=False)
    job = LoadJob(lambda loader, job: 7, name="job")
    with LoadTask(loader, [job]) as task:
        wait_load(loader, task)
    assert job.status == LoadStatus.OK and job.result == 7
    assert loader.snapshot().num_rows == 0


def test_schedule_load_several_tasks_atomically(make_loader):
    """Scheduled under one lock: only the most urgent jobs among all tasks run first."""
    loader = make_loader((1, 0), (1, -1), paused=False)
    order = Recorder()

    def record(loader, job):
        order.add(job.name)

    low = LoadTask(loader, [LoadJob(record, name=f"low{i}", pool=0) for i in range(3)])
    high = LoadTask(loader, [LoadJob(record, name=f"high{i}", pool=1) for i in range(3)])
    loader.pause()
    schedule_load(loader, [low, high])
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    assert order.snapshot()[:3] == ["high0", "high1", "high2"]
    assert sorted(order.snapshot()[3:]) == ["low0", "low1", "low2"]


def test_prioritize_load_on_jobs_and_task_lists(make_loader):
    loader = make_loader((1, 0), (1, -1))
    a = LoadJob(noop, name="a")
    b = LoadJob(noop, name="b")
    prioritize_load(loader, a, 1)
    assert a.pool_id == 1
    prioritize_load(loader, [b], "Pool1")
    assert b.pool_id == 1
    dep = LoadJob(noop, name="dep")
    goal = LoadJob(noop, name="goal", dependencies=[dep])
    tasks = [LoadTask(loader, [dep, goal], goals=[goal]), LoadTask(loader, [LoadJob(noop)])]
    prioritize_load(loader, tasks, 1)
    assert dep.pool_id == 1 and goal.pool_id == 1
    assert all(job.pool_id == 1 for job in tasks[1].jobs)


def test_wait_load_over_tasks_waits_for_goals(make_loader):
    loader = make_loader(2, paused=False)
    order = Recorder()

    def record(loader, job):
        order.add(job.name)
        return job.name

    tasks = []
    for index in range(3):
        dep = LoadJob(record, name=f"dep{index}")
        goal = LoadJob(record, name=f"goal{index}", dependencies=[dep])
        tasks.append(LoadTask(loader, [dep, goal], goals=[goal]))
    wait_load(loader, tasks)
    assert all(task.goals[0].status == LoadStatus.OK for task in tasks)
    assert sorted(order.snapshot()) == sorted(
        [f"dep{i}" for i in range(3)] + [f"goal{i}" for i in range(3)]
    )
    for task in tasks:
        task.remove()


def test_wait_load_prioritizes_before_scheduling(make_loader):
    """wait_load(pool=...) raises goals first, so they are enqueued straight in that pool."""
    loader = make_loader((1, 0), (1, -1), paused=False)
    job = LoadJob(lambda loader, job: job.execution_pool_id, name="job", pool=0)
    task = LoadTask(loader, [job])
    wait_load(loader, task, pool="Pool1")
    assert job.result == 1
    task.remove()
