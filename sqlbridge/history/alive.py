"""Whether a recording process still records: the one rule, for the readers (``liveness``)
and for retention, which must not trim what a live process still owns.

A process is *alive* when its recorder has not been closed (``ended`` is NULL) and:

* on this host, its pid exists, is not a zombie, and that process started no later than the
  recorder (so a pid reused after a crash does not pass for the dead process); the pid answers
  at once, where a heartbeat could only answer after a few flush intervals;
* on another host, its heartbeat (the last flush) is younger than
  ``max(3 * flush_interval, 5 s)``.

Standard library only: the recorder's process imports it (through retention) without DuckDB.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

__all__ = ["ALIVE_COLUMNS", "is_alive"]

_MIN_STALE = 5.0


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _pid_started(fields: list[str] | None) -> float | None:
    """The Unix time the process started, from its /proc stat fields, or None if unknown."""
    boot = _boot_time()
    if boot is None or fields is None:
        return None
    try:
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError):
        return None


def _pid_alive(pid: int, started: dt.datetime) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    except OSError:
        return False
    fields = _proc_stat(pid)
    # A killed process keeps its pid as a zombie until its parent reaps it (a supervisor that
    # has not yet, a container whose PID 1 never does): kill(pid, 0) succeeds, yet it is dead.
    if fields and fields[0] in ("Z", "X", "x"):
        return False
    began = _pid_started(fields)
    # /proc's start time has clock-tick resolution and btime whole seconds: allow 2 s.
    return began is None or began <= started.timestamp() + 2.0


#: The columns of a processes row that ``is_alive`` reads.
ALIVE_COLUMNS = ["hostname", "pid", "started", "heartbeat", "flush_interval", "ended"]


def is_alive(row: Mapping[str, object], host: str, now: dt.datetime) -> bool:
    """Whether the process of one processes row (``ALIVE_COLUMNS``) still records."""
    if row["ended"] is not None:
        return False
    if row["hostname"] == host:
        return _pid_alive(row["pid"], row["started"])  # type: ignore[arg-type]
    stale = max(3 * row["flush_interval"], _MIN_STALE)  # type: ignore[operator]
    return (now - row["heartbeat"]).total_seconds() < stale  # type: ignore[operator]
