"""Retention: delete (and optionally archive) finished jobs by age and/or by row count.

A job goes as a whole (its JobStart and JobFinish rows, and its text-log lines) once it has
finished: by age, when it finished more than ``max_age`` seconds ago; by rows, the oldest
finished jobs first until the log holds at most ``max_rows`` rows.  A job with a start row and
no finish row is never deleted, whatever its age: it is running, or it was interrupted, and
either way an operator wants to see it.

The work goes segment by segment (one batch each): the kept rows replace the segment in place
(an atomic ``os.replace`` onto its own name, so a reader sees the old rows or the new ones),
an emptied segment is deleted, and with ``archive=True`` the deleted log rows are first
written to ``archive/log/`` (``system.asynchronous_loader_log_archive``, the log's schema).
A kill between the archive write and the rewrite leaves those rows in both tables, never in
neither.  Segments of another process that is still recording are left to that process.
The run's figures go to ``retention/<instance>.parquet`` (the last run of each instance).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .alive import ALIVE_COLUMNS, is_alive
from .schema import (
    RETENTION_SCHEMA,
    Layout,
    NotAHistory,
    parse_segment_name,
    schema_version_of,
    segment_name,
    visible_segments,
)
from .segments import write_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retention:
    """A retention policy.  ``max_age`` in seconds (or a timedelta); ``max_rows`` of the log;
    ``archive`` moves deleted log rows to the archive table; ``interval``: a recorder applies
    the policy every that many seconds (None: only on demand, ``rec.apply_retention()``)."""

    max_age: float | _dt.timedelta | None = None
    max_rows: int | None = None
    archive: bool = False
    interval: float | None = 3600.0

    def __post_init__(self) -> None:
        age = self.max_age_seconds
        if age is not None and age < 0:
            raise ValueError(f"Retention(max_age=...) must be >= 0 seconds, not {age}")
        if self.max_rows is not None and self.max_rows < 0:
            raise ValueError(f"Retention(max_rows=...) must be >= 0, not {self.max_rows}")
        if self.interval is not None and self.interval < 0:
            raise ValueError(f"Retention(interval=...) must be >= 0 seconds or None, "
                             f"not {self.interval}")

    def replace(self, **changes: Any) -> Retention:
        return replace(self, **changes)

    @property
    def max_age_seconds(self) -> float | None:
        if isinstance(self.max_age, _dt.timedelta):
            return self.max_age.total_seconds()
        return None if self.max_age is None else float(self.max_age)


@dataclass
class RetentionReport:
    """What one retention run did (also stored as a row of the retention table)."""

    rows_deleted: int = 0
    rows_archived: int = 0
    text_log_rows_deleted: int = 0
    unfinished_jobs_kept: int = 0
    segments_rewritten: int = 0
    rows_remaining: int = 0
    skipped_segments: int = 0


def _alive_instances(layout: Layout, own: str, now: float) -> set[str]:
    """Instances of other processes that still record (their segments are theirs to trim),
    by the readers' rule (``alive.is_alive``: a zombie or a reused pid is dead)."""
    alive: set[str] = set()
    host = socket.gethostname()
    when = _dt.datetime.fromtimestamp(now, _dt.UTC)
    try:
        names = os.listdir(layout.processes)
    except FileNotFoundError:
        return alive
    for name in names:
        if not name.endswith(".parquet") or name.startswith(own):
            continue
        try:
            row = pq.read_table(layout.processes / name,
                                columns=["loader_instance", *ALIVE_COLUMNS]).to_pylist()[0]
        except Exception:  # noqa: BLE001 - unreadable: treat as alive, touch nothing of it
            alive.add(name[:-len(".parquet")])
            continue
        if is_alive(row, host, when):
            alive.add(row["loader_instance"])
    return alive


def _segments(directory: Path, skip: set[str]) -> list[Path]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    out = []
    for name in visible_segments(names):
        parsed = parse_segment_name(name)
        if parsed is not None and parsed[0] not in skip:
            out.append(directory / name)
    return out


def _count_rows(directory: Path) -> int:
    total = 0
    for p in _segments(directory, set()):
        try:
            total += pq.ParquetFile(p).metadata.num_rows
        except Exception:  # noqa: BLE001 - a corrupt or vanished segment counts as empty
            pass
    return total


def apply_retention(
    path: str | os.PathLike[str],
    policy: Retention | None = None,
    *,
    max_age: float | _dt.timedelta | None = None,
    max_rows: int | None = None,
    archive: bool | None = None,
    now: float | None = None,
    instance: str | None = None,
    hostname: str | None = None,
    pid: int | None = None,
    fsync: bool = False,
) -> RetentionReport:
    """Apply ``policy`` (or the keyword options) to the history at ``path`` now."""
    policy = policy or Retention()
    changes = {k: v for k, v in (("max_age", max_age), ("max_rows", max_rows),
                                 ("archive", archive)) if v is not None}
    policy = policy.replace(**changes)
    layout = Layout(Path(path))
    if schema_version_of(layout.root, to="trim it") is None:
        raise NotAHistory(f"{layout.root} is not an asl history (no asl-history.json)")
    own = instance or uuid.uuid4().hex
    wall = time.time() if now is None else now
    t0 = time.monotonic()
    report = RetentionReport()
    error = None
    try:
        _run(layout, policy, own, wall, report, fsync)
    except OSError as e:
        error = f"{type(e).__name__}: {e}"
        raise
    finally:
        report.rows_remaining = _count_rows(layout.log)
        _write_report(layout, policy, report, own, hostname or socket.gethostname(),
                      os.getpid() if pid is None else pid, wall, time.monotonic() - t0,
                      error, fsync)
    return report


def _run(layout: Layout, policy: Retention, own: str, now: float, report: RetentionReport,
         fsync: bool) -> None:
    skip = _alive_instances(layout, own, now)
    paths = _segments(layout.log, skip)
    keys = []
    for i, p in enumerate(paths):
        try:
            t = pq.read_table(p, columns=["loader_instance", "job_id", "type",
                                            "event_time_microseconds"])
        except FileNotFoundError:
            continue
        except Exception as e:  # noqa: BLE001 - a corrupt segment stays, and is named
            log.warning("retention skips %s: %s", p, e)
            report.skipped_segments += 1
            continue
        keys.append(t.append_column("segment", pa.array([i] * t.num_rows, pa.int32())))
    if not keys:
        return
    rows = pa.concat_tables(keys)
    finish = pc.equal(rows.column("type"), "JobFinish")
    rows = rows.append_column("finished", finish.cast(pa.int8()))
    # event_time is whole seconds; the order of jobs needs the microseconds.
    times = rows.column("event_time_microseconds")
    rows = rows.append_column(
        "finish_time", pc.if_else(finish, times, pa.scalar(None, times.type)))
    jobs = rows.group_by(["loader_instance", "job_id"]).aggregate(
        [("finished", "max"), ("finish_time", "max"), ("job_id", "count")])
    unfinished = pc.equal(jobs.column("finished_max"), 0)
    report.unfinished_jobs_kept = pc.sum(unfinished.cast(pa.int64())).as_py() or 0
    done = jobs.filter(pc.invert(unfinished)).sort_by(
        [("finish_time_max", "ascending"), ("job_id", "ascending")])

    delete = pa.array([False] * done.num_rows)
    age = policy.max_age_seconds
    if age is not None:
        cutoff = pa.scalar(int((now - age) * 1_000_000), pa.timestamp("us", tz="UTC"))
        delete = pc.less(done.column("finish_time_max"), cutoff)
    if policy.max_rows is not None:
        counts = done.column("job_id_count").cast(pa.int64())
        total = _count_rows(layout.log)
        already = pc.sum(pc.if_else(delete, counts, 0)).as_py() or 0
        excess = total - already - policy.max_rows
        if excess > 0:
            # Oldest finished first: delete while the rows before this job are not enough.
            extra = pc.if_else(delete, 0, counts)
            before = pc.subtract(pc.cumulative_sum(extra), extra)
            delete = pc.or_(delete, pc.and_(pc.invert(delete), pc.less(before, excess)))
    doomed = done.filter(delete)
    if doomed.num_rows == 0:
        return
    by_instance: dict[str, pa.Array] = {}
    for inst in pc.unique(doomed.column("loader_instance")).to_pylist():
        sel = doomed.filter(pc.equal(doomed.column("loader_instance"), inst))
        by_instance[inst] = sel.column("job_id").combine_chunks()

    archive_seq = _next_archive_seq(layout, own) if policy.archive else 0
    for p in paths:
        inst = parse_segment_name(p.name)[0]
        ids = by_instance.get(inst)
        if ids is None:
            continue
        removed = _trim(layout, p, pc.field("job_id").isin(ids), fsync, report,
                        archive_to=(layout.archive_log / segment_name(own, archive_seq,
                                                                      archive_seq))
                        if policy.archive else None)
        if removed and policy.archive:
            report.rows_archived += removed
            archive_seq += 1
        report.rows_deleted += removed

    # Text log: the lines of deleted jobs, and by age the lines of no unfinished job.
    open_jobs = jobs.filter(unfinished)
    open_by_instance: dict[str, pa.Array] = {}
    for inst in pc.unique(open_jobs.column("loader_instance")).to_pylist():
        sel = open_jobs.filter(pc.equal(open_jobs.column("loader_instance"), inst))
        open_by_instance[inst] = sel.column("job_id").combine_chunks()
    for p in _segments(layout.text_log, skip):
        inst = parse_segment_name(p.name)[0]
        ids = by_instance.get(inst, pa.array([], pa.uint64()))
        cond = pc.field("job_id").isin(ids)
        if age is not None:
            keep_open = open_by_instance.get(inst, pa.array([], pa.uint64()))
            old = pc.field("event_time_microseconds") < cutoff
            cond = cond | (old & ~pc.field("job_id").isin(keep_open))
        report.text_log_rows_deleted += _trim(layout, p, cond, fsync, report, None)


def _trim(layout: Layout, p: Path, doomed: Any, fsync: bool, report: RetentionReport,
          archive_to: Path | None) -> int:
    """Remove the rows matching ``doomed`` from segment ``p``; return how many went."""
    import pyarrow.dataset as ds

    try:
        # Decide on the two columns the filters use; read the whole segment only to rewrite.
        keys = ds.dataset(pq.read_table(p, columns=["job_id", "event_time_microseconds"]))
        if keys.count_rows(filter=doomed) == 0:
            return 0
        table = pq.read_table(p)
    except FileNotFoundError:
        return 0
    except Exception as e:  # noqa: BLE001 - a corrupt segment stays, and is named
        log.warning("retention skips %s: %s", p, e)
        report.skipped_segments += 1
        return 0
    data = ds.dataset(table)
    gone = data.to_table(filter=doomed)
    if archive_to is not None:
        write_atomic(layout, gone, archive_to, fsync=fsync)
    kept = data.to_table(filter=~doomed)
    if kept.num_rows:
        write_atomic(layout, kept, p, fsync=fsync)
    else:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    report.segments_rewritten += 1
    return gone.num_rows


def _next_archive_seq(layout: Layout, own: str) -> int:
    seq = 0
    try:
        for name in os.listdir(layout.archive_log):
            parsed = parse_segment_name(name)
            if parsed is not None and parsed[0] == own:
                seq = max(seq, parsed[2])
    except FileNotFoundError:
        pass
    return seq + 1


def _write_report(layout: Layout, policy: Retention, report: RetentionReport, own: str,
                  hostname: str, pid: int, now: float, duration: float, error: str | None,
                  fsync: bool) -> None:
    values = {f.name: getattr(report, f.name) for f in fields(report)}
    row = {
        "hostname": hostname, "loader_instance": own, "pid": pid,
        "run_time": int(now * 1_000_000), "duration": duration,
        "max_age_seconds": policy.max_age_seconds, "max_rows": policy.max_rows,
        "archive": int(policy.archive), "error": error,
        **{k: v for k, v in values.items() if k in RETENTION_SCHEMA.names},
    }
    table = pa.Table.from_pylist([row], schema=RETENTION_SCHEMA)
    try:
        layout.retention.mkdir(parents=True, exist_ok=True)
        write_atomic(layout, table, layout.retention / f"{own}.parquet", fsync=fsync)
    except OSError as e:
        log.warning("could not record the retention run in %s: %s", layout.retention, e)
