"""The lifecycle journal: an event for every start and finish, in order, bounded and never
silently lossy; worker lanes; sub-jobs' parents; ``snapshot(with_worker=True)``."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest
from loader_testkit import TIMEOUT, Recorder, join_thread, noop, run_in_thread, wait_until

from loader import (
    JOB_FINISH,
    JOB_START,
    JOURNAL_SCHEMA,
    InvalidArgument,
    LoadJob,
    LoadStatus,
    LoadTask,
    ignore_dependency_failure,
)
from loader.snapshot import SCHEMA


def fail(loader, job):
    raise ValueError("boom")


def events_of(batch) -> list[tuple[int, str, str]]:
    t = batch.table
    return list(zip(t.column("event").to_pylist(), t.column("job").to_pylist(),
                    t.column("status").to_pylist(), strict=True))


def test_every_start_and_finish_is_an_event_and_a_finish_row_is_the_final_row(make_loader):
    """OK, FAILED, a dependent that ignores the failure, and a cascade canceled without ever
    starting: one start (if it ran) and one finish per job, start first; a finish row's 22
    SPEC columns are exactly the job's final snapshot row."""
    loader = make_loader(2)
    journal = loader.open_journal()
    root = LoadJob(noop, name="root")
    failing = LoadJob(fail, name="failing", dependencies=[root])
    canceled = LoadJob(noop, name="canceled", dependencies=[failing])
    deeper = LoadJob(noop, name="deeper", dependencies=[canceled])
    ignoring = LoadJob(noop, name="ignoring", dependencies=[failing],
                       dependency_failure=ignore_dependency_failure)
    loader.schedule([deeper, ignoring])
    loader.unpause()
    loader.wait_all(timeout=TIMEOUT)
    batch = journal.drain()
    assert batch.table.schema == JOURNAL_SCHEMA
    assert [j.job_id for j in batch.jobs] == batch.table.column("job_id").to_pylist()
    seen = events_of(batch)
    for name, ran in (("root", True), ("failing", True), ("ignoring", True),
                      ("canceled", False), ("deeper", False)):
        mine = [(e, s) for e, n, s in seen if n == name]
        expected_finish = {"root": "OK", "ignoring": "OK", "failing": "FAILED"}.get(
            name, "CANCELED")
        assert mine == ([(JOB_START, "PENDING")] if ran else []) + [(JOB_FINISH,
                                                                       expected_finish)]
    assert seen.index((JOB_FINISH, "root", "OK")) < seen.index((JOB_START, "failing", "PENDING"))
    final = {r["job"]: r for r in loader.snapshot().to_pylist()}
    rows = batch.table.to_pylist()
    for row in rows:
        if row["event"] == JOB_FINISH:
            assert {k: row[k] for k in SCHEMA.names} == final[row["job"]]
            assert row["event_time"] == row["finish_time"]
        else:
            assert row["event_time"] == row["start_time"] == final[row["job"]]["start_time"]
            assert (row["status"], row["is_executing"], row["is_blocked"], row["is_ready"],
                    row["dependencies_left"], row["elapsed"], row["ready_seqno"],
                    row["finish_time"], row["exception"]) == ("PENDING", 1, 0, 0, 0, 0.0,
                                                              None, None, None)
        ran = row["job"] in ("root", "failing", "ignoring")
        assert (row["worker"] is not None) == ran and (row["thread_id"] is not None) == ran
        assert row["parent_job_id"] is None


def test_remove_and_shutdown_cancel_pending_jobs_as_finish_events(make_loader):
    loader = make_loader(1)
    journal = loader.open_journal()
    a = LoadJob(noop, name="a")
    b = LoadJob(noop, name="b", dependencies=[a])
    c = LoadJob(noop, name="c")
    loader.schedule([b, c])
    loader.remove([a])  # a canceled, and b in the cascade
    assert events_of(journal.drain()) == [(JOB_FINISH, "a", "CANCELED"),
                                          (JOB_FINISH, "b", "CANCELED")]
    loader.remove([a, b])  # already finished: nothing new
    loader.shutdown()
    assert events_of(journal.drain()) == [(JOB_FINISH, "c", "CANCELED")]


def test_removed_jobs_still_drain_their_events(make_loader):
    loader = make_loader(1, paused=False)
    journal = loader.open_journal()
    with LoadTask(loader, [LoadJob(noop, name=f"j{i}") for i in range(3)]) as task:
        task.schedule()
        loader.wait_all(timeout=TIMEOUT)
    assert loader.snapshot().num_rows == 0
    batch = journal.drain()
    assert len(batch) == 6 and batch.table.column("status").to_pylist().count("OK") == 3


def test_drain_gives_the_events_since_the_last_drain_oldest_first(make_loader):
    loader = make_loader(1, paused=False)
    journal = loader.open_journal()
    first = [LoadJob(noop, name=f"first{i}") for i in range(5)]
    loader.schedule(first)
    loader.wait_all(timeout=TIMEOUT)
    batch = journal.drain()
    times = batch.table.column("event_time").to_pylist()
    assert len(batch) == 10 and times == sorted(times)
    assert journal.drain().table.num_rows == 0
    assert journal.drain().table.schema == JOURNAL_SCHEMA  # empty, still typed
    loader.schedule(LoadJob(noop, name="second"))
    loader.wait_all(timeout=TIMEOUT)
    assert events_of(journal.drain()) == [(JOB_START, "second", "PENDING"),
                                          (JOB_FINISH, "second", "OK")]


def test_a_full_buffer_counts_every_event_it_drops(make_loader):
    loader = make_loader(1, paused=False)
    journal = loader.open_journal(capacity=3)
    loader.schedule([LoadJob(noop, name=f"j{i}") for i in range(5)])
    loader.wait_all(timeout=TIMEOUT)
    batch = journal.drain()
    assert len(batch) == 3 and batch.dropped == 7 and journal.dropped == 7
    loader.schedule(LoadJob(noop, name="after"))
    loader.wait_all(timeout=TIMEOUT)
    batch = journal.drain()
    assert len(batch) == 2 and batch.dropped == 0 and journal.dropped == 7  # cumulative
    with pytest.raises(InvalidArgument, match="capacity"):
        loader.open_journal(capacity=0)


def test_several_journals_each_record_from_their_opening_to_their_closing(make_loader):
    loader = make_loader(1, paused=False)

    def run(name: str) -> None:
        loader.schedule(LoadJob(noop, name=name))
        loader.wait_all(timeout=TIMEOUT)

    early = loader.open_journal()
    run("one")
    with loader.open_journal() as late:
        run("two")
        early.close()
        early.close()  # idempotent
        run("three")
    run("four")
    assert early.closed and late.closed
    names = lambda j: [n for e, n, s in events_of(j.drain()) if e == JOB_FINISH]  # noqa: E731
    assert names(early) == ["one", "two"]
    assert names(late) == ["two", "three"]
    assert names(early) == [] and loader._journals == []


def test_a_sub_job_s_parent_is_the_job_running_where_it_was_made(make_loader):
    loader = make_loader(2, paused=False)
    journal = loader.open_journal()
    made: dict[str, LoadJob] = {}

    def parent_func(loader, job):
        made["child"] = LoadJob(noop, name="child")
        loader.schedule(made["child"])
        loader.wait(made["child"], timeout=TIMEOUT)

    outside = LoadJob(noop, name="outside")
    parent = LoadJob(parent_func, name="parent")
    loader.schedule([parent, outside])
    loader.wait_all(timeout=TIMEOUT)
    child = made["child"]
    assert child.parent is parent and parent.parent is None and outside.parent is None
    assert child.parent_job_id == parent.job_id
    rows = journal.drain().table.to_pylist()
    assert {r["parent_job_id"] for r in rows if r["job"] == "child"} == {parent.job_id}
    assert {r["parent_job_id"] for r in rows if r["job"] != "child"} == {None}


def test_snapshot_with_worker_adds_the_lane_and_thread_of_each_started_job(make_loader, syncs):
    loader = make_loader(2, paused=False)
    started, release = syncs.event(), syncs.event()
    inside = Recorder()

    def hold(loader, job):
        inside.add((threading.current_thread().name, threading.get_native_id()))
        started.set()
        release.wait(TIMEOUT)

    running = LoadJob(hold, name="running")
    loader.schedule(running)
    assert started.wait(TIMEOUT)
    pending = LoadJob(noop, name="pending", dependencies=[running])
    loader.schedule(pending)
    table = loader.snapshot(with_worker=True)
    assert table.schema.names == SCHEMA.names + ["worker", "thread_id"]
    assert table.schema.field("worker").type == pa.uint32()
    assert table.schema.field("thread_id").type == pa.uint64()
    assert loader.snapshot().schema == SCHEMA  # the default is unchanged
    rows = {r["job"]: r for r in table.to_pylist()}
    ((thread_name, native_id),) = inside.snapshot()
    assert rows["running"]["worker"] == running.worker == 0
    assert rows["running"]["thread_id"] == running.thread_id == native_id
    assert thread_name == "asl-Pool0-0"
    assert rows["pending"]["worker"] is None and rows["pending"]["thread_id"] is None
    release.set()
    loader.wait_all(timeout=TIMEOUT)


def test_lanes_never_run_two_jobs_at_once_and_are_reused(make_loader, syncs):
    """Many workers of short jobs while another thread raises and cuts the pool's limit: a
    lane is never held by two running jobs, lanes stay below the highest limit, the worker's
    thread is named for its lane, and after every worker exited lane 0 is taken again."""
    loader = make_loader(8, paused=False)
    journal = loader.open_journal()
    busy: set[int] = set()
    guard = threading.Lock()
    problems = Recorder()

    def work(loader, job):
        lane = job.worker
        with guard:
            if lane in busy:
                problems.add(f"lane {lane} runs two jobs")
            busy.add(lane)
        if threading.current_thread().name != f"asl-Pool0-{lane}":
            problems.add(f"{threading.current_thread().name} runs lane {lane}")
        if threading.get_native_id() != job.thread_id:
            problems.add("thread id")
        time.sleep(0)  # yields the GIL so that the workers interleave (not for correctness)
        with guard:
            busy.discard(lane)

    stop = threading.Event()

    def toggle() -> None:
        limits = [1, 8, 3, 6, 2, 8]
        i = 0
        while not stop.is_set():
            loader.set_max_threads(0, limits[i % len(limits)])
            i += 1
            stop.wait(0.001)

    toggler, outcome = run_in_thread(toggle, name="test-toggler")
    try:
        jobs = [LoadJob(work, name=f"j{i}") for i in range(3000)]
        for start in range(0, len(jobs), 300):
            loader.schedule(jobs[start:start + 300])
        loader.wait_all(timeout=TIMEOUT)
    finally:
        stop.set()
        join_thread(toggler, outcome)
    loader.set_max_threads(0, 8)
    assert not problems.snapshot(), problems.snapshot()[:5]
    rows = journal.drain().table.select(["event", "job_id", "worker", "thread_id"]).to_pylist()
    holder: dict[int, int] = {}  # lane -> the job started on it and not finished yet
    for row in rows:
        lane = row["worker"]
        if row["event"] == JOB_START:
            assert lane not in holder, f"lane {lane} started job {row['job_id']} while busy"
            holder[lane] = row["job_id"]
        else:
            assert holder.pop(lane) == row["job_id"]
    assert not holder and max(job.worker for job in jobs) < 8
    assert all(job.status == LoadStatus.OK for job in jobs)
    wait_until(lambda: loader.pool_snapshot().column("workers").to_pylist() == [0],
               what="every worker exited")
    assert len({row["worker"] for row in rows}) > 1
    loader.set_max_threads(0, 1)
    again = LoadJob(noop, name="again")
    loader.schedule(again)
    loader.wait(again, timeout=TIMEOUT)
    assert again.worker == 0  # every lane was freed: a new worker takes the lowest


def test_a_new_worker_takes_the_lowest_free_lane(make_loader, syncs):
    """Three blocked jobs hold lanes 0..2; once the middle one's worker exits, the next
    worker (a new thread) takes its lane."""
    loader = make_loader(3, paused=False)
    gates = {name: syncs.event() for name in "abcd"}

    def hold(loader, job):
        gates[job.name].wait(TIMEOUT)

    first = [LoadJob(hold, name=name) for name in "abc"]
    loader.schedule(first)
    wait_until(lambda: all(job.worker is not None for job in first), what="a, b, c started")
    assert sorted(job.worker for job in first) == [0, 1, 2]
    middle = next(job for job in first if job.worker == 1)
    gates[middle.name].set()
    loader.wait(middle, timeout=TIMEOUT)
    wait_until(lambda: loader.pool_snapshot().column("workers").to_pylist() == [2],
               what="the middle worker exited")
    d = LoadJob(hold, name="d")
    loader.schedule(d)
    wait_until(lambda: d.worker is not None, what="d started")
    assert d.worker == 1 and d.thread_id != middle.thread_id
    for gate in gates.values():
        gate.set()
    loader.wait_all(timeout=TIMEOUT)


@pytest.mark.parametrize("gather", ["span", "cell by cell"])
def test_rows_of_jobs_removed_and_compacted_before_the_drain_keep_their_event_values(
        make_loader, monkeypatch, gather):
    """drain() reads a row's times when it drains, not at the event: after remove() has
    compacted the rows away (and for a batch read cell by cell instead of as a span of
    rows), every row still has its job's values: start rows the start, finish rows the
    final state."""
    import loader.journal as journal_module

    if gather == "cell by cell":
        monkeypatch.setattr(journal_module, "_SPAN_PER_EVENT", -(10 ** 9))
    loader = make_loader(2, paused=False)
    journal = loader.open_journal()
    batches = []
    for r in range(3):
        jobs = [LoadJob(fail if i % 5 == 0 else noop, name=f"j{r}-{i}") for i in range(300)]
        dependents = [LoadJob(noop, name=f"d{r}-{i}", dependencies=[jobs[i]])
                      for i in range(0, 300, 5)]
        loader.schedule(jobs + dependents)
        loader.wait_all(timeout=TIMEOUT)
        loader.remove(jobs[:250])  # more removed than live rows: compacted
        batches.append(journal.drain())
    rows = 0
    for batch in batches:
        for row, job in zip(batch.table.to_pylist(), batch.jobs, strict=True):
            assert (row["job_id"], row["job"]) == (job.job_id, job.name)
            assert row["schedule_time"] == job.schedule_time
            assert row["enqueue_time"] == job.enqueue_time
            if row["event"] == JOB_START:
                assert row["event_time"] == row["start_time"] == job.start_time
                assert (row["status"], row["finish_time"], row["elapsed"]) == ("PENDING", None, 0)
            else:
                assert row["event_time"] == row["finish_time"] == job.finish_time
                assert (row["status"], row["start_time"]) == (job.status.name, job.start_time)
                assert row["elapsed"] == pytest.approx(job.elapsed, abs=1e-9)
                assert (row["exception"] is None) == (job.exception is None)
            rows += 1
    assert rows == 3 * (2 * 300 + 60 * 1)  # each failure cancels its never-started dependent
