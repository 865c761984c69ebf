"""The lifecycle journal: every job start and finish, recorded as it happens, drained as Arrow.

::

    journal = loader.open_journal()      # several may be open at once
    batch = journal.drain()              # the events since the last drain, oldest first
    batch.table                          # pyarrow.Table, JOURNAL_SCHEMA, one row per event
    batch.jobs                           # the LoadJob of each row (result, exception, tags)
    journal.dropped                      # events lost to a full buffer, cumulative
    journal.close()                      # or use it as a context manager

No Python callback runs per event.  The engine records an event under the loader lock at the
instant it happens: one tuple of the values the row needs, appended to each open journal's
buffer (when none is open, the whole cost is one falsy check of the loader's journal tuple).
A buffer holds at most ``capacity`` undrained events; past that, new events are counted in
``dropped`` instead, never lost silently.  ``drain()`` swaps the buffer out under the lock
(O(1)) and builds the table outside it, from the recorded values and the job objects' fixed
fields only (name, id, dependencies, parent, worker, error): it never reads the loader's
columns, so it works for jobs removed (or compacted away) since.

Two kinds of event: ``JOB_START`` (a worker took the job) and ``JOB_FINISH`` (OK, FAILED or
CANCELED, including jobs canceled without ever starting and jobs canceled by remove()).  A
row holds ``event``, ``event_time``, ``parent_job_id``, ``worker`` and ``thread_id``, then the
22 columns of SPEC §3 as they were at the event (pool and waiters included: they are read
then, so a later prioritize() or a waiter leaving does not change the row).  A start row says
PENDING, is_executing 1, is_blocked 0, is_ready 0, dependencies_left 0, elapsed 0, and NULL
ready_seqno, finish_time and exception; a finish row has the job's final state, the same as
its row in a snapshot taken right then.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import accumulate
from operator import itemgetter
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from .errors import format_exception
from .job import STATUS_NAMES, LoadJob
from .pool import InvalidArgument
from .snapshot import SCHEMA

if TYPE_CHECKING:
    from .columns import Columns
    from .loader import AsyncLoader

#: ``event`` values.
JOB_START = 1
JOB_FINISH = 2

_TS = pa.timestamp("us", tz="UTC")

#: The journal's rows: five columns of its own, then SPEC §3's 22 with their exact types.
JOURNAL_SCHEMA = pa.schema(
    [
        pa.field("event", pa.uint8(), nullable=False),
        pa.field("event_time", _TS, nullable=False),
        pa.field("parent_job_id", pa.uint64()),
        pa.field("worker", pa.uint32()),
        pa.field("thread_id", pa.uint64()),
        *SCHEMA,
    ]
)

# An event is a tuple of ints (kind, time, status, waiters, pool_id, execution_pool_id,
# schedule_time, enqueue_time, start_time, elapsed_ns), times in microseconds since the epoch
# (0 = none), and its job, in a parallel list.  Keeping the job out of the tuple matters: a
# tuple of ints is untracked by the garbage collector at its first collection, while one
# holding a job would be traversed by every full collection for as long as it is buffered.


def record_start_locked(journals: list[Journal], cols: Columns, job: LoadJob, slot: int,
                        now: int) -> None:
    """A worker took ``job`` at ``now``; its start is already in the columns."""
    event = (JOB_START, now, 0, cols.waiters[slot], cols.pool_id[slot],
             cols.execution_pool_id[slot], cols.schedule_time[slot], cols.enqueue_time[slot],
             now, 0)
    for journal in journals:  # one tuple shared by every journal: two appends each
        jobs = journal._jobs
        if len(jobs) < journal._capacity:
            jobs.append(job)
            journal._events.append(event)
        else:
            journal._dropped += 1


def record_finish_locked(journals: list[Journal], cols: Columns, job: LoadJob, slot: int,
                         status: int, now: int) -> None:
    """``job`` finished with ``status`` at ``now``; its finish is already in the columns."""
    event = (JOB_FINISH, now, status, cols.waiters[slot], cols.pool_id[slot],
             cols.execution_pool_id[slot], cols.schedule_time[slot], cols.enqueue_time[slot],
             cols.start_time[slot], cols.elapsed_ns[slot])
    for journal in journals:
        jobs = journal._jobs
        if len(jobs) < journal._capacity:
            jobs.append(job)
            journal._events.append(event)
        else:
            journal._dropped += 1


class JournalBatch:
    """The events one ``drain()`` returned: ``table`` (JOURNAL_SCHEMA), ``jobs`` aligned with
    its rows, and ``dropped``, the events lost to a full buffer since the previous drain."""

    __slots__ = ("table", "jobs", "dropped")

    def __init__(self, table: pa.Table, jobs: list[LoadJob], dropped: int) -> None:
        self.table = table
        self.jobs = jobs
        self.dropped = dropped

    def __len__(self) -> int:
        return len(self.jobs)

    def __repr__(self) -> str:
        return f"<JournalBatch events={len(self.jobs)} dropped={self.dropped}>"


class Journal:
    """A bounded buffer of lifecycle events of one loader; made by ``open_journal()``."""

    def __init__(self, loader: AsyncLoader, lock: threading.Lock, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise InvalidArgument(f"journal capacity must be an int >= 1, got {capacity!r}")
        self._loader = loader
        self._lock = lock  # the loader's: events are appended under it
        self._capacity = capacity
        self._events: list[tuple[int, ...]] = []
        self._jobs: list[LoadJob] = []
        self._dropped = 0
        self._dropped_drained = 0
        self._closed = False

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def dropped(self) -> int:
        """Events lost because the buffer was full, since the journal was opened."""
        return self._dropped

    @property
    def closed(self) -> bool:
        return self._closed

    def drain(self) -> JournalBatch:
        """The events recorded since the last drain, oldest first (a closed journal still
        gives what it recorded before it was closed, once)."""
        with self._lock:
            events, self._events = self._events, []
            jobs, self._jobs = self._jobs, []
            # Under the lock too: two threads draining one journal must not count a loss twice.
            lost, self._dropped_drained = self._dropped - self._dropped_drained, self._dropped
        names = self._loader._pool_names()
        priorities = self._loader._pool_priorities()
        return JournalBatch(_build_table(events, jobs, names, priorities), jobs, lost)

    def close(self) -> None:
        """Stop recording (idempotent); what was recorded can still be drained."""
        if not self._closed:
            self._closed = True
            self._loader._close_journal(self)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (f"<Journal {state} buffered={len(self._jobs)} capacity={self._capacity} "
                f"dropped={self._dropped}>")


def _times(values: Sequence[int], nullable: bool = True) -> pa.Array:
    raw = pa.array(values, pa.int64())
    if nullable:
        raw = pc.if_else(pc.equal(raw, 0), None, raw)
    return raw.cast(_TS)


def _build_table(events: list[tuple[int, ...]], jobs: list[LoadJob], pool_names: list[str],
                 pool_priorities: list[int]) -> pa.Table:
    """JOURNAL_SCHEMA rows from recorded events; outside the loader lock.

    Per event only plain attributes of the job are read (no property, no generator): a
    drain of a million events must not cost much more than its Arrow conversion.
    """
    if not events:
        return JOURNAL_SCHEMA.empty_table()
    # One C-level pass per field (zip(*events) is five times slower on a big batch).
    (kinds, times, statuses, waiters, pool_ids, exec_pool_ids, schedule_times,
     enqueue_times, start_times, elapsed_ns) = (list(map(itemgetter(k), events))
                                                for k in range(10))
    n = len(events)
    kind = pa.array(kinds, pa.uint8())
    is_start = pc.equal(kind, JOB_START)
    parents = [j.parent for j in jobs]
    parent_ids = [None if p is None else p._id for p in parents]
    workers = [j._worker for j in jobs]
    lanes = [None if w is None else w[0] for w in workers]
    threads = [None if w is None else w[1] for w in workers]
    deps = [j._dependencies for j in jobs]
    offsets = pa.array(accumulate(map(len, deps), initial=0), pa.int32())
    dep_ids = [d._id for ds in deps if ds for d in ds]
    exceptions = [None if k == JOB_START or j._error is None else format_exception(j._error)
                  for k, j in zip(kinds, jobs, strict=True)]
    time = pa.array(times, pa.int64())
    pool_id = pa.array(pool_ids, pa.uint64())
    exec_pool_id = pa.array(exec_pool_ids, pa.uint64())
    names = pa.array(pool_names, pa.string())
    priorities = pa.array(pool_priorities, pa.int64())
    no_flags = pa.nulls(n, pa.uint8()).fill_null(0)
    return pa.Table.from_arrays(
        [
            kind,
            time.cast(_TS),
            pa.array(parent_ids, pa.uint64()),
            pa.array(lanes, pa.uint32()),
            pa.array(threads, pa.uint64()),
            pa.array([j.name for j in jobs], pa.string()),
            pa.array([j._id for j in jobs], pa.uint64()),
            pa.ListArray.from_arrays(offsets, pa.array(dep_ids, pa.uint64())),
            pa.nulls(n, pa.uint64()).fill_null(0),
            pa.DictionaryArray.from_arrays(pa.array(statuses, pa.int8()),
                                           pa.array(STATUS_NAMES, pa.string())),
            is_start.cast(pa.uint8()),
            no_flags,
            no_flags,
            pc.divide(pa.array(elapsed_ns, pa.int64()).cast(pa.float64()), 1e9),
            pool_id,
            pc.take(names, pool_id),
            pc.take(priorities, pool_id),
            exec_pool_id,
            pc.take(names, exec_pool_id),
            pc.take(priorities, exec_pool_id),
            pa.nulls(n, pa.uint64()),
            pa.array(waiters, pa.uint64()),
            pa.array(exceptions, pa.string()),
            _times(schedule_times, nullable=False),
            _times(enqueue_times),
            _times(start_times),
            pc.if_else(is_start, None, time).cast(_TS),
        ],
        schema=JOURNAL_SCHEMA,
    )
