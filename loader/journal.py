"""The lifecycle journal: every job start and finish, recorded as it happens, drained as Arrow.

::

    journal = loader.open_journal()      # several may be open at once
    batch = journal.drain()              # the events since the last drain, oldest first
    batch.table                          # pyarrow.Table, JOURNAL_SCHEMA, one row per event
    batch.jobs                           # the LoadJob of each row (result, exception, tags)
    journal.dropped                      # events lost to a full buffer, cumulative
    journal.close()                      # or use it as a context manager

No Python callback runs per event.  The engine records an event under the loader lock at the
instant it happens: a tuple of the four values of its row that can still change later (its
status code, waiters, pool and execution pool), appended to each open journal's buffer (when
none is open, the whole cost is one falsy check of the loader's journal list).  A buffer holds
at most ``capacity`` undrained events; past that, new events are counted in ``dropped``
instead, never lost silently.  ``drain()`` swaps the buffer out under the lock and, still under
it, copies the cells that were fixed by each event's time (schedule, enqueue, start and finish
time, elapsed: one memcpy of the rows the batch touched; a removed job's from its ``_final``,
so compaction cannot move them away); the table is built outside the lock, a column at a
time, from those and the job objects' fixed fields (name, id, dependencies, parent, worker,
error).

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
from array import array
from itertools import accumulate, chain
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from .errors import format_exception
from .job import FINAL_FIELDS, PENDING, REMOVED, STATUS_NAMES, LoadJob
from .pool import InvalidArgument
from .snapshot import (
    SCHEMA,
    THREAD_ID_FIELD,
    WORKER_FIELD,
    _buffer_array,
    nullable_times,
    pool_columns,
)

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
        WORKER_FIELD,
        THREAD_ID_FIELD,
        *SCHEMA,
    ]
)

# An event is five items appended to the journal's one flat list: the job, then four ints, the
# values of its row that can still change after the event: ``code`` (the finish status OK,
# FAILED or CANCELED, or PENDING (0) for a start), waiters, pool_id and execution_pool_id.
# Everything else a row holds is fixed by the time of its event (schedule_time, enqueue_time
# and start_time once the job starts; finish_time and elapsed once it finishes; name, id,
# dependencies, parent, worker), so drain() reads it then, a column at a time.  One ``+=`` of
# a 5-tuple is the cheapest way CPython has to append five values (no tuple is kept, so there
# is nothing more for the garbage collector to track than the list itself).
_WIDTH = 5


def record_start_locked(journals: list[Journal], cols: Columns, job: LoadJob, slot: int,
                        now: int) -> None:
    """A worker took ``job`` at ``now``; its start is already in the columns."""
    event = (job, PENDING, cols.waiters[slot], cols.pool_id[slot], cols.execution_pool_id[slot])
    for journal in journals:  # one tuple shared by every journal: one extend each
        buffer = journal._buffer
        if len(buffer) < journal._limit:
            buffer += event
        else:
            journal._dropped += 1


def record_finish_locked(journals: list[Journal], cols: Columns, job: LoadJob, slot: int,
                         status: int, now: int) -> None:
    """``job`` finished with ``status`` at ``now``; its finish is already in the columns."""
    event = (job, status, cols.waiters[slot], cols.pool_id[slot], cols.execution_pool_id[slot])
    for journal in journals:
        buffer = journal._buffer
        if len(buffer) < journal._limit:
            buffer += event
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
        self._limit = _WIDTH * capacity  # the buffer's length when it holds capacity events
        self._buffer: list[object] = []
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
            buffer, self._buffer = self._buffer, []
            jobs = buffer[::_WIDTH]
            # Under the lock too: two threads draining one journal must not count a loss twice.
            lost, self._dropped_drained = self._dropped - self._dropped_drained, self._dropped
            fixed = _fixed_locked(self._loader._columns, jobs)
        names = self._loader._pool_names()
        priorities = self._loader._pool_priorities()
        return JournalBatch(_build_table(buffer, jobs, fixed, names, priorities), jobs, lost)

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
        return (f"<Journal {state} buffered={len(self._buffer) // _WIDTH} "
                f"capacity={self._capacity} "
                f"dropped={self._dropped}>")


#: The columns a row reads at the drain (fixed by the time of its event); a removed job's are
#: in its ``_final`` (the times) and ``_id``.
_FIXED = ("schedule_time", "enqueue_time", "start_time", "finish_time", "elapsed_ns", "job_id")
_final_cells = itemgetter(*(FINAL_FIELDS.index(f) for f in _FIXED[:-1]))


def _removed_cells(job: LoadJob) -> tuple[int, ...]:
    return (*_final_cells(job._final), job._id)
#: A batch whose rows span more than this many table rows per event gathers cell by cell
#: instead of copying the span (an old job finishing among a million rows).
_SPAN_PER_EVENT = 8

_slot_of = attrgetter("_slot")
_name_of = attrgetter("name")
_id_of = attrgetter("_id")
_parent_of = attrgetter("parent")
_worker_of = attrgetter("_worker")
_deps_of = attrgetter("_dependencies")
_error_of = attrgetter("_error")


def _fixed_locked(cols: Columns, jobs: list[LoadJob]
                  ) -> tuple[list[array], list[int] | None, int]:
    """The _FIXED cells of each event's job, copied under the loader lock (compaction moves
    rows, and a removed job's are on the object).  Returns the copied arrays and, when they are
    a span of rows rather than one cell per event, each event's row in the table and the
    span's first row (its row in the copies is the difference)."""
    if not jobs:
        return [], None, 0
    slots = list(map(_slot_of, jobs))
    removed = slots.count(REMOVED)
    live = slots if not removed else [s for s in slots if s != REMOVED]
    lo, hi = (min(live), max(live) + 1) if live else (0, 0)
    if hi - lo <= _SPAN_PER_EVENT * len(slots) + 1024:
        # A memcpy of the rows the batch touched, then one take per column outside the lock.
        copies = [getattr(cols, f)[lo:hi] for f in _FIXED]
        if removed:
            at = hi - lo
            for i, s in enumerate(slots):
                if s == REMOVED:
                    for copy, value in zip(copies, _removed_cells(jobs[i]), strict=True):
                        copy.append(value)
                    slots[i] = lo + at
                    at += 1
        return copies, slots, lo
    cells = [array("q", map(getattr(cols, f).__getitem__, slots)) for f in _FIXED]
    if removed:
        for i, s in enumerate(slots):
            if s == REMOVED:
                for column, value in zip(cells, _removed_cells(jobs[i]), strict=True):
                    column[i] = value
    return cells, None, 0


def _ints(values: list[int], type: pa.DataType) -> pa.Array:
    """``values`` as an Arrow array; most batches hold one pool and no waiters, and a column
    of one repeated value is found at C speed (``count``) and made without converting it."""
    if values.count(values[0]) == len(values):
        return pa.repeat(pa.scalar(values[0], type), len(values))
    return pa.array(values, type)


def _build_table(buffer: list[object], jobs: list[LoadJob],
                 fixed: tuple[list[array], list[int] | None, int], pool_names: list[str],
                 pool_priorities: list[int]) -> pa.Table:
    """JOURNAL_SCHEMA rows from recorded events; outside the loader lock.

    Python runs per event only at C speed (``map`` over attrgetters, one conversion of each
    recorded int); per-event Python code runs only for the rare values: sub-jobs' parents,
    errors, and removed jobs (in ``_fixed_locked``).
    """
    if not jobs:
        return JOURNAL_SCHEMA.empty_table()
    n = len(jobs)
    codes, waiters, pool_ids, exec_pool_ids = (_ints(buffer[k::_WIDTH], t) for k, t in (
        (1, pa.int8()), (2, pa.uint64()), (3, pa.uint64()), (4, pa.uint64())))
    copies, slots, lo = fixed
    # int64 views of the array('q') copies, without a copy (the copies are ours).
    views = (_buffer_array(c, pa.int64()) for c in copies)
    if slots is None:  # one cell per event already
        schedule, enqueue, start, finish, elapsed, job_ids = views
    else:
        rows = pc.subtract(pa.array(slots, pa.int64()), lo) if lo else pa.array(slots, pa.int64())
        schedule, enqueue, start, finish, elapsed, job_ids = (pc.take(v, rows) for v in views)
    is_start = pc.equal(codes, PENDING)
    time = pc.if_else(is_start, start, finish)

    parents = list(map(_parent_of, jobs))
    parent_ids = (pa.nulls(n, pa.uint64()) if parents.count(None) == n else
                  pa.array([None if p is None else p._id for p in parents], pa.uint64()))
    # A worker's jobs share its (lane, thread id) tuple: convert each distinct one once.
    workers = list(map(_worker_of, jobs))
    by_id = dict(zip(map(id, workers), workers, strict=True))  # by identity: C-speed hashes
    position = {k: i for i, k in enumerate(by_id)}
    distinct = list(by_id.values())
    which = pa.array(list(map(position.__getitem__, map(id, workers))), pa.int32())
    lanes = pc.take(pa.array([None if w is None else w[0] for w in distinct], pa.uint32()),
                    which)
    threads = pc.take(pa.array([None if w is None else w[1] for w in distinct], pa.uint64()),
                      which)
    deps = list(map(_deps_of, jobs))
    if deps.count(()) == n:  # independent jobs all share the empty tuple
        offsets, dep_ids = pa.nulls(n + 1, pa.int32()).fill_null(0), []
    else:
        offsets = pa.array(list(accumulate(map(len, deps), initial=0)), pa.int32())
        dep_ids = list(map(_id_of, chain.from_iterable(deps)))
    errors = list(map(_error_of, jobs))
    if errors.count(None) == n:
        exceptions = pa.nulls(n, pa.string())
    else:
        texts: list[str | None] = [None] * n
        start_codes = is_start.to_pylist()
        for i, e in enumerate(errors):
            if e is not None and not start_codes[i]:
                texts[i] = format_exception(e)
        exceptions = pa.array(texts, pa.string())

    no_flags = pa.nulls(n, pa.uint8()).fill_null(0)
    return pa.Table.from_arrays(
        [
            pc.if_else(is_start, JOB_START, JOB_FINISH).cast(pa.uint8()),
            time.cast(_TS),
            parent_ids,
            lanes,
            threads,
            pa.array(list(map(_name_of, jobs)), pa.string()),
            job_ids.cast(pa.uint64()),
            pa.ListArray.from_arrays(offsets, pa.array(dep_ids, pa.uint64())),
            pa.nulls(n, pa.uint64()).fill_null(0),
            pa.DictionaryArray.from_arrays(codes, pa.array(STATUS_NAMES, pa.string())),
            is_start.cast(pa.uint8()),
            no_flags,
            no_flags,
            pc.divide(pc.if_else(is_start, 0, elapsed).cast(pa.float64()), 1e9),
            *pool_columns(pool_ids, exec_pool_ids, pool_names, pool_priorities),
            pa.nulls(n, pa.uint64()),
            waiters,
            exceptions,
            schedule.cast(_TS),
            nullable_times(enqueue),
            nullable_times(start),
            pc.if_else(is_start, None, finish).cast(_TS),
        ],
        schema=JOURNAL_SCHEMA,
    )
