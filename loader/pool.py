"""Pools: a name, a fixed priority, a mutable thread limit, and a ready queue.

``Pool`` is the public, immutable description a loader is built from.  ``PoolState`` is the
loader's running state for it; every field is guarded by the loader lock.

The ready queue holds ``(ready_seqno, slot)`` entries: workers take the smallest seqno, which is
FIFO by the time a job became ready.  A job leaves the queue early when it is cancelled or
moved to a higher-priority pool; rather than search the queue we leave its entry behind and
skip it when it surfaces (an entry is live only while the job's current seqno and pool still
match it).  ``ready_count`` is the exact number of live entries.
"""

from __future__ import annotations

import heapq
import os
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from .columns import Columns
from .errors import AsyncLoadError
from .snapshot import build_pools_table

if TYPE_CHECKING:
    from .job import LoadJob


class InvalidArgument(AsyncLoadError, ValueError):
    """An argument has a value the loader cannot accept."""

    code = 36
    name = "BAD_ARGUMENTS"


class UnknownPool(AsyncLoadError, LookupError):
    """A pool id or name that the loader was not built with."""

    code = 36
    name = "BAD_ARGUMENTS"


def resolve_max_threads(max_threads: int) -> int:
    """0 means one thread per CPU core, as in ClickHouse."""
    if isinstance(max_threads, bool) or not isinstance(max_threads, int):
        raise InvalidArgument(f"max_threads must be an int >= 0, got {max_threads!r}")
    if max_threads < 0:
        raise InvalidArgument(
            f"max_threads must be >= 0 (0 means one per CPU core), got {max_threads}"
        )
    return max_threads or os.cpu_count() or 1


@dataclass(frozen=True)
class Pool:
    """A pool of workers.  Lower ``priority`` values are more urgent."""

    name: str
    max_threads: int = 0
    priority: int = 0

    def __post_init__(self) -> None:
        resolve_max_threads(self.max_threads)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise InvalidArgument(f"Pool {self.name!r}: priority must be an int")


class PoolState:
    __slots__ = (
        "id", "name", "priority", "max_threads", "workers", "suspended_workers",
        "waiting_workers", "executing", "ready_count", "_fifo", "_moved", "_ready_seqno",
        "_pool_id", "_lanes", "_free_lanes",
    )

    def __init__(self, pool_id: int, pool: Pool, columns: Columns) -> None:
        self.id = pool_id
        self.name = pool.name
        self.priority = pool.priority
        self.max_threads = resolve_max_threads(pool.max_threads)
        self.workers = 0  # spawned and not yet exited, suspended ones included
        self.suspended_workers = 0  # blocked in wait() on a job of this same pool
        self.waiting_workers = 0  # blocked in wait() on any job (suspended ones included)
        self.executing = 0  # jobs this pool's workers are running now
        self.ready_count = 0
        # Seqnos come from one loader-wide counter, so jobs enqueued here arrive in seqno
        # order and a FIFO keeps them sorted at O(1).  Only a job moved in by prioritize()
        # brings an older seqno: those few go to a heap, and pop() takes the smaller head.
        self._fifo: deque[tuple[int, int]] = deque()
        self._moved: list[tuple[int, int]] = []
        # The columns that say whether an entry is live (arrays grow in place, never replaced).
        self._ready_seqno, self._pool_id = columns.ready_seqno, columns.pool_id
        # Worker lanes: 0.._lanes-1 were handed out; the freed ones wait in a heap.
        self._lanes = 0
        self._free_lanes: list[int] = []

    def take_lane(self) -> int:
        """The lowest lane no live worker of this pool holds; for a worker that starts."""
        if self._free_lanes:
            return heapq.heappop(self._free_lanes)
        self._lanes += 1
        return self._lanes - 1

    def free_lane(self, lane: int) -> None:
        """A worker exited (or never started): its lane is free for the next one."""
        heapq.heappush(self._free_lanes, lane)

    def push(self, seqno: int, slot: int) -> None:
        """Queue a newly ready job (its seqno is the newest)."""
        self._fifo.append((seqno, slot))
        self.ready_count += 1

    def move_in(self, seqno: int, slot: int) -> None:
        """Queue a ready job moved from another pool; it keeps its (older) seqno."""
        heapq.heappush(self._moved, (seqno, slot))
        self.ready_count += 1

    def discard(self) -> None:
        """One live entry went stale (its job was cancelled or moved away)."""
        self.ready_count -= 1
        # Only here can stale entries pile up.  Compacting past twice the live size plus a
        # margin keeps the cost amortized O(1) per discard.
        if len(self._fifo) + len(self._moved) > 2 * self.ready_count + 1024:
            self._fifo = deque(e for e in self._fifo if self._live(e))
            self._moved = [e for e in self._moved if self._live(e)]
            heapq.heapify(self._moved)

    def pop(self) -> int:
        """The slot of the ready job with the smallest seqno; the queue must not be empty."""
        while True:
            moved = self._moved
            if moved and (not self._fifo or moved[0] < self._fifo[0]):
                seqno, slot = heapq.heappop(moved)
            else:
                seqno, slot = self._fifo.popleft()
            # _live(), inlined: pop() is on every job's path.
            if self._ready_seqno[slot] == seqno and self._pool_id[slot] == self.id:
                self.ready_count -= 1
                return slot

    def remap(self, new_of) -> None:
        """The columns were compacted: move every live entry to its job's new slot, drop the
        rest.  Under the loader lock, inside the compaction."""
        self._fifo = deque((q, new_of[s]) for q, s in self._fifo
                           if new_of[s] >= 0 and self._live((q, new_of[s])))
        self._moved = [(q, new_of[s]) for q, s in self._moved
                       if new_of[s] >= 0 and self._live((q, new_of[s]))]
        heapq.heapify(self._moved)

    def _live(self, entry: tuple[int, int]) -> bool:
        """Is this entry still its job's current place in this queue?"""
        seqno, slot = entry
        return self._ready_seqno[slot] == seqno and self._pool_id[slot] == self.id


class PoolLookup:
    """The pool accessors of ``AsyncLoader`` (its base class): names and ids to pools, and
    the pools table.  ``_pools`` never changes after construction, so lookups take no lock;
    fields that change (``max_threads``, counts) are read as they are at some instant."""

    _lock: threading.Lock
    _pools: list[PoolState]
    _pool_by_name: dict[str, int]
    _pool_ids: frozenset[int]

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

    def get_max_threads(self, pool: int | str) -> int:
        return self._pool(pool).max_threads

    def suspended_workers_count(self, pool: int | str) -> int:
        return self._pool(pool).suspended_workers

    def _resolve_pools_locked(self, jobs: list[LoadJob]) -> tuple[list[int], list[int]]:
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
