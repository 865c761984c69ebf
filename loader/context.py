"""Which load job runs on this thread, and log records that say so.

A worker sets the current job around each job function.  ``current_job()`` is how a job
function (or anything it calls) finds itself; the loader uses it to tell a wait from inside a
job from a wait on a query thread (reference §2.7).

Every log record created while a job runs carries ``job_id`` and ``job`` (0 and "" elsewhere),
whatever logger emitted it, so a handler or the history store can attribute it.  We chain one
record factory onto whatever factory was installed before us, once per process.

``add_record_tap(fn)`` has that factory also call ``fn(record)`` with each record created
inside a job, whatever the logging configuration: no handler, logger filter or
``propagate = False`` stands in between, so ``basicConfig``/``dictConfig`` can neither remove
nor silence a tap.  A record exists only once its logger's level (and ``logging.disable``)
let it through, so those still apply.  A tap runs on the logging thread, inside the job: it
should be quick and not block.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .job import LoadJob

_local = threading.local()

RecordTap = Callable[[logging.LogRecord], object]

# Copy-on-write: add/remove replace the tuple under _taps_lock, the record factory reads
# whichever tuple is current without a lock.
_taps: tuple[RecordTap, ...] = ()
_taps_lock = threading.Lock()


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


def add_record_tap(tap: RecordTap) -> None:
    """Call ``tap(record)`` with every log record created inside a job, from now on.

    The record is passed as the record factory made it, with ``job_id``/``job`` set; the
    attributes given in ``extra=`` are set on it only afterwards.  Records made by
    ``logging.makeLogRecord`` (no logger name; their attributes are filled in afterwards) are
    not passed.  A tap that raises never fails the logging call or the job: the error is
    printed to stderr as logging prints a handler's (when ``logging.raiseExceptions``).  What
    a tap logs itself is not passed to taps again.  Adding a tap twice calls it twice.
    """
    global _taps
    with _taps_lock:
        _taps = (*_taps, tap)


def remove_record_tap(tap: RecordTap) -> None:
    """Stop calling ``tap`` (once per ``add_record_tap``); a tap not added is ignored."""
    global _taps
    with _taps_lock:
        taps = list(_taps)
        if tap in taps:
            taps.remove(tap)
            _taps = tuple(taps)


def _run_taps(taps: tuple[RecordTap, ...], record: logging.LogRecord) -> None:
    if record.name is None or getattr(_local, "tapping", False):
        return
    _local.tapping = True
    try:
        for tap in taps:
            try:
                tap(record)
            except Exception:
                _report_tap_error(tap)
    finally:
        _local.tapping = False


def _report_tap_error(tap: RecordTap) -> None:
    if not logging.raiseExceptions:
        return
    try:
        sys.stderr.write(f"--- Logging error in record tap {tap!r} ---\n")
        traceback.print_exc(file=sys.stderr)
    except Exception:  # stderr closed or broken: nothing more to do
        pass


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
            taps = _taps
            if taps:
                _run_taps(taps, record)
        return record

    factory._asl_job_context = True
    logging.setLogRecordFactory(factory)


_install_record_factory()
