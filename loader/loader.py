"""AsyncLoader: runs a graph of load jobs in prioritized pools of threads.

A port of ClickHouse's ``src/Common/AsyncLoader.h``; ../shared/reference has the exact rules.

Glossary
--------
job       a ``LoadJob``: a function, the jobs it depends on, and the pool it runs in.
task      a ``LoadTask``: the owner of a set of jobs; removing it cancels what has not run.
goals     the jobs of a task that others should depend on (all of them if none are named).
pool      a set of workers with a fixed priority and a limit on threads that can change.
priority  an int per pool; **lower is more urgent**.  A job's priority is its pool's.
worker    a thread started for one pool; it runs ready jobs until its pool has none or is
          outranked, then exits.  No thread ever idles waiting for work.

Lifecycle of a job
------------------
::

    LoadJob(...) -> schedule() -> blocked -> ready -> executing -> OK | FAILED
                                    |          |
                                    +----------+-> CANCELED (removed, or a dependency failed)

    removed: remove() drops a finished job from the table (its object keeps its final state)

A scheduled pending job is in exactly one state: *blocked* (dependencies left), *ready* (in
its pool's ready queue, with a ``ready_seqno``) or *executing* (a worker took it).  Its status
stays PENDING until it finishes.

The priority rule
-----------------
No job of a lower-priority pool starts while a higher-priority pool has a ready or executing
job.  ``_current_priority`` is the most urgent priority among active pools (a pool is active
while it has workers or ready jobs); a pool may spawn only if it is at least that urgent.
Started jobs are never preempted: an outranked worker finishes its job and exits.

Priority only rises.  Scheduling a job raises its dependencies to its pool; ``prioritize``
raises a job and, recursively, its dependencies, stopping at jobs already high enough; waiting
from inside a job raises the waited job to the more urgent of the waiter's execution and current
pools, and a boost of a job blocked in such a wait reaches what it waits for.

Locking
-------
One lock, ``self._lock``, guards all loader state: the columns (``columns.py``), every
``PoolState``, the ready queues, the dependents lists, the counters, and the fields of
``LoadJob`` that job.py says the loader owns.  **Every method or function whose name ends in
``_locked`` must be called with this lock held**; it returns with the lock still held (only
``_block_locked`` lets go of it meanwhile, as ``Condition.wait`` does).  Job functions never
run under it, nor do the waiter hooks (they run under the job's own ``_hooks_lock``).  Things
that do run under it must be fast and must not call back into the loader: dependency-failure
policies, and log calls when ``log_events`` is on.  No wait blocks on this lock itself:
waiting for a job blocks on that job's own latch, and wait_all/pause/shutdown on a latch of
their own (``latches.py``), outside the lock, so that Ctrl-C can never leave the lock in a wrong
state.  Reads of a single job's state (``job.status``) take no lock; they see a value that was
true at some instant.

Workers take the lock with ``acquire_yielding``, not a plain ``acquire()``.  Under the GIL a
worker that sleeps on the OS lock is woken by every release and grabs the lock before it has
the GIL, so two workers of short jobs hand the lock and the GIL back and forth through the
kernel on every job (a lock convoy: half a context switch per job, which made two workers 1.5x
slower than one).  Yielding the GIL and retrying lets the holder run on until CPython's switch
interval, as a single thread would.

Where things are
----------------
This module is the core: scheduling, the priority gate, the workers and a job's OK finish,
all under the one lock.  The leaf ideas live beside it, each in its own module:

- ``waiting.py``: wait, wait_all, remove, pause, shutdown (a base class of ``AsyncLoader``);
- ``cascade.py``: failures, cancellations and their cascade through the dependents'
  policies (a base class too);
- ``graph.py``: schedule()'s walk and its cycle detection, ancestry;
- ``latches.py``: blocking outside the lock, and taking it;
- ``introspection.py``: snapshot() and open_journal() (a base class); ``journal.py``: the
  lifecycle journal's buffers and tables;
- ``progress.py`` (``Processed: N%``), ``logs.py`` and ``logtags.py`` (JobTagFilter);
- ``pool.py``: pools, their ready queues and the pool accessors (a base class);
- ``columns.py`` and ``snapshot.py``: per-job state and its tables;
- ``job.py``: jobs, the statuses, dependency-failure policies.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from time import perf_counter_ns, time_ns
from typing import Any

from .cascade import Cascade
from .columns import Columns
from .context import job_context
from .errors import AsyncLoadCanceled, AsyncLoadFailed, LogicalError, format_exception
from .graph import gather_locked
from .introspection import Introspection
from .job import FAILED, OK, PENDING, REMOVED, LoadJob, LoadStatus, check_job
from .journal import Journal, record_finish_locked, record_start_locked
from .latches import acquire_yielding, release_all_locked
from .logs import log
from .pool import InvalidArgument, Pool, PoolLookup, PoolState, resolve_max_threads
from .progress import Progress
from .snapshot import NameOrder
from .task import jobs_of
from .waiting import RESPAWN_INTERVAL, Waiting


def _now_us() -> int:
    return time_ns() // 1000


class AsyncLoader(Waiting, Cascade, Introspection, PoolLookup):
    """Schedules load jobs, runs them in pools of worker threads, and tracks their state."""

    def __init__(
        self,
        pools: Sequence[Pool],
        *,
        paused: bool = False,
        log_failures: bool = True,
        log_progress: bool = False,
        log_events: bool = False,
    ) -> None:
        pools = list(pools)
        if not pools:
            raise InvalidArgument("AsyncLoader needs at least one Pool")
        for p in pools:
            if not isinstance(p, Pool):
                raise TypeError(f"pools must be Pool objects, got {type(p).__name__}")
        names = [p.name for p in pools]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"pool names must be unique, got {names}")
        self._lock = threading.Lock()
        self._columns = Columns()
        self._pools = [PoolState(i, p, self._columns) for i, p in enumerate(pools)]
        self._pool_by_name = {p.name: p.id for p in self._pools}
        self._pool_ids = frozenset(p.id for p in self._pools)
        self._jobs: list[LoadJob | None] = []  # by slot; None once removed
        self._scheduled = 0  # pending jobs
        self._finished = 0  # finished jobs not yet removed
        self._is_running = not paused
        self._shutdown = False
        self._shutdown_jobs: list[LoadJob] = []  # what shutdown() is removing
        self._current_priority: int | None = None
        self._last_ready_seqno = 0
        self._finishing_worker_pool: PoolState | None = None  # see _enqueue_locked
        # One latch per blocked wait_all/pause/shutdown, released by _notify_idle_locked.
        self._idle_latches: list[threading.Lock] = []
        self._name_order = NameOrder()  # cached between snapshots; see snapshot.py
        self._log_failures = log_failures
        self._log_progress = log_progress
        self._log_events = log_events
        self._progress = Progress()
        # The open journals (journal.py); a list changed in place under the lock, so that
        # workers can keep a reference.  Empty, it costs each event one falsy check.
        self._journals: list[Journal] = []
        self._last_job_id = 0
        # Compaction (compaction.py): removed rows not yet dropped, and the seqlock's epoch,
        # odd while a compaction rewrites the columns.
        self._removed_rows = 0
        self._epoch = 0
        # A worker thread failed to start: blocked waits retry the spawn (see _respawn_locked).
        self._spawn_failed = False

    # -- context manager ------------------------------------------------------------------
    def __enter__(self) -> AsyncLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- pools ----------------------------------------------------------------------------
    def set_max_threads(self, pool: int | str, max_threads: int) -> None:
        """Change a pool's thread limit; 0 means one per CPU core.

        A raise spawns workers at once; a cut takes effect as running jobs finish (workers
        are never interrupted).
        """
        value = resolve_max_threads(max_threads)
        with self._lock:
            state = self._pool(pool)
            state.max_threads = value
            if self._is_running:
                while self._can_spawn_locked(state) and self._spawn_locked(state):
                    pass

    def scheduled_job_count(self) -> int:
        """The number of scheduled jobs that have not finished."""
        return self._scheduled

    # -- scheduling -----------------------------------------------------------------------
    def schedule(self, target: LoadJob | Any | Iterable[Any]) -> None:
        """Schedule jobs and tasks atomically, with every unscheduled dependency they have.

        Jobs already scheduled or finished are ignored.  A cycle among the new jobs raises
        ``AsyncLoadCycle`` and leaves every one of them unscheduled.
        """
        roots = jobs_of(target)
        with self._lock:
            new = gather_locked(self, roots)  # raises on a cycle or a foreign job: no change yet
            if not new:
                return
            if self._shutdown:
                raise AsyncLoadCanceled("AsyncLoader was shut down")
            pools, initial_pools = self._resolve_pools_locked(new)
            # Nothing below may raise: a half-registered graph would be worse than any error.
            now = _now_us()
            if self._scheduled == 0:
                self._progress.begin_locked(self._finished, now)
            base = len(self._jobs)
            first_id = self._last_job_id + 1
            self._last_job_id += len(new)
            self._columns.extend([job.name for job in new], pools, initial_pools, now, first_id)
            # Slots are set only once the rows exist: a lock-free reader of job.status never
            # sees a slot without a row.
            for slot, job_id, job, pool in zip(range(base, base + len(new)),
                                               range(first_id, self._last_job_id + 1), new,
                                               pools, strict=True):
                job._pool = pool
                job._loader = self
                job._id = job_id
                job._slot = slot
            self._jobs.extend(new)
            self._scheduled += len(new)
            after_failure = self._link_locked(new, now)
            if after_failure:
                self._apply_finished_dependencies_locked(after_failure)
            if self._log_events:
                for job in new:
                    log(logging.DEBUG, "Schedule load job '%s' into %s", job.name,
                         self._pools[job._pool].name)

    def _link_locked(self, new: list[LoadJob], now: int) -> list[LoadJob]:
        """Record each new job's dependencies, count the pending ones, inherit priority, and
        enqueue the jobs that are ready; return the jobs with a dependency that had failed."""
        cols = self._columns
        status, left, pool_id = cols.status, cols.dependencies_left, cols.pool_id
        dep_ids, offsets = cols.dep_ids, cols.dep_offsets
        end = offsets[-1]
        priority = [p.priority for p in self._pools]
        least_urgent = max(priority)
        after_failure = []
        for job in new:
            slot = job._slot
            deps = job._dependencies
            if not deps:
                offsets.append(end)
                self._enqueue_locked(slot, now)
                continue
            mine = priority[pool_id[slot]]
            may_raise = mine < least_urgent  # else no dependency can be less urgent than it
            blocked = 0
            failed = False
            for dep in deps:
                d = dep._slot
                dep_ids.append(dep._id)
                # A removed dependency (finished, its row maybe compacted away) keeps its
                # status on the object.
                state = status[d] if d >= 0 else dep._final[0]
                if state == PENDING:
                    waiting = dep._dependents
                    if waiting is None:
                        dep._dependents = [slot]
                    else:
                        waiting.append(slot)
                    blocked += 1
                    if may_raise and mine < priority[pool_id[d]]:
                        self._prioritize_locked(dep, pool_id[slot])
                elif state != OK:
                    failed = True
            end += len(deps)
            offsets.append(end)
            if failed:
                after_failure.append(job)
            if blocked:
                left[slot] = blocked
            else:
                self._enqueue_locked(slot, now)
        return after_failure

    def _enqueue_locked(self, slot: int, now: int) -> None:
        """Put a job whose dependencies are all done into its pool's ready queue (once per job);
        ``now`` is the caller's clock reading (one per lock hold: its events share that instant).
        """
        cols = self._columns
        seqno = self._last_ready_seqno = self._last_ready_seqno + 1
        cols.ready_seqno[slot] = seqno
        cols.enqueue_time[slot] = now
        pool = self._pools[cols.pool_id[slot]]
        pool.push(seqno, slot)
        if pool.workers >= pool.max_threads + pool.suspended_workers:
            return  # every worker it may have is busy: the common case while a graph runs
        if pool is self._finishing_worker_pool and pool.ready_count == 1:
            # A worker of this pool is finishing a job and will take this one next: a new
            # worker would find nothing to do (ClickHouse spawns it anyway, per its TODO).
            # If that worker exits instead, its exit spawns what the queue needs.
            return
        if self._can_spawn_locked(pool):
            self._spawn_locked(pool)

    # -- prioritization -------------------------------------------------------------------
    def prioritize(self, job: LoadJob | None, pool: int | str) -> None:
        """Raise ``job`` and, recursively, its dependencies to ``pool``; never lowers.

        A ready job moves to the new pool's queue keeping its place (``ready_seqno``); an
        executing job keeps running where it is, but reports the new pool.
        """
        if job is None:
            return
        check_job(job, "prioritize")
        with self._lock:
            target = self._pool(pool).id
            if job._loader is not None and job._loader is not self:
                raise LogicalError(f"Load job '{job.name}' belongs to another AsyncLoader")
            self._prioritize_locked(job, target)

    def _prioritize_locked(self, job: LoadJob, new_pool: int) -> None:
        cols = self._columns
        target = self._pools[new_pool]
        stack = [job]
        while stack:
            job = stack.pop()
            if job._loader is not None and job._loader is not self:
                continue  # another loader's job: schedule() will refuse the graph anyway
            slot = job._slot
            if slot >= 0:
                old = self._pools[cols.pool_id[slot]]
            elif slot == REMOVED:
                old = self._pools[job._final[1]]
            else:
                old = self._pool(job._pool)
            if old.priority <= target.priority:
                continue  # already this urgent: so are its dependencies (an invariant)
            if slot >= 0:
                seqno = cols.ready_seqno[slot]
                cols.pool_id[slot] = new_pool
                if seqno and cols.status[slot] == PENDING:
                    old.discard()
                    target.move_in(seqno, slot)
                    if self._can_spawn_locked(target):
                        self._spawn_locked(target)
                elif job._awaiting is not None:
                    # It runs, blocked on another job: that job holds up this one, so it
                    # needs the boost too (else it may wait in an outranked pool for ever).
                    stack.append(job._awaiting)
            elif slot == REMOVED:
                job._final[1] = new_pool
            else:
                job._pool = new_pool
            if self._log_events:
                log(logging.DEBUG, "Prioritize load job '%s': %s -> %s", job.name, old.name,
                     target.name)
            stack.extend(job._dependencies)

    # -- workers and the priority gate ----------------------------------------------------
    def _can_spawn_locked(self, pool: PoolState) -> bool:
        return (
            pool.workers < pool.max_threads + pool.suspended_workers  # usually false: first
            and pool.ready_count > 0
            and self._is_running
            and (self._current_priority is None or self._current_priority >= pool.priority)
        )

    def _can_worker_live_locked(self, pool: PoolState) -> bool:
        return (
            self._is_running
            and pool.ready_count > 0
            and pool.workers <= pool.max_threads + pool.suspended_workers
            and (self._current_priority is None or self._current_priority >= pool.priority)
        )

    def _spawn_locked(self, pool: PoolState) -> bool:
        """Start one worker for ``pool``; False if its thread could not start (rolled back).
        Loops that spawn while ``_can_spawn_locked`` holds must stop on False: the failure
        leaves that condition true, and retrying at once would spin under the lock."""
        if self._log_events and self._current_priority != pool.priority:
            log(logging.DEBUG, "Change current priority: %s -> %s",
                         "none" if self._current_priority is None else self._current_priority,
                         pool.priority)
        self._current_priority = pool.priority
        pool.workers += 1
        if self._log_events:
            log(logging.DEBUG, "Spawn loader worker #%d in %s", pool.workers, pool.name)
        lane = pool.take_lane()
        thread = threading.Thread(
            target=self._worker, args=(pool, lane), name=f"asl-{pool.name}-{lane}", daemon=True
        )
        try:
            thread.start()
        except Exception as exc:  # out of threads or memory: roll back, as ClickHouse does
            pool.free_lane(lane)
            pool.workers -= 1
            if pool.workers == 0 and not any(p.workers for p in self._pools):
                self._current_priority = None
            self._spawn_failed = True
            self._notify_idle_locked()
            log(logging.WARNING, "Cannot spawn a loader worker in %s: %s; blocked waits retry "
                 "it every %.2f s", pool.name, exc, RESPAWN_INTERVAL)
            return False
        return True

    def _respawn_locked(self) -> None:
        """After a worker failed to start, try again the spawns the queues need (called by
        blocked waits, which would otherwise wait for a worker that never comes)."""
        if self._spawn_failed and self._is_running:
            self._spawn_failed = False  # set again by any spawn that fails now
            self._update_current_priority_and_spawn_locked()

    def _update_current_priority_and_spawn_locked(self) -> None:
        active = [p.priority for p in self._pools if p.workers or p.ready_count]
        priority = min(active) if active else None
        if self._log_events and priority != self._current_priority:
            log(logging.DEBUG, "Change current priority: %s -> %s",
                         "none" if self._current_priority is None else self._current_priority,
                         "none" if priority is None else priority)
        self._current_priority = priority
        for pool in self._pools:
            while self._can_spawn_locked(pool) and self._spawn_locked(pool):
                pass

    def _worker(self, pool: PoolState, lane: int) -> None:
        context = job_context()
        me = (lane, threading.get_native_id())  # what job.worker and job.thread_id read
        cols = self._columns
        jobs = self._jobs
        journals = self._journals  # changed in place, under the lock
        ready_seqno, execution_pool_id = cols.ready_seqno, cols.execution_pool_id
        start_time, start_ns = cols.start_time, cols.start_ns
        lock = self._lock
        job: LoadJob | None = None
        error: BaseException | None = None
        result: Any = None
        while True:
            if not lock.acquire(False):  # the uncontended case, inline: it is the common one
                acquire_yielding(lock)
            try:
                # One clock reading per lock hold: the finish, the enqueues it causes and the
                # next start happen at the same instant, as far as the table can tell.
                now_ns = perf_counter_ns()
                now = time_ns() // 1000
                if job is not None:
                    # Re-read: a compaction may have moved the row while the job ran.
                    slot = job._slot
                    pool.executing -= 1
                    self._finishing_worker_pool = pool
                    try:
                        if error is None:
                            self._finish_ok_locked(slot, result, now, now_ns)
                        else:
                            self._finish_locked(slot, FAILED, error, now)
                    finally:
                        self._finishing_worker_pool = None
                    job, error, result = None, None, None
                if not self._can_worker_live_locked(pool):
                    pool.workers -= 1
                    pool.free_lane(lane)
                    if self._log_events:
                        log(logging.DEBUG, "Stop worker in %s", pool.name)
                    if pool.workers == 0:
                        self._update_current_priority_and_spawn_locked()
                    self._notify_idle_locked()
                    return
                slot = pool.pop()
                job = jobs[slot]
                job._worker = me
                ready_seqno[slot] = 0
                execution_pool_id[slot] = pool.id
                start_time[slot] = now
                start_ns[slot] = now_ns
                pool.executing += 1
                func = job._func
                if journals:
                    record_start_locked(journals, cols, job, slot, now)
                if self._log_events:
                    log(logging.DEBUG, "Execute load job '%s' in %s", job.name, pool.name)
            finally:
                lock.release()
            context.job = job
            try:
                result = func(self, job)
            except BaseException as exc:  # noqa: BLE001 - a job may raise anything, even SystemExit
                error = AsyncLoadFailed(f"Load job '{job.name}' failed: {format_exception(exc)}")
                error.__cause__ = exc
                if self._log_failures:
                    log(logging.ERROR, "Load job '%s' failed", job.name, exc_info=exc)
            finally:
                context.job = None
            del func

    # -- finishing ------------------------------------------------------------------------
    def _finish_ok_locked(self, slot: int, result: Any, now: int, now_ns: int) -> None:
        """A worker's job returned: the hot path, so ``_mark_finished_locked`` and
        ``_enqueue_locked`` are inlined for what an executing job can be (no queue entry, no
        dependencies left)."""
        cols = self._columns
        job = self._jobs[slot]
        job.result = result
        elapsed = now_ns - cols.start_ns[slot]
        cols.finish_time[slot] = now
        cols.elapsed_ns[slot] = elapsed if elapsed > 0 else 1
        cols.status[slot] = OK
        job._func = job._dependency_failure = None
        if cols.waiters[slot] == 0:
            job.on_waiters_increment = job.on_waiters_decrement = None
        if job._latch is not None:
            job._latch.release()
        if self._journals:
            record_finish_locked(self._journals, cols, job, slot, OK, now)
        if self._log_events:
            log(logging.DEBUG, "Finish load job '%s' with status OK", job.name)
        self._scheduled -= 1
        self._finished += 1
        dependents = job._dependents
        if dependents is not None:
            job._dependents = None
            left, status = cols.dependencies_left, cols.status
            for d in dependents:
                if status[d] == PENDING:
                    n = left[d] - 1
                    left[d] = n
                    if n == 0:
                        self._enqueue_locked(d, now)
        if self._log_progress:
            self._progress.report_locked(self._finished, self._scheduled)
        if self._scheduled == 0:
            self._notify_idle_locked()

    def _notify_idle_locked(self) -> None:
        """Wake every blocked wait_all/pause/shutdown to re-check its condition."""
        release_all_locked(self._idle_latches)

    def __repr__(self) -> str:
        return (
            f"<AsyncLoader pools={[p.name for p in self._pools]} scheduled={self._scheduled} "
            f"finished={self._finished}{' paused' if not self._is_running else ''}>"
        )


__all__ = ["AsyncLoader", "LoadStatus"]
