"""Finishing a job other than by a worker's success: failures, cancellations, and the
cascade they start through the dependents' dependency-failure policies.

``Cascade`` is a part of ``AsyncLoader`` (its base class).  A worker's OK finish, the hot path,
stays in the core (``_finish_ok_locked`` inlines ``_mark_finished_locked``); what is here runs
once per failed, canceled or removed job.  Every method is called with the loader lock held.
"""

from __future__ import annotations

import logging
import threading
from time import perf_counter_ns, time_ns
from typing import TYPE_CHECKING

from .job import CANCELED, FAILED, OK, PENDING, STATUS_NAMES, LoadJob, call_policy
from .journal import record_finish_locked
from .logs import log

if TYPE_CHECKING:
    from .columns import Columns
    from .journal import Journal
    from .pool import PoolState
    from .progress import Progress


class Cascade:
    """_finish_locked() and what it needs, of ``AsyncLoader``."""

    _columns: Columns
    _pools: list[PoolState]
    _jobs: list[LoadJob | None]
    _scheduled: int
    _finished: int
    _last_ready_seqno: int
    _progress: Progress
    _log_progress: bool
    _log_events: bool
    _idle_latches: list[threading.Lock]
    _journals: list[Journal]

    if TYPE_CHECKING:  # the core's methods this part calls
        def _enqueue_locked(self, slot: int, now: int) -> None: ...
        def _notify_idle_locked(self) -> None: ...

    def _apply_finished_dependencies_locked(self, jobs: list[LoadJob]) -> None:
        """Apply each job's policy to dependencies that had already failed when it was
        scheduled (ClickHouse does this after every new job is linked and enqueued)."""
        status = self._columns.status
        for job in jobs:
            for dep in job._dependencies:
                if status[job._slot] != PENDING:
                    break  # canceled by an earlier dependency or a cascade in this call
                d = dep._slot
                if (status[d] if d >= 0 else dep._final[0]) in (FAILED, CANCELED):
                    reason = call_policy(job, dep)
                    if reason is not None:
                        self._finish_locked(job._slot, CANCELED, reason)

    def _mark_finished_locked(
        self, slot: int, status: int, error: BaseException | None, now: int
    ) -> list[int] | tuple[()]:
        cols = self._columns
        job = self._jobs[slot]
        seqno = cols.ready_seqno[slot]
        if seqno:  # canceled while in a ready queue: its entry goes stale, then is counted
            cols.ready_seqno[slot] = 0
            self._pools[cols.pool_id[slot]].discard()
        if error is not None:  # before the status: lock-free readers see both or neither
            job._error = error
            cols.errors[slot] = error
        cols.dependencies_left[slot] = 0
        cols.finish_time[slot] = now
        if cols.start_ns[slot]:
            cols.elapsed_ns[slot] = max(1, perf_counter_ns() - cols.start_ns[slot])
        cols.status[slot] = status
        job._func = None
        job._dependency_failure = None
        if cols.waiters[slot] == 0:
            job.on_waiters_increment = job.on_waiters_decrement = None
        if job._latch is not None:
            job._latch.release()
        if self._journals:
            record_finish_locked(self._journals, cols, job, slot, status, now)
        if self._log_events:
            log(logging.DEBUG, "Finish load job '%s' with status %s", job.name,
                STATUS_NAMES[status])
        self._scheduled -= 1
        self._finished += 1
        dependents = job._dependents
        job._dependents = None
        return dependents or ()

    def _finish_locked(self, slot: int, status: int, error: BaseException | None,
                       now: int | None = None) -> None:
        """Finish a job and propagate to its dependents, depth-first, without recursion.

        A failed or canceled job counts as done for its dependents (their ``dependencies_left``
        drops) and then their policy decides whether they are canceled too.
        """
        cols = self._columns
        left, st = cols.dependencies_left, cols.status
        if now is None:  # a worker passes its own: its next job starts at the same instant
            now = time_ns() // 1000  # the whole cascade happens in one lock hold: one instant
        # Two parallel stacks, not a stack of tuples: fewer objects for the GC to count.
        parents = [slot]
        iters = [iter(self._mark_finished_locked(slot, status, error, now))]
        while iters:
            parent = parents[-1]
            parent_ok = st[parent] == OK
            for d in iters[-1]:
                if st[d] != PENDING:
                    continue  # canceled meanwhile
                left[d] -= 1
                reason = None
                if not parent_ok:
                    reason = call_policy(self._jobs[d], self._jobs[parent])
                if left[d] == 0:
                    if reason is None:
                        self._enqueue_locked(d, now)
                    else:
                        # ClickHouse enqueues, then cancels under the same lock: keep what
                        # that leaves visible (a seqno spent, an enqueue_time) and skip the
                        # queue round trip, which dominates a long cascade.
                        self._last_ready_seqno += 1
                        if cols.enqueue_time[d] == 0:
                            cols.enqueue_time[d] = now
                if reason is not None:
                    parents.append(d)
                    iters.append(iter(self._mark_finished_locked(d, CANCELED, reason, now)))
                    break
            else:
                parents.pop()
                iters.pop()
                if self._log_progress:
                    self._progress.report_locked(self._finished, self._scheduled)
        if self._scheduled == 0:
            self._notify_idle_locked()
