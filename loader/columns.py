"""Per-job state kept in columns, one flat array per field, indexed by slot.

Scheduling appends one row per job, in job_id order (``job_id`` is a column of its own: ids
are never reused, but rows move).  The engine reads and writes single cells under the loader
lock; a snapshot copies each array whole (a memcpy), which is what keeps the lock hold of a
100k-job snapshot in the low milliseconds.

Compaction: a removed job's row stays, with ``present = 0``, until removed rows outnumber the
live ones; then ``compact()`` drops them all at once, keeping the live rows in order (so rows
stay sorted by job_id) and rewriting every array **in place** (workers and pools hold
references to them).  The loader then moves each job's ``_slot`` and every slot it keeps
elsewhere (dependents, ready queues); a removed job reads its state from its own object
(``LoadJob._final``).  A compaction's O(rows) work is paid for by the removals since the
last one: O(1) amortized per removed job.

Times are integer microseconds since the Unix epoch, 0 meaning "not yet".  A job that
started has a nonzero ``elapsed``, however fast it was: the table promises that elapsed is 0
exactly when start_time is NULL.
"""

from __future__ import annotations

from array import array
from itertools import compress
from operator import itemgetter

#: The per-row arrays, rewritten together by ``compact()``.
_ROW_ARRAYS = ("job_id", "status", "present", "dependencies_left", "ready_seqno", "pool_id",
               "execution_pool_id", "waiters", "schedule_time", "enqueue_time", "start_time",
               "finish_time", "start_ns", "elapsed_ns")


class Columns:
    __slots__ = (
        "status", "present", "dependencies_left", "ready_seqno", "pool_id",
        "execution_pool_id", "waiters", "schedule_time", "enqueue_time", "start_time",
        "finish_time", "start_ns", "elapsed_ns", "names", "dep_offsets", "dep_ids", "errors",
        "job_id",
    )

    def __init__(self) -> None:
        self.job_id = array("Q")
        self.status = array("b")  # LoadStatus
        self.present = array("b")  # 1 while the job is a row of the table (not removed)
        self.dependencies_left = array("Q")
        self.ready_seqno = array("Q")  # 0 unless the job sits in a ready queue
        self.pool_id = array("Q")
        self.execution_pool_id = array("Q")
        self.waiters = array("Q")
        self.schedule_time = array("q")
        self.enqueue_time = array("q")
        self.start_time = array("q")
        self.finish_time = array("q")
        # Execution time comes from the monotonic clock, not from the wall-clock times above:
        # it never goes negative when the wall clock is stepped, and has ns resolution.
        self.start_ns = array("q")  # time.perf_counter_ns() at start
        self.elapsed_ns = array("q")  # set at finish, >= 1 for a job that ran
        self.names: list[str] = []
        # Dependencies as job ids, flattened: row i owns dep_ids[dep_offsets[i]:dep_offsets[i+1]].
        self.dep_offsets = array("q", [0])
        self.dep_ids = array("Q")
        # slot -> stored error, only for FAILED and CANCELED jobs still in the table.
        self.errors: dict[int, BaseException] = {}

    def __len__(self) -> int:
        return len(self.names)

    def extend(
        self, names: list[str], pools: list[int], execution_pools: list[int], now: int,
        first_id: int | None = None,
    ) -> None:
        """Append one row per new job, column by column (far cheaper than row by row).

        The caller then appends each new row's dependency ids and offset, in row order,
        before it releases the loader lock.
        """
        k = len(names)
        zeros = bytes(8 * k)
        if first_id is None:  # ids that follow the last row's (the loader passes its own)
            first_id = self.job_id[-1] + 1 if self.job_id else 1
        self.names.extend(names)
        self.job_id.extend(range(first_id, first_id + k))
        self.status.frombytes(bytes(k))
        self.present.frombytes(b"\x01" * k)
        for column in (self.dependencies_left, self.ready_seqno, self.waiters,
                       self.enqueue_time, self.start_time, self.finish_time, self.start_ns,
                       self.elapsed_ns):
            column.frombytes(zeros)
        self.pool_id.extend(pools)
        self.execution_pool_id.extend(execution_pools)
        self.schedule_time.extend([now] * k)

    def copy(self) -> dict[str, object]:
        """Every column, copied; call under the loader lock."""
        return {
            "job_id": self.job_id[:],
            "status": self.status[:],
            "present": self.present[:],
            "dependencies_left": self.dependencies_left[:],
            "ready_seqno": self.ready_seqno[:],
            "pool_id": self.pool_id[:],
            "execution_pool_id": self.execution_pool_id[:],
            "waiters": self.waiters[:],
            "schedule_time": self.schedule_time[:],
            "enqueue_time": self.enqueue_time[:],
            "start_time": self.start_time[:],
            "finish_time": self.finish_time[:],
            "start_ns": self.start_ns[:],
            "elapsed_ns": self.elapsed_ns[:],
            "names": self.names[:],
            "dep_offsets": self.dep_offsets[:],
            "dep_ids": self.dep_ids[:],
            "errors": dict(self.errors),
        }

    def compact(self) -> array:
        """Drop every removed row (``present == 0``), in place; return, for each old slot, its
        new slot (-1 for a dropped row).  Call under the loader lock, inside the seqlock."""
        rows = len(self.present)
        keep = list(compress(range(rows), self.present))
        new_of = array("q", [-1]) * rows
        for new, old in enumerate(keep):
            new_of[old] = new
        take = itemgetter(*keep) if len(keep) > 1 else None

        def kept(values):
            if take is not None:
                return take(values)  # C speed: the common case
            return [values[s] for s in keep]

        for name in _ROW_ARRAYS:
            column = getattr(self, name)
            column[:] = array(column.typecode, kept(column))
        self.names[:] = kept(self.names)
        offsets, ids = self.dep_offsets, self.dep_ids
        new_ids = array("Q")
        new_offsets = array("q", [0])
        for s in keep:
            new_ids.extend(ids[offsets[s]:offsets[s + 1]])
            new_offsets.append(len(new_ids))
        ids[:] = new_ids
        offsets[:] = new_offsets
        errors = {new_of[s]: e for s, e in self.errors.items() if new_of[s] >= 0}
        self.errors.clear()
        self.errors.update(errors)
        return new_of
