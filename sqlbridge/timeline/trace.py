"""A timeline as Chrome trace-event JSON, for Perfetto (ui.perfetto.dev) and chrome://tracing.

The JSON Object Format of the Trace Event Format: one process per pool (``pid``, sorted by
pool priority), one thread per worker lane (``tid``, named ``worker N``), and per job that
ran one complete event (``ph: "X"``) with ``ts``/``dur`` in microseconds since ``t0`` (the
first schedule time; the absolute instant is in ``otherData``) and the job's row in ``args``.
Also: a counter (``ph: "C"``) per pool for its ready-queue depth, an instant event
(``ph: "i"``, thread scope) where a job's pool was raised while it ran (a boost), and flow
events (``ph: "s"``/``"f"``) linking the critical path from each job's end to the next one's
start.  Process 0 holds the critical path as a thread of its own, so it reads in one line.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .model import Bar, Timeline

__all__ = ["to_trace", "trace_events"]

#: chrome://tracing's reserved colour names (Perfetto picks its own colours).
_CNAME = {"OK": "good", "FAILED": "terrible", "CANCELED": "bad", "PENDING": "yellow"}


def _args(bar: Bar, timeline: Timeline) -> dict[str, Any]:
    args = dict(bar.json_row)
    args["wait_us"] = bar.wait
    args["lane"] = timeline.lanes[bar.lane].worker
    if bar.running:
        args["running"] = True
    if bar.critical:
        args["critical_path"] = True
    return args


def trace_events(timeline: Timeline) -> list[dict[str, Any]]:
    """The events of ``timeline``, metadata first."""
    tl = timeline
    t0 = tl.t0
    events: list[dict[str, Any]] = []
    pid_of: dict[str, int] = {}
    for n, group in enumerate(tl.pools, start=1):
        pid_of[group.name] = n
        events.append({"ph": "M", "name": "process_name", "pid": n, "tid": 0,
                       "args": {"name": f"{group.name} (priority {group.priority})"}})
        events.append({"ph": "M", "name": "process_sort_index", "pid": n, "tid": 0,
                       "args": {"sort_index": n}})
        for index in group.lanes:
            lane = tl.lanes[index]
            tid = lane.worker + 1  # tid 0 reads as "no thread" in some viewers
            events.append({"ph": "M", "name": "thread_name", "pid": n, "tid": tid,
                           "args": {"name": lane.label}})
            events.append({"ph": "M", "name": "thread_sort_index", "pid": n, "tid": tid,
                           "args": {"sort_index": tid}})
        for t, depth in group.queue:
            if tl.start <= t <= tl.end:
                events.append({"ph": "C", "name": "ready queue", "pid": n, "tid": 0,
                               "ts": t - t0, "args": {"jobs": depth}})
    by_id = {b.job_id: b for b in tl.bars}
    path = [by_id[i] for i in tl.critical_path if i in by_id]
    if path:
        events.append({"ph": "M", "name": "process_name", "pid": 0, "tid": 0,
                       "args": {"name": "critical path"}})
        events.append({"ph": "M", "name": "process_sort_index", "pid": 0, "tid": 0,
                       "args": {"sort_index": 0}})
        events.append({"ph": "M", "name": "thread_name", "pid": 0, "tid": 1,
                       "args": {"name": "critical path"}})
    for bar in tl.bars:
        lane = tl.lanes[bar.lane]
        status = "PENDING" if bar.running else bar.status
        event = {"ph": "X", "name": bar.name, "cat": status, "pid": pid_of[bar.execution_pool],
                 "tid": lane.worker + 1, "ts": bar.start - t0, "dur": bar.end - bar.start,
                 "args": _args(bar, tl)}
        if status in _CNAME:
            event["cname"] = _CNAME[status]
        events.append(event)
        if bar.boosted:
            events.append({"ph": "i", "s": "t", "name": f"boost: pool raised to {bar.pool}",
                           "cat": "boost", "pid": pid_of[bar.execution_pool],
                           "tid": lane.worker + 1, "ts": bar.start - t0,
                           "args": {"job_id": bar.job_id, "pool": bar.pool,
                                    "execution_pool": bar.execution_pool}})
    for bar in path:
        events.append({"ph": "X", "name": bar.name, "cat": "critical path", "pid": 0, "tid": 1,
                       "ts": bar.start - t0, "dur": bar.end - bar.start,
                       "args": {"job_id": bar.job_id, "status": bar.status}})
    for n, (a, b) in enumerate(zip(path, path[1:], strict=False), start=1):
        # Flow ends bind to a slice of their thread: DevTools by equal ts and cat, Perfetto
        # by enclosing slice ("bp": "e" for the finish).  So each end sits at its job's start
        # with that job's category; viewers draw the arrow from the first slice's end.
        for ph, bar in (("s", a), ("f", b)):
            flow = {"ph": ph, "id": n, "name": "critical path",
                    "cat": "PENDING" if bar.running else bar.status,
                    "pid": pid_of[bar.execution_pool], "tid": tl.lanes[bar.lane].worker + 1,
                    "ts": bar.start - t0}
            if ph == "f":
                flow["bp"] = "e"
            events.append(flow)
    return events


def to_trace(timeline: Timeline, *, title: str | None = None) -> str:
    """The JSON text (Object Format, so viewers also read ``otherData``)."""
    t0 = dt.datetime.fromtimestamp(timeline.t0 / 1e6, dt.UTC)
    other = {"title": title or "asl timeline", "t0": t0.strftime("%Y-%m-%d %H:%M:%S.%f UTC"),
             "t0_us": timeline.t0, "jobs": timeline.total, "selected": timeline.selected,
             "ran": len(timeline.bars), "critical_path": timeline.critical_path,
             "notes": timeline.notes}
    doc = {"traceEvents": trace_events(timeline), "displayTimeUnit": "ms", "otherData": other}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"
