"""The log tables in the live session of a loader that records: ``sqlbridge.connect(loader)``
and the HTTP endpoint show everything recorded so far, flushed or not.

The session unions the segments on disk with the recorder's rows not yet flushed
(``Recorder.unflushed``), listed under the recorder's hold, so a row is never missing or
counted twice whatever the writer is doing.
"""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request

from history_testkit import TIMEOUT

import sqlbridge
from loader import LoadJob
from sqlbridge.history import record_history

LOG = "SELECT job, type, status FROM system.asynchronous_loader_log ORDER BY job, type"


def test_a_session_without_a_recording_has_the_log_tables_empty(loader) -> None:
    with sqlbridge.connect(loader) as db:
        for table in ("log", "text_log", "processes", "log_archive", "retention"):
            assert db.query(f"SELECT count() FROM system.asynchronous_loader_{table}"
                            ).column(0).to_pylist() == [0]
        described = db.query("DESCRIBE system.asynchronous_loader_log").to_pylist()
        types = {r["name"]: r["type"] for r in described}
    assert types["type"] == "Enum8('JobStart' = 1, 'JobFinish' = 2, 'JobInterrupted' = 3)"
    assert types["tags"] == "Map(String, String)"
    assert types["event_time_microseconds"] == "DateTime64(6)"


def test_the_live_session_sees_rows_before_they_are_flushed(loader, history) -> None:
    release = threading.Event()
    running = threading.Event()

    def slow(loader, job):
        running.set()
        release.wait(TIMEOUT)

    with sqlbridge.connect(loader) as db, record_history(loader, history,
                                                         flush_interval=3600) as rec:
        loader.schedule([LoadJob(slow, name="slow", tags={"table": "db.t"})])
        assert running.wait(TIMEOUT)
        assert db.query(LOG).to_pylist() == [
            {"job": "slow", "type": "JobStart", "status": "PENDING"}]
        assert not any((history / "log").glob("*.parquet"))  # nothing flushed yet
        release.set()
        loader.wait_all(timeout=TIMEOUT)
        assert [r["type"] for r in db.query(LOG).to_pylist()] == ["JobStart", "JobFinish"]
        rec.flush()
        assert [r["type"] for r in db.query(LOG).to_pylist()] == ["JobStart", "JobFinish"]
        alive = db.query("SELECT is_alive, ended FROM system.asynchronous_loader_processes"
                         ).to_pylist()
        assert alive == [{"is_alive": 1, "ended": None}]
        tagged = db.query("SELECT count() FROM system.asynchronous_loader_log "
                          "WHERE tags['table'] = 'db.t'").column(0).to_pylist()
        assert tagged == [2]


def test_a_session_keeps_showing_a_history_after_its_recorder_closes(loader, history) -> None:
    with sqlbridge.connect(loader) as db:
        with record_history(loader, history, flush_interval=3600):
            loader.schedule([LoadJob(lambda _l, _j: None, name="quick")])
            loader.wait_all(timeout=TIMEOUT)
            assert db.query("SELECT count() FROM system.asynchronous_loader_log"
                            ).column(0).to_pylist() == [2]
        assert db.query("SELECT count() FROM system.asynchronous_loader_log"
                        ).column(0).to_pylist() == [2]
        assert db.query("SELECT is_alive, end_reason FROM "
                        "system.asynchronous_loader_processes").to_pylist() == [
            {"is_alive": 0, "end_reason": "closed"}]


def test_a_session_opened_after_the_recorder_closed_shows_its_history(loader, history,
                                                                       tmp_path) -> None:
    with record_history(loader, history, flush_interval=3600):
        loader.schedule([LoadJob(lambda _l, _j: None, name="before")])
        loader.wait_all(timeout=TIMEOUT)
    second = tmp_path / "second"
    with record_history(loader, second, flush_interval=3600):  # a restart of the recording
        loader.schedule([LoadJob(lambda _l, _j: None, name="after")])
        loader.wait_all(timeout=TIMEOUT)
    with sqlbridge.connect(loader) as db:
        assert db.query("SELECT job, count() FROM system.asynchronous_loader_log "
                        "GROUP BY job ORDER BY job").to_pylist() == [
            {"job": "after", "count()": 2}, {"job": "before", "count()": 2}]
        assert db.query("SELECT count() FROM system.asynchronous_loader_processes "
                        "WHERE is_alive = 0").column(0).to_pylist() == [2]


def test_the_http_endpoint_serves_the_log_of_a_recording_loader(loader, history) -> None:
    with record_history(loader, history, flush_interval=3600):
        loader.schedule([LoadJob(lambda _l, _j: None, name="served")])
        loader.wait_all(timeout=TIMEOUT)
        server = sqlbridge.serve(loader, "127.0.0.1:0")
        try:
            query = urllib.parse.quote("SELECT job, type FROM system.asynchronous_loader_log "
                                       "ORDER BY type FORMAT TSV")
            with urllib.request.urlopen(f"{server.url}/?query={query}", timeout=TIMEOUT) as r:
                body = r.read().decode()
        finally:
            server.close()
    assert body == "served\tJobStart\nserved\tJobFinish\n"
