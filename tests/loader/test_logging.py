"""Logging: the asl.loader logger, log_events lines, progress, and job context on records."""

from __future__ import annotations

import logging
import re

from loader import JOB_TAG_FORMAT, AsyncLoader, JobTagFilter, LoadJob, Pool

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


def test_job_tag_filter_writes_which_job_logged_each_line_to_a_file(tmp_path):
    """A FileHandler with JobTagFilter and the documented format: ``job-<id>`` inside a job,
    ``job-<parent>/job-<id>`` inside its sub-job, ``-`` outside any job."""
    path = tmp_path / "asl.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.addFilter(JobTagFilter())
    handler.setFormatter(logging.Formatter(JOB_TAG_FORMAT))
    app = logging.getLogger("test.jobtags")
    app.addHandler(handler)
    app.setLevel(logging.INFO)
    app.propagate = False

    def child_func(loader, job):
        app.info("inside the child")

    def parent_func(loader, job):
        app.info("inside the parent")
        child = LoadJob(child_func, name="child")
        loader.schedule(child)
        loader.wait(child, timeout=TIMEOUT)

    try:
        app.info("before")
        with AsyncLoader([Pool("p", 2)]) as loader:
            loader.schedule(LoadJob(noop, name="first"))  # so the parent is not job 1
            parent = LoadJob(parent_func, name="parent")
            loader.schedule(parent)
            loader.wait_all(TIMEOUT)
        app.info("after")
    finally:
        app.removeHandler(handler)
        handler.close()
        app.propagate = True
    lines = path.read_text(encoding="utf-8").splitlines()
    shape = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\S+) INFO test\.jobtags: (.*)$")
    tagged = [shape.match(line).groups() for line in lines]
    assert tagged == [
        ("-", "before"),
        (f"job-{parent.job_id}", "inside the parent"),
        (f"job-{parent.job_id}/job-{parent.job_id + 1}", "inside the child"),
        ("-", "after"),
    ]



def test_record_taps_see_records_made_inside_jobs_only_and_stop_when_removed():
    from loader import add_record_tap, remove_record_tap

    seen = []

    def tap(record):
        seen.append((record.name, record.getMessage(), record.job))
        logging.getLogger("tap.own").warning("logged by the tap")  # not tapped again
        logging.makeLogRecord({"msg": "made by hand"})  # no logger: not tapped

    app = logging.getLogger("some.tapped")
    with AsyncLoader([Pool("p", 1)]) as loader:
        add_record_tap(tap)
        try:
            app.warning("outside")
            job = LoadJob(lambda loader, job: app.warning("inside %d", 1), name="t")
            loader.schedule(job)
            loader.wait(job, timeout=TIMEOUT)
        finally:
            remove_record_tap(tap)
        remove_record_tap(tap)  # not added any more: ignored
        later = LoadJob(lambda loader, job: app.warning("after removal"), name="later")
        loader.schedule(later)
        loader.wait(later, timeout=TIMEOUT)
    assert seen == [("some.tapped", "inside 1", "t")]
