"""A stand-in for ``loader.open_journal()`` for the writer-logic tests (the contract's shape).

It turns a real loader's snapshot into start and finish events, so the rows carry real
values; the end-to-end tests use the real journal.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


@dataclass
class FakeBatch:
    table: pa.Table
    jobs: list[Any]


class FakeJournal:
    def __init__(self) -> None:
        self.dropped = 0
        self.closed = False
        self._lock = threading.Lock()
        self._tables: list[pa.Table] = []
        self._jobs: list[Any] = []

    def push(self, table: pa.Table, jobs: list[Any]) -> None:
        with self._lock:
            self._tables.append(table)
            self._jobs.extend(jobs)

    def drain(self) -> FakeBatch:
        with self._lock:
            tables, jobs = self._tables, self._jobs
            self._tables, self._jobs = [], []
        if not tables:
            return FakeBatch(_empty(), [])
        return FakeBatch(pa.concat_tables(tables), jobs)

    def close(self) -> None:
        self.closed = True


class FakeLoader:
    """Wraps a real AsyncLoader; open_journal() gives a FakeJournal fed by ``emit()``."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.journal: FakeJournal | None = None

    def open_journal(self, capacity: int = 1_000_000) -> FakeJournal:
        self.journal = FakeJournal()
        return self.journal

    def emit(self, jobs: list[Any], *, starts: bool = True, finishes: bool = True) -> None:
        """Push start and/or finish events of ``jobs`` (finished jobs of self.loader)."""
        snap = self.loader.snapshot()
        ids = pa.array([j.job_id for j in jobs], pa.uint64())
        rows = snap.filter(pc.is_in(snap.column("job_id"), ids))
        order = {row: i for i, row in enumerate(rows.column("job_id").to_pylist())}
        ordered = [None] * len(jobs)
        for j in jobs:
            ordered[order[j.job_id]] = j
        n = rows.num_rows
        extra = {
            "parent_job_id": pa.array([j.parent_job_id or None for j in ordered], pa.uint64()),
            "worker": pa.array([0] * n, pa.uint32()),
            "thread_id": pa.array([1] * n, pa.uint64()),
        }
        assert self.journal is not None
        if starts:
            t = _with_event(rows, 1, rows.column("start_time"), extra)
            field = rows.schema.field("status")
            st = pa.array(["PENDING"] * n).dictionary_encode().cast(field.type)
            t = t.set_column(t.schema.get_field_index("status"), field, st)
            self.journal.push(t, ordered)
        if finishes:
            self.journal.push(_with_event(rows, 2, rows.column("finish_time"), extra), ordered)


def _with_event(rows: pa.Table, event: int, times: Any, extra: dict[str, pa.Array]) -> pa.Table:
    n = rows.num_rows
    times = pc.if_else(pc.is_null(times), rows.column("schedule_time"), times)
    cols = {"event": pa.array([event] * n, pa.uint8()), "event_time": times, **extra}
    t = pa.table(cols)
    for name in rows.column_names:
        t = t.append_column(rows.schema.field(name), rows.column(name))
    return t


def _empty() -> pa.Table:
    from loader.snapshot import SCHEMA

    cols = [pa.field("event", pa.uint8()), pa.field("event_time", pa.timestamp("us", tz="UTC")),
            pa.field("parent_job_id", pa.uint64()), pa.field("worker", pa.uint32()),
            pa.field("thread_id", pa.uint64()), *SCHEMA]
    return pa.schema(cols).empty_table()
