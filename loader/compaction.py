"""Removed jobs: their final state moves to the job object, and their rows are compacted away.

``remove()`` retires each removed job with ``retire_locked``: its row is copied into
``job._final`` (so ``job.status``, the times and the pools still answer), ``job._slot``
becomes ``REMOVED``, and the row is marked ``present = 0`` with its name and error released at
once.  Once removed rows outnumber live ones (and are more than ``COMPACT_FLOOR``),
``compact_locked`` drops them all: the columns are rewritten in place (``Columns.compact``),
then every slot the loader keeps elsewhere is moved with them: each job's ``_slot``, the
pending jobs' ``_dependents``, the pools' ready queues (the errors dict moves with the
columns).  The journal keeps no slots (its events hold values and job objects), and workers
re-read ``job._slot`` each time they take the lock, so nothing else needs to know.

Lock-free readers (``job.status`` and the other properties) meet a compaction through a
seqlock: ``loader._epoch`` is made odd before the rewrite and even after it, and a reader that
saw it odd, or changed, reads again (``LoadJob._cells``).
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from .job import FINAL_FIELDS, REMOVED, LoadJob
from .snapshot import NameOrder

assert FINAL_FIELDS == ("status", "pool_id", "execution_pool_id", "waiters", "schedule_time",
                        "enqueue_time", "start_time", "finish_time", "start_ns",
                        "elapsed_ns"), "retire_locked spells these out in this order"

if TYPE_CHECKING:
    from .loader import AsyncLoader

#: No compaction while fewer rows than this are removed: a small loader would otherwise
#: compact on nearly every remove().
COMPACT_FLOOR = 64


def retire_locked(loader: AsyncLoader, job: LoadJob, slot: int) -> None:
    """``job`` (finished, in row ``slot``) leaves the table; its state stays on the object."""
    cols = loader._columns
    # Spelled out, in FINAL_FIELDS order (a loop of getattr() cost 5x more), and an array, not
    # a list: an array is no GC container, and a list per removed job made every removal
    # count towards full collections over all live jobs (5 us instead of 0.7 per job).
    job._final = array("q", (cols.status[slot], cols.pool_id[slot], cols.execution_pool_id[slot],
                             cols.waiters[slot], cols.schedule_time[slot],
                             cols.enqueue_time[slot], cols.start_time[slot],
                             cols.finish_time[slot], cols.start_ns[slot], cols.elapsed_ns[slot]))
    job._slot = REMOVED  # after _final: a reader that sees REMOVED finds the state there
    cols.present[slot] = 0
    cols.errors.pop(slot, None)
    cols.names[slot] = ""  # a name may be large; the row is gone from every snapshot anyway
    loader._jobs[slot] = None
    loader._removed_rows += 1


def compact_if_due_locked(loader: AsyncLoader) -> None:
    removed = loader._removed_rows
    if removed > COMPACT_FLOOR and removed > len(loader._columns) - removed:
        compact_locked(loader)


def compact_locked(loader: AsyncLoader) -> None:
    """Drop every removed row and move every slot that pointed past one (see the module)."""
    loader._epoch += 1  # odd: lock-free readers retry until it is even again
    try:
        new_of = loader._columns.compact()
        jobs = [job for job in loader._jobs if job is not None]
        loader._jobs[:] = jobs  # in place: workers hold this list
        for slot, job in enumerate(jobs):
            job._slot = slot
            dependents = job._dependents
            if dependents:
                moved = [new_of[d] for d in dependents if new_of[d] >= 0]
                job._dependents = moved or None
        for pool in loader._pools:
            pool.remap(new_of)
        loader._removed_rows = 0
        # Its cache is keyed by the number of rows, which compaction invalidates; snapshots
        # that copied the columns before this keep the NameOrder they took with them.
        loader._name_order = NameOrder()
    finally:
        loader._epoch += 1
