"""The history as SQL tables: what each one is, its ClickHouse types, and the ENUMs they use.

``sqlbridge.catalog`` lists these tables beside ``system.asynchronous_loader`` (so translation,
``DESCRIBE``, ``system.columns`` and the output formats know their ClickHouse types); a session
with no history shows them empty.  What a session registers under them per statement, when it
has a history, is ``sqlbridge.history.live``.  This module stays cheap to import (the catalog
imports it): no pyarrow.dataset, no DuckDB.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import duckdb
import pyarrow as pa

from sqlbridge.history.schema import (
    CLICKHOUSE_TYPES,
    EVENT_TYPES,
    LOG_SCHEMA,
    PROCESSES_SCHEMA,
    SCHEMAS,
    TEXT_LOG_LEVELS,
)

__all__ = ["TABLES", "TableInfo", "ENUM_TYPES", "PROCESSES_VIEW_SCHEMA", "raw_name",
           "create_types", "has_history", "readable_directories",
           "admit_directories"]

#: The processes table as SQL sees it: the stored columns plus ``is_alive``.
PROCESSES_VIEW_SCHEMA = PROCESSES_SCHEMA.append(pa.field("is_alive", pa.uint8(), nullable=False))

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


def readable_directories(loader: Any) -> list[str]:
    """The history directories a session over ``loader`` lets DuckDB read itself (set before
    the sandbox locks; ``sqlbridge.history.live`` reads their files with ``read_parquet``):
    the roots of a history read offline, or where its recorders write."""
    roots: list[Any] = []
    history = getattr(loader, "asl_history", None)
    if history is not None:
        roots = list(history.roots)
    else:
        recorder = sys.modules.get("sqlbridge.history.recorder")
        if recorder is not None:
            roots = recorder.recorded_paths(loader)
    return sorted({os.path.join(os.path.abspath(r), "") for r in roots})


def admit_directories(con: duckdb.DuckDBPyConnection, loader: Any) -> None:
    """Let DuckDB on ``con`` read ``readable_directories(loader)`` once the sandbox turns
    file access off (``allowed_directories``); call before ``sandbox.harden``.  Statements
    still cannot name a file: the sandbox refuses every file function before DuckDB runs."""
    dirs = readable_directories(loader)
    if dirs:
        items = ", ".join("'" + d.replace("'", "''") + "'" for d in dirs)
        con.execute(f"SET GLOBAL allowed_directories = [{items}]")


def has_history(loader: Any) -> bool:
    """Whether a session over ``loader`` has history tables to show: it is a history read
    offline (``asl_history``), or something records it or has recorded it.  Cheap: the
    recorder module is only asked if some code already imported it (nothing records
    otherwise)."""
    if getattr(loader, "asl_history", None) is not None:
        return True
    recorder = sys.modules.get("sqlbridge.history.recorder")
    return recorder is not None and bool(recorder.recorded_paths(loader))
