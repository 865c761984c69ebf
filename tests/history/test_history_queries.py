"""The saved history queries against a real recorded history: two runs of a real loader, the
first killed with SIGKILL while a job executes, the second closed cleanly (a restart).

What each query must show is what an operator would look for after that night: the failure
and what it canceled, the slow kinds, the jobs of one resource, one job's log lines, the job
that was running when the process died, a job's sub-jobs, and the two processes.
"""

from __future__ import annotations

import signal
import socket

import pytest
from reader_testkit import SUBPROCESS_TIMEOUT, requires_journal, run_asl, spawn_child

import queries
import sqlbridge
from sqlbridge.history.source import HistorySource
from sqlbridge.params import substitute

pytestmark = requires_journal


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("recorded") / "history"
    killed, first = spawn_child(path, "scenario")
    killed.send_signal(signal.SIGKILL)
    killed.wait(SUBPROCESS_TIMEOUT)
    again, second = spawn_child(path, "restart")
    again.communicate(timeout=SUBPROCESS_TIMEOUT)
    return {"path": path, "killed": first, "restarted": second, "pid": killed.pid}


@pytest.fixture(scope="module")
def db(recorded):
    with sqlbridge.connect(HistorySource(recorded["path"]), time_zone="UTC") as session:
        yield session


def saved(db, name: str, **params: str) -> list[dict]:
    return db.query(substitute(queries.load(name).sql, params)).to_pylist()


def job_id(db, name: str) -> int:
    found = db.query("SELECT DISTINCT job_id FROM system.asynchronous_loader_log "
                     f"WHERE job = '{name}'").column(0).to_pylist()
    assert len(found) == 1, found
    return found[0]


def test_recent_failures_name_the_root_cause_of_the_failure_and_of_what_it_canceled(db) -> None:
    rows = {r["job"]: r for r in saved(db, "recent_failures")}
    assert set(rows) == {"load table db.broken", "startup table db.broken"}
    failed, canceled = rows["load table db.broken"], rows["startup table db.broken"]
    assert failed["status"] == "FAILED" and failed["error_type"] == "OSError"
    assert "disk error on db.broken" in failed["root_cause"]
    assert canceled["status"] == "CANCELED" and canceled["root_job"] == "load table db.broken"
    assert "disk error on db.broken" in canceled["root_cause"]


def test_slowest_kinds_groups_jobs_by_name_without_their_object(db) -> None:
    kinds = {r["kind"]: r for r in saved(db, "slowest_kinds")}
    assert set(kinds) == {"load table", "load part"}  # the canceled startup never ran
    load = kinds["load table"]
    assert load["jobs"] >= 6 and load["failed"] == 1  # hits, broken, small, 3 after restart
    assert load["p50_s"] <= load["p95_s"] <= load["max_s"]


def test_jobs_by_tag_finds_every_job_that_touched_a_resource(db) -> None:
    rows = saved(db, "jobs_by_tag", tag="table", value="db.hits")
    assert sorted(r["job"] for r in rows) == ["load part db.hits.all", "load table db.hits"]
    assert all(r["type"] == "JobFinish" for r in rows)


def test_job_log_shows_the_lines_a_job_logged_in_order(db) -> None:
    rows = saved(db, "job_log", job_id=str(job_id(db, "load table db.hits")))
    assert [(r["level"], r["message"]) for r in rows] == [
        ("Information", "loading db.hits"), ("Warning", "slow disk")]
    assert rows[0]["logger_name"] == "app"


def test_interrupted_shows_the_job_that_ran_when_its_process_was_killed(db, recorded) -> None:
    rows = saved(db, "interrupted")
    assert [r["job"] for r in rows] == ["load table db.stuck"]
    assert rows[0]["reason"].startswith(
        f"process {recorded['pid']} on {socket.gethostname()} stopped (last heartbeat ")
    assert rows[0]["loader_instance"] == recorded["killed"]


def test_job_tree_follows_sub_jobs_down_two_generations(db, recorded) -> None:
    rows = saved(db, "job_tree", job_id=str(job_id(db, "load table db.hits")))
    # Job ids restart with each run: the same id in the restart is a tree of its own.
    assert {r["loader_instance"] for r in rows} == {recorded["killed"], recorded["restarted"]}
    rows = [r for r in rows if r["loader_instance"] == recorded["killed"]]
    assert [r["job"] for r in rows] == [
        "load table db.hits", "    load part db.hits.all", "        load part db.hits.p1"]
    assert {r["status"] for r in rows} == {"OK"}


def test_restarts_shows_the_killed_process_and_the_clean_restart(db, recorded) -> None:
    rows = saved(db, "restarts")
    assert [r["loader_instance"] for r in rows] == [recorded["killed"], recorded["restarted"]]
    died, closed = rows
    assert died["how"].startswith("died (last heartbeat ") and died["ended"] is None
    assert died["interrupted_jobs"] == 1
    assert closed["how"] == "ended: closed" and closed["interrupted_jobs"] == 0


def test_the_last_known_state_shows_the_interrupted_job_as_not_executing(db) -> None:
    rows = db.query("SELECT job, status, is_executing FROM system.asynchronous_loader "
                    "WHERE job = 'load table db.stuck'").to_pylist()
    assert rows == [{"job": "load table db.stuck", "status": "PENDING", "is_executing": 0}]


def test_asl_query_runs_a_history_query_from_the_command_line(recorded) -> None:
    done = run_asl("query", "--history", str(recorded["path"]), "interrupted",
                   "--format", "TSVWithNames")
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split("\t")[:3] == ["start_time", "job", "job_id"]
    assert [line.split("\t")[1] for line in lines] == ["load table db.stuck"]


def test_every_saved_history_query_runs_on_the_recorded_history(db) -> None:
    params = {"tag": "table", "value": "db.hits", "job_id": "1", "job": "load table db.hits"}
    for name in ("recent_failures", "slowest_kinds", "jobs_by_tag", "job_log", "interrupted",
                 "job_tree", "restarts"):
        q = queries.load(name)
        assert q.purpose.startswith("History: "), name
        db.run(substitute(q.sql, {k: v for k, v in params.items()
                                  if k in dict(q.parameters)}), "PrettyCompact")
