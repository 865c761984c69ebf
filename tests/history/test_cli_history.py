"""``asl sql / query / graph / demo --history``: the command line over recorded histories.

Each test is one real ``asl`` process, as a user runs it.  Histories are hand-made (exact
rows and damage) except the demo's, which ``asl demo --history`` records.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from reader_testkit import (
    INSTANCE_A,
    INSTANCE_B,
    T0,
    job_rows,
    make_history,
    requires_journal,
    run_asl,
    write_process,
    write_segment,
)


@pytest.fixture
def two_runs(tmp_path: Path) -> Path:
    """Two restarts in one history: the first died with a job executing, the second closed."""
    root = make_history(tmp_path / "history")
    write_segment(root, job_rows(1) + job_rows(2, finished=False), 1, 1)
    write_process(root, heartbeat=T0 + dt.timedelta(seconds=3))
    later = dict(instance=INSTANCE_B, at=100.0)
    write_segment(root, job_rows(1, **later) + job_rows(2, status="FAILED", **later), 1, 1,
                  instance=INSTANCE_B)
    write_process(root, instance=INSTANCE_B, ended=T0 + dt.timedelta(seconds=200),
                  started=T0 + dt.timedelta(seconds=99))
    return root


def test_asl_sql_summarises_a_history(two_runs: Path) -> None:
    done = run_asl("sql", "--history", str(two_runs), "--format", "TSV",
                   "SELECT type, count() FROM system.asynchronous_loader_log "
                   "GROUP BY type ORDER BY type")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "JobStart\t4\nJobFinish\t3\nJobInterrupted\t1\n"


def test_a_glob_and_a_repeated_option_cover_several_histories(tmp_path: Path) -> None:
    for name, instance in (("run1", INSTANCE_A), ("run2", INSTANCE_B)):
        write_segment(make_history(tmp_path / name), job_rows(1, instance=instance), 1, 1,
                      instance=instance)
    query = "SELECT uniqExact(loader_instance) FROM system.asynchronous_loader_log"
    by_glob = run_asl("sql", "--history", str(tmp_path / "run*"), query)
    by_list = run_asl("sql", "--history", str(tmp_path / "run1"), "--history",
                      str(tmp_path / "run2"), query)
    assert (by_glob.stdout, by_list.stdout) == ("2\n", "2\n"), by_glob.stderr + by_list.stderr


@pytest.mark.parametrize("what", ["not a history", "newer version", "missing"])
def test_a_bad_history_path_is_a_one_line_usage_error(tmp_path: Path, what: str) -> None:
    path = tmp_path / "x"
    if what == "not a history":
        path.mkdir()
        (path / "notes.txt").write_text("hello")
    elif what == "newer version":
        path.mkdir()
        (path / "asl-history.json").write_text(json.dumps(
            {"format": "asl-history", "schema_version": 1000}))
    done = run_asl("sql", "--history", str(path), "SELECT 1")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and str(path) in done.stderr, done.stderr
    assert done.stderr.startswith("asl sql: --history: ")
    if what == "newer version":
        assert "upgrade asl" in done.stderr


def test_a_corrupt_segment_is_named_on_stderr_and_the_rest_is_answered(two_runs: Path) -> None:
    bad = write_segment(two_runs, job_rows(9), 2, 2)
    bad.write_bytes(b"PAR1 torn")
    done = run_asl("sql", "--history", str(two_runs),
                   "SELECT count() FROM system.asynchronous_loader_log WHERE type = 'JobStart'")
    assert done.returncode == 0 and done.stdout == "4\n"
    assert done.stderr.startswith("asl: warning: skipped corrupt history file ")
    assert str(bad) in done.stderr and done.stderr.count("\n") == 1


def test_asl_graph_draws_the_last_known_state_of_the_latest_run(two_runs: Path) -> None:
    done = run_asl("graph", "--history", str(two_runs), "--format", "dot")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("digraph")
    assert "load table db.t1" in done.stdout and "load table db.t2" in done.stdout
    assert "red" in done.stdout  # the second run's failure, filled by status


def test_asl_query_interrupted_over_a_history(two_runs: Path) -> None:
    done = run_asl("query", "--history", str(two_runs), "interrupted", "--format", "TSV")
    assert done.returncode == 0, done.stderr
    fields = done.stdout.rstrip("\n").split("\t")
    assert fields[1:3] == ["load table db.t2", "2"]
    assert "process 4242 on elsewhere stopped (last heartbeat 2026-12-01 12:00:03" in fields[7]


@requires_journal
def test_asl_demo_records_its_start_up_into_a_history(tmp_path: Path) -> None:
    path = tmp_path / "demo-history"
    done = run_asl("demo", "--history", str(path), "--no-progress", "--speed", "20",
                   "--tables", "40")
    assert done.returncode == 0, done.stderr
    summary = run_asl("sql", "--history", str(path), "--format", "TSV",
                      "SELECT countIf(type = 'JobStart') > 50, countIf(status = 'FAILED') > 0, "
                      "uniqExact(loader_instance) FROM system.asynchronous_loader_log")
    assert summary.stdout == "1\t1\t1\n", summary.stderr
    ended = run_asl("sql", "--history", str(path), "--format", "TSV",
                    "SELECT end_reason FROM system.asynchronous_loader_processes")
    assert ended.stdout == "closed\n"
