"""The history writer: rows, results, errors, the processes row, bad paths, write errors.

These tests drive the writer through the stand-in journal (fakes.py) and flush by hand, so
each one controls exactly which events a flush sees.  End-to-end tests with the real journal
are in test_end_to_end.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from history_testkit import files, query, rows

from loader import LoadJob
from sqlbridge.history import (
    NewerHistoryVersion,
    NotAHistory,
    UnwritableHistory,
    record_history,
)
from sqlbridge.history.events import result_json
from sqlbridge.history.schema import LOG_SCHEMA, SCHEMA_VERSION

SLOW = 3600.0  # the writer thread never flushes on its own during these tests


def noop(loader, job):
    return None


def run(fake, jobs):
    fake.loader.schedule(jobs)
    fake.loader.wait_all(timeout=30)
    fake.emit(jobs)


def test_each_job_gets_a_start_and_a_finish_row_with_the_contract_columns(fake, history):
    jobs = [LoadJob(noop, name=f"j{i}") for i in range(3)]
    with record_history(fake, history, flush_interval=SLOW) as rec:
        run(fake, jobs)
    got = rows(history, "log", "type, job, job_id, status, pid, loader_instance, version, "
               "hostname, event_date, event_time, event_time_microseconds")
    assert sorted((r["type"], r["job"]) for r in got) == sorted(
        [("JobStart", f"j{i}") for i in range(3)] + [("JobFinish", f"j{i}") for i in range(3)])
    assert {r["status"] for r in got if r["type"] == "JobFinish"} == {"OK"}
    assert {r["status"] for r in got if r["type"] == "JobStart"} == {"PENDING"}
    assert {(r["pid"], r["loader_instance"]) for r in got} == {(os.getpid(), rec.instance)}
    assert len(rec.instance) == 32 and all(r["version"] for r in got)
    for r in got:
        assert r["event_time"] == r["event_time_microseconds"].replace(microsecond=0)
        assert r["event_date"] == r["event_time_microseconds"].date()
    import pyarrow.parquet as pq

    stored = pq.read_schema(files(history, "log")[0])
    assert stored.names == LOG_SCHEMA.names
    assert json.loads((history / "asl-history.json").read_text()) == {
        "format": "asl-history", "schema_version": SCHEMA_VERSION}


def test_results_are_bounded_json_text_and_a_non_json_result_is_its_repr(fake, history):
    class Opaque:
        def __repr__(self):
            return "<Opaque thing>"

    values = {"dict": {"a": [1, 2]}, "none": None, "opaque": Opaque(), "big": "x" * 10_000,
              "text": "é"}
    jobs = [LoadJob(lambda _l, _j, v=v: v, name=k) for k, v in values.items()]
    with record_history(fake, history, flush_interval=SLOW, result_limit=4096):
        run(fake, jobs)
    got = {r["job"]: r["result"] for r in rows(history, "log", "job, result",
                                                "type = 'JobFinish'")}
    assert json.loads(got["dict"]) == {"a": [1, 2]}
    assert got["none"] is None
    assert json.loads(got["opaque"]) == "<Opaque thing>"
    assert len(got["big"]) <= 4096 and json.loads(got["big"]).startswith("xxx")
    assert "more characters" in json.loads(got["big"])
    assert json.loads(got["text"]) == "é"


def test_result_json_stays_within_its_limit_when_escapes_lengthen_the_repr():
    for value in ['"' * 5000, "\n" * 5000, object(), {"k": "v" * 9000}]:
        text = result_json(value, 256)
        assert len(text) <= 256
        json.loads(text)


def test_a_failure_keeps_the_original_traceback_and_error_type(fake, history):
    def inner():
        raise KeyError("the root cause")

    def fails(loader, job):
        try:
            inner()
        except KeyError as e:
            raise ValueError("wrapped") from e

    bad = LoadJob(fails, name="bad")
    dep = LoadJob(noop, name="dep", dependencies=[bad])
    with record_history(fake, history, flush_interval=SLOW):
        run(fake, [bad, dep])
    got = {r["job"]: r for r in rows(history, "log", "*", "type = 'JobFinish'")}
    assert got["bad"]["status"] == "FAILED" and got["bad"]["error_type"] == "ValueError"
    tb = got["bad"]["traceback"]
    assert "in inner" in tb and "KeyError: 'the root cause'" in tb
    assert "ValueError: wrapped" in tb and "direct cause" in tb
    assert got["dep"]["status"] == "CANCELED"
    assert got["dep"]["error_type"].endswith("DependencyCanceled")
    assert got["dep"]["traceback"] is None and "bad" in got["dep"]["exception"]


def test_tags_and_parent_job_id_are_stored(fake, history):
    children = []

    def parent(loader, job):
        child = LoadJob(noop, name="child")
        children.append(child)

    p = LoadJob(parent, name="parent", tags={"resource_type": "vm", "resource_id": "42"})
    with record_history(fake, history, flush_interval=SLOW):
        run(fake, [p])
        fake.loader.schedule(children)
        fake.loader.wait_all(timeout=30)
        fake.emit(children)
    got = {r["job"]: r for r in rows(history, "log", "job, job_id, tags, parent_job_id",
                                     "type = 'JobFinish'")}
    assert got["parent"]["tags"] == {"resource_type": "vm", "resource_id": "42"}
    assert got["child"]["tags"] == {}
    assert got["child"]["parent_job_id"] == got["parent"]["job_id"]
    assert got["parent"]["parent_job_id"] is None
    assert query(history, "log", "SELECT count(*) FROM t WHERE tags['resource_id'] = '42'"
                 ) == [(2,)]


def test_the_processes_row_beats_at_each_flush_and_close_marks_it_ended(fake, history):
    rec = record_history(fake, history, flush_interval=SLOW)
    first = rows(history, "processes")
    assert len(first) == 1 and first[0]["ended"] is None
    run(fake, [LoadJob(noop, name="a")])
    rec.flush()
    second = rows(history, "processes")[0]
    assert second["heartbeat"] > first[0]["heartbeat"] and second["events_written"] == 2
    assert second["flush_interval"] == SLOW and second["pid"] == os.getpid()
    rec.close()
    rec.close()  # idempotent
    last = rows(history, "processes")[0]
    assert last["ended"] is not None and last["end_reason"] == "closed"
    assert last["write_errors"] == 0 and last["last_error"] is None
    assert fake.journal.closed


def test_a_new_recorder_on_the_same_path_appends_with_a_new_instance(fake, history):
    instances = []
    for name in ("first", "second"):
        with record_history(fake, history, flush_interval=SLOW) as rec:
            instances.append(rec.instance)
            run(fake, [LoadJob(noop, name=name)])
    assert instances[0] != instances[1]
    got = query(history, "log", "SELECT job, loader_instance FROM t WHERE type = 'JobFinish' "
                "ORDER BY job")
    assert got == [("first", instances[0]), ("second", instances[1])]
    assert len(rows(history, "processes")) == 2


@pytest.mark.parametrize("setup, error", [
    ("file", NotAHistory), ("foreign_dir", NotAHistory), ("foreign_marker", NotAHistory),
    ("newer", NewerHistoryVersion), ("under_a_file", UnwritableHistory),
])
def test_a_path_that_cannot_be_recorded_to_is_one_clear_error(fake, tmp_path, setup, error):
    path = tmp_path / "h"
    if setup == "file":
        path.write_text("hello")
    elif setup == "foreign_dir":
        path.mkdir()
        (path / "notes.txt").write_text("mine")
    elif setup == "foreign_marker":
        path.mkdir()
        (path / "asl-history.json").write_text('{"format": "something else"}')
    elif setup == "newer":
        path.mkdir()
        (path / "asl-history.json").write_text(
            json.dumps({"format": "asl-history", "schema_version": SCHEMA_VERSION + 1}))
    else:
        (tmp_path / "afile").write_text("x")
        path = tmp_path / "afile" / "h"
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(error) as info:
        record_history(fake, path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert sorted(os.listdir(tmp_path)) == before  # nothing created, nothing lost
    assert fake.journal is None  # nothing was opened on the loader either


def test_write_errors_are_counted_and_recording_resumes_with_nothing_lost(fake, history):
    rec = record_history(fake, history, flush_interval=SLOW)
    tmp = history / ".tmp"
    try:
        shutil.rmtree(tmp)
        tmp.write_text("not a directory any more")  # every write now fails, even as root
        run(fake, [LoadJob(noop, name="during")])
        rec.flush()
        rec.flush()
        assert rec.write_errors >= 2 and ".tmp" in rec.last_error
        assert files(history, "log") == []
    finally:
        tmp.unlink()
        tmp.mkdir()
    run(fake, [LoadJob(noop, name="after")])
    rec.flush()
    row = rows(history, "processes")[0]
    assert row["write_errors"] >= 3 and ".tmp" in row["last_error"]  # the failing flushes
    rec.close()
    got = query(history, "log", "SELECT job, count(*) FROM t GROUP BY job ORDER BY job")
    assert got == [("after", 2), ("during", 2)]
    assert rows(history, "processes")[0]["events_dropped"] == 0


def test_rows_beyond_capacity_during_write_errors_are_dropped_and_counted(fake, history):
    rec = record_history(fake, history, flush_interval=SLOW, capacity=4)
    tmp = history / ".tmp"
    shutil.rmtree(tmp)
    tmp.write_text("x")
    for i in range(3):
        run(fake, [LoadJob(noop, name=f"j{i}")])
        rec.flush()
    tmp.unlink()
    tmp.mkdir()
    rec.close()
    # 6 events, at most 4 kept: the oldest batch went, and says so.
    assert rows(history, "processes")[0]["events_dropped"] == 2
    assert query(history, "log", "SELECT count(*) FROM t") == [(4,)]


def test_rows_the_last_flush_at_close_cannot_write_are_counted_as_dropped(
        fake, history, monkeypatch):
    import errno

    import sqlbridge.history.recorder as recorder

    rec = record_history(fake, history, flush_interval=SLOW)
    real_write = recorder.write_atomic

    def disk_full_for_segments(layout, table, path, **kw):
        if path.parent.name in ("log", "text_log"):  # the small processes row still fits
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(layout, table, path, **kw)

    monkeypatch.setattr(recorder, "write_atomic", disk_full_for_segments)
    run(fake, [LoadJob(noop, name="lost")])
    rec.close()
    row = rows(history, "processes")[0]
    assert files(history, "log") == []
    assert (row["end_reason"], row["events_written"]) == ("closed", 0)
    assert row["events_dropped"] == 2 and rec.events_dropped == 2  # its start and finish
    assert row["write_errors"] >= 1 and "No space left" in row["last_error"]


def test_flushes_are_merged_so_segments_stay_few_and_rows_stay_once(fake, history):
    with record_history(fake, history, flush_interval=SLOW, merge_fanout=4) as rec:
        for i in range(40):
            run(fake, [LoadJob(noop, name=f"j{i}")])
            rec.flush()
    assert len(files(history, "log")) <= 3 * 4
    assert len(os.listdir(history / "log")) == len(files(history, "log"))
    assert query(history, "log", "SELECT count(*), count(DISTINCT job_id) FROM t") == [(80, 40)]


def test_a_kill_between_a_merge_and_its_deletes_counts_no_row_twice(fake, history, tmp_path):
    from sqlbridge.history.schema import Layout
    from sqlbridge.history.segments import clean_up

    saved = tmp_path / "saved"
    saved.mkdir()
    with record_history(fake, history, flush_interval=SLOW, merge_fanout=2) as rec:
        run(fake, [LoadJob(noop, name="a")])
        rec.flush()
        for name in os.listdir(history / "log"):
            shutil.copy(history / "log" / name, saved / name)
        run(fake, [LoadJob(noop, name="b")])
        rec.flush()  # merges the two segments and deletes the inputs
    for name in os.listdir(saved):  # as if the kill came before the deletes
        shutil.copy(saved / name, history / "log" / name)
    assert len(os.listdir(history / "log")) == 2
    assert query(history, "log", "SELECT count(*) FROM t") == [(4,)]
    clean_up(Layout(history))
    assert len(os.listdir(history / "log")) == 1


def test_import_sqlbridge_still_imports_no_duckdb_or_pyarrow():
    code = ("import sys, sqlbridge; f = sqlbridge.record_history; "
            "assert 'duckdb' not in sys.modules; print(callable(f))")
    out = subprocess.run([sys.executable, "-c", "import sys, sqlbridge; "
                          "assert 'pyarrow' not in sys.modules and 'duckdb' not in sys.modules"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr


def test_unflushed_rows_are_handed_to_a_live_reader_once_and_then_written(fake, history):
    from sqlbridge.history.recorder import recorders_of

    rec = record_history(fake, history, flush_interval=SLOW)
    assert recorders_of(fake) == [rec]
    run(fake, [LoadJob(noop, name="pending")])
    with rec.hold():
        assert files(history, "log") == []
        pending = rec.unflushed()
    assert pending["asynchronous_loader_log"].num_rows == 2
    assert pending["asynchronous_loader_log"].schema == LOG_SCHEMA
    rec.flush()
    assert rec.unflushed()["asynchronous_loader_log"].num_rows == 0
    assert query(history, "log", "SELECT count(*) FROM t") == [(2,)]
    rec.close()
    assert recorders_of(fake) == []


def test_recording_something_that_is_not_a_loader_is_a_type_error(history):
    with pytest.raises(TypeError, match="AsyncLoader"):
        record_history(object(), history)
    assert not history.exists()



def test_a_recorder_that_fails_to_start_leaves_no_journal_tap_or_registration(
        history, monkeypatch):
    from loader import AsyncLoader, Pool, context
    from sqlbridge.history import recorder as recorder_module

    class NoThreads(recorder_module.threading.Thread):
        def start(self):
            raise RuntimeError("can't start new thread")

    taps = context._taps
    with AsyncLoader([Pool("default", 2)]) as loader:
        monkeypatch.setattr(recorder_module.threading, "Thread", NoThreads)
        with pytest.raises(RuntimeError, match="can't start new thread"):
            record_history(loader, history, flush_interval=SLOW)
        monkeypatch.undo()
        assert loader._journals == []  # the engine feeds no journal nobody drains
        assert context._taps == taps
        assert recorder_module.recorders_of(loader) == []
        with record_history(loader, history, flush_interval=SLOW):  # a retry records
            loader.schedule([LoadJob(noop, name="after")])
            loader.wait_all(timeout=30)
    assert [r["job"] for r in rows(history, "log", "job", "type = 'JobFinish'")] == ["after"]
