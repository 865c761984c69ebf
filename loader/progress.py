"""Progress of a busy period, logged as ``Processed: N%`` (reference §2.16).

A busy period starts when a job is scheduled while none is pending; its total counts the jobs
finished in it plus those still pending.  Every method is called with the loader lock held.
"""

from __future__ import annotations

import logging
import time

from .logs import log

#: Progress is logged every this many finished jobs, or every this many seconds.
PROGRESS_EACH_JOBS = 256
PROGRESS_EACH_SECONDS = 5.0


class Progress:
    __slots__ = ("old_jobs", "busy_start", "last_log")

    def __init__(self) -> None:
        self.old_jobs = 0  # finished jobs from before the current busy period, not removed
        self.busy_start = 0  # microseconds since the epoch
        self.last_log = 0.0  # time.monotonic()

    def begin_locked(self, finished: int, now_us: int) -> None:
        """A busy period starts: the ``finished`` jobs in the table are old ones."""
        self.old_jobs = finished
        self.busy_start = now_us
        self.last_log = time.monotonic()

    def forget_locked(self, finish_time_us: int) -> None:
        """A finished job left the table (remove())."""
        if finish_time_us < self.busy_start:
            self.old_jobs -= 1

    def report_locked(self, finished: int, scheduled: int) -> None:
        processed = finished - self.old_jobs
        total = finished + scheduled - self.old_jobs
        now = time.monotonic()
        if total > 0 and (
            processed % PROGRESS_EACH_JOBS == 0 or now - self.last_log >= PROGRESS_EACH_SECONDS
        ):
            self.last_log = now
            log(logging.INFO, "Processed: %.1f%%", processed * 100.0 / total)
