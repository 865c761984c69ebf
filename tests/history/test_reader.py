"""The reader: which files of a history are read, what is refused, and what is derived.

Histories are written by hand (reader_testkit) so each test controls the exact files: covered
segments, damage, versions, processes alive or not.  No session here: the tables are read from
a plain DuckDB connection, as the session registers them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from pathlib import Path

import duckdb
import pytest
from reader_testkit import (
    INSTANCE_A,
    INSTANCE_B,
    T0,
    job_rows,
    make_history,
    this_host_process,
    write_process,
    write_segment,
)

from sqlbridge.history.live import SessionHistory
from sqlbridge.history.reader import CorruptSegment, History
from sqlbridge.history.schema import HistoryError, NewerHistoryVersion, NotAHistory
from sqlbridge.history.source import HistorySource
from sqlbridge.history.tables import create_types, raw_name

LOG = raw_name("asynchronous_loader_log")
_KEEP: list[HistorySource] = []


def registered(spec) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the history tables of ``spec`` registered, as in a session."""
    con = duckdb.connect()
    con.execute("CREATE TYPE asl_status AS ENUM ('PENDING', 'OK', 'FAILED', 'CANCELED')")
    create_types(con)
    source = HistorySource(spec)
    assert SessionHistory(source).begin(con)
    _KEEP.append(source)  # a session holds its loader; SessionHistory only a weak reference
    return con


def log_rows(con, columns: str = "type, job_id") -> list[tuple]:
    return con.sql(f"SELECT {columns} FROM {LOG} ORDER BY job_id, type").fetchall()


def test_a_merge_seen_beside_its_inputs_counts_each_row_once(tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(1), 1, 1)
    write_segment(root, job_rows(2), 2, 2)
    write_segment(root, job_rows(1) + job_rows(2), 1, 2)  # the merge, inputs not yet deleted
    write_segment(root, job_rows(3), 3, 3)
    write_process(root, ended=T0)
    assert [r[1] for r in log_rows(registered(root))] == [1, 1, 2, 2, 3, 3]


def test_segments_of_another_instance_with_the_same_ranges_are_both_read(tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(1), 1, 1, instance=INSTANCE_A)
    write_segment(root, job_rows(1, instance=INSTANCE_B), 1, 1, instance=INSTANCE_B)
    assert len(log_rows(registered(root))) == 4


def test_a_corrupt_segment_is_skipped_with_a_warning_naming_it(tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(1), 1, 1)
    bad = write_segment(root, job_rows(2), 2, 2)
    bad.write_bytes(bad.read_bytes()[:-40])  # a torn footer
    write_segment(root, job_rows(3), 3, 3)
    write_process(root, ended=T0)
    with pytest.warns(CorruptSegment, match=str(bad)):
        con = registered(root)
    assert [r[1] for r in log_rows(con)] == [1, 1, 3, 3]


def test_a_segment_with_another_schema_is_skipped_with_a_warning(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(1), 1, 1)
    other = root / "log" / f"{INSTANCE_A}-0000000002-0000000002.parquet"
    pq.write_table(pa.table({"job_id": [2]}), other)
    with pytest.warns(CorruptSegment, match="not this table's schema"):
        con = registered(root)
    assert [r[1] for r in log_rows(con)] == [1, 1]


def test_the_warning_is_given_once_per_file(tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    (root / "log").mkdir()
    (root / "log" / f"{INSTANCE_A}-0000000001-0000000001.parquet").write_bytes(b"not parquet")
    history = History(root)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert history.files("asynchronous_loader_log") == []
        assert history.files("asynchronous_loader_log") == []
    assert len([w for w in seen if issubclass(w.category, CorruptSegment)]) == 1


def test_tmp_files_and_foreign_names_are_never_read(tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(1), 1, 1)
    (root / ".tmp").mkdir()
    (root / ".tmp" / f"{INSTANCE_A}-0000000002-0000000002.parquet").write_bytes(b"half")
    (root / "log" / "notes.parquet").write_bytes(b"x")
    assert History(root).files("asynchronous_loader_log") == [
        str(root / "log" / f"{INSTANCE_A}-0000000001-0000000001.parquet")]


def test_a_newer_schema_version_is_refused_saying_to_upgrade(tmp_path: Path) -> None:
    root = tmp_path / "h"
    root.mkdir()
    (root / "asl-history.json").write_text(json.dumps({"format": "asl-history",
                                                       "schema_version": 99}))
    with pytest.raises(NewerHistoryVersion) as e:
        History(root)
    assert "schema version 99" in str(e.value) and "upgrade asl" in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("what", ["missing", "file", "plain dir", "foreign marker"])
def test_a_path_that_is_not_a_history_is_refused_in_one_line(tmp_path: Path, what: str) -> None:
    path = tmp_path / "x"
    if what == "file":
        path.write_text("hello")
    elif what == "plain dir":
        path.mkdir()
        (path / "data.csv").write_text("a,b")
    elif what == "foreign marker":
        path.mkdir()
        (path / "asl-history.json").write_text('{"format": "something else"}')
    with pytest.raises(HistoryError) as e:
        History(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)
    if what != "missing":
        assert isinstance(e.value, NotAHistory)


def test_a_glob_reads_several_histories_and_rejects_one_matching_none(tmp_path: Path) -> None:
    for name, instance in (("run1", INSTANCE_A), ("run2", INSTANCE_B)):
        write_segment(make_history(tmp_path / name), job_rows(7, instance=instance), 1, 1,
                      instance=instance)
    con = registered(str(tmp_path / "run*"))
    assert con.sql(f"SELECT DISTINCT loader_instance FROM {LOG} ORDER BY 1").fetchall() == [
        (INSTANCE_A,), (INSTANCE_B,)]
    with pytest.raises(HistoryError, match="matches nothing"):
        History(str(tmp_path / "nothing*"))


def test_a_directory_of_histories_reads_them_all(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    write_segment(make_history(fleet / "host1"), job_rows(1), 1, 1)
    write_segment(make_history(fleet / "host2"), job_rows(2, instance=INSTANCE_B), 1, 1,
                  instance=INSTANCE_B)
    assert len(History(fleet).roots) == 2
    assert len(log_rows(registered(fleet))) == 4


def test_a_glob_picks_up_a_history_that_appears_later(tmp_path: Path) -> None:
    write_segment(make_history(tmp_path / "run1"), job_rows(1), 1, 1)
    history = History(str(tmp_path / "run*"))
    write_segment(make_history(tmp_path / "run2"), job_rows(2, instance=INSTANCE_B), 1, 1,
                  instance=INSTANCE_B)
    history.refresh()
    assert len(history.files("asynchronous_loader_log")) == 2


def test_a_started_job_of_a_dead_process_reads_as_interrupted_with_a_reason(
        tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(1) + job_rows(2, finished=False), 1, 1)
    heartbeat = T0 + dt.timedelta(seconds=5)
    write_process(root, heartbeat=heartbeat)  # another host, heartbeat long stale
    rows = log_rows(registered(root), "type, job_id, status, is_executing, reason, "
                                      "event_time_microseconds, elapsed")
    interrupted = [r for r in rows if r[0] == "JobInterrupted"]
    assert len(interrupted) == 1
    kind, job_id, status, executing, reason, when, elapsed = interrupted[0]
    assert (job_id, status, executing) == (2, "PENDING", 0)
    assert reason == ("process 4242 on elsewhere stopped (last heartbeat "
                      "2026-12-01 12:00:05.000000 UTC)")
    assert when == heartbeat and elapsed == pytest.approx(3.5)


def test_no_interrupted_rows_while_the_process_is_alive(tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(2, finished=False), 1, 1)
    this_host_process(root)
    con = registered(root)
    assert [r[0] for r in log_rows(con)] == ["JobStart"]
    assert con.sql(f"SELECT is_alive FROM {raw_name('asynchronous_loader_processes')}"
                   ).fetchall() == [(1,)]


def test_a_fresh_heartbeat_on_another_host_is_alive_and_a_stale_one_is_not(
        tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    root = make_history(tmp_path / "h")
    write_process(root, instance=INSTANCE_A, heartbeat=now - dt.timedelta(seconds=1))
    write_process(root, instance=INSTANCE_B, heartbeat=now - dt.timedelta(seconds=60))
    con = registered(root)
    assert con.sql(f"SELECT loader_instance, is_alive FROM "
                   f"{raw_name('asynchronous_loader_processes')} ORDER BY 1").fetchall() == [
        (INSTANCE_A, 1), (INSTANCE_B, 0)]


def test_a_dead_pid_on_this_host_is_not_alive_even_with_a_fresh_heartbeat(
        tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    root = make_history(tmp_path / "h")
    write_process(root, pid=int(child.stdout), hostname=socket.gethostname(),
                  heartbeat=dt.datetime.now(dt.UTC))
    con = registered(root)
    assert con.sql(f"SELECT is_alive FROM {raw_name('asynchronous_loader_processes')}"
                   ).fetchall() == [(0,)]


def test_a_killed_process_its_parent_has_not_reaped_is_not_alive(tmp_path: Path) -> None:
    import signal
    import socket
    import subprocess
    import sys

    # Started before the recorder's `started`, as a real recording process is.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        root = make_history(tmp_path / "h")
        write_segment(root, job_rows(2, finished=False), 1, 1)
        write_process(root, pid=child.pid, hostname=socket.gethostname(),
                      started=dt.datetime.now(dt.UTC), heartbeat=dt.datetime.now(dt.UTC))
        os.kill(child.pid, signal.SIGKILL)
        # Wait for it to die without reaping it (WNOWAIT): it stays a zombie, whose pid
        # kill(pid, 0) still accepts, as when a supervisor has not reaped it yet.
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        con = registered(root)
        assert con.sql(f"SELECT is_alive FROM {raw_name('asynchronous_loader_processes')}"
                       ).fetchall() == [(0,)]
        assert [r[0] for r in log_rows(con)] == ["JobInterrupted", "JobStart"]
    finally:
        child.kill()
        child.wait(timeout=30)


def test_a_job_still_running_when_the_recording_closed_says_so(tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(2, finished=False), 1, 1)
    write_process(root, ended=T0 + dt.timedelta(seconds=9))
    rows = log_rows(registered(root), "type, reason")
    assert rows[0][0] == "JobInterrupted"
    assert "recording of process 4242 on elsewhere was closed at 2026-12-01 12:00:09" in rows[0][1]


def test_the_last_known_state_is_the_finish_else_the_interruption_else_the_start(
        tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(1) + job_rows(2, finished=False), 1, 1)
    write_process(root)  # dead
    live = make_history(tmp_path / "live")
    write_segment(live, job_rows(3, finished=False, instance=INSTANCE_B), 1, 1,
                  instance=INSTANCE_B)
    this_host_process(live, instance=INSTANCE_B)
    snap = HistorySource([root, live]).snapshot()
    assert snap.select(["job_id", "status", "is_executing"]).to_pylist() == [
        {"job_id": 1, "status": "OK", "is_executing": 0},
        {"job_id": 2, "status": "PENDING", "is_executing": 0},
        {"job_id": 3, "status": "PENDING", "is_executing": 1},
    ]
    from loader.snapshot import SCHEMA

    assert snap.schema.equals(SCHEMA)


def test_latest_only_keeps_the_most_recently_started_instance(tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(1, instance=INSTANCE_A), 1, 1, instance=INSTANCE_A)
    write_segment(root, job_rows(1, instance=INSTANCE_B, at=100.0), 1, 1, instance=INSTANCE_B)
    write_process(root, instance=INSTANCE_A, ended=T0)
    write_process(root, instance=INSTANCE_B, ended=T0, started=T0 + dt.timedelta(seconds=99))
    source = HistorySource(root, latest_only=True)
    assert source.snapshot().num_rows == 1 and source.instance == INSTANCE_B
    assert HistorySource(root).snapshot().num_rows == 2


def test_a_file_deleted_after_the_listing_asks_for_a_retry(tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    path = write_segment(root, job_rows(1), 1, 1)
    con = duckdb.connect()
    con.execute("CREATE TYPE asl_status AS ENUM ('PENDING', 'OK', 'FAILED', 'CANCELED')")
    create_types(con)
    source = HistorySource(root)
    tables = SessionHistory(source)
    assert tables.begin(con)
    os.unlink(path)
    with pytest.raises(duckdb.Error) as e:
        con.sql(f"SELECT count(*) FROM {LOG}").fetchall()
    assert tables.recover(e.value)
    tables.begin(con)
    assert con.sql(f"SELECT count(*) FROM {LOG}").fetchall() == [(0,)]


def test_with_worker_adds_the_lane_and_why_a_job_was_interrupted(tmp_path: Path) -> None:
    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(1, worker=3) + job_rows(2, finished=False, worker=1), 1, 1)
    write_process(root, heartbeat=T0 + dt.timedelta(seconds=4))
    snap = HistorySource(root).snapshot(with_worker=True)
    assert snap.schema.names[-3:] == ["worker", "thread_id", "interrupted"]
    rows = snap.select(["job_id", "worker", "elapsed", "interrupted"]).to_pylist()
    assert rows[0] == {"job_id": 1, "worker": 3, "elapsed": 1.0, "interrupted": None}
    assert rows[1]["worker"] == 1 and rows[1]["elapsed"] == pytest.approx(2.5)
    assert rows[1]["interrupted"].startswith("process 4242 on elsewhere stopped")


def test_a_derived_enum_column_keeps_clickhouse_numbering(tmp_path: Path) -> None:
    import sqlbridge

    root = make_history(tmp_path / "h")
    write_segment(root, job_rows(1), 1, 1)
    with sqlbridge.connect(HistorySource(root)) as db:
        text = db.run("SELECT min(type) AS t FROM system.asynchronous_loader_log",
                      "TSVWithNamesAndTypes")
    assert text == ("t\nEnum8(\\'JobStart\\' = 1, \\'JobFinish\\' = 2, "
                    "\\'JobInterrupted\\' = 3)\nJobStart\n")
