"""The history as SQL tables: what each one is, its ClickHouse types, and how a statement sees it.

``sqlbridge.catalog`` lists these tables beside ``system.asynchronous_loader`` (so translation,
``DESCRIBE``, ``system.columns`` and the output formats know their ClickHouse types); a session
with no history shows them empty.  When the session's loader records (``record_history``), or
the session reads a history offline (``asl sql --history PATH``), ``SessionHistory.begin``
registers, before each statement, one ``pyarrow.dataset`` per table under the table's raw name:
the segments listed at that moment (``reader.History``), plus the rows the reader derives
(JobInterrupted rows, ``is_alive``) and, in the recording process, the recorder's rows not yet
flushed.  DuckDB scans a dataset with projection and filter pushdown, so a GROUP BY over a
million jobs reads only the columns it names; nothing is copied into the session.

DuckDB's sandbox (no file access) does not apply to these scans: pyarrow reads the files the
reader chose, and user SQL still cannot name a file.

A statement can race a writer: a merge or retention may delete a listed segment before DuckDB
opens it.  ``SessionHistory.recover`` tells the session to run the statement again with a fresh
listing when the error names a file that is gone (or that turns out to be corrupt, which is
then skipped with a warning), so a reader polling a live history never sees that error.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import weakref
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from sqlbridge.history.liveness import (
    PROCESSES_VIEW_SCHEMA,
    interrupted_rows,
    processes_of,
    read_processes,
)
from sqlbridge.history.reader import History
from sqlbridge.history.schema import (
    CLICKHOUSE_TYPES,
    EVENT_TYPES,
    LOG_SCHEMA,
    SCHEMAS,
    TEXT_LOG_LEVELS,
)

__all__ = ["TABLES", "TableInfo", "ENUM_TYPES", "SessionHistory", "raw_name"]

LOG = "asynchronous_loader_log"
ARCHIVE = "asynchronous_loader_log_archive"
TEXT_LOG = "asynchronous_loader_text_log"
PROCESSES = "asynchronous_loader_processes"
RETENTION = "asynchronous_loader_retention"

#: DuckDB ENUM types the views cast to (created once per session, beside ``asl_status``).
ENUM_TYPES: dict[str, tuple[str, ...]] = {
    "asl_log_event": tuple(EVENT_TYPES),
    "asl_text_level": tuple(TEXT_LOG_LEVELS),
}

_LOG_COLUMNS = {
    "hostname": "Hostname of the process that ran the job.",
    "event_date": "Date of the event.",
    "event_time": "Time of the event, in seconds.",
    "event_time_microseconds": "Time of the event, in microseconds.",
    "type": "JobStart: a worker took the job. JobFinish: the job ended (OK, FAILED or "
            "CANCELED). JobInterrupted: it started and its process stopped before it finished "
            "(derived when the history is read; see reason).",
    "parent_job_id": "The job that was running on the thread that created this one (a "
                     "sub-job); NULL for a top-level job.",
    "tags": "Tags given to the job (who triggered it, resource type and id, ...).",
    "result": "The job's return value as JSON (bounded; its repr if it is not JSON).",
    "error_type": "Type of the exception a failed job raised.",
    "traceback": "Full traceback of a failed job.",
    "worker": "Lane number of the worker within its execution pool.",
    "thread_id": "Native id of the worker thread.",
    "pid": "Id of the process that ran the job.",
    "loader_instance": "Id of the recording loader (a UUID); (loader_instance, job_id) "
                       "identifies a job across restarts.",
    "version": "Version of asl that recorded the row.",
    "reason": "Why a JobInterrupted row exists.",
}

_TEXT_LOG_COLUMNS = {
    "hostname": "Hostname of the process.",
    "event_date": "Date of the record.",
    "event_time": "Time of the record, in seconds.",
    "event_time_microseconds": "Time of the record, in microseconds.",
    "thread_name": "Name of the thread that logged it.",
    "thread_id": "Native id of that thread.",
    "level": "Level of the record (Python's CRITICAL is Fatal, INFO Information).",
    "query_id": "Always empty (ClickHouse's query id).",
    "logger_name": "Name of the logger.",
    "message": "The formatted message.",
    "revision": "Always 0 (ClickHouse's revision).",
    "source_file": "File that logged it.",
    "source_line": "Line that logged it.",
    "message_format_string": "The message before formatting (the logging call's msg).",
    "job_id": "The job the record was emitted in.",
    "job": "Name of that job.",
    "loader_instance": "Id of the recording loader.",
    "pid": "Id of the process.",
}

_PROCESSES_COLUMNS = {
    "hostname": "Hostname of the recording process.",
    "loader_instance": "Id of its loader (a UUID).",
    "pid": "Its process id.",
    "version": "Its asl version.",
    "started": "When it started recording.",
    "heartbeat": "Its last flush (written at every flush).",
    "flush_interval": "Seconds between its flushes.",
    "ended": "When its recorder was closed; NULL while it records or if it died.",
    "end_reason": "Why it ended ('closed'); NULL while running or if it died.",
    "events_written": "Log rows it wrote.",
    "events_dropped": "Events lost because its buffer was full (never silent).",
    "text_log_dropped": "Text log records lost because its buffer was full.",
    "write_errors": "Flushes that failed (a full disk, say); their rows count as dropped.",
    "last_error": "The last write error.",
    "is_alive": "1 if it is still recording: not closed, and its pid exists (same host) or "
                "its heartbeat is younger than max(3 * flush_interval, 5 s) (another host).",
}

_RETENTION_COLUMNS = {
    "hostname": "Host that ran the retention.",
    "loader_instance": "The instance whose recorder ran it.",
    "pid": "Its process id.",
    "run_time": "When the run started.",
    "duration": "Seconds it took.",
    "max_age_seconds": "Rows older than this were removed (NULL: no age limit).",
    "max_rows": "At most this many rows were kept (NULL: no row limit).",
    "archive": "1 if removed rows were moved to the archive.",
    "rows_deleted": "Log rows removed.",
    "rows_archived": "Log rows moved to system.asynchronous_loader_log_archive.",
    "text_log_rows_deleted": "Text log rows removed.",
    "unfinished_jobs_kept": "Jobs kept because they started and have not finished.",
    "segments_rewritten": "Segment files rewritten or deleted.",
    "rows_remaining": "Log rows left.",
    "error": "What went wrong, if the run failed.",
}


class TableInfo:
    """One history table as SQL sees it."""

    def __init__(self, name: str, description: str, columns: dict[str, str],
                 schema: pa.Schema, casts: tuple[tuple[str, str], ...] = ()) -> None:
        self.name = name
        self.description = description
        #: Column -> description (the job columns' come from system.asynchronous_loader).
        self.descriptions = columns
        #: The Arrow schema registered under the raw name (stored columns, plus derived ones).
        self.schema = schema
        self.casts = casts
        types = dict(CLICKHOUSE_TYPES.get(name, {}))
        if name == PROCESSES:
            types["is_alive"] = "UInt8"
        #: Column -> ClickHouse type, in column order.
        self.clickhouse_types = types


_LOG_CASTS = (("type", "asl_log_event"), ("status", "asl_status"))

TABLES: dict[str, TableInfo] = {t.name: t for t in (
    TableInfo(LOG, "One row when a job starts and one when it finishes (plus JobInterrupted for "
              "a job whose process stopped while it ran), with the job's state at that moment; "
              "kept across restarts.", _LOG_COLUMNS, LOG_SCHEMA, _LOG_CASTS),
    TableInfo(TEXT_LOG, "Every log record emitted inside a job, by any logger (ClickHouse's "
              "system.text_log shape plus job_id and job).", _TEXT_LOG_COLUMNS,
              SCHEMAS[TEXT_LOG], (("level", "asl_text_level"),)),
    TableInfo(PROCESSES, "One row per recording process: its heartbeat, how it ended, and what "
              "it wrote or dropped.", _PROCESSES_COLUMNS, PROCESSES_VIEW_SCHEMA),
    TableInfo(ARCHIVE, "Log rows that retention moved out of system.asynchronous_loader_log "
              "(same columns).", _LOG_COLUMNS, LOG_SCHEMA, _LOG_CASTS),
    TableInfo(RETENTION, "The last retention run of each recording instance: when, with which "
              "limits, and how many rows it removed or archived.", _RETENTION_COLUMNS,
              SCHEMAS[RETENTION]),
)}


def raw_name(table: str) -> str:
    """The connection-local name a table's data is registered under (as ``catalog``'s)."""
    return f"__asl_raw_{table}"


def create_types(con: duckdb.DuckDBPyConnection) -> None:
    """The ENUM types the history views cast to; call once per session, before the views."""
    for name, values in ENUM_TYPES.items():
        items = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
        con.execute(f"CREATE TYPE {name} AS ENUM ({items})")


def _recorders_of(loader: Any) -> list[Any]:
    try:
        from sqlbridge.history import recorder
    except ImportError:
        return []
    find = getattr(recorder, "recorders_of", None)
    return list(find(loader)) if find is not None else []


class SessionHistory:
    """The history tables of one session: registered per statement (see the module docstring).

    The history comes from ``loader.asl_history`` (a ``reader.History``, as the offline source
    ``sqlbridge.history.source.HistorySource`` has) or from the recorders recording ``loader``.
    """

    def __init__(self, loader: Any) -> None:
        self._loader = weakref.ref(loader) if _weakrefable(loader) else (lambda: loader)
        self._history: History | None = getattr(loader, "asl_history", None)
        self._recorder_paths: tuple[str, ...] = ()
        self._recorders: list[Any] = []
        self._lock = threading.Lock()
        #: (instance, files, process state) -> its JobInterrupted rows.
        self._interrupted: dict[tuple[Any, ...], pa.Table] = {}
        self._listed: list[str] = []

    def _current(self) -> History | None:
        loader = self._loader()
        if loader is None:
            return None
        if getattr(loader, "asl_history", None) is not None:
            return self._history
        self._recorders = _recorders_of(loader)
        # Paths stay known after their recorder closes: what it wrote is still history.
        paths = self._recorder_paths + tuple(
            p for p in sorted({os.fspath(r.path) for r in self._recorders})
            if p not in self._recorder_paths)
        if paths != self._recorder_paths:
            self._recorder_paths = paths
            self._history = History(list(paths))
        return self._history

    def begin(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Register every history table's current data on ``con``; False if there is none
        (the empty tables registered at setup stay)."""
        with self._lock:
            history = self._current()
            if history is None:
                return False
            history.refresh()
            with contextlib.ExitStack() as held:
                # Inside the recorders' holds no flush or merge runs, so a row is either in
                # a listed segment or in unflushed(), never in both or neither.
                for rec in self._recorders:
                    held.enter_context(rec.hold())
                files = {name: history.files(name) for name in TABLES}
                extra: dict[str, list[pa.Table]] = {LOG: [], TEXT_LOG: []}
                for rec in self._recorders:
                    for name, table in rec.unflushed().items():
                        if name in extra and table.num_rows:
                            extra[name].append(table)
            processes = read_processes(files[PROCESSES])
            extra[LOG] += self._interrupted_tables(history, files[LOG], processes)
            for name, info in TABLES.items():
                data: Any = processes if name == PROCESSES else _dataset(
                    files[name], info.schema, extra.get(name, []))
                con.register(raw_name(name), data)
            self._listed = [f for name in TABLES for f in files[name]]
            return True

    def _interrupted_tables(self, history: History, log_files: list[str],
                            processes: pa.Table) -> list[pa.Table]:
        by_instance = history.instances_by_file(log_files)
        known = processes_of(processes)
        out = []
        for instance, files in by_instance.items():
            process = known.get(instance)
            if process is not None and process.alive:
                continue
            key = (instance, tuple(files), process)
            rows = self._interrupted.get(key)
            if rows is None:
                rows = interrupted_rows(instance, files, process)
                if len(self._interrupted) > 256:
                    self._interrupted.clear()
                self._interrupted[key] = rows
            if rows.num_rows:
                out.append(rows)
        return out

    def recover(self, error: BaseException) -> bool:
        """Whether a statement that failed with ``error`` should run again: the error names
        a listed file that is gone (a merge or retention) or is corrupt (now skipped)."""
        text = str(error)
        with self._lock:
            named = [p for p in self._listed if p in text]
            history = self._history
        if not named:
            # pyarrow may name the file relative to nothing we listed; any listed file gone?
            return any(not os.path.exists(p) for p in self._listed)
        for path in named:
            if not os.path.exists(path):
                return True
            if history is not None and _unreadable(path):
                return history.mark_corrupt(path, _first_line(text))
        return False


def _weakrefable(obj: object) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


def _dataset(files: list[str], schema: pa.Schema, extra: list[pa.Table]) -> ds.Dataset:
    parts: list[ds.Dataset] = []
    if files:
        parts.append(ds.dataset(files, schema=schema, format="parquet"))
    for table in extra:
        parts.append(ds.dataset(table.cast(schema)))
    if not parts:
        return ds.dataset(schema.empty_table())
    return parts[0] if len(parts) == 1 else ds.dataset(parts)


def _unreadable(path: str) -> bool:
    import pyarrow.parquet as pq

    try:
        pq.read_table(path)
    except FileNotFoundError:
        return False
    except (OSError, pa.ArrowException):
        return True
    return False


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unreadable"
    return re.sub(r"\s+", " ", line)[:300]



def catalog_tables(jobs: Any) -> list[Any]:
    """The history tables as ``sqlbridge.catalog.SystemTable`` entries; ``jobs`` is the
    ``system.asynchronous_loader`` entry, whose column descriptions the log columns share.

    Called by ``catalog`` while it is being built, hence the late import: ``Column`` and
    ``SystemTable`` exist by then.
    """
    from sqlbridge.catalog import Column, SystemTable

    shared = {c.name: c.description for c in jobs.columns}
    out = []
    for t in TABLES.values():
        columns = tuple(Column(name, ch, t.descriptions.get(name) or shared.get(name, ""))
                        for name, ch in t.clickhouse_types.items())
        # No loader has this method: a session without a history shows the tables empty.
        out.append(SystemTable(name=t.name, columns=columns, arrow_schema=t.schema,
                               description=t.description, source_method="asl_history_table",
                               casts=t.casts))
    return out
