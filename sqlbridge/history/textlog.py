"""The text log: every log record emitted inside a load job, buffered for the history writer.

``TextLogHandler.capture`` is a record tap (``loader.context.add_record_tap``): the record
factory of ``loader.context`` calls it with each record created on a worker thread during a
job (``record.job_id`` set), whatever logger made it.  It is no handler of any logger, so
the logging configuration neither adds, removes nor silences it (``basicConfig``,
``dictConfig``, ``propagate = False``), and leaves logging's last-resort stderr output alone.
It appends one tuple to a bounded in-memory buffer and returns: a job never waits on disk,
and when the buffer is full the record is counted in ``dropped`` instead.

A record exists only once its logger's level (and ``logging.disable``, and a logger disabled
by ``dictConfig``) let it through, so those still decide what is seen; ``level`` (the
recorder's ``text_log_level``) is the least level kept.  Logger filters and handler levels do
not apply: the text log sees every record a job's logger creates.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections import deque
from typing import Any

import pyarrow as pa

from .events import _whole_seconds
from .schema import TEXT_LOG_SCHEMA, clickhouse_level

_formatter = logging.Formatter()


class TextLogHandler:
    """Buffers in-job log records as text_log rows (bounded; overflow is counted)."""

    def __init__(self, capacity: int = 100_000, level: int = logging.NOTSET) -> None:
        self.capacity = capacity
        self.level = level
        self.dropped = 0
        self._buffer: deque[tuple[Any, ...]] = deque()

    # No lock: a deque append is atomic, and workers logging at once must not queue up on one
    # lock.
    def capture(self, record: logging.LogRecord) -> None:
        """The record tap: keep ``record`` if it was made inside a job and is not below level."""
        if not getattr(record, "job_id", 0) or record.levelno < self.level:
            return
        if len(self._buffer) >= self.capacity:
            self.dropped += 1
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message = f"{message}\n{_formatter.formatException(record.exc_info)}"
            elif record.exc_text:
                message = f"{message}\n{record.exc_text}"
            if record.stack_info:
                message = f"{message}\n{record.stack_info}"
            msg = record.msg
            fmt = msg if isinstance(msg, str) else repr(msg)
        except Exception:  # a broken __str__ in a log argument must not fail the job
            _report_error(record)
            return
        self._buffer.append((
            int(record.created * 1_000_000), record.threadName or "",
            threading.get_native_id(), record.levelno, record.name, message,
            record.pathname or "", record.lineno or 0, fmt, record.job_id,
            getattr(record, "job", "") or "",
        ))

    def drain(self) -> list[tuple[Any, ...]]:
        """The buffered rows, oldest first, removed from the buffer."""
        buffer = self._buffer
        return [buffer.popleft() for _ in range(len(buffer))]


def _report_error(record: logging.LogRecord) -> None:
    """Say on stderr that a record could not be kept, as ``logging.Handler.handleError`` does."""
    if not logging.raiseExceptions:
        return
    try:
        sys.stderr.write("--- Logging error (asl history text log) ---\n")
        traceback.print_exc(file=sys.stderr)
        sys.stderr.write(f"Message: {record.msg!r}\nArguments: {record.args!r}\n")
    except Exception:  # stderr closed or broken: nothing more to do
        pass


_COLUMNS = ("time", "thread_name", "thread_id", "levelno", "logger_name", "message",
            "source_file", "source_line", "message_format_string", "job_id", "job")


def text_log_table(rows: list[tuple[Any, ...]], *, hostname: str, instance: str, pid: int,
                   redactor: Any = None, secrets: set[str] | None = None) -> pa.Table:
    """The drained rows as a table of ``TEXT_LOG_SCHEMA``."""
    n = len(rows)
    if rows:
        cols = dict(zip(_COLUMNS, zip(*rows, strict=True), strict=True))
    else:
        cols = {c: () for c in _COLUMNS}
    micros = pa.array(cols["time"], pa.int64())
    ts = micros.cast(pa.timestamp("us", tz="UTC"))
    seconds = _whole_seconds(ts)
    message = pa.array(cols["message"], pa.string())
    fmt = pa.array(cols["message_format_string"], pa.string())
    job = pa.array(cols["job"], pa.string())
    if redactor is not None:
        message, fmt, job = (redactor.text(a, secrets or ()) for a in (message, fmt, job))
    levels = [clickhouse_level(x) for x in cols["levelno"]]
    arrays = [
        pa.array([hostname] * n, pa.string()),
        ts.cast(pa.date32()),
        seconds,
        ts,
        pa.array(cols["thread_name"], pa.string()),
        pa.array(cols["thread_id"], pa.uint64()),
        pa.array(levels, pa.string()),
        pa.array([""] * n, pa.string()),
        pa.array(cols["logger_name"], pa.string()),
        message,
        pa.array([0] * n, pa.uint32()),
        pa.array(cols["source_file"], pa.string()),
        pa.array(cols["source_line"], pa.uint64()),
        fmt,
        pa.array(cols["job_id"], pa.uint64()),
        job,
        pa.array([instance] * n, pa.string()),
        pa.array([pid] * n, pa.uint32()),
    ]
    return pa.Table.from_arrays(arrays, schema=TEXT_LOG_SCHEMA)
