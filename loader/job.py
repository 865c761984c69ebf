"""LoadJob, LoadStatus and the dependency-failure policies.

A job is a function plus the jobs it depends on.  Until it is scheduled it owns its state;
from ``schedule()`` on, its mutable state lives in the loader's columns (see ``columns.py``)
and the properties below read it from there, so the loader never has to visit job objects to
take a snapshot.

Who owns which field
--------------------
The creator (any thread, before ``schedule()``): ``name``, ``tags``, the waiter hooks, and
``_dependencies`` (through ``add_dependencies``, frozen once scheduled).

The loader, under its lock, from ``schedule()`` on: ``_loader``, ``_id`` (set once),
``_slot`` (the job's row: moved by a compaction, ``REMOVED`` once removed), ``_final`` (a
removed job's last row: see "Removed jobs" below), ``_awaiting`` (the job this one waits for,
while it waits), ``_pool`` (only before scheduling may ``prioritize()`` change it here; after,
the pool lives in the columns), ``_walk`` (schedule()'s marks), ``_dependents``, ``_latch``,
``_func`` and ``_dependency_failure`` (dropped at the finish), ``result`` and ``_error``
(written once, before the status is published), ``_worker`` (written once, at the start).
``_hooks_lock`` is made under the loader lock but guards only the hooks.  ``parent`` is set
at construction, from the thread's current job, and never changes.  Nothing else may write
these; anyone may read them.

Removed jobs and lock-free reads
--------------------------------
``remove()`` copies a job's row into ``_final`` and sets ``_slot = REMOVED``; the row itself
is dropped by the next compaction (``columns.py``), which also moves the rows of live jobs.
The properties read without the lock through a seqlock: the loader's ``_epoch`` is odd while
a compaction rewrites the columns, and a read that saw it odd or changed is retried, so a
reader never pairs a slot with another job's row.
"""

from __future__ import annotations

import datetime as _dt
import time
from array import array
from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from .context import current_job
from .errors import AsyncLoadCanceled, DependencyCanceled, LogicalError, format_exception

if TYPE_CHECKING:
    from .loader import AsyncLoader


class LoadStatus(IntEnum):
    """A job's outcome.  An executing job is still PENDING."""

    PENDING = 0
    OK = 1
    FAILED = 2
    CANCELED = 3


# The engine's copies of the statuses, as plain ints: its columns hold ints, and comparing or
# storing an IntEnum member costs a subclass check on every job.  Derived from LoadStatus, the
# one place the values and names are defined.
PENDING = int(LoadStatus.PENDING)
OK = int(LoadStatus.OK)
FAILED = int(LoadStatus.FAILED)
CANCELED = int(LoadStatus.CANCELED)
_STATUSES = tuple(sorted(LoadStatus))  # by value: cheaper than LoadStatus(value)
#: Status names by value: the dictionary of the table's ``status`` column.
STATUS_NAMES: tuple[str, ...] = tuple(s.name for s in sorted(LoadStatus))

DependencyFailurePolicy = Callable[["LoadJob", "LoadJob"], BaseException | None]
WaitersHook = Callable[["LoadJob"], None]
JobFunction = Callable[["AsyncLoader", "LoadJob"], Any]


def cancel_on_dependency_failure(job: LoadJob, failed_dependency: LoadJob) -> BaseException:
    """The default policy: cancel on the first failed or canceled dependency."""
    return DependencyCanceled(job.name, failed_dependency.exception)


def ignore_dependency_failure(job: LoadJob, failed_dependency: LoadJob) -> None:
    """Run the job anyway once every dependency has finished, however it finished."""
    return None


def call_policy(job: LoadJob, failed: LoadJob) -> BaseException | None:
    """``job``'s dependency-failure policy on ``failed``: the reason to cancel it, or None.

    Runs under the loader lock.  A policy that raises or returns something else than an
    exception or None cancels the job with a message that says so: a broken policy must not
    break the loader.  Whatever it raises, even KeyboardInterrupt or SystemExit: escaping here
    would leave a cascade (or a schedule()) half done under the lock.
    """
    try:
        reason = job._dependency_failure(job, failed)
    except BaseException as exc:  # noqa: BLE001 - see above
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


def check_job(job: object, method: str) -> None:
    """Refuse anything but a LoadJob as the argument of ``AsyncLoader.<method>()``."""
    if not isinstance(job, LoadJob):
        raise TypeError(f"AsyncLoader.{method}() takes a LoadJob, got {type(job).__name__}")


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


#: ``_slot`` of a job never scheduled, and of a removed one (its state is in ``_final``).
UNSCHEDULED = -1
REMOVED = -2
#: The columns a removed job keeps in ``_final``, in this order.
FINAL_FIELDS = ("status", "pool_id", "execution_pool_id", "waiters", "schedule_time",
                "enqueue_time", "start_time", "finish_time", "start_ns", "elapsed_ns")
_FINAL_INDEX = {name: i for i, name in enumerate(FINAL_FIELDS)}


def _as_datetime(microseconds: int) -> _dt.datetime | None:
    return None if microseconds == 0 else _EPOCH + _dt.timedelta(microseconds=microseconds)


class LoadJob:
    """One unit of loading: ``func(loader, job)`` runs once its dependencies have finished.

    ``dependencies`` can grow through ``add_dependencies`` until the job is scheduled; after
    that the job's shape is frozen.  ``pool`` is a pool id or name, resolved when scheduled.
    """

    __slots__ = (
        "_func", "name", "_dependencies", "_pool", "_initial_pool", "_dependency_failure",
        "on_waiters_increment", "on_waiters_decrement", "tags", "parent", "_worker",
        "result", "_error", "_loader", "_slot", "_latch", "_walk", "_dependents", "_hooks_lock",
        "_id", "_final", "_awaiting", "__weakref__",
    )

    def __init__(
        self,
        func: JobFunction,
        *,
        name: str = "",
        dependencies: Iterable[LoadJob] = (),
        pool: int | str = 0,
        dependency_failure: DependencyFailurePolicy | None = None,
        on_waiters_increment: WaitersHook | None = None,
        on_waiters_decrement: WaitersHook | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        if not callable(func):
            raise TypeError(
                f"LoadJob {name!r}: func must be callable as func(loader, job), "
                f"got {type(func).__name__}"
            )
        for hook_name, hook in (("dependency_failure", dependency_failure),
                                ("on_waiters_increment", on_waiters_increment),
                                ("on_waiters_decrement", on_waiters_decrement)):
            if hook is not None and not callable(hook):
                raise TypeError(
                    f"LoadJob {name!r}: {hook_name} must be callable or None, "
                    f"got {type(hook).__name__}"
                )
        if not isinstance(pool, (int, str)) or isinstance(pool, bool):
            raise TypeError(f"LoadJob {name!r}: pool must be a pool id (int) or name (str)")
        self._func: JobFunction | None = func
        self.name = str(name)
        self._dependencies: tuple[LoadJob, ...] = ()
        self._pool: int | str = pool  # current; prioritize() may raise it before scheduling
        self._initial_pool: int | str = pool  # the execution pool until the job starts
        self._dependency_failure = dependency_failure or cancel_on_dependency_failure
        self.on_waiters_increment = on_waiters_increment
        self.on_waiters_decrement = on_waiters_decrement
        self.tags: dict[str, str] = dict(tags) if tags else {}
        #: The job running on the thread that constructed this one (a sub-job's creator).
        self.parent: LoadJob | None = current_job()
        # (lane, native thread id) of the worker that took the job; set once, at its start.
        self._worker: tuple[int, int] | None = None
        self.result: Any = None
        self._error: BaseException | None = None
        self._loader: AsyncLoader | None = None
        self._slot = UNSCHEDULED
        self._id = 0
        self._final: array | None = None  # a removed job's last row (FINAL_FIELDS)
        self._awaiting: LoadJob | None = None  # the job this one waits for, from inside
        self._latch = None  # a lock held until the job finishes, made for its first waiter
        self._hooks_lock = None  # serializes the waiter hooks; made for the first hooked wait
        self._walk: object = None  # schedule()'s mark while it walks the graph
        # Slots of the pending jobs that depend on this one, kept by the loader (under its lock)
        # from schedule() to the finish; None when there are none.
        self._dependents: list[int] | None = None
        self.add_dependencies(*dependencies)

    def add_dependencies(self, *jobs: LoadJob) -> None:
        """Add dependencies; only before the job is scheduled."""
        if self._slot != UNSCHEDULED:
            raise LogicalError(
                f"Load job '{self.name}' is already scheduled: its dependencies are fixed; "
                "add dependencies before scheduling it"
            )
        for dep in jobs:
            if not isinstance(dep, LoadJob):
                raise TypeError(
                    f"LoadJob {self.name!r}: a dependency must be a LoadJob, "
                    f"got {type(dep).__name__}"
                )
        seen = {id(d) for d in self._dependencies}
        added = []
        for dep in jobs:
            if id(dep) not in seen:  # a set with identity semantics, in insertion order
                seen.add(id(dep))
                added.append(dep)
        self._dependencies += tuple(added)

    # -- read-only state ------------------------------------------------------------------
    @property
    def dependencies(self) -> tuple[LoadJob, ...]:
        return self._dependencies

    @property
    def parent_job_id(self) -> int:
        """The parent's job id, or 0 for a job created outside any job."""
        return 0 if self.parent is None else self.parent.job_id

    @property
    def worker(self) -> int | None:
        """The lane of the worker that ran (or runs) the job within its execution pool, or
        None if it never started.  Lanes are 0, 1, ...: a worker takes the lowest free one."""
        return None if self._worker is None else self._worker[0]

    @property
    def thread_id(self) -> int | None:
        """``threading.get_native_id()`` of the worker that ran the job, or None."""
        return None if self._worker is None else self._worker[1]

    @property
    def job_id(self) -> int:
        """0 until scheduled, then 1, 2, 3, ... in scheduling order, per loader."""
        return self._id

    def _cells(self, *columns: str) -> tuple[int, ...]:
        """This scheduled job's values of ``columns``, read without the lock: from its row,
        retried while a compaction moves the rows (the seqlock), or from ``_final``."""
        loader = self._loader
        while True:
            epoch = loader._epoch
            slot = self._slot
            if slot == REMOVED:
                final = self._final
                return tuple(final[_FINAL_INDEX[c]] for c in columns)
            cols = loader._columns
            try:
                values = tuple(getattr(cols, c)[slot] for c in columns)
            except IndexError:  # a slot from before a compaction, past the new end
                values = ()
            if epoch == loader._epoch and not epoch & 1 and values:
                return values
            time.sleep(0)  # a compaction runs: let it finish

    def _cell(self, column: str) -> int:
        """``_cells`` for one column, without its tuples (``job.status`` is read a lot)."""
        loader = self._loader
        while True:
            epoch = loader._epoch
            slot = self._slot
            if slot == REMOVED:
                return self._final[_FINAL_INDEX[column]]
            try:
                value = getattr(loader._columns, column)[slot]
            except IndexError:  # a slot from before a compaction, past the new end
                value = None
            if epoch == loader._epoch and not epoch & 1 and value is not None:
                return value
            time.sleep(0)  # a compaction runs: let it finish

    @property
    def status(self) -> LoadStatus:
        if self._slot == UNSCHEDULED:
            return LoadStatus.PENDING
        return _STATUSES[self._cell("status")]

    @property
    def exception(self) -> BaseException | None:
        """The stored error of a FAILED or CANCELED job, else None."""
        return self._error

    @property
    def pool_id(self) -> int | None:
        """The pool the job is assigned to now (prioritize() can change it, even mid-run).

        None only for an unscheduled job whose pool was given by name.
        """
        if self._slot != UNSCHEDULED:
            return self._cell("pool_id")
        return self._pool if isinstance(self._pool, int) else None

    @property
    def execution_pool_id(self) -> int | None:
        """The pool whose worker runs (or ran) the job; the initial pool until it starts."""
        if self._slot != UNSCHEDULED:
            return self._cell("execution_pool_id")
        return self._initial_pool if isinstance(self._initial_pool, int) else None

    @property
    def waiters_count(self) -> int:
        return 0 if self._slot == UNSCHEDULED else self._cell("waiters")

    def _time(self, column: str) -> _dt.datetime | None:
        if self._slot == UNSCHEDULED:
            return None
        return _as_datetime(self._cell(column))

    @property
    def schedule_time(self) -> _dt.datetime | None:
        return self._time("schedule_time")

    @property
    def enqueue_time(self) -> _dt.datetime | None:
        return self._time("enqueue_time")

    @property
    def start_time(self) -> _dt.datetime | None:
        return self._time("start_time")

    @property
    def finish_time(self) -> _dt.datetime | None:
        return self._time("finish_time")

    @property
    def elapsed(self) -> float:
        """Seconds of execution: to the finish, or to now while running; 0 if never started."""
        if self._slot == UNSCHEDULED:
            return 0.0
        start, elapsed = self._cells("start_ns", "elapsed_ns")
        if start == 0:
            return 0.0
        elapsed = elapsed or max(1, time.perf_counter_ns() - start)
        return elapsed / 1e9

    def __repr__(self) -> str:
        return f"<LoadJob {self.name!r} id={self.job_id} {self.status.name}>"
