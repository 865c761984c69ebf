"""The on-disk history: its tables' stored schemas, their ClickHouse types, and its layout.

A history is a directory of Parquet segments that DuckDB and ClickHouse read directly::

    PATH/
      asl-history.json          {"format": "asl-history", "schema_version": 1}; written first
      log/<instance>-<first:010d>-<last:010d>.parquet        system.asynchronous_loader_log
      text_log/<instance>-<first:010d>-<last:010d>.parquet   system.asynchronous_loader_text_log
      processes/<instance>.parquet   one row per recording process, replaced at every flush
      archive/log/<instance>-<first:010d>-<last:010d>.parquet  ..._log_archive (log's schema)
      retention/<instance>.parquet   the last retention run of that instance
      .tmp/                          in-progress files; never read

Every file appears by an atomic ``os.replace`` from ``.tmp/``, so a reader never sees half a
file.  ``first``/``last`` are the writer's flush sequence numbers; a writer merges its own
small segments into one covering their union and then deletes the inputs, so a reader must
ignore a segment whose range lies inside another of the same instance (``visible_segments``).

Stored types are plain Parquet types (strings for the enums, timestamp[us, UTC] for every
time, map<string, string> for tags); ``CLICKHOUSE_TYPES`` says what each column is in SQL.
Everything here is cheap to import except pyarrow, which the schemas need.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

#: Bump when a stored schema changes incompatibly; a writer refuses a history with a newer one.
SCHEMA_VERSION = 1
FORMAT_NAME = "asl-history"
MARKER = "asl-history.json"

_TS = pa.timestamp("us", tz="UTC")

#: The 22 columns of SPEC section 3 as stored (``status`` as its name, not a dictionary).
_JOB_COLUMNS: list[tuple[pa.Field, str]] = [
    (pa.field("job", pa.string(), nullable=False), "String"),
    (pa.field("job_id", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("dependencies", pa.list_(pa.uint64()), nullable=False), "Array(UInt64)"),
    (pa.field("dependencies_left", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("status", pa.string(), nullable=False),
     "Enum8('PENDING' = 0, 'OK' = 1, 'FAILED' = 2, 'CANCELED' = 3)"),
    (pa.field("is_executing", pa.uint8(), nullable=False), "UInt8"),
    (pa.field("is_blocked", pa.uint8(), nullable=False), "UInt8"),
    (pa.field("is_ready", pa.uint8(), nullable=False), "UInt8"),
    (pa.field("elapsed", pa.float64(), nullable=False), "Float64"),
    (pa.field("pool_id", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("pool", pa.string(), nullable=False), "String"),
    (pa.field("priority", pa.int64(), nullable=False), "Int64"),
    (pa.field("execution_pool_id", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("execution_pool", pa.string(), nullable=False), "String"),
    (pa.field("execution_priority", pa.int64(), nullable=False), "Int64"),
    (pa.field("ready_seqno", pa.uint64()), "Nullable(UInt64)"),
    (pa.field("waiters", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("exception", pa.string()), "Nullable(String)"),
    (pa.field("schedule_time", _TS, nullable=False), "DateTime64(6)"),
    (pa.field("enqueue_time", _TS), "Nullable(DateTime64(6))"),
    (pa.field("start_time", _TS), "Nullable(DateTime64(6))"),
    (pa.field("finish_time", _TS), "Nullable(DateTime64(6))"),
]

#: ``type`` of a log row.  JobInterrupted is never stored: the reader synthesizes it.
EVENT_TYPES = {"JobStart": 1, "JobFinish": 2, "JobInterrupted": 3}
EVENT_TYPE_CH = "Enum8('JobStart' = 1, 'JobFinish' = 2, 'JobInterrupted' = 3)"

#: Python logging levels -> ClickHouse's text_log Enum8 names (the nearest at or above).
TEXT_LOG_LEVELS = {
    "Fatal": 1, "Critical": 2, "Error": 3, "Warning": 4, "Notice": 5, "Information": 6,
    "Debug": 7, "Trace": 8, "Test": 9,
}
TEXT_LOG_LEVEL_CH = ("Enum8(" + ", ".join(f"'{k}' = {v}" for k, v in TEXT_LOG_LEVELS.items())
                     + ")")


def clickhouse_level(levelno: int) -> str:
    """A ``logging`` level number as ClickHouse's level name (CRITICAL is Fatal, as in CH)."""
    if levelno >= 50:
        return "Fatal"
    if levelno >= 40:
        return "Error"
    if levelno >= 30:
        return "Warning"
    if levelno >= 25:
        return "Notice"
    if levelno >= 20:
        return "Information"
    if levelno >= 10:
        return "Debug"
    return "Trace"


_LOG_COLUMNS: list[tuple[pa.Field, str]] = [
    (pa.field("hostname", pa.string(), nullable=False), "LowCardinality(String)"),
    (pa.field("event_date", pa.date32(), nullable=False), "Date"),
    # Stored at microsecond precision truncated to the second; the reader presents DateTime.
    (pa.field("event_time", _TS, nullable=False), "DateTime"),
    (pa.field("event_time_microseconds", _TS, nullable=False), "DateTime64(6)"),
    (pa.field("type", pa.string(), nullable=False), EVENT_TYPE_CH),
    *_JOB_COLUMNS,
    (pa.field("parent_job_id", pa.uint64()), "Nullable(UInt64)"),
    (pa.field("tags", pa.map_(pa.string(), pa.string()), nullable=False),
     "Map(String, String)"),
    (pa.field("result", pa.string()), "Nullable(String)"),
    (pa.field("error_type", pa.string()), "Nullable(String)"),
    (pa.field("traceback", pa.string()), "Nullable(String)"),
    (pa.field("worker", pa.uint32()), "Nullable(UInt32)"),
    (pa.field("thread_id", pa.uint64()), "Nullable(UInt64)"),
    (pa.field("pid", pa.uint32(), nullable=False), "UInt32"),
    (pa.field("loader_instance", pa.string(), nullable=False), "String"),
    (pa.field("version", pa.string(), nullable=False), "String"),
    (pa.field("reason", pa.string()), "Nullable(String)"),
]

_TEXT_LOG_COLUMNS: list[tuple[pa.Field, str]] = [
    (pa.field("hostname", pa.string(), nullable=False), "LowCardinality(String)"),
    (pa.field("event_date", pa.date32(), nullable=False), "Date"),
    (pa.field("event_time", _TS, nullable=False), "DateTime"),
    (pa.field("event_time_microseconds", _TS, nullable=False), "DateTime64(6)"),
    (pa.field("thread_name", pa.string(), nullable=False), "LowCardinality(String)"),
    (pa.field("thread_id", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("level", pa.string(), nullable=False), TEXT_LOG_LEVEL_CH),
    (pa.field("query_id", pa.string(), nullable=False), "String"),
    (pa.field("logger_name", pa.string(), nullable=False), "LowCardinality(String)"),
    (pa.field("message", pa.string(), nullable=False), "String"),
    (pa.field("revision", pa.uint32(), nullable=False), "UInt32"),
    (pa.field("source_file", pa.string(), nullable=False), "LowCardinality(String)"),
    (pa.field("source_line", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("message_format_string", pa.string(), nullable=False),
     "LowCardinality(String)"),
    (pa.field("job_id", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("job", pa.string(), nullable=False), "String"),
    (pa.field("loader_instance", pa.string(), nullable=False), "String"),
    (pa.field("pid", pa.uint32(), nullable=False), "UInt32"),
]

_PROCESSES_COLUMNS: list[tuple[pa.Field, str]] = [
    (pa.field("hostname", pa.string(), nullable=False), "LowCardinality(String)"),
    (pa.field("loader_instance", pa.string(), nullable=False), "String"),
    (pa.field("pid", pa.uint32(), nullable=False), "UInt32"),
    (pa.field("version", pa.string(), nullable=False), "String"),
    (pa.field("started", _TS, nullable=False), "DateTime64(6)"),
    (pa.field("heartbeat", _TS, nullable=False), "DateTime64(6)"),
    (pa.field("flush_interval", pa.float64(), nullable=False), "Float64"),
    (pa.field("ended", _TS), "Nullable(DateTime64(6))"),
    (pa.field("end_reason", pa.string()), "Nullable(String)"),
    (pa.field("events_written", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("events_dropped", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("text_log_dropped", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("write_errors", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("last_error", pa.string()), "Nullable(String)"),
]

#: ``system.asynchronous_loader_retention``: the last retention run of each instance.
_RETENTION_COLUMNS: list[tuple[pa.Field, str]] = [
    (pa.field("hostname", pa.string(), nullable=False), "LowCardinality(String)"),
    (pa.field("loader_instance", pa.string(), nullable=False), "String"),
    (pa.field("pid", pa.uint32(), nullable=False), "UInt32"),
    (pa.field("run_time", _TS, nullable=False), "DateTime64(6)"),
    (pa.field("duration", pa.float64(), nullable=False), "Float64"),
    (pa.field("max_age_seconds", pa.float64()), "Nullable(Float64)"),
    (pa.field("max_rows", pa.uint64()), "Nullable(UInt64)"),
    (pa.field("archive", pa.uint8(), nullable=False), "UInt8"),
    (pa.field("rows_deleted", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("rows_archived", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("text_log_rows_deleted", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("unfinished_jobs_kept", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("segments_rewritten", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("rows_remaining", pa.uint64(), nullable=False), "UInt64"),
    (pa.field("error", pa.string()), "Nullable(String)"),
]


def _schema(columns: list[tuple[pa.Field, str]], table: str) -> pa.Schema:
    return pa.schema([f for f, _ in columns],
                     metadata={"asl.table": table, "asl.schema_version": str(SCHEMA_VERSION)})


LOG_SCHEMA = _schema(_LOG_COLUMNS, "asynchronous_loader_log")
TEXT_LOG_SCHEMA = _schema(_TEXT_LOG_COLUMNS, "asynchronous_loader_text_log")
PROCESSES_SCHEMA = _schema(_PROCESSES_COLUMNS, "asynchronous_loader_processes")
RETENTION_SCHEMA = _schema(_RETENTION_COLUMNS, "asynchronous_loader_retention")

#: SQL table name -> stored Arrow schema.  The archive has the log's schema.
SCHEMAS: dict[str, pa.Schema] = {
    "asynchronous_loader_log": LOG_SCHEMA,
    "asynchronous_loader_log_archive": LOG_SCHEMA,
    "asynchronous_loader_text_log": TEXT_LOG_SCHEMA,
    "asynchronous_loader_processes": PROCESSES_SCHEMA,
    "asynchronous_loader_retention": RETENTION_SCHEMA,
}

#: SQL table name -> {column: ClickHouse type}, in column order (DESCRIBE, the formats).
CLICKHOUSE_TYPES: dict[str, dict[str, str]] = {
    "asynchronous_loader_log": {f.name: t for f, t in _LOG_COLUMNS},
    "asynchronous_loader_log_archive": {f.name: t for f, t in _LOG_COLUMNS},
    "asynchronous_loader_text_log": {f.name: t for f, t in _TEXT_LOG_COLUMNS},
    "asynchronous_loader_processes": {f.name: t for f, t in _PROCESSES_COLUMNS},
    "asynchronous_loader_retention": {f.name: t for f, t in _RETENTION_COLUMNS},
}

#: SQL table name -> its directory under the history root.
TABLE_DIRS: dict[str, str] = {
    "asynchronous_loader_log": "log",
    "asynchronous_loader_log_archive": os.path.join("archive", "log"),
    "asynchronous_loader_text_log": "text_log",
    "asynchronous_loader_processes": "processes",
    "asynchronous_loader_retention": "retention",
}

#: Tables made of ranged segments (``<instance>-<first>-<last>.parquet``); the others hold one
#: file per instance (``<instance>.parquet``).
SEGMENTED_TABLES = frozenset(
    {"asynchronous_loader_log", "asynchronous_loader_log_archive",
     "asynchronous_loader_text_log"})


class HistoryError(Exception):
    """A path that cannot be used as a history (named in the message, with what to do)."""


class NotAHistory(HistoryError):
    """The path exists and holds something that is not an asl history."""


class NewerHistoryVersion(HistoryError):
    """The history was written by a newer asl (a higher schema version) than this one."""


class UnwritableHistory(HistoryError):
    """The history directory cannot be created or written."""


@dataclass(frozen=True)
class Layout:
    """The paths of one history directory."""

    root: Path

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    @property
    def tmp(self) -> Path:
        return self.root / ".tmp"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def text_log(self) -> Path:
        return self.root / "text_log"

    @property
    def processes(self) -> Path:
        return self.root / "processes"

    @property
    def archive_log(self) -> Path:
        return self.root / "archive" / "log"

    @property
    def retention(self) -> Path:
        return self.root / "retention"

    def table_dir(self, table: str) -> Path:
        return self.root / TABLE_DIRS[table]

    def directories(self) -> list[Path]:
        return [self.tmp, self.log, self.text_log, self.processes, self.archive_log,
                self.retention]


_SEGMENT = re.compile(r"^([0-9a-f]{32})-(\d{10,})-(\d{10,})\.parquet$")


def segment_name(instance: str, first: int, last: int) -> str:
    return f"{instance}-{first:010d}-{last:010d}.parquet"


def parse_segment_name(name: str) -> tuple[str, int, int] | None:
    """``(instance, first, last)`` of a segment's file name, or None for any other name."""
    m = _SEGMENT.match(os.path.basename(name))
    if m is None:
        return None
    return m.group(1), int(m.group(2)), int(m.group(3))


def visible_segments(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The segments a reader should read: drop names that are not segments, and any segment
    whose [first, last] lies inside another segment's range of the same instance (a merge's
    inputs, seen between the merged file's rename and their deletion).  Sorted by name."""
    by_instance: dict[str, list[tuple[int, int, str]]] = {}
    for p in paths:
        parsed = parse_segment_name(os.fspath(p))
        if parsed is not None:
            inst, first, last = parsed
            by_instance.setdefault(inst, []).append((first, last, os.fspath(p)))
    out: list[str] = []
    for segments in by_instance.values():
        # Widest first among equal starts, so a covering segment comes before what it covers.
        segments.sort(key=lambda s: (s[0], -s[1], s[2]))
        reach = -1
        for _first, last, p in segments:
            if last <= reach:
                continue  # inside an earlier (covering) segment
            out.append(p)
            reach = max(reach, last)
    return sorted(out)


def read_marker(root: str | os.PathLike[str]) -> Mapping[str, object] | None:
    """The parsed ``asl-history.json`` of ``root``; None if it has none.

    Raises NotAHistory if the marker is not an asl history's.
    """
    marker = Path(root) / MARKER
    try:
        text = marker.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise NotAHistory(f"{marker} is not an asl history marker; "
                          "point at a directory made by sqlbridge.record_history")
    return data


def schema_version_of(root: str | os.PathLike[str], *, to: str) -> int | None:
    """The schema version ``root``'s marker names; None if it has no marker.

    Raises NotAHistory (a marker that is not asl's, or without an integer version) or
    NewerHistoryVersion (a newer asl wrote it; the message ends "upgrade asl to ``to``").
    """
    marker = read_marker(root)
    if marker is None:
        return None
    version = marker.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise NotAHistory(f"{Path(root) / MARKER} has no integer schema_version; it was not "
                          "written by asl")
    if version > SCHEMA_VERSION:
        raise NewerHistoryVersion(
            f"{root} was written by a newer asl (history schema version {version}; this asl "
            f"knows up to {SCHEMA_VERSION}): upgrade asl to {to}")
    return version


def marker_text() -> str:
    return json.dumps({"format": FORMAT_NAME, "schema_version": SCHEMA_VERSION}) + "\n"
