"""``record_history(loader, path)``: persist a loader's job lifecycle as Parquet segments.

The engine never waits on disk.  The loader appends each start and finish to an in-memory
journal (``loader.open_journal()``), log records emitted inside jobs go to a bounded buffer
(``textlog.TextLogHandler``, a record tap of ``loader.context``), and a background thread
drains both every ``flush_interval`` seconds and writes one segment per table and flush
(``segments.write_atomic``).  What cannot be kept is counted, never silently lost: journal
overflow (``journal.dropped``), text log overflow, and rows given up after failed writes all
show in the processes row.

A write that fails (a full disk, a directory made unwritable) is counted in ``write_errors``
with its message in ``last_error``; its rows stay in memory (bounded by ``capacity``) and are
written by the next flush that succeeds, so recording resumes by itself.

A SIGKILL loses at most what was drained since the last flush: every file appears by an atomic
rename, so the history is readable whatever instant the kill lands.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from loader.context import add_record_tap, remove_record_tap

from .events import RESULT_LIMIT, log_table
from .redaction import Redactor, as_redactor
from .retention import Retention, RetentionReport, apply_retention
from .schema import (
    LOG_SCHEMA,
    MARKER,
    PROCESSES_SCHEMA,
    TEXT_LOG_SCHEMA,
    Layout,
    NotAHistory,
    UnwritableHistory,
    marker_text,
    schema_version_of,
    segment_name,
)
from .segments import clean_up, merge_all, write_atomic
from .textlog import TextLogHandler, text_log_table

log = logging.getLogger(__name__)

_recorders: weakref.WeakKeyDictionary[Any, list[Recorder]] = weakref.WeakKeyDictionary()
#: Where each loader has been recorded in this process, closed recorders included: what they
#: wrote is still that loader's history, so a session opened after close() shows it.
_recorded: weakref.WeakKeyDictionary[Any, dict[str, None]] = weakref.WeakKeyDictionary()
_recorders_lock = threading.Lock()  # guards both
#: Values of redacted tags remembered across flushes (a job's log lines may come later).
_MAX_SECRETS = 4096


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("asl")
    except Exception:  # noqa: BLE001 - running from a source tree that was never installed
        return "0+unknown"


def open_history(path: str | os.PathLike[str]) -> Layout:
    """Check ``path`` and create what a writer needs; raise a HistoryError saying why not."""
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise NotAHistory(f"{root} is a file, not a history directory; "
                          "pass a new or empty directory, or one made by record_history")
    try:
        version = schema_version_of(root, to="append to it, or record elsewhere") \
            if root.is_dir() else None
    except PermissionError as e:
        raise UnwritableHistory(f"cannot read {root}: {e.strerror}") from None
    if version is None and root.is_dir():
        others = [n for n in os.listdir(root) if n != ".tmp"]
        if others:
            raise NotAHistory(f"{root} is not empty and holds no {MARKER}; pass a new or "
                              "empty directory, or one made by record_history")
    layout = Layout(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if version is None:
            # The marker comes first, so a half-created directory is still recognizably ours.
            tmp = root / f".{MARKER}.{uuid.uuid4().hex}.tmp"
            tmp.write_text(marker_text(), encoding="utf-8")
            os.replace(tmp, layout.marker)
        for d in layout.directories():
            d.mkdir(parents=True, exist_ok=True)
        probe = layout.tmp / f"probe-{uuid.uuid4().hex}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UnwritableHistory(f"cannot write the history at {root}: "
                                f"{e.strerror or e}; pick a writable directory") from None
    return layout


def recorders_of(loader: Any) -> list[Recorder]:
    """The open recorders of ``loader`` (the live session shows their histories)."""
    with _recorders_lock:
        return [r for r in _recorders.get(loader, ()) if not r.closed]


def recorded_paths(loader: Any) -> list[str]:
    """Every history directory ``loader`` has been recorded to in this process, open or
    closed, first recorded first (one that has since been deleted is left out)."""
    with _recorders_lock:
        paths = list(_recorded.get(loader, ()))
    return [p for p in paths if os.path.isdir(p)]


class Recorder:
    """Records one loader into one history directory; see ``record_history``."""

    def __init__(
        self,
        loader: Any,
        path: str | os.PathLike[str],
        *,
        flush_interval: float = 1.0,
        capacity: int = 1_000_000,
        text_log_capacity: int = 100_000,
        text_log_level: int = logging.NOTSET,
        redact: Redactor | Callable[[str], str] | None = None,
        retention: Retention | None = None,
        merge_fanout: int = 8,
        result_limit: int = RESULT_LIMIT,
        fsync: bool = False,
    ) -> None:
        if flush_interval <= 0:
            raise ValueError(f"flush_interval must be > 0 seconds, not {flush_interval}")
        if merge_fanout < 2:
            raise ValueError(f"merge_fanout must be >= 2, not {merge_fanout}")
        if not callable(getattr(loader, "open_journal", None)):
            raise TypeError("record_history records a loader.AsyncLoader (it needs "
                            f"open_journal()), not {type(loader).__name__}")
        self.layout = open_history(path)
        self.path = self.layout.root
        self.loader = loader
        self.flush_interval = float(flush_interval)
        self.capacity = capacity
        self.redactor = as_redactor(redact)
        self.retention = retention
        self.merge_fanout = merge_fanout
        self.result_limit = result_limit
        self.fsync = fsync
        self.instance = uuid.uuid4().hex
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.version = _version()
        self.started = time.time_ns() // 1000
        self._heartbeat = self.started
        self.events_written = 0
        self.text_log_written = 0
        self.write_errors = 0
        self.last_error: str | None = None
        self.closed = False
        self._write_dropped = 0
        self._text_write_dropped = 0
        self._seq = 0
        self._pending_log: list[pa.Table] = []
        self._pending_text: list[pa.Table] = []
        self._secrets: dict[str, None] = {}
        self._last_retention = time.monotonic()
        self._lock = threading.RLock()  # one flush (or retention run) at a time
        self._stop = threading.Event()
        clean_up(self.layout)
        self._journal = loader.open_journal(capacity=capacity)
        self._handler = TextLogHandler(text_log_capacity, text_log_level)
        add_record_tap(self._handler.capture)
        try:
            self._write_processes(ended=None, end_reason=None)
            with _recorders_lock:
                _recorders.setdefault(loader, []).append(self)
                _recorded.setdefault(loader, {})[os.fspath(self.path)] = None
            self._thread = threading.Thread(target=self._run, name="asl-history-writer",
                                            daemon=True)
            self._thread.start()
        except BaseException:
            # A recorder that failed to start (a disk that refuses the processes row, no
            # thread to be had) must not leave the engine feeding a journal nobody drains.
            self._abandon()
            raise
        atexit.register(_close_at_exit, weakref.ref(self))

    def _abandon(self) -> None:
        self.closed = True
        self._journal.close()
        remove_record_tap(self._handler.capture)
        self._unregister()

    def _unregister(self) -> None:
        with _recorders_lock:
            live = _recorders.get(self.loader)
            if live and self in live:
                live.remove(self)

    # -- the writer thread ------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                self.flush()
            except Exception as e:  # noqa: BLE001 - the writer must outlive any one flush
                self._error(f"flush: {type(e).__name__}: {e}")

    def flush(self) -> None:
        """Drain and write now (the writer thread does this every flush_interval)."""
        with self._lock:
            self._flush_locked()

    def hold(self) -> threading.RLock:
        """``with rec.hold():`` no flush, merge or retention runs until the block ends.

        A live reader lists the segments and takes ``unflushed()`` inside one hold, so no row
        is both in a listed segment and in the unflushed tables.
        """
        return self._lock

    def unflushed(self) -> dict[str, pa.Table]:
        """Rows recorded but not yet in any segment, keyed by SQL table name (a copy).

        The live session unions these with the segments, so it is never a flush behind.  The
        rows stay queued for the next flush.
        """
        with self._lock:
            if not self.closed:
                self._collect()
            return {
                "asynchronous_loader_log": _concat(self._pending_log, LOG_SCHEMA),
                "asynchronous_loader_text_log": _concat(self._pending_text, TEXT_LOG_SCHEMA),
            }

    def _flush_locked(self) -> None:
        # The heartbeat is when this flush drained: with no new write error, every event
        # before it is on disk (what a SIGKILL can lose is only what came after).
        self._heartbeat = time.time_ns() // 1000
        self._collect()
        self._seq += 1
        self._write_pending()
        self._write_processes(ended=None, end_reason=None)
        try:
            merge_all(self.layout, self.layout.log, self.instance,
                      fanout=self.merge_fanout, fsync=self.fsync)
            merge_all(self.layout, self.layout.text_log, self.instance,
                      fanout=self.merge_fanout, fsync=self.fsync)
        except Exception as e:  # noqa: BLE001 - an unmergeable segment stays as it is
            self._error(f"merging segments: {type(e).__name__}: {e}")
        policy = self.retention
        if policy is not None and policy.interval is not None and (
                time.monotonic() - self._last_retention >= policy.interval):
            try:
                self._retention_locked(policy)
            except OSError:
                pass  # counted by _retention_locked; the next interval tries again

    def _collect(self) -> None:
        batch = self._journal.drain()
        texts = self._handler.drain()
        secrets = set(self._secrets)
        # A batch that cannot be converted is counted as dropped; the writer goes on.
        if batch.table.num_rows:
            try:
                self._pending_log.append(log_table(
                    batch.table, batch.jobs, hostname=self.hostname, instance=self.instance,
                    pid=self.pid, version=self.version, redactor=self.redactor,
                    secrets=secrets, result_limit=self.result_limit))
            except Exception as e:  # noqa: BLE001 - never kill the writer thread
                self._write_dropped += batch.table.num_rows
                self._error(f"building log rows: {type(e).__name__}: {e}")
        if texts:
            try:
                self._pending_text.append(text_log_table(
                    texts, hostname=self.hostname, instance=self.instance, pid=self.pid,
                    redactor=self.redactor, secrets=secrets))
            except Exception as e:  # noqa: BLE001
                self._text_write_dropped += len(texts)
                self._error(f"building text_log rows: {type(e).__name__}: {e}")
        for s in secrets:
            self._secrets[s] = None
        while len(self._secrets) > _MAX_SECRETS:
            del self._secrets[next(iter(self._secrets))]

    def _write_pending(self) -> None:
        for pending, directory, kind in ((self._pending_log, self.layout.log, "log"),
                                         (self._pending_text, self.layout.text_log, "text")):
            if not pending:
                continue
            table = pa.concat_tables(pending) if len(pending) > 1 else pending[0]
            try:
                write_atomic(self.layout, table,
                             directory / segment_name(self.instance, self._seq, self._seq),
                             fsync=self.fsync)
            except OSError as e:
                self._error(f"writing {directory.name}/: {e}")
                self._bound(pending, kind)
                continue
            pending.clear()
            if kind == "log":
                self.events_written += table.num_rows
            else:
                self.text_log_written += table.num_rows

    def _bound(self, pending: list[pa.Table], kind: str) -> None:
        """Give up the oldest unwritten rows beyond capacity (counted as dropped)."""
        limit = self.capacity if kind == "log" else self._handler.capacity
        while pending and sum(t.num_rows for t in pending) > limit:
            lost = pending.pop(0).num_rows
            if kind == "log":
                self._write_dropped += lost
            else:
                self._text_write_dropped += lost

    def _error(self, message: str) -> None:
        self.write_errors += 1
        self.last_error = message
        log.warning("asl history %s: %s", self.path, message)

    def _write_processes(self, *, ended: int | None, end_reason: str | None) -> None:
        row = {
            "hostname": [self.hostname], "loader_instance": [self.instance],
            "pid": [self.pid], "version": [self.version], "started": [self.started],
            "heartbeat": [self._heartbeat], "flush_interval": [self.flush_interval],
            "ended": [ended],
            "end_reason": [end_reason], "events_written": [self.events_written],
            "events_dropped": [self.events_dropped],
            "text_log_dropped": [self.text_log_dropped],
            "write_errors": [self.write_errors], "last_error": [self.last_error],
        }
        table = pa.Table.from_pydict(row, schema=PROCESSES_SCHEMA)
        try:
            write_atomic(self.layout, table,
                         self.layout.processes / f"{self.instance}.parquet", fsync=self.fsync)
        except OSError as e:
            # Counted once per failing flush, with the segment write it usually goes with.
            self.write_errors += 1
            self.last_error = f"writing processes/: {e}"

    # -- counters -----------------------------------------------------------------------

    @property
    def events_dropped(self) -> int:
        return self._journal.dropped + self._write_dropped

    @property
    def text_log_dropped(self) -> int:
        return self._handler.dropped + self._text_write_dropped

    # -- retention ----------------------------------------------------------------------

    def apply_retention(self, policy: Retention | None = None, **options: Any
                        ) -> RetentionReport:
        """Run retention now (``policy`` or the recorder's, with ``options`` overriding)."""
        policy = policy or self.retention or Retention()
        if options:
            policy = policy.replace(**options)
        with self._lock:
            # Flush first: a job whose finish is still in memory must not look unfinished.
            if not self.closed:
                self._flush_locked()
            return self._retention_locked(policy)

    def _retention_locked(self, policy: Retention) -> RetentionReport:
        self._last_retention = time.monotonic()
        try:
            return apply_retention(self.path, policy, instance=self.instance,
                                   hostname=self.hostname, pid=self.pid, fsync=self.fsync)
        except OSError as e:
            self._error(f"retention: {e}")
            raise

    # -- closing ------------------------------------------------------------------------

    def close(self, reason: str = "closed") -> None:
        """Flush what is left, stop recording and mark the process row ended."""
        if self.closed:
            return
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            try:
                self._flush_locked()
            finally:
                self.closed = True
                self._journal.close()
                remove_record_tap(self._handler.capture)
                self._count_unwritten_as_dropped()
                self._write_processes(ended=time.time_ns() // 1000, end_reason=reason)
        self._unregister()

    def _count_unwritten_as_dropped(self) -> None:
        # Rows the last flush could not write (a disk still full at close) have no later flush
        # to wait for: the closing processes row must count them, not report nothing lost.
        lost = sum(t.num_rows for t in self._pending_log)
        lost_text = sum(t.num_rows for t in self._pending_text)
        if lost or lost_text:
            self._write_dropped += lost
            self._text_write_dropped += lost_text
            log.warning("asl history %s: closed with %d log and %d text_log rows it could not "
                        "write; counted as dropped", self.path, lost, lost_text)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "recording"
        return f"<Recorder {state} {self.path} instance={self.instance}>"


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _close_at_exit(ref: weakref.ref[Recorder]) -> None:
    rec = ref()
    if rec is not None and not rec.closed:
        try:
            rec.close(reason="exit")
        except Exception:  # noqa: BLE001 - interpreter shutdown; nothing left to tell
            pass


def record_history(
    loader: Any,
    path: str | os.PathLike[str],
    *,
    flush_interval: float = 1.0,
    capacity: int = 1_000_000,
    text_log_capacity: int = 100_000,
    text_log_level: int = logging.NOTSET,
    redact: Redactor | Callable[[str], str] | None = None,
    retention: Retention | None = None,
    merge_fanout: int = 8,
    result_limit: int = RESULT_LIMIT,
    fsync: bool = False,
) -> Recorder:
    """Start recording ``loader``'s jobs into the history directory ``path``.

    ``flush_interval``: seconds between writes (a SIGKILL loses at most that much).
    ``capacity``: events buffered in memory (journal, and unwritten rows after write errors);
    beyond it events are dropped and counted.  ``text_log_capacity`` likewise for log records
    emitted inside jobs (``text_log_level``: the least level kept).  ``redact``: a
    ``Redactor`` or ``str -> str`` callable applied before anything is written.
    ``retention``: a ``Retention`` policy run every ``retention.interval`` seconds.
    ``merge_fanout``: this many adjacent small segments are merged into one.
    ``result_limit``: characters of JSON kept per result.  ``fsync``: also survive power loss.

    Raises NotAHistory, NewerHistoryVersion or UnwritableHistory (all HistoryError) when
    ``path`` cannot be recorded to.
    """
    return Recorder(loader, path, flush_interval=flush_interval, capacity=capacity,
                    text_log_capacity=text_log_capacity, text_log_level=text_log_level,
                    redact=redact, retention=retention, merge_fanout=merge_fanout,
                    result_limit=result_limit, fsync=fsync)

