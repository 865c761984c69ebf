"""The timeline of a start-up as plain data: lanes, bars, waits, boosts and the critical path.

Input is one row per job with the columns of ``system.asynchronous_loader`` (SPEC section 3)
and, when the source records it, ``worker``: the lane of the worker within its execution pool
that ran the job (``loader.snapshot(with_worker=True)``, the history's log rows).  Without a
worker the lanes of a pool are packed by time (the first free lane), and the timeline says so
rather than pass a guess off as a record.

Times are integer microseconds since the Unix epoch throughout.  ``t0`` is the earliest
schedule time of the whole table (the start-up's start, whatever the filters keep): renderers
show times relative to it, so two pictures of one start-up share their axis.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sqlbridge.graph import select_jobs

__all__ = ["Bar", "Lane", "PoolGroup", "Timeline", "build_timeline", "parse_when", "start_of",
           "to_us", "REQUIRED"]

#: The columns a timeline cannot do without.
REQUIRED = ("job", "job_id", "dependencies", "status", "pool", "execution_pool",
            "schedule_time", "enqueue_time", "start_time", "finish_time", "elapsed")
#: The filter columns ``sqlbridge.graph.select_jobs`` reads; defaults when a source lacks them.
_GRAPH_COLUMNS = {"is_blocked": pa.uint8(), "is_ready": pa.uint8(), "is_executing": pa.uint8()}


_SECONDS = re.compile(r"^\+?(\d+(?:\.\d*)?|\.\d+)\s*s?$")


def parse_when(value: str | dt.datetime | int | None, t0: int) -> int | None:
    """An instant in microseconds: seconds since ``t0`` (``"0.5"``, ``"+2s"``), a time
    (``"2026-12-02 14:00:01.5"``, UTC unless it carries an offset), a datetime, or
    microseconds since the epoch.  Raises ``ValueError`` saying what is accepted."""
    if value is None or not isinstance(value, str):
        return to_us(value)
    text = value.strip()
    m = _SECONDS.match(text)
    if m:
        return t0 + int(round(float(m.group(1)) * 1e6))
    try:
        return to_us(dt.datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(f"{value!r} is neither seconds since the first job was scheduled "
                         "(0.5) nor a time (2026-12-02 14:00:01.5)") from None


def to_us(value: Any) -> int | None:
    """Microseconds since the epoch of a datetime (naive means UTC), or None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return int(value)


@dataclass
class Bar:
    """One job that started: it ran on ``lane`` of ``execution_pool`` from start to end."""

    job_id: int
    name: str
    status: str  # OK, FAILED, CANCELED, or PENDING while it still runs
    pool: str  # the pool it was last queued in (raised by a boost)
    execution_pool: str  # the pool whose worker ran it
    lane: int  # index into Timeline.lanes
    start: int
    end: int  # finish time, or the snapshot's now while it runs
    running: bool
    enqueue: int | None
    schedule: int
    dependencies: list[int]
    exception: str | None
    rows: _Rows = field(repr=False)
    index: int = field(repr=False)  # of the job's row in the source table
    critical: bool = False

    @property
    def row(self) -> dict[str, Any]:
        """The job's row as the source gave it (every column, times as datetimes)."""
        return self.rows.get(self.index)

    @property
    def json_row(self) -> dict[str, Any]:
        """The same row as JSON values (times as UTC text), for the page and the trace."""
        return self.rows.json(self.index)

    @property
    def wait(self) -> int:
        """Microseconds spent in the ready queue (enqueue to start)."""
        return max(0, self.start - self.enqueue) if self.enqueue is not None else 0

    @property
    def boosted(self) -> bool:
        """The job's pool was raised while it ran in a lower one (a boost cut in)."""
        return self.pool != self.execution_pool


@dataclass
class Lane:
    pool: str
    worker: int
    bars: list[int] = field(default_factory=list)  # indexes into Timeline.bars, by start

    @property
    def label(self) -> str:
        return f"worker {self.worker}"


@dataclass
class PoolGroup:
    name: str
    priority: int
    lanes: list[int]  # indexes into Timeline.lanes
    #: Ready-queue depth over time, as (time, depth) steps (depth holds until the next step).
    queue: list[tuple[int, int]]
    packed: bool = False  # lanes packed by time: the source records no worker
    busy: int = 0  # microseconds of work in the window, summed over lanes


@dataclass
class Timeline:
    bars: list[Bar]
    lanes: list[Lane]
    pools: list[PoolGroup]
    t0: int  # the first schedule time of the source's jobs
    start: int  # the window drawn
    end: int
    now: int  # the latest instant the source knows of
    critical_path: list[int]  # job_ids, first to last
    total: int  # jobs in the source
    selected: int  # jobs the filters kept (started or not)
    not_started: dict[str, int]  # of those, the ones that never ran, by state
    notes: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # of each bar's row, in order

    #: When the whole critical path began and ended (its first start, its last end).
    critical_span: tuple[int, int] | None = None

    @property
    def critical_length(self) -> int:
        """Microseconds from the critical path's first start to its last end."""
        return self.critical_span[1] - self.critical_span[0] if self.critical_span else 0


class _Rows:
    """The source's rows as Python values, made on first use: only the HTML page and the
    trace show whole rows, and making 5,000 rows of datetimes costs more than the layout."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self._rows: list[dict[str, Any]] | None = None
        self._json: list[dict[str, Any]] | None = None

    def get(self, index: int) -> dict[str, Any]:
        if self._rows is None:
            self._rows = self._table.to_pylist()
        return self._rows[index]

    def json(self, index: int) -> dict[str, Any]:
        """The row as JSON values: times as ``YYYY-MM-DD hh:mm:ss.ffffff`` UTC text, made by
        Arrow a column at a time (a datetime per value costs more than the whole layout)."""
        if self._json is None:
            import pyarrow.compute as pc

            table = self._table
            for i, field_ in enumerate(table.schema):
                column = table.column(i)
                if pa.types.is_timestamp(field_.type):
                    column = pc.strftime(column.cast(pa.timestamp("us", tz="UTC")),
                                         format="%Y-%m-%d %H:%M:%S")
                elif pa.types.is_dictionary(field_.type):
                    column = column.cast(field_.type.value_type)
                else:
                    continue
                table = table.set_column(i, field_.name, column)
            self._json = table.to_pylist()
        return self._json[index]


def _records(table: pa.Table) -> list[dict[str, Any]]:
    """The rows with times as integer microseconds (one Arrow cast per column, not a
    datetime per value) and ``_index``, the row's position."""
    names = table.column_names
    columns = []
    for name in names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        columns.append(column.to_pylist())
    out = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    for i, r in enumerate(out):
        r["_index"] = i
    return out


def _with_defaults(table: pa.Table) -> pa.Table:
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise ValueError(f"the job table lacks columns {missing}; a timeline needs the columns "
                         "of system.asynchronous_loader (SELECT * FROM it)")
    for name, type_ in _GRAPH_COLUMNS.items():
        if name not in table.column_names:
            table = table.append_column(name, pa.array([0] * table.num_rows, type_))
    return table


def _pool_priorities(rows: list[dict[str, Any]]) -> dict[str, int]:
    prio: dict[str, int] = {}
    for r in rows:
        for name, key in (("pool", "priority"), ("execution_pool", "execution_priority")):
            p = r.get(key)
            if r.get(name) is not None and p is not None:
                prio.setdefault(r[name], int(p))
    return prio


def build_timeline(
    table: pa.Table,
    *,
    job: str | int | None = None,
    direction: str = "both",
    depth: int | None = None,
    database: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
    since: str | dt.datetime | int | None = None,
    until: str | dt.datetime | int | None = None,
    pool_priorities: dict[str, int] | None = None,
) -> Timeline:
    """The timeline of ``table``'s jobs; filters as ``sqlbridge.graph.select_jobs`` has them.

    ``since``/``until`` (see ``parse_when``: seconds since t0 as text, a time, a datetime,
    or microseconds since the epoch) cut a time window: jobs
    that ran or waited outside it are left out and bars are clipped to it.  The critical path
    is computed over every job of the table (it is the start-up's), then shown where drawn.
    Raises ``LookupError`` for an unknown job and ``ValueError`` for a bad argument.
    """
    table = _with_defaults(table)
    sel = select_jobs(table, job=job, direction=direction, depth=depth, database=database,
                      status=status, max_jobs=None)
    columns = table.column_names
    rows = _records(table)
    source_rows = _Rows(table)
    prio = _pool_priorities(rows)
    prio.update(pool_priorities or {})
    has_worker = "worker" in columns
    now = _now_of(rows)
    t0 = start_of(table) or now
    since_us, until_us = parse_when(since, t0), parse_when(until, t0)
    if since_us is not None and until_us is not None and since_us >= until_us:
        raise ValueError("the time window is empty: --since must be before --until")

    by_id = {int(r["job_id"]): r for r in rows}
    if len(by_id) != len(rows):
        raise ValueError("the job table holds a job_id twice (several loader runs?): draw one "
                         "run at a time")
    critical = _critical_path(by_id)
    kept = set(sel.kept)
    notes = list(sel.notes)

    started, not_started = [], {"ready": 0, "blocked": 0, "canceled before starting": 0}
    for job_id in sel.kept:
        r = by_id[job_id]
        if r["start_time"] is None:
            if r["status"] == "PENDING":
                not_started["ready" if r.get("is_ready") else "blocked"] += 1
            else:
                not_started["canceled before starting"] += 1
            continue
        start, end = to_us(r["start_time"]), _end(r)
        enqueue = to_us(r["enqueue_time"])
        first = enqueue if enqueue is not None else start
        if until_us is not None and first >= until_us:
            continue
        if since_us is not None and end <= since_us:
            continue
        started.append((r, start, max(end, start), enqueue))

    lanes: list[Lane] = []
    bars: list[Bar] = []
    groups: list[PoolGroup] = []
    by_pool: dict[str, list[tuple]] = {}
    for item in started:
        by_pool.setdefault(item[0]["execution_pool"], []).append(item)
    queued = _queue_intervals(rows, kept, now)
    pool_names = sorted(set(by_pool) | set(queued), key=lambda p: (prio.get(p, 1 << 40), p))
    for pool in pool_names:
        items = sorted(by_pool.get(pool, []), key=lambda it: (it[1], int(it[0]["job_id"])))
        packed = not has_worker or any(it[0].get("worker") is None for it in items)
        workers = _pack(items) if packed else [int(it[0]["worker"]) for it in items]
        lane_of: dict[int, int] = {}
        for w in sorted(set(workers)):
            lane_of[w] = len(lanes)
            lanes.append(Lane(pool, w))
        busy = 0
        for (r, start, end, enqueue), w in zip(items, workers, strict=True):
            lane = lane_of[w]
            # A history marks a job whose process stopped mid-run: not running, not finished.
            interrupted = r.get("interrupted") is not None
            bar = Bar(int(r["job_id"]), r["job"],
                      "INTERRUPTED" if interrupted else str(r["status"]), r["pool"], pool, lane,
                      start, end, r["finish_time"] is None and not interrupted, enqueue,
                      r["schedule_time"], [int(d) for d in r["dependencies"] or ()],
                      r.get("exception"), source_rows, r["_index"],
                      critical=int(r["job_id"]) in critical)
            lanes[lane].bars.append(len(bars))
            bars.append(bar)
            lo = max(start, since_us) if since_us is not None else start
            hi = min(end, until_us) if until_us is not None else end
            busy += max(0, hi - lo)
        groups.append(PoolGroup(pool, prio.get(pool, 0), [lane_of[w] for w in sorted(lane_of)],
                                _depth_steps(queued.get(pool, [])), packed, busy))

    packed = [g.name for g in groups if g.packed and g.lanes]
    if packed:
        notes.append(f"lanes of {', '.join(packed)} packed by time: the source records no "
                     "worker (record one with loader.snapshot(with_worker=True) or a history)")
    # The whole start-up from t0, or the selection's own span when a filter cut it.
    firsts = [b.enqueue if b.enqueue is not None else b.start for b in bars]
    lo = min(firsts + ([] if sel.notes and firsts else [t0]))
    hi = max([b.end for b in bars] + [now if bars else t0])
    start = since_us if since_us is not None else lo
    end = until_us if until_us is not None else max(hi, start + 1)
    if since_us is not None or until_us is not None:
        notes.append("time window " + _window_text(since_us, until_us, t0))
    span = None
    if critical:
        first, last = by_id[critical[0]], by_id[critical[-1]]
        span = (to_us(first["start_time"]), _end(last))
    return Timeline(bars, lanes, groups, t0, start, end, now,
                    [i for i in critical if i in kept], sel.total, len(sel.kept),
                    {k: v for k, v in not_started.items() if v}, notes, columns, span)


def start_of(table: pa.Table) -> int | None:
    """The first schedule time of ``table``'s jobs (microseconds), or None when it has none."""
    if table.num_rows == 0 or "schedule_time" not in table.column_names:
        return None
    import pyarrow.compute as pc

    return to_us(pc.min(table.column("schedule_time")).as_py())


def _window_text(since: int | None, until: int | None, t0: int) -> str:
    def at(t: int | None) -> str:
        return "..." if t is None else f"{(t - t0) / 1e6:+.3f} s"
    return f"{at(since)} to {at(until)}"


def _now_of(rows: list[dict[str, Any]]) -> int:
    """The latest instant the table knows of: a running job's start + elapsed, or a time."""
    now = 0
    for r in rows:
        for name in ("schedule_time", "enqueue_time", "start_time", "finish_time"):
            t = to_us(r[name])
            if t is not None and t > now:
                now = t
        if r["start_time"] is not None and r["finish_time"] is None:
            now = max(now, _end(r))
    return now


def _pack(items: list[tuple]) -> list[int]:
    """Lowest free lane per job, in start order (what the loader's workers do, by time)."""
    free_at: list[int] = []
    out = []
    for _, start, end, _ in items:
        for lane, t in enumerate(free_at):
            if t <= start:
                free_at[lane] = end
                out.append(lane)
                break
        else:
            free_at.append(end)
            out.append(len(free_at) - 1)
    return out


def _queue_intervals(rows: list[dict[str, Any]], kept: set[int],
                     now: int) -> dict[str, list[tuple[int, int]]]:
    """(enqueue, leave) per pool for the kept jobs that entered a ready queue."""
    out: dict[str, list[tuple[int, int]]] = {}
    for r in rows:
        if int(r["job_id"]) not in kept or r["enqueue_time"] is None:
            continue
        enq = to_us(r["enqueue_time"])
        if r["start_time"] is not None:
            leave, pool = to_us(r["start_time"]), r["execution_pool"]
        elif r["finish_time"] is not None:  # canceled (removed) while ready
            leave, pool = to_us(r["finish_time"]), r["pool"]
        else:
            leave, pool = now, r["pool"]
        out.setdefault(pool, []).append((enq, max(enq, leave)))
    return out


def _depth_steps(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals],
                    key=lambda e: (e[0], e[1]))
    steps: list[tuple[int, int]] = []
    depth = 0
    for t, d in events:
        depth += d
        if steps and steps[-1][0] == t:
            steps[-1] = (t, depth)
        else:
            steps.append((t, depth))
    return steps


def _end(r: dict[str, Any]) -> int:
    """A started job's finish, or start + elapsed while it runs."""
    if r["finish_time"] is not None:
        return to_us(r["finish_time"])
    return to_us(r["start_time"]) + int(round((r["elapsed"] or 0.0) * 1e6))


def _critical_path(by_id: dict[int, dict[str, Any]]) -> list[int]:
    """The chain that ended last: from the job that finished last, back through the
    dependency that finished last each time (what it waited for), first job first."""
    ran = {i: r for i, r in by_id.items() if r["start_time"] is not None}
    if not ran:
        return []
    last = max(ran, key=lambda i: (_end(ran[i]), i))
    path, seen = [last], {last}
    while True:
        deps = [int(d) for d in ran[path[-1]]["dependencies"] or () if int(d) in ran
                and int(d) not in seen]
        if not deps:
            break
        nxt = max(deps, key=lambda i: (_end(ran[i]), i))
        path.append(nxt)
        seen.add(nxt)
    return path[::-1]
