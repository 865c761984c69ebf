"""Bad input: a clear, specific error, and a loader that keeps working.

Our own tests (no upstream counterpart: C++ asserts or does not compile in these cases).
Each case checks the error type is specific (an ``AsyncLoadError`` subclass or a precise
built-in such as ``TypeError``/``ValueError``/``LookupError``), that its message names the
offending value, and that the loader still runs jobs afterwards.
"""

from __future__ import annotations

import pytest
from loader_testkit import TIMEOUT, noop

from loader import AsyncLoader, AsyncLoadError, LoadJob, LoadTask, Pool

SPECIFIC = (AsyncLoadError, TypeError, ValueError, LookupError)


def assert_usable(loader: AsyncLoader) -> None:
    loader.unpause()
    job = LoadJob(lambda loader, job: "still works", name="probe")
    loader.schedule(job)
    assert loader.wait(job, timeout=TIMEOUT) == "still works"


def assert_specific(error: BaseException, *fragments: str) -> None:
    assert isinstance(error, SPECIFIC), type(error)
    assert type(error) not in (Exception, AsyncLoadError), type(error)
    for fragment in fragments:
        assert fragment in str(error), (fragment, str(error))


@pytest.mark.parametrize("pool", [7, -1, "nope"])
def test_unknown_pool_in_job(make_loader, pool):
    loader = make_loader(1, (1, -1))
    job = LoadJob(noop, name="lost", pool=pool)
    with pytest.raises(SPECIFIC) as info:
        loader.schedule(job)
    assert_specific(info.value, str(pool))
    assert job.job_id == 0
    assert loader.scheduled_job_count() == 0
    assert_usable(loader)


def test_unknown_pool_in_a_dependency_leaves_the_whole_call_unscheduled(make_loader):
    loader = make_loader(1)
    bad = LoadJob(noop, name="bad", pool="missing")
    good = LoadJob(noop, name="good", dependencies=[bad])
    with pytest.raises(SPECIFIC) as info:
        loader.schedule([good])
    assert_specific(info.value, "missing")
    assert good.job_id == 0 and bad.job_id == 0
    assert_usable(loader)


@pytest.mark.parametrize(
    "call",
    [
        lambda loader: loader.set_max_threads(5, 1),
        lambda loader: loader.get_max_threads("nope"),
        lambda loader: loader.suspended_workers_count(9),
        lambda loader: loader.pool_name(3),
        lambda loader: loader.pool_priority("nope"),
        lambda loader: loader.pool_id("nope"),
        lambda loader: loader.prioritize(LoadJob(noop, name="j"), 4),
        lambda loader: loader.prioritize(LoadJob(noop, name="j"), "nope"),
    ],
)
def test_unknown_pool_in_loader_calls(make_loader, call):
    loader = make_loader(1, 1)
    with pytest.raises(SPECIFIC) as info:
        call(loader)
    assert_specific(info.value)
    assert_usable(loader)


def test_negative_max_threads(make_loader):
    with pytest.raises((ValueError, AsyncLoadError)) as info:
        Pool("p", max_threads=-1)
    assert_specific(info.value, "-1")
    loader = make_loader(1)
    with pytest.raises((ValueError, AsyncLoadError)) as info:
        loader.set_max_threads(0, -3)
    assert_specific(info.value, "-3")
    assert loader.get_max_threads(0) == 1
    assert_usable(loader)


def test_no_pools():
    with pytest.raises(SPECIFIC):
        AsyncLoader([])


def test_one_job_in_two_loaders(make_loader):
    first, second = make_loader(1), make_loader(1)
    job = LoadJob(lambda loader, job: loader, name="shared")
    first.schedule(job)
    with pytest.raises(SPECIFIC) as info:
        second.schedule(job)
    assert_specific(info.value, "shared")
    assert second.scheduled_job_count() == 0
    first.unpause()
    assert first.wait(job, timeout=TIMEOUT) is first  # it still belongs to, and runs in, first
    assert_usable(second)


def test_dependency_scheduled_in_another_loader(make_loader):
    first, second = make_loader(1), make_loader(1)
    dep = LoadJob(noop, name="dep")
    first.schedule(dep)
    job = LoadJob(noop, name="job", dependencies=[dep])
    with pytest.raises(SPECIFIC) as info:
        second.schedule(job)
    assert_specific(info.value)
    assert job.job_id == 0
    assert_usable(second)
    assert_usable(first)


def test_add_dependencies_after_scheduling(make_loader):
    loader = make_loader(1)
    job = LoadJob(noop, name="fixed")
    other = LoadJob(noop, name="other")
    loader.schedule(job)
    with pytest.raises(SPECIFIC) as info:
        job.add_dependencies(other)
    assert_specific(info.value, "fixed")
    assert job.dependencies == ()
    assert other.job_id == 0
    assert_usable(loader)
    loader.wait(job, timeout=TIMEOUT)


def test_add_dependencies_of_a_non_job():
    job = LoadJob(noop, name="job")
    with pytest.raises(TypeError):
        job.add_dependencies("not a job")
    assert job.dependencies == ()


@pytest.mark.parametrize("func", [42, None, "func"])
def test_non_callable_function(func):
    with pytest.raises(TypeError) as info:
        LoadJob(func, name="bad")
    assert "callable" in str(info.value)


def test_non_job_dependency():
    with pytest.raises(TypeError):
        LoadJob(noop, name="bad", dependencies=[42])


@pytest.mark.parametrize("target", [42, "job", None])
def test_schedule_non_job(make_loader, target):
    loader = make_loader(1)
    with pytest.raises(TypeError):
        loader.schedule(target)
    assert_usable(loader)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda loader: loader.wait("job", timeout=1), id="wait"),
        pytest.param(lambda loader: loader.prioritize("job", 0), id="prioritize"),
        pytest.param(lambda loader: loader.remove("job"), id="remove"),
        pytest.param(lambda loader: LoadTask(loader, [42]), id="task"),
    ],
)
def test_non_job_arguments(make_loader, call):
    loader = make_loader(1)
    with pytest.raises(TypeError):
        call(loader)
    assert_usable(loader)


def test_prioritize_none_does_nothing(make_loader):
    loader = make_loader(1, 1)
    loader.prioritize(None, 1)  # as in ClickHouse: a null job is ignored
    assert_usable(loader)


@pytest.mark.parametrize("hook", ["on_waiters_increment", "on_waiters_decrement"])
def test_non_callable_waiter_hooks(hook):
    with pytest.raises(TypeError):
        LoadJob(noop, name="bad", **{hook: 3})


def test_bad_pool_lists():
    with pytest.raises(SPECIFIC) as info:
        AsyncLoader([Pool("same", 1), Pool("same", 2)])
    assert_specific(info.value, "same")
    with pytest.raises(TypeError):
        AsyncLoader(["not a pool"])
    with pytest.raises(SPECIFIC):
        Pool("p", max_threads=1, priority="high")
    with pytest.raises(SPECIFIC):
        Pool("p", max_threads=1.5)
