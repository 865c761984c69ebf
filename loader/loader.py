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
from inside a job raises the waited job to the waiter's execution pool.

Locking
-------
One lock, ``self._lock``, guards all loader state: the columns (``columns.py``), every
``PoolState``, the ready queues, the dependents lists and the counters.  Job functions never
run under it, nor do the waiter hooks (they run under the job's own ``_hooks_lock``).  Things
that do run under it must be fast and must not call back into the loader: dependency-failure
policies, and log calls when ``log_events`` is on.  No wait blocks on this lock itself:
waiting for a job blocks on that job's own latch, and wait_all/pause/shutdown on a latch of
their own (``_block``), outside the lock, so that Ctrl-C can never leave the lock in a wrong
state.  Reads of a single job's state (``job.status``) take no lock; they see a value that was
true at some instant.

Workers take the lock with ``_acquire_yielding``, not a plain ``acquire()``.  Under the GIL a
worker that sleeps on the OS lock is woken by every release and grabs the lock before it has
the GIL, so two workers of short jobs hand the lock and the GIL back and forth through the
kernel on every job (a lock convoy: half a context switch per job, which made two workers 1.5x
slower than one).  Yielding the GIL and retrying lets the holder run on until CPython's switch
interval, as a single thread would.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from time import perf_counter_ns, time_ns
from typing import Any

import pyarrow as pa

from .columns import Columns
from .context import current_job, job_context
from .errors import (
    AsyncLoadCanceled,
    AsyncLoadCycle,
    AsyncLoadFailed,
    AsyncLoadWaitFailed,
    LogicalError,
    format_exception,
)
from .job import LoadJob, LoadStatus
from .pool import InvalidArgument, Pool, PoolState, UnknownPool, resolve_max_threads
from .snapshot import NameOrder, build_pools_table, build_table
from .task import jobs_of

logger = logging.getLogger("asl.loader")

PENDING, OK, FAILED, CANCELED = 0, 1, 2, 3
_STATUS_NAMES = ("PENDING", "OK", "FAILED", "CANCELED")

#: Progress is logged every this many finished jobs, or every this many seconds.
PROGRESS_EACH_JOBS = 256
PROGRESS_EACH_SECONDS = 5.0


def _log(level: int, message: str, *args: object, **kwargs: Any) -> None:
    """Log, but never let a broken handler break the loader.

    Many of these calls run under the loader lock or in a worker between a job and its
    bookkeeping: an exception escaping from a handler there would leave a job PENDING for ever.
    """
    try:
        logger.log(level, message, *args, **kwargs)
    except Exception:  # noqa: BLE001 - the handler's problem, not the loader's
        pass


#: How many times a worker yields the GIL and retries before it sleeps on the lock.  Each
#: yield lasts until the holder gives the GIL up (at most the switch interval, 5 ms by
#: default), so a holder that runs Python is waited for without spinning; the bound stops a
#: worker spinning on a holder that sleeps with the lock held (a thread start, a log handler's
#: I/O) for longer than a few microseconds.
YIELDS_BEFORE_SLEEP = 32


def _acquire_yielding(lock: threading.Lock) -> None:
    """Take ``lock``, yielding the GIL between tries before sleeping on it (see Locking)."""
    if lock.acquire(False):
        return
    for _ in range(YIELDS_BEFORE_SLEEP):
        time.sleep(0)  # releases the GIL: the holder runs on to its release
        if lock.acquire(False):
            return
    lock.acquire()


def _now_us() -> int:
    return time.time_ns() // 1000


class AsyncLoader:
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
        self._finishing_worker_pool: PoolState | None = None  # see _enqueue
        # One latch per blocked wait_all/pause/shutdown, released by _notify_idle: see _block.
        self._idle_latches: list[threading.Lock] = []
        self._name_order = NameOrder()  # cached between snapshots; see snapshot.py
        self._log_failures = log_failures
        self._log_progress = log_progress
        self._log_events = log_events
        # Progress of the current busy period (reference §2.16).
        self._old_jobs = 0
        self._busy_start = 0
        self._last_progress_log = 0.0

    # -- context manager ------------------------------------------------------------------
    def __enter__(self) -> AsyncLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- pools ----------------------------------------------------------------------------
    def _pool(self, pool: int | str) -> PoolState:
        if isinstance(pool, str):
            try:
                return self._pools[self._pool_by_name[pool]]
            except KeyError:
                raise UnknownPool(
                    f"Unknown pool {pool!r}; this loader has pools {list(self._pool_by_name)}"
                ) from None
        if isinstance(pool, int) and not isinstance(pool, bool) and 0 <= pool < len(self._pools):
            return self._pools[pool]
        raise UnknownPool(
            f"Unknown pool {pool!r}; pool ids are 0..{len(self._pools) - 1} "
            f"({', '.join(f'{p.id}={p.name}' for p in self._pools)})"
        )

    def pool_id(self, name: str) -> int:
        return self._pool(name).id

    def pool_name(self, pool: int | str) -> str:
        return self._pool(pool).name

    def pool_priority(self, pool: int | str) -> int:
        return self._pool(pool).priority

    @property
    def pools(self) -> tuple[Pool, ...]:
        """The pools as they are now (``max_threads`` reflects ``set_max_threads``)."""
        return tuple(Pool(p.name, p.max_threads, p.priority) for p in self._pools)

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
                while self._can_spawn(state):
                    self._spawn(state)

    def get_max_threads(self, pool: int | str) -> int:
        return self._pool(pool).max_threads

    def suspended_workers_count(self, pool: int | str) -> int:
        return self._pool(pool).suspended_workers

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
            new = self._gather(roots)  # raises on a cycle or a foreign job, before any change
            if not new:
                return
            if self._shutdown:
                raise AsyncLoadCanceled("AsyncLoader was shut down")
            pools, initial_pools = self._resolve_pools(new)
            # Nothing below may raise: a half-registered graph would be worse than any error.
            now = _now_us()
            if self._scheduled == 0:
                self._old_jobs = self._finished
                self._busy_start = now
                self._last_progress_log = time.monotonic()
            base = len(self._jobs)
            self._columns.extend([job.name for job in new], pools, initial_pools, now)
            # Slots are set only once the rows exist: a lock-free reader of job.status never
            # sees a slot without a row.
            for slot, (job, pool) in enumerate(zip(new, pools, strict=True), base):
                job._pool = pool
                job._loader = self
                job._slot = slot
            self._jobs.extend(new)
            self._scheduled += len(new)
            after_failure = self._link(new, now)
            if after_failure:
                self._apply_finished_dependencies(after_failure)
            if self._log_events:
                for job in new:
                    _log(logging.DEBUG, "Schedule load job '%s' into %s", job.name,
                         self._pools[job._pool].name)

    def _resolve_pools(self, jobs: list[LoadJob]) -> tuple[list[int], list[int]]:
        """Each job's current and initial pool as ids; raises UnknownPool before any change."""
        ids = range(len(self._pools))
        current = [job._pool for job in jobs]
        initial = [job._initial_pool for job in jobs]
        for column in (current, initial):
            # Almost always every entry is already a valid id: check them all at C speed.
            # (A bool never gets here: LoadJob refuses it as a pool.)
            if not self._pool_ids.issuperset(column):
                column[:] = [p if type(p) is int and p in ids else self._pool(p).id
                             for p in column]
        return current, initial

    def _gather(self, roots: list[LoadJob]) -> list[LoadJob]:
        """The unscheduled jobs reachable from ``roots``: depth-first, each job before its
        dependencies (the reference's order, which fixes the order of job ids).

        The same walk detects cycles: it only enters unscheduled jobs, and a job scheduled
        earlier can never depend on one scheduled now, so any cycle lies among the new jobs.
        Raises ``AsyncLoadCycle`` naming exactly the jobs on the cycle.
        """
        # Marks in job._walk, unique to this walk so no clean-up is ever needed: an attribute
        # is far cheaper than a dict keyed by id() on a 100k-job graph.
        on_path, done = object(), object()
        new: list[LoadJob] = []
        path: list[LoadJob] = []  # the jobs entered and not yet left; iters[i + 1] is path[i]'s
        iters: list[Iterator[LoadJob]] = [iter(roots)]  # roots: deps of a virtual first job
        top = iters[0]
        while True:
            dep = next(top, None)
            if dep is None:
                iters.pop()
                if not iters:
                    break
                top = iters[-1]
                path.pop()._walk = done
                continue
            mark = dep._walk
            if mark is done:
                continue
            if mark is on_path:
                cycle = path[path.index(dep):] + [dep]
                raise AsyncLoadCycle(
                    "Load job dependency cycle detected: "
                    + " -> ".join(job.name for job in cycle)
                )
            if dep._loader is not None:  # scheduled earlier: ours, or a misuse
                self._refuse_foreign(dep)
                dep._walk = done
                continue
            dep._walk = on_path
            new.append(dep)
            path.append(dep)
            top = iter(dep._dependencies)
            iters.append(top)
        return new

    def _refuse_foreign(self, job: LoadJob) -> None:
        if job._loader is not None and job._loader is not self:
            raise LogicalError(
                f"Load job '{job.name}' is already scheduled in another AsyncLoader; "
                "a job belongs to one loader: build a new LoadJob for this one"
            )

    def _link(self, new: list[LoadJob], now: int) -> list[LoadJob]:
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
                self._enqueue(slot, now)
                continue
            mine = priority[pool_id[slot]]
            may_raise = mine < least_urgent  # else no dependency can be less urgent than it
            blocked = 0
            failed = False
            for dep in deps:
                d = dep._slot
                dep_ids.append(d + 1)
                state = status[d]
                if state == PENDING:
                    waiting = dep._dependents
                    if waiting is None:
                        dep._dependents = [slot]
                    else:
                        waiting.append(slot)
                    blocked += 1
                    if may_raise and mine < priority[pool_id[d]]:
                        self._prioritize(dep, pool_id[slot])
                elif state != OK:
                    failed = True
            end += len(deps)
            offsets.append(end)
            if failed:
                after_failure.append(job)
            if blocked:
                left[slot] = blocked
            else:
                self._enqueue(slot, now)
        return after_failure

    def _apply_finished_dependencies(self, jobs: list[LoadJob]) -> None:
        """Apply each job's policy to dependencies that had already failed when it was
        scheduled (ClickHouse does this after every new job is linked and enqueued)."""
        status = self._columns.status
        for job in jobs:
            for dep in job._dependencies:
                if status[job._slot] != PENDING:
                    break  # canceled by an earlier dependency or a cascade in this call
                if status[dep._slot] in (FAILED, CANCELED):
                    reason = self._call_policy(job, dep)
                    if reason is not None:
                        self._finish(job._slot, CANCELED, reason)

    def _enqueue(self, slot: int, now: int) -> None:
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
        if self._can_spawn(pool):
            self._spawn(pool)

    # -- prioritization -------------------------------------------------------------------
    def prioritize(self, job: LoadJob | None, pool: int | str) -> None:
        """Raise ``job`` and, recursively, its dependencies to ``pool``; never lowers.

        A ready job moves to the new pool's queue keeping its place (``ready_seqno``); an
        executing job keeps running where it is, but reports the new pool.
        """
        if job is None:
            return
        _check_job(job, "prioritize")
        with self._lock:
            target = self._pool(pool).id
            if job._loader is not None and job._loader is not self:
                raise LogicalError(f"Load job '{job.name}' belongs to another AsyncLoader")
            self._prioritize(job, target)

    def _prioritize(self, job: LoadJob, new_pool: int) -> None:
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
                    if self._can_spawn(target):
                        self._spawn(target)
            else:
                job._pool = new_pool
            if self._log_events:
                _log(logging.DEBUG, "Prioritize load job '%s': %s -> %s", job.name, old.name,
                     target.name)
            stack.extend(job._dependencies)

    # -- workers and the priority gate ----------------------------------------------------
    def _can_spawn(self, pool: PoolState) -> bool:
        return (
            pool.workers < pool.max_threads + pool.suspended_workers  # usually false: first
            and pool.ready_count > 0
            and self._is_running
            and (self._current_priority is None or self._current_priority >= pool.priority)
        )

    def _can_worker_live(self, pool: PoolState) -> bool:
        return (
            self._is_running
            and pool.ready_count > 0
            and pool.workers <= pool.max_threads + pool.suspended_workers
            and (self._current_priority is None or self._current_priority >= pool.priority)
        )

    def _spawn(self, pool: PoolState) -> None:
        if self._log_events and self._current_priority != pool.priority:
            _log(logging.DEBUG, "Change current priority: %s -> %s",
                         "none" if self._current_priority is None else self._current_priority,
                         pool.priority)
        self._current_priority = pool.priority
        pool.workers += 1
        if self._log_events:
            _log(logging.DEBUG, "Spawn loader worker #%d in %s", pool.workers, pool.name)
        thread = threading.Thread(
            target=self._worker, args=(pool,), name=f"asl-{pool.name}", daemon=True
        )
        try:
            thread.start()
        except Exception as exc:  # out of threads or memory: roll back, as ClickHouse does
            pool.workers -= 1
            if pool.workers == 0 and not any(p.workers for p in self._pools):
                self._current_priority = None
            self._notify_idle()
            _log(logging.WARNING, "Cannot spawn a loader worker in %s: %s; the pool's ready "
                 "jobs wait for a running worker or the next spawn", pool.name, exc)

    def _update_current_priority_and_spawn(self) -> None:
        active = [p.priority for p in self._pools if p.workers or p.ready_count]
        priority = min(active) if active else None
        if self._log_events and priority != self._current_priority:
            _log(logging.DEBUG, "Change current priority: %s -> %s",
                         "none" if self._current_priority is None else self._current_priority,
                         "none" if priority is None else priority)
        self._current_priority = priority
        for pool in self._pools:
            while self._can_spawn(pool):
                self._spawn(pool)

    def _worker(self, pool: PoolState) -> None:
        context = job_context()
        cols = self._columns
        jobs = self._jobs
        ready_seqno, execution_pool_id = cols.ready_seqno, cols.execution_pool_id
        start_time, start_ns = cols.start_time, cols.start_ns
        lock = self._lock
        slot = -1
        error: BaseException | None = None
        result: Any = None
        while True:
            if not lock.acquire(False):  # the uncontended case, inline: it is the common one
                _acquire_yielding(lock)
            try:
                # One clock reading per lock hold: the finish, the enqueues it causes and the
                # next start happen at the same instant, as far as the table can tell.
                now_ns = perf_counter_ns()
                now = time_ns() // 1000
                if slot >= 0:
                    pool.executing -= 1
                    self._finishing_worker_pool = pool
                    try:
                        if error is None:
                            self._finish_ok(slot, result, now, now_ns)
                        else:
                            self._finish(slot, FAILED, error)
                    finally:
                        self._finishing_worker_pool = None
                    slot, error, result = -1, None, None
                if not self._can_worker_live(pool):
                    pool.workers -= 1
                    if self._log_events:
                        _log(logging.DEBUG, "Stop worker in %s", pool.name)
                    if pool.workers == 0:
                        self._update_current_priority_and_spawn()
                    self._notify_idle()
                    return
                slot = pool.pop()
                job = jobs[slot]
                ready_seqno[slot] = 0
                execution_pool_id[slot] = pool.id
                start_time[slot] = now
                start_ns[slot] = now_ns
                pool.executing += 1
                func = job._func
                if self._log_events:
                    _log(logging.DEBUG, "Execute load job '%s' in %s", job.name, pool.name)
            finally:
                lock.release()
            context.job = job
            try:
                result = func(self, job)
            except BaseException as exc:  # noqa: BLE001 - a job may raise anything, even SystemExit
                error = AsyncLoadFailed(f"Load job '{job.name}' failed: {format_exception(exc)}")
                error.__cause__ = exc
                if self._log_failures:
                    _log(logging.ERROR, "Load job '%s' failed", job.name, exc_info=exc)
            finally:
                context.job = None
            del job, func

    # -- finishing and cancellation -------------------------------------------------------
    def _call_policy(self, job: LoadJob, failed: LoadJob) -> BaseException | None:
        try:
            reason = job._dependency_failure(job, failed)
        except Exception as exc:  # a broken policy must not break the loader
            reason = AsyncLoadCanceled(
                f"Load job '{job.name}' canceled: its dependency_failure policy raised "
                f"{format_exception(exc)}"
            )
            reason.__cause__ = exc
            return reason
        if reason is None or isinstance(reason, BaseException):
            return reason
        return AsyncLoadCanceled(
            f"Load job '{job.name}' canceled: its dependency_failure policy returned "
            f"{type(reason).__name__} {reason!r:.200}, not an exception or None"
        )

    def _mark_finished(
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
        if self._log_events:
            _log(logging.DEBUG, "Finish load job '%s' with status %s", job.name,
                 _STATUS_NAMES[status])
        self._scheduled -= 1
        self._finished += 1
        dependents = job._dependents
        job._dependents = None
        return dependents or ()

    def _finish_ok(self, slot: int, result: Any, now: int, now_ns: int) -> None:
        """A worker's job returned: the hot path, so ``_mark_finished`` and ``_enqueue`` are
        inlined for what an executing job can be (no queue entry, no dependencies left)."""
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
        if self._log_events:
            _log(logging.DEBUG, "Finish load job '%s' with status OK", job.name)
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
                        self._enqueue(d, now)
        if self._log_progress:
            self._report_progress()
        if self._scheduled == 0:
            self._notify_idle()

    def _finish(self, slot: int, status: int, error: BaseException | None) -> None:
        """Finish a job and propagate to its dependents, depth-first, without recursion.

        A failed or canceled job counts as done for its dependents (their ``dependencies_left``
        drops) and then their policy decides whether they are canceled too.
        """
        cols = self._columns
        left, st = cols.dependencies_left, cols.status
        now = _now_us()  # the whole cascade happens in one lock hold: at one instant
        # Two parallel stacks, not a stack of tuples: fewer objects for the GC to count.
        parents = [slot]
        iters = [iter(self._mark_finished(slot, status, error, now))]
        while iters:
            parent = parents[-1]
            parent_ok = st[parent] == OK
            for d in iters[-1]:
                if st[d] != PENDING:
                    continue  # canceled meanwhile
                left[d] -= 1
                reason = None
                if not parent_ok:
                    reason = self._call_policy(self._jobs[d], self._jobs[parent])
                if left[d] == 0:
                    if reason is None:
                        self._enqueue(d, now)
                    else:
                        # ClickHouse enqueues, then cancels under the same lock: keep what
                        # that leaves visible (a seqno spent, an enqueue_time) and skip the
                        # queue round trip, which dominates a long cascade.
                        self._last_ready_seqno += 1
                        if cols.enqueue_time[d] == 0:
                            cols.enqueue_time[d] = now
                if reason is not None:
                    parents.append(d)
                    iters.append(iter(self._mark_finished(d, CANCELED, reason, now)))
                    break
            else:
                parents.pop()
                iters.pop()
                self._report_progress()
        if self._scheduled == 0:
            self._notify_idle()

    def _report_progress(self) -> None:
        if not self._log_progress:
            return
        processed = self._finished - self._old_jobs
        total = self._finished + self._scheduled - self._old_jobs
        now = time.monotonic()
        if total > 0 and (
            processed % PROGRESS_EACH_JOBS == 0
            or now - self._last_progress_log >= PROGRESS_EACH_SECONDS
        ):
            self._last_progress_log = now
            _log(logging.INFO, "Processed: %.1f%%", processed * 100.0 / total)

    # -- waiting --------------------------------------------------------------------------
    def wait(self, job: LoadJob, *, no_throw: bool = False, timeout: float | None = None) -> Any:
        """Block until ``job`` finishes; return its function's result.

        Raises ``AsyncLoadWaitFailed`` if it FAILED or was CANCELED (unless ``no_throw``),
        ``TimeoutError`` after ``timeout`` seconds.  From inside a job, the waited job is raised
        to the waiter's execution pool, and a worker waiting on its own pool is replaced for
        the duration so the pool keeps its parallelism.

        The job's waiter hooks run around the wait, outside the loader lock and under the
        job's own lock (as ClickHouse runs them under the job's mutex): a slow hook stalls
        only that job's waiters, and a hook may call the loader.  An increment hook that
        raises refuses the wait; once it has returned, the decrement hook always follows.
        """
        _check_job(job, "wait")
        with self._lock:
            if job._loader is not self:
                current = current_job()
                where = "in another AsyncLoader" if job._loader is not None else "not scheduled"
                raise LogicalError(
                    f"Load job '{current.name if current else '<none>'}' waits for {where} "
                    f"load job '{job.name}'; schedule it first (wait_load() does both)"
                )
            if self._columns.status[job._slot] != PENDING:
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

    def _wait_counted(self, job: LoadJob, timeout: float | None) -> None:
        """The wait itself: counted as a waiter, blocked on the job's own latch."""
        with self._lock:
            if self._columns.status[job._slot] != PENDING:
                return  # finished while the increment hook ran
            latch, suspended, waiting = self._begin_wait(job)
        # Blocked outside the loader lock, on the job's own latch: a Ctrl-C here cannot
        # leave the loader lock in a wrong state (Condition.wait re-acquiring it could).
        finished = False
        try:
            finished = latch.acquire(timeout=-1 if timeout is None else max(timeout, 0))
            if finished:
                latch.release()  # let the next waiter through
        finally:
            interrupt = self._acquire_despite_interrupts()
            try:
                self._end_wait(job, suspended, waiting)
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

    def _acquire_despite_interrupts(self) -> BaseException | None:
        """Take the loader lock even if Ctrl-C arrives meanwhile; return that interrupt.

        Undoing a wait's counts must not be skipped: a waiter count or a suspended worker
        left behind would be wrong for ever.
        """
        interrupt = None
        while True:
            try:
                self._lock.acquire()
                return interrupt
            except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
                interrupt = exc

    def _refuse_waiting_on_a_dependent(self, job: LoadJob) -> None:
        """From inside a job, waiting on itself or on a job that depends on it never ends."""
        current = current_job()
        if current is not None and current._loader is self:
            if job is current or self._depends_on(job, current):
                raise LogicalError(
                    f"Load job '{current.name}' waits for dependent load job '{job.name}'"
                )

    def _begin_wait(
        self, job: LoadJob
    ) -> tuple[threading.Lock, PoolState | None, PoolState | None]:
        """Everything wait() does under the lock before it blocks on a pending job.

        Returns the latch to block on, the pool whose suspended-worker count was raised and
        the pool whose waiting-worker count was raised (a worker blocked in a wait runs
        nothing), for ``_end_wait``.
        """
        cols = self._columns
        slot = job._slot
        current = current_job()
        suspended: PoolState | None = None
        waiting: PoolState | None = None
        if current is not None and current._loader is self:
            waiter_pool = self._pools[cols.execution_pool_id[current._slot]]
            waiting = waiter_pool
            waiter_pool.waiting_workers += 1
            self._notify_idle()  # wait_all() re-checks whether anything can still run
            if waiter_pool.priority < self._pools[cols.pool_id[slot]].priority:
                self._prioritize(job, waiter_pool.id)
            if cols.pool_id[slot] == waiter_pool.id:
                # The waiting worker cannot run the job itself: spawn a stand-in.
                suspended = waiter_pool
                waiter_pool.suspended_workers += 1
                self._notify_idle()  # wait_all() re-checks whether anything can still run
                if self._can_spawn(waiter_pool):
                    self._spawn(waiter_pool)
            elif self._can_spawn(waiter_pool):
                self._spawn(waiter_pool)
        if self._log_events:
            _log(logging.DEBUG, "Wait load job '%s' in %s", job.name,
                 self._pools[cols.pool_id[slot]].name)
        if job._latch is None:
            job._latch = threading.Lock()
            job._latch.acquire()  # released once, when the job finishes
        cols.waiters[slot] += 1
        return job._latch, suspended, waiting

    def _end_wait(self, job: LoadJob, suspended: PoolState | None,
                  waiting: PoolState | None) -> None:
        """Undo ``_begin_wait``'s counts; called with the lock held."""
        if suspended is not None:
            suspended.suspended_workers -= 1
        if waiting is not None:
            waiting.waiting_workers -= 1
        cols = self._columns
        slot = job._slot
        cols.waiters[slot] -= 1
        if cols.waiters[slot] == 0 and cols.status[slot] != PENDING:
            job.on_waiters_increment = job.on_waiters_decrement = None

    def _depends_on(self, job: LoadJob, ancestor: LoadJob) -> bool:
        """Is ``ancestor`` among the transitive dependencies of ``job``?"""
        seen: set[int] = set()
        stack = list(job._dependencies)
        while stack:
            dep = stack.pop()
            if dep is ancestor:
                return True
            if id(dep) not in seen:
                seen.add(id(dep))
                stack.extend(dep._dependencies)
        return False

    def wait_all(self, timeout: float | None = None) -> None:
        """Block until no job is scheduled and every worker has exited.

        Raises ``LogicalError`` instead of hanging when jobs are pending but nothing can run
        them (the loader is paused), and ``TimeoutError`` after ``timeout`` seconds.
        """
        self._refuse_from_own_job("wait_all")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._scheduled or any(p.workers for p in self._pools):
                # Workers blocked in a wait run nothing; while paused no stand-in may
                # start, so they count as no worker at all.
                runnable = any(
                    p.workers > (0 if self._is_running else p.waiting_workers)
                    for p in self._pools
                )
                if self._scheduled and not runnable:
                    names = ", ".join(
                        self._columns.names[s] for s in self._pending_slots(limit=10)
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
                self._block(remaining)

    def _notify_idle(self) -> None:
        """Wake every blocked wait_all/pause/shutdown to re-check its condition; under the lock.
        """
        for latch in self._idle_latches:
            latch.release()
        self._idle_latches.clear()

    def _block(self, timeout: float | None) -> None:
        """Wait for the next ``_notify_idle`` (or the timeout); called and returns with the lock
        held, like ``Condition.wait``, but blocks on a latch of its own outside the lock.

        A Condition over the loader lock re-takes that lock in a ``finally`` after its wait: a
        second Ctrl-C landing there leaves the caller's ``with`` releasing a lock it does not
        hold (maybe a worker's).  Here the lock is re-taken whatever arrives, and the interrupt
        is raised only once it is held again (as in ``wait``).
        """
        latch = threading.Lock()
        latch.acquire()
        self._idle_latches.append(latch)  # released, once, by _notify_idle under the lock
        self._lock.release()
        try:
            latch.acquire(timeout=-1 if timeout is None else max(timeout, 0))
        finally:
            interrupt = self._acquire_despite_interrupts()
            if latch in self._idle_latches:  # timed out or interrupted: not notified
                self._idle_latches.remove(latch)
        if interrupt is not None:
            raise interrupt

    def _refuse_from_own_job(self, method: str) -> None:
        """``method`` waits for every running job: from inside one it would wait for itself."""
        current = current_job()
        if current is not None and current._loader is self:
            raise LogicalError(
                f"Load job '{current.name}' calls {method}(), which would wait for itself to "
                "finish; call it from outside the loader's jobs"
            )

    def _pending_slots(self, limit: int) -> list[int]:
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
                slot = job._slot
                if cols.status[slot] == PENDING and not self._is_executing(slot):
                    self._finish(
                        slot, CANCELED, AsyncLoadCanceled(f"Load job '{job.name}' canceled")
                    )
            running = [j for j in targets if cols.status[j._slot] == PENDING]
        for job in running:
            self.wait(job, no_throw=True)
        with self._lock:
            for job in targets:
                slot = job._slot
                if cols.present[slot]:
                    cols.present[slot] = 0
                    cols.errors.pop(slot, None)
                    self._jobs[slot] = None
                    self._finished -= 1
                    if cols.finish_time[slot] < self._busy_start:
                        self._old_jobs -= 1

    def _is_executing(self, slot: int) -> bool:
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
            self._notify_idle()  # wait_all() re-checks whether anything can still run
            while any(p.workers for p in self._pools):
                self._block(None)

    def unpause(self) -> None:
        """Start running jobs again."""
        with self._lock:
            self._is_running = True
            self._update_current_priority_and_spawn()

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
            self._notify_idle()
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
                self._block(None)

    # -- introspection --------------------------------------------------------------------
    def snapshot(self) -> pa.Table:
        """The state of every scheduled and finished-not-removed job: the SPEC §3 table."""
        with self._lock:
            columns = self._columns.copy()
            now_ns = perf_counter_ns()
        return build_table(columns, self._pool_names(), self._pool_priorities(), now_ns,
                           self._name_order)

    def pool_snapshot(self) -> pa.Table:
        """One row per pool: limits, workers and queue lengths."""
        with self._lock:
            rows = [
                (p.id, p.name, p.priority, p.max_threads, p.workers, p.suspended_workers,
                 p.ready_count, p.executing)
                for p in self._pools
            ]
        return build_pools_table(rows)

    def _pool_names(self) -> list[str]:
        return [p.name for p in self._pools]

    def _pool_priorities(self) -> list[int]:
        return [p.priority for p in self._pools]

    def __repr__(self) -> str:
        return (
            f"<AsyncLoader pools={[p.name for p in self._pools]} scheduled={self._scheduled} "
            f"finished={self._finished}{' paused' if not self._is_running else ''}>"
        )


def _check_job(job: object, method: str) -> None:
    if not isinstance(job, LoadJob):
        raise TypeError(f"AsyncLoader.{method}() takes a LoadJob, got {type(job).__name__}")


__all__ = ["AsyncLoader", "LoadStatus"]
