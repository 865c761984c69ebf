"""The text log: every log record emitted inside a load job, buffered for the history writer.

``TextLogHandler`` is a ``logging.Handler`` the recorder installs on the root logger.  It keeps
only records that carry a job (``record.job_id``, set by ``loader.context``'s record factory
on every record created on a worker thread during a job), whatever logger made them.  It
appends one tuple to a bounded in-memory buffer and returns: a job never waits on disk, and
when the buffer is full the record is counted in ``dropped`` instead.

What the handler sees is what the logging configuration lets through: a record that its
logger's level filters out is never created, and a logger with ``propagate = False`` does
not reach the root logger.  Lower those levels (or add the handler to such a logger) to
capture more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import pyarrow as pa

from .schema import TEXT_LOG_SCHEMA, clickhouse_level

_formatter = logging.Formatter()


class TextLogHandler(logging.Handler):
    """Buffers in-job log records as text_log rows (bounded; overflow is counted)."""

    def __init__(self, capacity: int = 100_000, level: int = logging.NOTSET) -> None:
        # The level is applied in handle(), not by logging: a record below it must still
        # reach handle() for the last-resort check.
        super().__init__(level)
        self.keep_level, self.level = self.level, logging.NOTSET
        self.capacity = capacity
        self.dropped = 0
        self._buffer: deque[tuple[Any, ...]] = deque()

    # handle() without the handler lock: a deque append is atomic, and workers logging at
    # once must not queue up on one lock.
    def handle(self, record: logging.LogRecord) -> bool:
        last = logging.lastResort
        if last is not None and record.levelno >= last.level:
            _stand_in_for_last_resort(self, last, record)
        if not getattr(record, "job_id", 0) or record.levelno < self.keep_level:
            return False
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
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
            self.handleError(record)
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


def _stand_in_for_last_resort(handler: TextLogHandler, last: logging.Handler,
                              record: logging.LogRecord) -> None:
    """Print ``record`` as logging's last resort would have, had this handler not existed.

    With no logging configured, Python prints warnings and errors to stderr through
    ``logging.lastResort`` only while no handler at all is found for a record; installing
    this handler on the root logger would silence them (the recorder's own write-error
    warnings too).  So when no handler but ours would see the record, it is handed on, once:
    by the first of several recorders' handlers.
    """
    root = logging.getLogger()
    if next((h for h in root.handlers if isinstance(h, TextLogHandler)), None) is not handler:
        return
    logger = logging.Logger.manager.loggerDict.get(record.name)
    node: logging.Logger | None = logger if isinstance(logger, logging.Logger) else root
    while node is not None:
        if any(not isinstance(h, TextLogHandler) for h in node.handlers):
            return
        if not node.propagate:
            break
        node = node.parent
    last.handle(record)


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
    seconds = pa.array([t - t % 1_000_000 for t in cols["time"]], pa.int64()).cast(ts.type)
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


def now_micros() -> int:
    return time.time_ns() // 1000
