"""snapshot(): the 22 columns of SPEC §3, their Arrow types, and consistency under load."""

from __future__ import annotations

import random
import threading

import pyarrow as pa
from loader_testkit import Recorder, join_thread, run_in_thread

from loader import AsyncLoader, LoadJob, LoadStatus, LoadTask, Pool
from loader.snapshot import POOLS_SCHEMA, SCHEMA

TIMEOUT = 30

COLUMNS = [
    "job", "job_id", "dependencies", "dependencies_left", "status", "is_executing",
    "is_blocked", "is_ready", "elapsed", "pool_id", "pool", "priority", "execution_pool_id",
    "execution_pool", "execution_priority", "ready_seqno", "waiters", "exception",
    "schedule_time", "enqueue_time", "start_time", "finish_time",
]


def noop(loader, job):
    return None


def test_schema_is_exactly_spec():
    assert SCHEMA.names == COLUMNS
    ts = pa.timestamp("us", tz="UTC")
    expected = {
        "job": pa.string(), "job_id": pa.uint64(), "dependencies": pa.list_(pa.uint64()),
        "dependencies_left": pa.uint64(), "status": pa.dictionary(pa.int8(), pa.string()),
        "is_executing": pa.uint8(), "is_blocked": pa.uint8(), "is_ready": pa.uint8(),
        "elapsed": pa.float64(), "pool_id": pa.uint64(), "pool": pa.string(),
        "priority": pa.int64(), "execution_pool_id": pa.uint64(),
        "execution_pool": pa.string(), "execution_priority": pa.int64(),
        "ready_seqno": pa.uint64(), "waiters": pa.uint64(), "exception": pa.string(),
        "schedule_time": ts, "enqueue_time": ts, "start_time": ts, "finish_time": ts,
    }
    for field in SCHEMA:
        assert field.type == expected[field.name], field.name
    nullable = {f.name for f in SCHEMA if f.nullable}
    assert nullable == {"ready_seqno", "exception", "enqueue_time", "start_time", "finish_time"}


def test_empty_loader_has_empty_table():
    with AsyncLoader([Pool("p", 1)]) as loader:
        table = loader.snapshot()
        assert table.num_rows == 0
        assert table.schema == SCHEMA


def test_states_of_blocked_ready_executing_and_finished_rows():
    started, release = threading.Event(), threading.Event()

    def hold(loader, job):
        started.set()
        assert release.wait(TIMEOUT)
        return "held"

    def boom(loader, job):
        raise ValueError("boom")

    with AsyncLoader([Pool("Fg", 1, 0), Pool("Bg", 1, 1)]) as loader:
        failed = LoadJob(boom, name="a_failed")
        loader.schedule(failed)
        loader.wait_all(TIMEOUT)
        running = LoadJob(hold, name="b_running")
        ready = LoadJob(noop, name="c_ready")
        blocked = LoadJob(noop, name="d_blocked", dependencies=[running], pool="Bg")
        loader.schedule([running, ready, blocked])
        assert started.wait(TIMEOUT)
        rows = {r["job"]: r for r in loader.snapshot().to_pylist()}
        release.set()
        loader.wait_all(TIMEOUT)

    assert rows["a_failed"]["status"] == "FAILED"
    assert rows["a_failed"]["exception"] == (
        "Code: 695. Load job 'a_failed' failed: ValueError: boom. (ASYNC_LOAD_FAILED)"
    )
    assert rows["a_failed"]["finish_time"] is not None
    assert (rows["a_failed"]["is_blocked"], rows["a_failed"]["is_ready"],
            rows["a_failed"]["is_executing"]) == (0, 0, 0)

    r = rows["b_running"]
    assert (r["status"], r["is_executing"], r["is_ready"], r["is_blocked"]) == ("PENDING", 1, 0, 0)
    assert r["ready_seqno"] is None and r["start_time"] is not None and r["elapsed"] >= 0
    assert r["finish_time"] is None and r["exception"] is None

    r = rows["c_ready"]
    assert (r["is_ready"], r["is_executing"], r["is_blocked"]) == (1, 0, 0)
    assert r["ready_seqno"] is not None and r["enqueue_time"] is not None
    assert r["start_time"] is None and r["elapsed"] == 0.0

    r = rows["d_blocked"]
    assert (r["is_blocked"], r["dependencies_left"]) == (1, 1)
    assert r["dependencies"] == [running.job_id]
    assert r["enqueue_time"] is None
    assert (r["pool"], r["priority"]) == ("Bg", 1)


def test_rows_sorted_by_name_then_id_and_removed_jobs_vanish():
    with AsyncLoader([Pool("p", 2)]) as loader:
        jobs = [LoadJob(noop, name=n) for n in ["b", "a", "b", "c", "a"]]
        loader.schedule(jobs)
        loader.wait_all(TIMEOUT)
        table = loader.snapshot()
        keys = list(zip(table["job"].to_pylist(), table["job_id"].to_pylist(), strict=True))
        assert keys == sorted(keys)
        loader.remove([jobs[0], jobs[4]])
        ids = set(loader.snapshot()["job_id"].to_pylist())
        assert ids == {jobs[1].job_id, jobs[2].job_id, jobs[3].job_id}
        # A removed job keeps its final state on the object.
        assert jobs[0].status is LoadStatus.OK


def test_prioritized_job_shows_both_pools():
    release = threading.Event()
    started = threading.Event()

    def hold(loader, job):
        started.set()
        assert release.wait(TIMEOUT)

    with AsyncLoader([Pool("Fg", 1, 0), Pool("Bg", 1, 1)]) as loader:
        job = LoadJob(hold, name="j", pool="Bg")
        loader.schedule(job)
        assert started.wait(TIMEOUT)
        loader.prioritize(job, "Fg")
        row = loader.snapshot().to_pylist()[0]
        release.set()
    assert (row["pool"], row["priority"]) == ("Fg", 0)
    assert (row["execution_pool"], row["execution_priority"]) == ("Bg", 1)


def test_pool_snapshot():
    with AsyncLoader([Pool("Fg", 3, 0), Pool("Bg", 2, 1)], paused=True) as loader:
        loader.schedule([LoadJob(noop, pool="Bg") for _ in range(4)])
        table = loader.pool_snapshot()
        assert table.schema == POOLS_SCHEMA
        rows = table.to_pylist()
    assert rows[1] == {
        "pool_id": 1, "pool": "Bg", "priority": 1, "max_threads": 2, "workers": 0,
        "suspended_workers": 0, "ready_jobs": 4, "executing_jobs": 0,
    }


def check_rows(table: pa.Table) -> None:
    for r in table.to_pylist():
        states = r["is_blocked"] + r["is_ready"] + r["is_executing"]
        if r["status"] == "PENDING":
            assert states == 1, r
            assert r["finish_time"] is None, r
            assert r["exception"] is None, r
        else:
            assert states == 0, r
            assert r["finish_time"] is not None, r
            assert r["dependencies_left"] == 0, r
            assert (r["exception"] is None) == (r["status"] == "OK"), r
        assert (r["ready_seqno"] is not None) == bool(r["is_ready"]), r
        assert (r["elapsed"] == 0) == (r["start_time"] is None), r
        assert r["dependencies_left"] <= len(r["dependencies"]), r
        if r["is_executing"]:
            assert r["start_time"] is not None, r
        if r["start_time"] is not None:
            assert r["enqueue_time"] is not None and r["enqueue_time"] <= r["start_time"], r
        assert r["schedule_time"] is not None
        assert r["job_id"] > 0


def test_snapshot_is_consistent_while_16_threads_churn():
    """Every row of every snapshot is self-consistent while jobs churn from 16 threads."""
    loader = AsyncLoader(
        [Pool("Fg", 2, 0), Pool("Bg", 3, 1), Pool("Startup", 2, 2)], log_failures=False
    )
    stop = threading.Event()
    errors: list[BaseException] = []
    barrier = threading.Barrier(17, timeout=TIMEOUT)

    def maybe_fail(loader, job):
        if job.name.endswith("7"):
            raise RuntimeError("planned failure")

    def churn(seed: int) -> None:
        rng = random.Random(seed)
        try:
            barrier.wait()
            while not stop.is_set():
                jobs: list[LoadJob] = []
                for i in range(rng.randint(1, 12)):
                    deps = rng.sample(jobs, k=min(len(jobs), rng.randint(0, 2)))
                    jobs.append(LoadJob(maybe_fail, name=f"t{seed}.{i}", dependencies=deps,
                                        pool=rng.randrange(3)))
                loader.schedule(jobs)
                if rng.random() < 0.3:
                    loader.prioritize(rng.choice(jobs), 0)
                if rng.random() < 0.5:
                    for job in jobs:
                        loader.wait(job, no_throw=True, timeout=TIMEOUT)
                loader.remove(jobs)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(s,)) for s in range(16)]
    for t in threads:
        t.start()
    barrier.wait()
    snapshots = 0
    try:
        for _ in range(40):
            table = loader.snapshot()
            check_rows(table)
            snapshots += 1
    finally:
        stop.set()
        for t in threads:
            t.join(TIMEOUT)
        loader.shutdown()
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    assert snapshots == 40
    assert loader.snapshot().num_rows == 0


def test_cached_names_and_order_follow_new_and_removed_jobs():
    """Names and the sort order are cached between snapshots; they must track every change."""
    with AsyncLoader([Pool("p", 1)], paused=True) as loader:
        jobs = {}
        rng = random.Random(5)
        for round_ in range(6):
            batch = [LoadJob(noop, name=f"job {rng.randrange(50)}") for _ in range(20)]
            loader.schedule(batch)
            jobs.update({job.job_id: job for job in batch})
            if round_ % 2:
                removed = rng.sample(sorted(jobs), 7)
                loader.remove([jobs.pop(i) for i in removed])
            for _ in range(2):  # the second snapshot reuses the cache
                table = loader.snapshot()
                got = list(zip(table["job"].to_pylist(), table["job_id"].to_pylist(),
                               strict=True))
                assert got == sorted((job.name, job_id) for job_id, job in jobs.items())


def test_snapshot_rows_are_never_self_contradictory_under_churn(make_loader):
    loader = make_loader(4, (2, 1), paused=False)
    stop = threading.Event()
    bad = Recorder()

    def check_rows():
        while not stop.is_set():
            for r in loader.snapshot().to_pylist():
                states = r["is_blocked"] + r["is_ready"] + r["is_executing"]
                finished = r["status"] != "PENDING"
                problems = []
                if finished and (states or r["dependencies_left"] or r["ready_seqno"]):
                    problems.append("finished job in a pending state")
                if not finished and states != 1:
                    problems.append("pending job not in exactly one state")
                if (r["ready_seqno"] is not None) != bool(r["is_ready"]):
                    problems.append("ready_seqno vs is_ready")
                if (r["exception"] is not None) != (r["status"] in ("FAILED", "CANCELED")):
                    problems.append("exception vs status")
                if (r["finish_time"] is not None) != finished:
                    problems.append("finish_time vs status")
                if (r["start_time"] is None) != (r["elapsed"] == 0):
                    problems.append("elapsed vs start_time")
                if r["is_executing"] and r["start_time"] is None:
                    problems.append("executing without start_time")
                if problems:
                    bad.add((problems, r))

    def work(loader, job):
        if job.name.endswith("7"):
            raise ValueError("seven")

    thread, outcome = run_in_thread(check_rows, name="test-snapshotter")
    try:
        for round_ in range(20):
            jobs: list[LoadJob] = []
            for i in range(40):
                deps = jobs[-3:] if i % 5 else []
                jobs.append(LoadJob(work, name=f"r{round_}j{i}", dependencies=deps, pool=i % 2))
            task = LoadTask(loader, jobs)
            task.schedule()
            if round_ % 3 == 0:
                task.remove()
        loader.wait_all(timeout=TIMEOUT)
    finally:
        stop.set()
        join_thread(thread, outcome)
    assert not bad.snapshot(), bad.snapshot()[:3]
