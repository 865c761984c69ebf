"""The calls that block until jobs finish: wait, wait_all, remove, pause and shutdown.

``Waiting`` is a part of ``AsyncLoader`` (its base class), kept apart because none of it is on
a job's hot path: it only counts waiters, raises priorities through the core's
``_prioritize_locked`` and blocks on latches (``latches.py``) outside the loader lock.  The
lock rules are the engine's (see Locking in ``loader.py``); ``*_locked`` methods are called
with the lock held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .compaction import compact_if_due_locked, retire_locked
from .context import current_job
from .errors import AsyncLoadCanceled, AsyncLoadWaitFailed, LogicalError, format_exception
from .graph import depends_on
from .job import CANCELED, PENDING, REMOVED, LoadJob, check_job
from .latches import acquire_despite_interrupts, block_locked, new_latch
from .logs import log
from .task import jobs_of

if TYPE_CHECKING:
    from .columns import Columns
    from .pool import PoolState
    from .progress import Progress


#: How often a blocked wait retries spawning after a worker thread failed to start.
RESPAWN_INTERVAL = 0.05
#: How often a wait with no failure known looks whether one happened since it blocked (a
#: wake-up per second per blocked waiter; the latch still ends the wait at once).
RESPAWN_CHECK = 1.0

class Waiting:
    """wait(), wait_all(), remove(), pause(), unpause() and shutdown() of ``AsyncLoader``."""

    # The core's state this part reads and writes (set by AsyncLoader.__init__).
    _lock: threading.Lock
    _columns: Columns
    _pools: list[PoolState]
    _jobs: list[LoadJob | None]
    _scheduled: int
    _finished: int
    _is_running: bool
    _shutdown: bool
    _shutdown_jobs: list[LoadJob]
    _idle_latches: list[threading.Lock]
    _progress: Progress
    _log_events: bool
    _spawn_failed: bool

    if TYPE_CHECKING:  # the core's methods this part calls
        def _prioritize_locked(self, job: LoadJob, new_pool: int) -> None: ...
        def _can_spawn_locked(self, pool: PoolState) -> bool: ...
        def _spawn_locked(self, pool: PoolState) -> bool: ...
        def _notify_idle_locked(self) -> None: ...
        def _update_current_priority_and_spawn_locked(self) -> None: ...
        def _respawn_locked(self) -> None: ...
        def _finish_locked(self, slot: int, status: int,
                           error: BaseException | None) -> None: ...

    # -- waiting for one job --------------------------------------------------------------
    def wait(self, job: LoadJob, *, no_throw: bool = False, timeout: float | None = None) -> Any:
        """Block until ``job`` finishes; return its function's result.

        Raises ``AsyncLoadWaitFailed`` if it FAILED or was CANCELED (unless ``no_throw``),
        ``TimeoutError`` after ``timeout`` seconds.  From inside a job, the waited job is raised
        to the more urgent of the waiter's execution and current pools, and a worker waiting on
        its own pool is replaced for the duration so the pool keeps its parallelism.

        The job's waiter hooks run around the wait, outside the loader lock and under the
        job's own lock (as ClickHouse runs them under the job's mutex): a slow hook stalls
        only that job's waiters, and a hook may call the loader.  An increment hook that
        raises refuses the wait; once it has returned, the decrement hook always follows.
        """
        check_job(job, "wait")
        with self._lock:
            if job._loader is not self:
                current = current_job()
                where = "in another AsyncLoader" if job._loader is not None else "not scheduled"
                raise LogicalError(
                    f"Load job '{current.name if current else '<none>'}' waits for {where} "
                    f"load job '{job.name}'; schedule it first (wait_load() does both)"
                )
            if self._status_locked(job) != PENDING:
                return self._outcome(job, no_throw)
            self._refuse_waiting_on_a_dependent(job)
            increment, decrement = job.on_waiters_increment, job.on_waiters_decrement
            if (increment is not None or decrement is not None) and job._hooks_lock is None:
                job._hooks_lock = threading.Lock()
            hooks_lock = job._hooks_lock
        if increment is not None:
            with hooks_lock:
                increment(job)  # may raise to refuse the wait
        try:
            self._wait_counted(job, timeout)
        finally:
            if decrement is not None:
                with hooks_lock:
                    decrement(job)
        return self._outcome(job, no_throw)

    def _status_locked(self, job: LoadJob) -> int:
        """A scheduled job's status, from its row or, once removed, from the job itself."""
        slot = job._slot
        return job._final[0] if slot == REMOVED else self._columns.status[slot]

    def _wait_counted(self, job: LoadJob, timeout: float | None) -> None:
        """The wait itself: counted as a waiter, blocked on the job's own latch."""
        with self._lock:
            if self._status_locked(job) != PENDING:
                return  # finished while the increment hook ran
            latch, suspended, waiting, waiter = self._begin_wait_locked(job)
        # Blocked outside the loader lock, on the job's own latch: a Ctrl-C here cannot
        # leave the loader lock in a wrong state (Condition.wait re-acquiring it could).
        finished = False
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0)
        try:
            while True:
                # Bounded, so that a worker failing to start after this wait began (the one
                # this job needs, maybe) is retried from here too.
                poll = RESPAWN_INTERVAL if self._spawn_failed else RESPAWN_CHECK
                remaining = poll if deadline is None else \
                    min(max(deadline - time.monotonic(), 0), poll)
                finished = latch.acquire(timeout=remaining)
                if finished:
                    latch.release()  # let the next waiter through
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if self._spawn_failed:
                    with self._lock:
                        self._respawn_locked()
        finally:
            interrupt = acquire_despite_interrupts(self._lock)
            try:
                self._end_wait_locked(job, suspended, waiting, waiter)
            finally:
                self._lock.release()
            if interrupt is not None:
                raise interrupt
        if not finished and job.status == PENDING:
            raise TimeoutError(
                f"Load job '{job.name}' did not finish within {timeout} s "
                f"(status {job.status.name})"
            )

    def _outcome(self, job: LoadJob, no_throw: bool) -> Any:
        error = job._error
        if error is None:
            return job.result
        if no_throw:
            return None
        raise AsyncLoadWaitFailed(f"Waited job failed: {format_exception(error)}") from error

    def _refuse_waiting_on_a_dependent(self, job: LoadJob) -> None:
        """From inside a job, waiting on itself or on a job that depends on it never ends."""
        current = current_job()
        if current is not None and current._loader is self:
            if job is current or depends_on(job, current):
                raise LogicalError(
                    f"Load job '{current.name}' waits for dependent load job '{job.name}'"
                )

    def _begin_wait_locked(
        self, job: LoadJob
    ) -> tuple[threading.Lock, PoolState | None, PoolState | None, LoadJob | None]:
        """Everything wait() does under the lock before it blocks on a pending job.

        Returns the latch to block on, the pool whose suspended-worker count was raised, the
        pool whose waiting-worker count was raised (a worker blocked in a wait runs nothing)
        and the waiting job (from inside a job), for ``_end_wait_locked``.

        Inheritance: the waited job is raised to the more urgent of the waiter's execution
        pool and its current pool (ClickHouse uses only the execution pool, which deadlocks
        when a job raised by a more urgent waiter waits on a child queued in its own, now
        outranked, pool: reference 2.7 step b).  While it waits, the waiter records what it
        waits for, so that a boost it gets later reaches that job too.  The stand-in worker is
        counted where the waiting worker is: in its execution pool.
        """
        cols = self._columns
        slot = job._slot
        current = current_job()
        suspended: PoolState | None = None
        waiting: PoolState | None = None
        waiter: LoadJob | None = None
        if current is not None and current._loader is self:
            waiter = current
            current_slot = current._slot
            waiter_pool = self._pools[cols.execution_pool_id[current_slot]]
            assigned = self._pools[cols.pool_id[current_slot]]
            urgent = assigned if assigned.priority < waiter_pool.priority else waiter_pool
            waiting = waiter_pool
            waiter_pool.waiting_workers += 1
            current._awaiting = job
            self._notify_idle_locked()  # wait_all() re-checks whether anything can still run
            if urgent.priority < self._pools[cols.pool_id[slot]].priority:
                self._prioritize_locked(job, urgent.id)
            if cols.pool_id[slot] == waiter_pool.id:
                # The waiting worker cannot run the job itself: spawn a stand-in.
                suspended = waiter_pool
                waiter_pool.suspended_workers += 1
                self._notify_idle_locked()  # wait_all() re-checks whether anything can run
                if self._can_spawn_locked(waiter_pool):
                    self._spawn_locked(waiter_pool)
            elif self._can_spawn_locked(waiter_pool):
                self._spawn_locked(waiter_pool)
        if self._log_events:
            log(logging.DEBUG, "Wait load job '%s' in %s", job.name,
                self._pools[cols.pool_id[slot]].name)
        if job._latch is None:
            job._latch = new_latch()  # released once, when the job finishes
        cols.waiters[slot] += 1
        return job._latch, suspended, waiting, waiter

    def _end_wait_locked(self, job: LoadJob, suspended: PoolState | None,
                         waiting: PoolState | None, waiter: LoadJob | None) -> None:
        """Undo ``_begin_wait_locked``'s counts (the job may have been removed meanwhile)."""
        if suspended is not None:
            suspended.suspended_workers -= 1
        if waiting is not None:
            waiting.waiting_workers -= 1
        if waiter is not None:
            waiter._awaiting = None
        slot = job._slot
        if slot == REMOVED:
            final = job._final
            final[3] -= 1  # FINAL_FIELDS: waiters
            left, status = final[3], final[0]
        else:
            cols = self._columns
            cols.waiters[slot] -= 1
            left, status = cols.waiters[slot], cols.status[slot]
        if left == 0 and status != PENDING:
            job.on_waiters_increment = job.on_waiters_decrement = None

    # -- waiting for the whole loader -----------------------------------------------------
    def wait_all(self, timeout: float | None = None) -> None:
        """Block until no job is scheduled and every worker has exited.

        Raises ``LogicalError`` instead of hanging when jobs are pending but nothing can run
        them (the loader is paused), and ``TimeoutError`` after ``timeout`` seconds.
        """
        self._refuse_from_own_job("wait_all")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._scheduled or any(p.workers for p in self._pools):
                self._respawn_locked()  # a worker that failed to start is retried
                # Workers blocked in a wait run nothing; while paused no stand-in may
                # start, so they count as no worker at all.
                runnable = any(
                    p.workers > (0 if self._is_running else p.waiting_workers)
                    for p in self._pools
                )
                if self._scheduled and not runnable:
                    names = ", ".join(
                        self._columns.names[s] for s in self._pending_slots_locked(limit=10)
                    )
                    raise LogicalError(
                        f"Waiting for load jobs to finish while being stopped: {names}"
                        f"{', ...' if self._scheduled > 10 else ''}; unpause() the loader "
                        "first, or remove() these jobs"
                    )
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(
                        f"{self._scheduled} load jobs still pending after {timeout} s"
                    )
                if self._spawn_failed:
                    remaining = RESPAWN_INTERVAL if remaining is None else \
                        min(remaining, RESPAWN_INTERVAL)
                self._block_locked(remaining)

    def _block_locked(self, timeout: float | None) -> None:
        """Wait for the next ``_notify_idle_locked`` (or the timeout), outside the lock;
        returns with the lock held again."""
        block_locked(self._lock, self._idle_latches, timeout)

    def _refuse_from_own_job(self, method: str) -> None:
        """``method`` waits for every running job: from inside one it would wait for itself."""
        current = current_job()
        if current is not None and current._loader is self:
            raise LogicalError(
                f"Load job '{current.name}' calls {method}(), which would wait for itself to "
                "finish; call it from outside the loader's jobs"
            )

    def _pending_slots_locked(self, limit: int) -> list[int]:
        status, present = self._columns.status, self._columns.present
        found = []
        for slot in range(len(status)):
            if status[slot] == PENDING and present[slot]:
                found.append(slot)
                if len(found) == limit:
                    break
        return found

    # -- removal, pause, shutdown ---------------------------------------------------------
    def remove(self, jobs: LoadJob | Iterable[Any]) -> None:
        """Cancel jobs not yet running, wait for running ones, and drop all from the table.

        Running jobs finish normally and keep their OK or FAILED status.  Jobs never
        scheduled are ignored.
        """
        targets = [j for j in jobs_of(jobs) if j._loader is self]
        cols = self._columns
        with self._lock:
            for job in targets:
                slot = job._slot  # REMOVED for a job removed before: nothing to do
                if slot >= 0 and cols.status[slot] == PENDING and \
                        not self._is_executing_locked(slot):
                    self._finish_locked(
                        slot, CANCELED, AsyncLoadCanceled(f"Load job '{job.name}' canceled")
                    )
            running = [j for j in targets if j._slot >= 0 and cols.status[j._slot] == PENDING]
        for job in running:
            self.wait(job, no_throw=True)
        with self._lock:
            for job in targets:
                slot = job._slot  # read again: a compaction may have moved it meanwhile
                if slot >= 0:
                    self._finished -= 1
                    self._progress.forget_locked(cols.finish_time[slot])
                    retire_locked(self, job, slot)
            compact_if_due_locked(self)

    def _is_executing_locked(self, slot: int) -> bool:
        cols = self._columns
        return (
            cols.status[slot] == PENDING
            and cols.dependencies_left[slot] == 0
            and cols.ready_seqno[slot] == 0
        )

    def pause(self) -> None:
        """Stop starting jobs and wait for running ones; pending jobs stay PENDING."""
        self._refuse_from_own_job("pause")
        with self._lock:
            self._is_running = False
            self._notify_idle_locked()  # wait_all() re-checks whether anything can still run
            while any(p.workers for p in self._pools):
                self._block_locked(None)

    def unpause(self) -> None:
        """Start running jobs again."""
        with self._lock:
            self._is_running = True
            self._update_current_priority_and_spawn_locked()

    @property
    def is_running(self) -> bool:
        return self._is_running

    def shutdown(self) -> None:
        """Cancel every pending job, wait for running ones, and refuse new jobs from now on.

        Finished jobs that were not removed stay in the table.  Idempotent.
        """
        self._refuse_from_own_job("shutdown")
        with self._lock:
            self._shutdown = True
            self._is_running = False
            self._notify_idle_locked()
            # Remembered, so that a shutdown() retried after an interrupted one (Ctrl-C, a
            # waiter hook refusing) still erases what the first one canceled.
            if self._scheduled:
                self._shutdown_jobs.extend(
                    self._jobs[s] for s in range(len(self._jobs))
                    if self._columns.status[s] == PENDING and self._columns.present[s]
                )
            pending = list(self._shutdown_jobs)
        self.remove(pending)
        with self._lock:
            self._shutdown_jobs.clear()
            while any(p.workers for p in self._pools):
                self._block_locked(None)
