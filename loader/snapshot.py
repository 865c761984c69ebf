"""Job state -> the Arrow tables behind ``system.asynchronous_loader`` and its pools table.

The loader keeps its per-job state in columns (``array.array`` per field), so a snapshot only
copies a dozen flat buffers while it holds the lock; everything here runs after the lock is
released and builds Arrow arrays over those copies without touching a Python object per job.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from .errors import format_exception
from .job import STATUS_NAMES

__all__ = ["POOLS_SCHEMA", "SCHEMA", "STATUS_NAMES", "THREAD_ID_FIELD", "WORKER_FIELD",
           "NameOrder", "build_pools_table", "build_table"]

_TS = pa.timestamp("us", tz="UTC")
STATUS_TYPE = pa.dictionary(pa.int8(), pa.string())

#: The 22 columns of SPEC section 3, in order.
SCHEMA = pa.schema(
    [
        pa.field("job", pa.string(), nullable=False),
        pa.field("job_id", pa.uint64(), nullable=False),
        pa.field("dependencies", pa.list_(pa.uint64()), nullable=False),
        pa.field("dependencies_left", pa.uint64(), nullable=False),
        pa.field("status", STATUS_TYPE, nullable=False),
        pa.field("is_executing", pa.uint8(), nullable=False),
        pa.field("is_blocked", pa.uint8(), nullable=False),
        pa.field("is_ready", pa.uint8(), nullable=False),
        pa.field("elapsed", pa.float64(), nullable=False),
        pa.field("pool_id", pa.uint64(), nullable=False),
        pa.field("pool", pa.string(), nullable=False),
        pa.field("priority", pa.int64(), nullable=False),
        pa.field("execution_pool_id", pa.uint64(), nullable=False),
        pa.field("execution_pool", pa.string(), nullable=False),
        pa.field("execution_priority", pa.int64(), nullable=False),
        pa.field("ready_seqno", pa.uint64()),
        pa.field("waiters", pa.uint64(), nullable=False),
        pa.field("exception", pa.string()),
        pa.field("schedule_time", _TS, nullable=False),
        pa.field("enqueue_time", _TS),
        pa.field("start_time", _TS),
        pa.field("finish_time", _TS),
    ]
)

#: The two columns ``snapshot(with_worker=True)`` adds at the end.
WORKER_FIELD = pa.field("worker", pa.uint32())
THREAD_ID_FIELD = pa.field("thread_id", pa.uint64())

#: ``system.asynchronous_loader_pools``: one row per pool.
POOLS_SCHEMA = pa.schema(
    [
        pa.field("pool_id", pa.uint64(), nullable=False),
        pa.field("pool", pa.string(), nullable=False),
        pa.field("priority", pa.int64(), nullable=False),
        pa.field("max_threads", pa.uint64(), nullable=False),
        pa.field("workers", pa.uint64(), nullable=False),
        pa.field("suspended_workers", pa.uint64(), nullable=False),
        pa.field("ready_jobs", pa.uint64(), nullable=False),
        pa.field("executing_jobs", pa.uint64(), nullable=False),
    ]
)


def _buffer_array(values, arrow_type: pa.DataType) -> pa.Array:
    """A zero-copy Arrow view of an ``array.array`` copy."""
    return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(values)])


def _times(values) -> pa.Array:
    """Microsecond instants, 0 meaning NULL."""
    return nullable_times(_buffer_array(values, pa.int64()))


def nullable_times(raw: pa.Array) -> pa.Array:
    """Microseconds since the epoch as timestamps, 0 (not yet) as NULL."""
    return pc.if_else(pc.equal(raw, 0), None, raw).cast(_TS)


def pool_columns(pool_id: pa.Array, exec_pool_id: pa.Array, pool_names: list[str],
                 pool_priorities: list[int]) -> list[pa.Array]:
    """SPEC §3's six pool columns, pool_id through execution_priority, from the two ids."""
    names = pa.array(pool_names, pa.string())
    priorities = pa.array(pool_priorities, pa.int64())
    return [pool_id, pc.take(names, pool_id), pc.take(priorities, pool_id),
            exec_pool_id, pc.take(names, exec_pool_id), pc.take(priorities, exec_pool_id)]


class NameOrder:
    """Job names as an Arrow array, and the rows sorted by name, kept between snapshots.

    Names never change and rows are only appended between compactions (after one, the loader
    starts a new NameOrder), so while nothing new was scheduled both are reused as they are: a
    loader is snapshotted over and over mid-load with the same rows.  Builders on two threads
    at once may both recompute; either result is right.
    """

    def __init__(self) -> None:
        empty = pa.array([], pa.string())
        self._cached: tuple[int, pa.Array, pa.Array] = (0, empty, pc.sort_indices(empty))

    def get(self, names: list[str]) -> tuple[pa.Array, pa.Array]:
        count, array, order = self._cached
        if count != len(names):
            if count < len(names):  # convert only the names added since
                array = pa.concat_arrays([array, pa.array(names[count:], pa.string())])
            else:
                array = pa.array(names, pa.string())
            order = pc.sort_indices(array)  # stable: equal names stay in job_id order
            self._cached = (len(names), array, order)
        return array, order


def build_table(columns: dict, pool_names: list[str], pool_priorities: list[int],
                now_ns: int, name_order: NameOrder,
                extra: Sequence[tuple[pa.Field, pa.Array]] = ()) -> pa.Table:
    """Assemble the SPEC §3 table from copied columns, outside the loader lock; ``extra``
    columns (one value per slot, like the copies) go at the end."""
    n = len(columns["names"])
    job_names, order = name_order.get(columns["names"])
    status = _buffer_array(columns["status"], pa.int8())
    left = _buffer_array(columns["dependencies_left"], pa.uint64())
    seqno = _buffer_array(columns["ready_seqno"], pa.uint64())
    pending = pc.equal(status, 0)
    unblocked = pc.equal(left, 0)
    is_ready = pc.and_(pending, pc.and_(unblocked, pc.not_equal(seqno, 0)))
    is_executing = pc.and_(pending, pc.and_(unblocked, pc.equal(seqno, 0)))
    is_blocked = pc.and_(pending, pc.invert(unblocked))

    # Running jobs: now - start on the monotonic clock; finished ones: their recorded time.
    start_ns = _buffer_array(columns["start_ns"], pa.int64())
    done_ns = _buffer_array(columns["elapsed_ns"], pa.int64())
    running_ns = pc.max_element_wise(pc.subtract(now_ns, start_ns), 1)
    elapsed_ns = pc.if_else(
        pc.equal(start_ns, 0), 0, pc.if_else(pc.equal(done_ns, 0), running_ns, done_ns)
    )
    elapsed = pc.divide(elapsed_ns.cast(pa.float64()), 1e9)

    pool_id = _buffer_array(columns["pool_id"], pa.uint64())
    exec_pool_id = _buffer_array(columns["execution_pool_id"], pa.uint64())

    offsets = pa.array(columns["dep_offsets"], pa.int64()).cast(pa.int32())
    deps = pa.ListArray.from_arrays(offsets, _buffer_array(columns["dep_ids"], pa.uint64()))

    exceptions = [None] * n
    for slot, error in columns["errors"].items():
        exceptions[slot] = format_exception(error)

    table = pa.Table.from_arrays(
        [
            job_names,
            _buffer_array(columns["job_id"], pa.uint64()),
            deps,
            left,
            pa.DictionaryArray.from_arrays(status, pa.array(STATUS_NAMES, pa.string())),
            is_executing.cast(pa.uint8()),
            is_blocked.cast(pa.uint8()),
            is_ready.cast(pa.uint8()),
            elapsed,
            *pool_columns(pool_id, exec_pool_id, pool_names, pool_priorities),
            pc.if_else(pc.equal(seqno, 0), None, seqno),
            _buffer_array(columns["waiters"], pa.uint64()),
            pa.array(exceptions, pa.string()),
            _buffer_array(columns["schedule_time"], pa.int64()).cast(_TS),
            _times(columns["enqueue_time"]),
            _times(columns["start_time"]),
            _times(columns["finish_time"]),
        ],
        schema=SCHEMA,
    )
    for field, values in extra:
        table = table.append_column(field, values)
    # Rows by (job, job_id), without the removed ones.
    present = _buffer_array(columns["present"], pa.int8())
    if n and pc.min(present).as_py() == 0:
        order = order.filter(pc.equal(present.take(order), 1))
    return table.take(order)


def build_pools_table(rows: list[tuple]) -> pa.Table:
    return pa.Table.from_pylist(
        [dict(zip(POOLS_SCHEMA.names, row, strict=True)) for row in rows], schema=POOLS_SCHEMA
    )
