"""Error codes, message layout, and bounded dependency-failure chains."""

from __future__ import annotations

import pickle
import time

import pytest

from loader import (
    AsyncLoadCanceled,
    AsyncLoadCycle,
    AsyncLoader,
    AsyncLoadError,
    AsyncLoadFailed,
    AsyncLoadWaitFailed,
    LoadJob,
    LoadStatus,
    LogicalError,
    Pool,
)
from loader.errors import EXACT_HOPS, MAX_CAUSE_CHARS, DependencyCanceled

TIMEOUT = 60


@pytest.mark.parametrize(
    ("cls", "code", "name"),
    [
        (AsyncLoadCycle, 694, "ASYNC_LOAD_CYCLE"),
        (AsyncLoadFailed, 695, "ASYNC_LOAD_FAILED"),
        (AsyncLoadCanceled, 696, "ASYNC_LOAD_CANCELED"),
        (AsyncLoadWaitFailed, 722, "ASYNC_LOAD_WAIT_FAILED"),
        (LogicalError, 49, "LOGICAL_ERROR"),
    ],
)
def test_codes_and_layout(cls, code, name):
    err = cls("something happened")
    assert isinstance(err, AsyncLoadError)
    assert (err.code, err.name, err.message) == (code, name, "something happened")
    assert str(err) == f"Code: {code}. something happened. ({name})"
    assert str(cls("ends with a dot.")) == f"Code: {code}. ends with a dot. ({name})"
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is cls and str(again) == str(err)


def boom(loader, job):
    raise ValueError("boom")


def noop(loader, job):
    return None


def test_failure_message_keeps_cause_and_traceback():
    with AsyncLoader([Pool("p", 1)], log_failures=False) as loader:
        x = LoadJob(boom, name="x")
        y = LoadJob(noop, name="y", dependencies=[x])
        loader.schedule(y)
        loader.wait_all(TIMEOUT)
    assert x.status is LoadStatus.FAILED and y.status is LoadStatus.CANCELED
    assert str(x.exception) == (
        "Code: 695. Load job 'x' failed: ValueError: boom. (ASYNC_LOAD_FAILED)"
    )
    assert isinstance(x.exception.__cause__, ValueError)
    assert x.exception.__cause__.__traceback__ is not None
    assert str(y.exception) == (
        "Code: 696. Load job 'y' -> Code: 695. Load job 'x' failed: ValueError: boom. "
        "(ASYNC_LOAD_FAILED). (ASYNC_LOAD_CANCELED)"
    )
    with pytest.raises(AsyncLoadWaitFailed) as info:
        loader.wait(y)
    assert str(info.value) == (
        "Code: 722. Waited job failed: Code: 696. Load job 'y' -> Code: 695. Load job 'x' "
        "failed: ValueError: boom. (ASYNC_LOAD_FAILED). (ASYNC_LOAD_CANCELED). "
        "(ASYNC_LOAD_WAIT_FAILED)"
    )
    assert info.value.__cause__ is y.exception


def test_short_chains_are_exact_clickhouse_text():
    root = AsyncLoadFailed("Load job 'a' failed: ValueError: boom")
    e1 = DependencyCanceled("b", root)
    e2 = DependencyCanceled("c", e1)
    e3 = DependencyCanceled("d", e2)
    assert e3.hops == EXACT_HOPS == 3
    assert e3.message == f"Load job 'd' -> {e2}"
    assert e2.message == f"Load job 'c' -> {e1}"
    assert str(e3).count("(ASYNC_LOAD_CANCELED)") == 3


def test_long_chain_is_elided_but_names_self_dependency_and_root():
    err = AsyncLoadFailed("Load job 'root' failed: ValueError: boom")
    for i in range(1000):
        err = DependencyCanceled(f"j{i}", err)
    text = str(err)
    assert text == (
        "Code: 696. Load job 'j999' -> Code: 696. Load job 'j998' -> ... 998 more jobs ... -> "
        "Code: 695. Load job 'root' failed: ValueError: boom. (ASYNC_LOAD_FAILED). "
        "(ASYNC_LOAD_CANCELED)"
    )
    assert err.root.message.startswith("Load job 'root'")


def test_huge_cause_message_is_bounded():
    def loud(loader, job):
        raise RuntimeError("x" * 1_000_000)

    with AsyncLoader([Pool("p", 1)], log_failures=False) as loader:
        job = LoadJob(loud, name="loud")
        loader.schedule(job)
        loader.wait_all(TIMEOUT)
    assert len(str(job.exception)) < MAX_CAUSE_CHARS + 200
    assert "more characters" in str(job.exception)
    assert len(str(job.exception.__cause__)) == 1_000_000  # the original is untouched


def test_100k_chain_cascade_is_linear_and_bounded():
    """A failure at the root of a 100k-deep chain cancels all of it, with bounded messages.

    The time bound only catches a quadratic cascade (hours at this size); the benchmarks
    report the real figure (about a second).
    """
    n = 100_000
    root = LoadJob(boom, name="root")
    chain = [root]
    for i in range(n):
        chain.append(LoadJob(noop, name=f"c{i}", dependencies=[chain[-1]]))
    with AsyncLoader([Pool("p", 2)], log_failures=False) as loader:
        start = time.perf_counter()
        loader.schedule(chain[-1])
        loader.wait_all(TIMEOUT)
        elapsed = time.perf_counter() - start
        assert all(j.status is LoadStatus.CANCELED for j in chain[1:])
        longest = max(len(str(j.exception)) for j in chain)
        assert longest <= 4096
        last = str(chain[-1].exception)
        assert "c99999" in last and "'root'" in last and "ValueError: boom" in last
        assert elapsed < 60
