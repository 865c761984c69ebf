"""Histories written by hand for the reader's tests: segments with the stored schemas.

The reader must cope with files it did not see being written (another process, another host, a
crash), so its tests build directories directly: exact rows, exact file names, exact damage.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlbridge.history.schema import (
    LOG_SCHEMA,
    PROCESSES_SCHEMA,
    TEXT_LOG_SCHEMA,
    marker_text,
    segment_name,
)

T0 = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
INSTANCE_A = "a" * 32
INSTANCE_B = "b" * 32


def make_history(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "asl-history.json").write_text(marker_text())
    return root


def log_row(job_id: int, type_: str = "JobFinish", *, instance: str = INSTANCE_A,
            job: str | None = None, status: str | None = None, at: float = 0.0,
            pid: int = 4242, hostname: str = "elsewhere", **over: Any) -> dict[str, Any]:
    """One log row; ``at`` is seconds after T0 (the event time)."""
    when = T0 + dt.timedelta(seconds=at)
    start = T0 + dt.timedelta(seconds=max(0.0, at - 1.0)) if type_ == "JobFinish" else when
    if status is None:
        status = "PENDING" if type_ == "JobStart" else "OK"
    row = {
        "hostname": hostname, "event_date": when.date(), "event_time": when.replace(microsecond=0),
        "event_time_microseconds": when, "type": type_,
        "job": job or f"load table db.t{job_id}", "job_id": job_id, "dependencies": [],
        "dependencies_left": 0, "status": status, "is_executing": int(type_ == "JobStart"),
        "is_blocked": 0, "is_ready": 0, "elapsed": 1.0 if type_ == "JobFinish" else 0.0,
        "pool_id": 0, "pool": "BackgroundLoad", "priority": 1, "execution_pool_id": 0,
        "execution_pool": "BackgroundLoad", "execution_priority": 1, "ready_seqno": None,
        "waiters": 0, "exception": None, "schedule_time": T0, "enqueue_time": T0,
        "start_time": start, "finish_time": when if type_ == "JobFinish" else None,
        "parent_job_id": None, "tags": [], "result": None, "error_type": None,
        "traceback": None, "worker": 0, "thread_id": 1, "pid": pid,
        "loader_instance": instance, "version": "test", "reason": None,
    }
    row.update(over)
    return row


def job_rows(job_id: int, *, finished: bool = True, **kw: Any) -> list[dict[str, Any]]:
    """A start row and (unless ``finished`` is False) a finish row of one job."""
    at = kw.pop("at", float(job_id))
    status = kw.pop("status", None)  # the finish's: a start is always PENDING
    rows = [log_row(job_id, "JobStart", at=at - 0.5, **kw)]
    if finished:
        rows.append(log_row(job_id, "JobFinish", at=at, status=status, **kw))
    return rows


def write_segment(root: Path, rows: list[dict[str, Any]], first: int, last: int, *,
                  instance: str = INSTANCE_A, table_dir: str = "log",
                  schema: pa.Schema = LOG_SCHEMA) -> Path:
    directory = root / table_dir
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / segment_name(instance, first, last)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def text_row(job_id: int, message: str, *, instance: str = INSTANCE_A, at: float = 0.0,
             level: str = "Information") -> dict[str, Any]:
    when = T0 + dt.timedelta(seconds=at)
    return {
        "hostname": "elsewhere", "event_date": when.date(),
        "event_time": when.replace(microsecond=0), "event_time_microseconds": when,
        "thread_name": "asl-BackgroundLoad-0", "thread_id": 1, "level": level, "query_id": "",
        "logger_name": "app", "message": message, "revision": 0, "source_file": "app.py",
        "source_line": 1, "message_format_string": message, "job_id": job_id,
        "job": f"load table db.t{job_id}", "loader_instance": instance, "pid": 4242,
    }


def write_text_segment(root: Path, rows: list[dict[str, Any]], first: int, last: int, *,
                       instance: str = INSTANCE_A) -> Path:
    return write_segment(root, rows, first, last, instance=instance, table_dir="text_log",
                         schema=TEXT_LOG_SCHEMA)


def write_process(root: Path, *, instance: str = INSTANCE_A, pid: int = 4242,
                  hostname: str = "elsewhere", heartbeat: dt.datetime | None = None,
                  ended: dt.datetime | None = None, flush_interval: float = 1.0,
                  started: dt.datetime = T0) -> Path:
    directory = root / "processes"
    directory.mkdir(parents=True, exist_ok=True)
    row = {
        "hostname": hostname, "loader_instance": instance, "pid": pid, "version": "test",
        "started": started, "heartbeat": heartbeat or T0, "flush_interval": flush_interval,
        "ended": ended, "end_reason": "closed" if ended else None, "events_written": 0,
        "events_dropped": 0, "text_log_dropped": 0, "write_errors": 0, "last_error": None,
    }
    path = directory / f"{instance}.parquet"
    pq.write_table(pa.Table.from_pylist([row], schema=PROCESSES_SCHEMA), path)
    return path


def this_host_process(root: Path, **kw: Any) -> Path:
    """A processes row for the running test process (alive by its pid)."""
    now = dt.datetime.now(dt.UTC)
    return write_process(root, pid=os.getpid(), hostname=socket.gethostname(), heartbeat=now,
                         started=now - dt.timedelta(seconds=1), **kw)


#: Subprocess wall-clock limit: generous for a loaded 2-core box.
SUBPROCESS_TIMEOUT = 60
CHILD = Path(__file__).resolve().parent / "history_child.py"


def asl_command() -> list[str]:
    """The installed console script next to this interpreter, else ``-m cli.main``."""
    import shutil
    import sys

    script = Path(sys.executable).with_name("asl")
    if script.exists():
        return [str(script)]
    found = shutil.which("asl")
    return [found] if found else [sys.executable, "-m", "cli.main"]


def run_asl(*args: str, timeout: float = SUBPROCESS_TIMEOUT):
    """``asl ARGS`` in a subprocess (TZ=UTC, no ASL_URL) -> CompletedProcess."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "ASL_URL"}
    env["TZ"] = "UTC"
    return subprocess.run([*asl_command(), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def spawn_child(path: Path, mode: str):
    """Start ``history_child.py PATH MODE``; returns (process, instance) once it says so."""
    import subprocess
    import sys
    import threading

    process = subprocess.Popen([sys.executable, str(CHILD), str(path), mode],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(SUBPROCESS_TIMEOUT, process.kill)
    watchdog.start()
    try:
        line = process.stdout.readline().split()
    finally:
        watchdog.cancel()
    if len(line) != 2:
        process.kill()
        raise AssertionError(f"the {mode} child did not start (exit {process.wait()})")
    return process, line[1]


def _has_journal() -> bool:
    from loader import AsyncLoader

    return hasattr(AsyncLoader, "open_journal")


#: For tests that record a real loader (in a child process too).
requires_journal = pytest.mark.skipif(not _has_journal(),
                                      reason="loader.open_journal() has not landed yet")
