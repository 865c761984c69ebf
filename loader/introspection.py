"""What the loader shows about itself: ``snapshot()`` and the lifecycle journal.

``Introspection`` is a part of ``AsyncLoader`` (its base class).  A snapshot copies the
columns in one lock hold and builds the table outside it (``snapshot.py``); a journal records
events under the lock from the core's hot paths (``journal.py``) and is drained outside it.
"""

from __future__ import annotations

import threading
from time import perf_counter_ns
from typing import TYPE_CHECKING

import pyarrow as pa

from .journal import Journal
from .snapshot import THREAD_ID_FIELD, WORKER_FIELD, NameOrder, build_table

if TYPE_CHECKING:
    from .columns import Columns
    from .job import LoadJob


class Introspection:
    """snapshot(), open_journal() of ``AsyncLoader``."""

    _lock: threading.Lock
    _columns: Columns
    _jobs: list[LoadJob | None]
    _journals: list[Journal]
    _name_order: NameOrder

    if TYPE_CHECKING:  # PoolLookup's
        def _pool_names(self) -> list[str]: ...
        def _pool_priorities(self) -> list[int]: ...

    def snapshot(self, *, with_worker: bool = False) -> pa.Table:
        """The state of every scheduled and finished-not-removed job: the SPEC §3 table.

        ``with_worker=True`` adds ``worker`` (the job's lane in its execution pool) and
        ``thread_id`` (the worker's native id), NULL for a job that never started, taken
        under the same lock hold (which then also visits every job object once).
        """
        workers = None
        with self._lock:
            columns = self._columns.copy()
            name_order = self._name_order  # the one that matches these rows (compaction)
            now_ns = perf_counter_ns()
            if with_worker:
                workers = [None if job is None else job._worker for job in self._jobs]
        extra = ()
        if workers is not None:
            extra = (
                (WORKER_FIELD, pa.array([None if w is None else w[0] for w in workers],
                                        pa.uint32())),
                (THREAD_ID_FIELD, pa.array([None if w is None else w[1] for w in workers],
                                           pa.uint64())),
            )
        return build_table(columns, self._pool_names(), self._pool_priorities(), now_ns,
                           name_order, extra)

    # -- the journal ----------------------------------------------------------------------
    def open_journal(self, capacity: int = 1_000_000) -> Journal:
        """Start recording every job start and finish (see ``journal.py``); several journals
        may be open at once, each with its own bounded buffer of ``capacity`` events."""
        journal = Journal(self, self._lock, capacity)
        with self._lock:
            self._journals.append(journal)
        return journal

    def _close_journal(self, journal: Journal) -> None:
        with self._lock:
            self._journals[:] = [j for j in self._journals if j is not journal]
