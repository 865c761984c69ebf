"""Per-job state kept in columns, one flat array per field, indexed by slot.

A job's slot is ``job_id - 1``: ids are handed out in scheduling order and never reused, so
scheduling appends one row and nothing ever moves.  The engine reads and writes single cells
under the loader lock; a snapshot copies each array whole (a memcpy), which is what keeps the
lock hold of a 100k-job snapshot in the low milliseconds.  Removed jobs keep their row with
``present = 0``: their job objects still read their final state from here.

Times are integer microseconds since the Unix epoch, 0 meaning "not yet".  A job that
started has a nonzero ``elapsed``, however fast it was: the table promises that elapsed is 0
exactly when start_time is NULL.
"""

from __future__ import annotations

from array import array


class Columns:
    __slots__ = (
        "status", "present", "dependencies_left", "ready_seqno", "pool_id",
        "execution_pool_id", "waiters", "schedule_time", "enqueue_time", "start_time",
        "finish_time", "start_ns", "elapsed_ns", "names", "dep_offsets", "dep_ids", "errors",
    )

    def __init__(self) -> None:
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
        self, names: list[str], pools: list[int], execution_pools: list[int], now: int
    ) -> None:
        """Append one row per new job, column by column (far cheaper than row by row).

        The caller then appends each new row's dependency ids and offset, in row order,
        before it releases the loader lock.
        """
        k = len(names)
        zeros = bytes(8 * k)
        self.names.extend(names)
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
