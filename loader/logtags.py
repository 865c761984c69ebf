"""``JobTagFilter``: log lines that say which load job wrote them.

Attach it to a handler (a filter on a handler sees every record the handler gets, including
those propagated from child loggers; a filter on a logger would not)::

    handler = logging.FileHandler("asl.log")
    handler.addFilter(JobTagFilter())
    handler.setFormatter(logging.Formatter(JOB_TAG_FORMAT))

Inside a job, ``record.job_tag`` is ``job-<id>``, inside a sub-job ``job-<parent>/job-<id>``
(the parent is the job that constructed it, ``LoadJob.parent``), and ``-`` outside any job.
``record.job_id`` and ``record.job`` are set as the record factory of ``context.py`` sets
them (0 and "" outside a job), for records made before that factory was installed.
The filter runs on the thread that logs, so it sees that thread's job; a handler that hands
records to another thread (``QueueHandler``) must have the filter before the queue.
"""

from __future__ import annotations

import logging

from .context import current_job

#: The documented format: time, job tag, level, logger, message.
JOB_TAG_FORMAT = "%(asctime)s %(job_tag)s %(levelname)s %(name)s: %(message)s"


def job_tag(job: object | None) -> str:
    """``job-<id>``, ``job-<parent>/job-<id>`` for a sub-job, ``-`` for None."""
    if job is None:
        return "-"
    parent = job.parent
    if parent is None:
        return f"job-{job.job_id}"
    return f"job-{parent.job_id}/job-{job.job_id}"


class JobTagFilter(logging.Filter):
    """Adds ``job_tag`` (and ``job_id``, ``job``) to every record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = current_job()
        record.job_tag = job_tag(job)
        if not hasattr(record, "job_id"):
            record.job_id, record.job = (0, "") if job is None else (job.job_id, job.name)
        return True
