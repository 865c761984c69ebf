"""A history read offline as a source of jobs: what ``asl sql/query/graph --history`` query.

``HistorySource(spec)`` stands where a loader stands for ``sqlbridge.connect``: its
``asl_history`` gives the session the log tables (``sqlbridge.history.tables``), and its
``snapshot()`` gives ``system.asynchronous_loader`` the *last known state* of every job in the
history: the job's latest row (its finish, its start if it never finished, or its JobInterrupted
row if its process stopped), as the 22 columns.  Jobs scheduled but never started left no row,
so they are absent.  ``system.asynchronous_loader_pools`` is empty (a history has no workers).

Job ids are unique within one loader instance; a history of several runs may hold the same id
once per run.  ``latest_only=True`` (what ``asl graph`` uses, since edges are job ids) keeps the
jobs of the most recently started instance only.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from sqlbridge.history.live import SessionHistory
from sqlbridge.history.reader import History, HistorySpec
from sqlbridge.history.tables import LOG, PROCESSES, raw_name

__all__ = ["HistorySource"]

_JOB_COLUMNS = ("job", "job_id", "dependencies", "dependencies_left", "status", "is_executing",
                "is_blocked", "is_ready", "elapsed", "pool_id", "pool", "priority",
                "execution_pool_id", "execution_pool", "execution_priority", "ready_seqno",
                "waiters", "exception", "schedule_time", "enqueue_time", "start_time",
                "finish_time")

# The last word on each job: its finish, else its interruption, else its start.
_LAST_STATE = """
SELECT {columns} FROM {log} {where}
QUALIFY row_number() OVER (PARTITION BY loader_instance, job_id
                           ORDER BY CASE type WHEN 'JobFinish' THEN 2
                                    WHEN 'JobInterrupted' THEN 1 ELSE 0 END DESC,
                                    event_time_microseconds DESC) = 1
ORDER BY job, job_id
"""

_WORKER_COLUMNS = """, "worker", "thread_id",
    CASE WHEN type = 'JobInterrupted' THEN reason END AS "interrupted"
"""

_LATEST_INSTANCE = """
SELECT loader_instance FROM (
    SELECT loader_instance, started AS t FROM {processes}
    UNION ALL
    SELECT loader_instance, min(event_time_microseconds) FROM {log} GROUP BY loader_instance)
GROUP BY loader_instance ORDER BY min(t) DESC LIMIT 1
"""


class HistorySource:
    """One or more recorded histories as a source of jobs (see the module docstring)."""

    def __init__(self, spec: HistorySpec, *, latest_only: bool = False) -> None:
        self.asl_history = History(spec)
        self.latest_only = latest_only
        self._tables = SessionHistory(self)
        #: The instance ``latest_only`` chose at the last snapshot (for messages).
        self.instance: str | None = None

    def snapshot(self, with_worker: bool = False) -> pa.Table:
        """The last known state of each job; ``with_worker`` adds ``worker`` and ``thread_id``
        (as ``loader.snapshot(with_worker=True)``) and ``interrupted``, the reason of an
        interrupted job (NULL for the others), for ``asl timeline``."""
        from loader.snapshot import SCHEMA

        con = duckdb.connect(":memory:")
        try:
            self._tables.begin(con)
            log = raw_name(LOG)
            where = ""
            if self.latest_only:
                found = con.sql(_LATEST_INSTANCE.format(
                    processes=raw_name(PROCESSES), log=log)).fetchall()
                self.instance = found[0][0] if found else None
                if self.instance is not None:
                    where = f"WHERE loader_instance = '{self.instance}'"
            columns = ", ".join(f'"{c}"' for c in _JOB_COLUMNS)
            if with_worker:
                columns += _WORKER_COLUMNS
            table = con.sql(_LAST_STATE.format(columns=columns, log=log,
                                               where=where)).to_arrow_table()
        finally:
            con.close()
        status = table.column("status").combine_chunks().dictionary_encode()
        table = table.set_column(4, "status", status.cast(SCHEMA.field("status").type))
        if not with_worker:
            return table.cast(SCHEMA)
        extra = pa.schema([pa.field("worker", pa.uint32()), pa.field("thread_id", pa.uint64()),
                           pa.field("interrupted", pa.string())])
        return table.cast(pa.schema([*SCHEMA, *extra]))

    def pool_snapshot(self) -> pa.Table:
        from loader.snapshot import POOLS_SCHEMA

        return POOLS_SCHEMA.empty_table()

    def close(self) -> None:
        """Nothing to release (files are opened per statement); for symmetry with loaders."""

    def __enter__(self) -> HistorySource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<HistorySource {', '.join(map(str, self.asl_history.roots))}>"
