"""Logging: the asl.loader logger, log_events lines, progress, and job context on records."""

from __future__ import annotations

import logging

from loader import AsyncLoader, LoadJob, Pool

TIMEOUT = 30


def noop(loader, job):
    return None


def test_records_inside_a_job_carry_job_id_and_name(caplog):
    app = logging.getLogger("some.app")

    def work(loader, job):
        app.warning("loading %s", job.name)

    with caplog.at_level(logging.WARNING, logger="some.app"):
        with AsyncLoader([Pool("p", 1)]) as loader:
            job = LoadJob(work, name="load table db.t")
            loader.schedule(job)
            loader.wait_all(TIMEOUT)
        app.warning("outside")
    inside, outside = [r for r in caplog.records if r.name == "some.app"]
    assert (inside.job_id, inside.job) == (job.job_id, "load table db.t")
    assert (outside.job_id, outside.job) == (0, "")


def test_failures_are_logged_with_traceback_unless_disabled(caplog):
    def boom(loader, job):
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="asl.loader"):
        with AsyncLoader([Pool("p", 1)]) as loader:
            loader.schedule(LoadJob(boom, name="x"))
            loader.wait_all(TIMEOUT)
        with AsyncLoader([Pool("p", 1)], log_failures=False) as loader:
            loader.schedule(LoadJob(boom, name="quiet"))
            loader.wait_all(TIMEOUT)
    records = [r for r in caplog.records if r.name == "asl.loader"]
    assert [r.getMessage() for r in records] == ["Load job 'x' failed"]
    assert records[0].exc_info[0] is ValueError
    assert records[0].job == "x"


def test_log_events_lines(caplog):
    with caplog.at_level(logging.DEBUG, logger="asl.loader"):
        with AsyncLoader([Pool("Fg", 1, 0), Pool("Bg", 1, 1)], log_events=True,
                         paused=True) as loader:
            dep = LoadJob(noop, name="dep", pool="Bg")
            job = LoadJob(noop, name="job", dependencies=[dep], pool="Bg")
            loader.schedule(job)
            loader.prioritize(job, "Fg")
            loader.unpause()
            loader.wait(job, timeout=TIMEOUT)
            loader.wait_all(TIMEOUT)
    lines = [r.getMessage() for r in caplog.records if r.name == "asl.loader"]
    for expected in [
        "Schedule load job 'job' into Bg",
        "Schedule load job 'dep' into Bg",
        "Prioritize load job 'job': Bg -> Fg",
        "Prioritize load job 'dep': Bg -> Fg",
        "Change current priority: none -> 0",
        "Spawn loader worker #1 in Fg",
        "Execute load job 'dep' in Fg",
        "Finish load job 'dep' with status OK",
        "Finish load job 'job' with status OK",
        "Stop worker in Fg",
        "Change current priority: 0 -> none",
    ]:
        assert expected in lines, (expected, lines)
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "asl.loader")


def test_progress_every_256_jobs(caplog):
    with caplog.at_level(logging.INFO, logger="asl.loader"):
        with AsyncLoader([Pool("p", 2)], log_progress=True) as loader:
            loader.schedule([LoadJob(noop) for _ in range(1024)])
            loader.wait_all(TIMEOUT)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Processed")]
    for expected in ["Processed: 25.0%", "Processed: 50.0%", "Processed: 75.0%",
                     "Processed: 100.0%"]:
        assert expected in lines, lines
