"""Log correlation, as CloudStack's ``job-5948`` lines: a grep of a real log file leads to the
job's rows in the history and to its lines in the text log, and back."""

from __future__ import annotations

import logging
import re

from history_testkit import query, rows

from loader import JobTagFilter, LoadJob
from sqlbridge.history import record_history

FORMAT = "%(asctime)s %(job_tag)s %(levelname)s %(name)s: %(message)s"


def test_grepping_job_tags_in_a_log_file_finds_the_job_and_its_text_log(loader, tmp_path):
    log_file = tmp_path / "app.log"
    handler = logging.FileHandler(log_file)
    handler.addFilter(JobTagFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    app = logging.getLogger("app.correlation")
    app.setLevel(logging.INFO)
    app.addHandler(handler)
    children = []

    def child(loader, job):
        app.info("copying volume %s", job.tags["volume"])

    def parent(loader, job):
        app.info("starting a migration")
        sub = LoadJob(child, name="copy volume", tags={"volume": "vol-7"})
        children.append(sub)
        loader.schedule([sub])

    history = tmp_path / "history"
    try:
        with record_history(loader, history, flush_interval=3600):
            app.info("outside any job")
            loader.schedule([LoadJob(parent, name="migrate vm")])
            loader.wait_all(timeout=30)
            loader.wait_all(timeout=30)  # the sub-job was scheduled by the parent
    finally:
        app.removeHandler(handler)
        handler.close()

    lines = log_file.read_text().splitlines()
    assert any(" - INFO app.correlation: outside any job" in line for line in lines)
    # The operator greps the sub-job's line and reads both ids off it.
    [line] = [x for x in lines if "copying volume" in x]
    parent_id, child_id = map(int, re.search(r" job-(\d+)/job-(\d+) ", line).groups())
    assert child_id == children[0].job_id

    # ... then asks the history about it: WHERE job_id = <the id from the log>.
    got = query(history, "log", "SELECT type, job, status, parent_job_id, tags['volume'] "
                "FROM t WHERE job_id = ? ORDER BY type DESC", [child_id])
    assert got == [("JobStart", "copy volume", "PENDING", parent_id, "vol-7"),
                   ("JobFinish", "copy volume", "OK", parent_id, "vol-7")]
    assert query(history, "log", "SELECT DISTINCT job FROM t WHERE job_id = ?",
                 [parent_id]) == [("migrate vm",)]
    # ... and its log lines are in the text log, the same messages as in the file.
    text = rows(history, "text_log", "job_id, message", f"job_id IN ({parent_id}, {child_id})")
    assert sorted((r["job_id"], r["message"]) for r in text) == [
        (parent_id, "starting a migration"), (child_id, "copying volume vol-7")]
    tagged = [x for x in lines if f"job-{parent_id} " in x or f"/job-{child_id} " in x]
    assert len(tagged) == len(text)
