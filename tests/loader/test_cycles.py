"""Dependency cycles.

Ports upstream ``TEST(AsyncLoader, CycleDetection)``.  Python jobs get dependencies through
``add_dependencies`` until they are scheduled, so a cycle is easy to build (C++ needs a
const_cast).  Our own checks: the exact message names exactly the jobs on the cycle, in
dependency direction, closing on the job it starts with (any entry point is legal, reference
section 2.3); tail jobs are not named; a failed schedule leaves every job of the call unscheduled
(job_id 0) and the loader usable.
"""

from __future__ import annotations

import pytest
from loader_testkit import TIMEOUT, noop

from loader import AsyncLoadCycle, LoadJob, LoadStatus

PREFIX = "Load job dependency cycle detected: "


def cycle_names(error: AsyncLoadCycle) -> list[str]:
    assert error.code == 694
    assert error.name == "ASYNC_LOAD_CYCLE"
    assert error.message.startswith(PREFIX), error.message
    names = error.message[len(PREFIX) :].split(" -> ")
    assert str(error) == f"Code: 694. {error.message}. (ASYNC_LOAD_CYCLE)"
    return names


def assert_is_cycle(names: list[str], jobs_by_name: dict[str, LoadJob], expected: set[str]):
    """``names`` is ``a -> b -> ... -> a`` following real dependency edges through ``expected``."""
    assert names[0] == names[-1], names
    assert set(names) == expected, names
    assert len(names) == len(expected) + 1, names  # every job on the cycle named once
    for job_name, dep_name in zip(names, names[1:], strict=False):
        assert jobs_by_name[dep_name] in jobs_by_name[job_name].dependencies, (job_name, dep_name)


def test_cycle_detection(make_loader):
    """Upstream CycleDetection: job1 -> job3 -> job2 -> job1 among eleven jobs."""
    loader = make_loader(1)
    jobs = [LoadJob(noop, name="job0")]
    jobs.append(LoadJob(noop, name="job1", dependencies=[jobs[0]]))
    jobs.append(LoadJob(noop, name="job2", dependencies=[jobs[0], jobs[1]]))
    jobs.append(LoadJob(noop, name="job3", dependencies=[jobs[0], jobs[2]]))
    jobs[1].add_dependencies(jobs[3])
    # a couple of unrelated jobs
    jobs.append(LoadJob(noop, name="job4", dependencies=[jobs[1]]))
    jobs.append(LoadJob(noop, name="job5", dependencies=[jobs[4]]))
    jobs.append(LoadJob(noop, name="job6", dependencies=[jobs[3]]))
    jobs.append(LoadJob(noop, name="job7", dependencies=[jobs[i] for i in (1, 2, 3, 4, 5, 6)]))
    # and some not connected ones
    jobs.append(LoadJob(noop, name="job8"))
    jobs.append(LoadJob(noop, name="job9"))
    jobs.append(LoadJob(noop, name="job10", dependencies=[jobs[9]]))

    with pytest.raises(AsyncLoadCycle) as info:
        loader.schedule(jobs)

    names = cycle_names(info.value)
    assert_is_cycle(names, {job.name: job for job in jobs}, {"job1", "job2", "job3"})
    # exactly upstream's `present` table
    for index, present in enumerate([0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]):
        assert (f"job{index}" in names) == bool(present), index

    assert all(job.job_id == 0 for job in jobs)
    assert all(job.status == LoadStatus.PENDING for job in jobs)
    assert loader.scheduled_job_count() == 0
    assert loader.snapshot().num_rows == 0

    # The loader stays usable, also for jobs that were part of the failed call.
    loader.unpause()
    loader.schedule([jobs[8], jobs[10]])
    loader.wait_all(timeout=TIMEOUT)
    assert [jobs[i].status for i in (8, 9, 10)] == [LoadStatus.OK] * 3
    assert jobs[1].job_id == 0


def test_self_dependency(make_loader):
    loader = make_loader(1)
    job = LoadJob(noop, name="a")
    job.add_dependencies(job)
    with pytest.raises(AsyncLoadCycle) as info:
        loader.schedule(job)
    assert info.value.message == "Load job dependency cycle detected: a -> a"
    assert job.job_id == 0


def test_two_job_cycle_exact_message(make_loader):
    loader = make_loader(1)
    a = LoadJob(noop, name="a")
    b = LoadJob(noop, name="b", dependencies=[a])
    a.add_dependencies(b)
    with pytest.raises(AsyncLoadCycle) as info:
        loader.schedule(a)
    assert info.value.message in (
        "Load job dependency cycle detected: a -> b -> a",
        "Load job dependency cycle detected: b -> a -> b",
    )
    assert a.job_id == 0 and b.job_id == 0


@pytest.mark.parametrize("entry", ["tail", "cycle", "both"])
def test_cycle_with_tail_names_only_the_cycle(make_loader, entry):
    """t2 -> t1 -> a -> b -> c -> a: the tail jobs t1, t2 are not named."""
    loader = make_loader(1)
    a = LoadJob(noop, name="a")
    b = LoadJob(noop, name="b", dependencies=[a])
    c = LoadJob(noop, name="c", dependencies=[b])
    a.add_dependencies(c)
    t1 = LoadJob(noop, name="t1", dependencies=[b])
    t2 = LoadJob(noop, name="t2", dependencies=[t1])
    side = LoadJob(noop, name="side")
    target = {"tail": [t2], "cycle": [c], "both": [side, t2, a, t1]}[entry]

    with pytest.raises(AsyncLoadCycle) as info:
        loader.schedule(target)
    names = cycle_names(info.value)
    by_name = {job.name: job for job in (a, b, c, t1, t2, side)}
    assert_is_cycle(names, by_name, {"a", "b", "c"})
    assert "t1" not in info.value.message and "t2" not in info.value.message
    assert all(job.job_id == 0 for job in by_name.values())
    assert loader.scheduled_job_count() == 0


def test_cycle_through_dependency_outside_the_call(make_loader):
    """The cycle is reached only through unscheduled dependencies gathered by schedule()."""
    loader = make_loader(1)
    x = LoadJob(noop, name="x")
    y = LoadJob(noop, name="y", dependencies=[x])
    x.add_dependencies(y)
    top = LoadJob(noop, name="top", dependencies=[y])
    with pytest.raises(AsyncLoadCycle) as info:
        loader.schedule(top)
    assert_is_cycle(cycle_names(info.value), {"x": x, "y": y}, {"x", "y"})
    assert top.job_id == 0


def test_loader_usable_after_cycle(make_loader):
    loader = make_loader(2, paused=False)
    a = LoadJob(noop, name="a")
    b = LoadJob(noop, name="b", dependencies=[a])
    a.add_dependencies(b)
    for _ in range(3):
        with pytest.raises(AsyncLoadCycle):
            loader.schedule([a, b])
    good = [LoadJob(lambda loader, job: job.name, name=f"good{i}") for i in range(10)]
    loader.schedule(good)
    loader.wait_all(timeout=TIMEOUT)
    assert [job.result for job in good] == [f"good{i}" for i in range(10)]
    assert sorted(job.job_id for job in good) == list(range(1, 11))  # no id was spent


def test_deep_cycle_does_not_overflow_the_stack(make_loader):
    """A 20k-job cycle: the check must not recurse in Python (reference section 6.1)."""
    loader = make_loader(1)
    jobs = [LoadJob(noop, name="n0")]
    for index in range(1, 20_000):
        jobs.append(LoadJob(noop, name=f"n{index}", dependencies=[jobs[-1]]))
    jobs[0].add_dependencies(jobs[-1])
    with pytest.raises(AsyncLoadCycle) as info:
        loader.schedule(jobs[-1])
    names = cycle_names(info.value)
    assert names[0] == names[-1]
    assert jobs[-1].job_id == 0
