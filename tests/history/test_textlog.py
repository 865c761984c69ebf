"""The text log: log records emitted inside jobs, by any logger, in ClickHouse's text_log shape."""

from __future__ import annotations

import logging
import shutil
import threading

import pytest
from history_testkit import rows

from loader import LoadJob, LoadStatus, add_record_tap, context, remove_record_tap
from sqlbridge.history import record_history
from sqlbridge.history.schema import TEXT_LOG_SCHEMA, clickhouse_level


def chatty(loader, job):
    logging.getLogger("app.db").info("connecting to %s", "db-1")
    logging.getLogger("app.db").warning("slow query")
    try:
        raise OSError("disk gone")
    except OSError:
        logging.getLogger("other").exception("it failed")
    return None


def test_records_inside_jobs_from_any_logger_are_kept_and_outside_ones_are_not(
        fake, history):
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.DEBUG)
    try:
        job = LoadJob(chatty, name="chatty")
        with record_history(fake, history, flush_interval=3600) as rec:
            logging.getLogger("app.db").warning("outside any job")
            fake.loader.schedule([job])
            fake.loader.wait_all(timeout=30)
    finally:
        root.setLevel(old)
    got = rows(history, "text_log", "*", "true ORDER BY event_time_microseconds")
    assert [r["message"].splitlines()[0] for r in got] == [
        "connecting to db-1", "slow query", "it failed"]
    assert [r["level"] for r in got] == ["Information", "Warning", "Error"]
    assert [r["logger_name"] for r in got] == ["app.db", "app.db", "other"]
    assert got[0]["message_format_string"] == "connecting to %s"
    assert "OSError: disk gone" in got[2]["message"]
    for r in got:
        assert r["job_id"] == job.job_id and r["job"] == "chatty"
        assert r["loader_instance"] == rec.instance
        assert r["thread_name"].startswith("asl-") or r["thread_name"]
        assert r["thread_id"] > 0 and r["source_file"].endswith("test_textlog.py")
        assert r["source_line"] > 0 and r["query_id"] == ""
        assert r["event_time"] == r["event_time_microseconds"].replace(microsecond=0)
    assert list(got[0]) == TEXT_LOG_SCHEMA.names


def test_levels_map_to_clickhouse_names():
    assert [clickhouse_level(x) for x in (50, 40, 30, 25, 20, 10, 5)] == [
        "Fatal", "Error", "Warning", "Notice", "Information", "Debug", "Trace"]


def test_a_full_text_buffer_drops_and_counts_instead_of_blocking(fake, history):
    def many(loader, job):
        for i in range(50):
            logging.getLogger("app").warning("line %d", i)

    with record_history(fake, history, flush_interval=3600, text_log_capacity=10):
        fake.loader.schedule([LoadJob(many, name="many")])
        fake.loader.wait_all(timeout=30)
    assert len(rows(history, "text_log")) == 10
    assert rows(history, "processes")[0]["text_log_dropped"] == 40


def test_logging_in_a_job_never_waits_on_a_broken_disk(fake, history):
    done = threading.Event()

    def logs(loader, job):
        for i in range(100):
            logging.getLogger("app").warning("line %d", i)
        done.set()

    rec = record_history(fake, history, flush_interval=0.01)
    tmp = history / ".tmp"
    shutil.rmtree(tmp)
    tmp.write_text("every write fails now")
    try:
        fake.loader.schedule([LoadJob(logs, name="logs")])
        assert done.wait(30)
        fake.loader.wait_all(timeout=30)
        rec.flush()  # fails, and keeps the rows
    finally:
        tmp.unlink()
        tmp.mkdir()
    rec.close()
    assert len(rows(history, "text_log")) == 100  # kept in memory, written once it could be
    assert rec.write_errors > 0


def test_recording_adds_no_handler_and_close_removes_its_tap(fake, history):
    before = list(logging.getLogger().handlers)
    rec = record_history(fake, history, flush_interval=3600)
    assert logging.getLogger().handlers == before
    assert rec._handler.capture in context._taps
    rec.close()
    assert rec._handler.capture not in context._taps
    assert logging.getLogger().handlers == before


def test_a_logger_that_does_not_propagate_or_filters_everything_is_still_captured(
        fake, history):
    quiet = logging.getLogger("app.quiet")
    quiet.propagate = False
    quiet.setLevel(logging.INFO)
    shut = logging.getLogger("app.shut")
    nothing = logging.Filter("no.such.logger")
    shut.addFilter(nothing)

    def work(loader, job):
        quiet.info("not propagated")
        shut.warning("filtered out by its logger")

    try:
        with record_history(fake, history, flush_interval=3600):
            job = LoadJob(work, name="quiet")
            fake.loader.schedule([job])
            fake.loader.wait_all(timeout=30)
    finally:
        quiet.propagate = True
        quiet.setLevel(logging.NOTSET)
        shut.removeFilter(nothing)
    got = rows(history, "text_log", "*", "true ORDER BY event_time_microseconds")
    assert [(r["logger_name"], r["message"], r["job_id"]) for r in got] == [
        ("app.quiet", "not propagated", job.job_id),
        ("app.shut", "filtered out by its logger", job.job_id)]


def test_a_raising_tap_does_not_break_a_jobs_logging(fake, history, caplog, capsys):
    def broken(record):
        raise RuntimeError("tap broke")

    def work(loader, job):
        logging.getLogger("app").warning("still logged")
        return "done"

    add_record_tap(broken)
    try:
        with caplog.at_level(logging.WARNING, logger="app"):
            with record_history(fake, history, flush_interval=3600):
                job = LoadJob(work, name="j")
                fake.loader.schedule([job])
                fake.loader.wait_all(timeout=30)
    finally:
        remove_record_tap(broken)
    assert job.status == LoadStatus.OK
    assert [r.getMessage() for r in caplog.records if r.name == "app"] == ["still logged"]
    assert [r["message"] for r in rows(history, "text_log")] == ["still logged"]
    err = capsys.readouterr().err
    assert "Logging error in record tap" in err and "RuntimeError: tap broke" in err


# Configuring logging after record_history: in a subprocess, since pytest keeps handlers of
# its own on the root logger (and a root dictConfig here would remove them).
_CONFIGURE_AFTER = """
import logging, logging.config, sys
from loader import AsyncLoader, LoadJob, Pool
from sqlbridge.history import record_history

how = sys.argv[2]
with AsyncLoader([Pool("default", 1)]) as loader:
    with record_history(loader, sys.argv[1], flush_interval=3600):
        if how == "basicConfig":
            logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                                format="%(levelname)s %(name)s: %(message)s")
        else:
            logging.config.dictConfig({
                "version": 1,
                "formatters": {"f": {"format": "%(levelname)s %(name)s: %(message)s"}},
                "handlers": {"out": {"class": "logging.StreamHandler", "formatter": "f",
                                     "stream": "ext://sys.stdout"}},
                "root": {"level": "INFO", "handlers": ["out"]},
            })
        job = LoadJob(lambda loader, job: logging.getLogger("app.db").info("in a job"),
                      name="j")
        loader.schedule(job)
        loader.wait(job, timeout=30)
"""


@pytest.mark.parametrize("how", ["basicConfig", "dictConfig"])
def test_configuring_logging_after_recording_starts_configures_it_and_keeps_the_text_log(
        tmp_path, how):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _CONFIGURE_AFTER, str(tmp_path / "h"), how],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == ["INFO app.db: in a job"]  # logging was configured
    assert [r["message"] for r in rows(tmp_path / "h", "text_log")] == ["in a job"]


_UNCONFIGURED = """
import logging, sys
from loader import AsyncLoader, LoadJob, Pool
from sqlbridge.history import record_history

with AsyncLoader([Pool("default", 1)]) as loader:
    with record_history(loader, sys.argv[1], flush_interval=3600), \\
            record_history(loader, sys.argv[2], flush_interval=3600, text_log_level=logging.ERROR):
        logging.getLogger("app").warning("outside a job")
        logging.getLogger("app").info("an info line")
        job = LoadJob(lambda loader, job: logging.getLogger("app.db").warning("in a job"),
                      name="j")
        loader.schedule(job)
        loader.wait(job, timeout=30)
        own = logging.getLogger("own")
        own.addHandler(logging.StreamHandler(sys.stdout))
        own.warning("to its own handler")
"""


def test_with_logging_unconfigured_warnings_still_reach_stderr_once_while_recording(tmp_path):
    # A subprocess: pytest's own handlers on the root logger would hide the last resort.
    # Recording adds no handler, so logging's last resort prints as if it were not there.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _UNCONFIGURED, str(tmp_path / "a"),
                           str(tmp_path / "b")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["outside a job", "in a job"]
    assert done.stdout.splitlines() == ["to its own handler"]
    got = rows(tmp_path / "a", "text_log")
    assert [r["message"] for r in got] == ["in a job"]  # still recorded as before
    assert rows(tmp_path / "b", "text_log") == []  # below its text_log_level
