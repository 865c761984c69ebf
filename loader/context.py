"""Which load job runs on this thread, and log records that say so.

A worker sets the current job around each job function.  ``current_job()`` is how a job
function (or anything it calls) finds itself; the loader uses it to tell a wait from inside a
job from a wait on a query thread (reference §2.7).

Every log record created while a job runs carries ``job_id`` and ``job`` (0 and "" elsewhere),
whatever logger emitted it, so a handler or the history store can attribute it.  We chain one
record factory onto whatever factory was installed before us, once per process.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .job import LoadJob

_local = threading.local()


def current_job() -> LoadJob | None:
    """The load job running on this thread, or None outside a job."""
    return getattr(_local, "job", None)


def job_context() -> threading.local:
    """The thread-local whose ``job`` attribute workers set around each job function."""
    return _local


def current_pool_or(pool: int | str) -> int | str:
    """The execution pool of the job running on this thread, else ``pool``.

    Inside a job, waiting should raise what it waits on to the job's own pool, not jump to
    the foreground pool (reference §2.13).
    """
    job = current_job()
    return pool if job is None else job.execution_pool_id


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_asl_job_context", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        job = getattr(_local, "job", None)
        if job is None:
            record.job_id, record.job = 0, ""
        else:
            record.job_id, record.job = job.job_id, job.name
        return record

    factory._asl_job_context = True
    logging.setLogRecordFactory(factory)


_install_record_factory()
