"""What a session registers under the history tables before each statement.

When the session's loader records (``record_history``), or the session reads a history offline
(``asl sql --history PATH``), ``SessionHistory.begin`` registers one ``pyarrow.dataset`` per
table under the table's raw name: the segments listed at that moment (``reader.History``), plus
the rows the reader derives (JobInterrupted rows, ``is_alive``) and, in the recording process,
the recorder's rows not yet flushed (taken under the recorder's hold, with the listing, so a row
is never in both).  DuckDB scans a dataset with projection and filter pushdown, so a GROUP BY
over a million jobs reads only the columns it names; nothing is copied into the session.

Where the session admits the history's directories (``tables.readable_directories``: DuckDB's
``allowed_directories``, set before the sandbox locks, for the histories known when the session
starts), a table is instead a temporary view over DuckDB's own ``read_parquet`` of the listed
files (plus the derived and unflushed rows): 2-3x faster than scanning a pyarrow dataset, which
is what ``asl sql --history`` over a million jobs spends most of its time on.  Files elsewhere
(a directory a glob matches later, a recorder started after the session) go through pyarrow
as above.  User SQL still cannot name a file: the sandbox refuses ``read_parquet`` and every
other file function before DuckDB sees the statement.

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
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from sqlbridge.history.liveness import interrupted_rows, processes_of, read_processes
from sqlbridge.history.reader import History
from sqlbridge.history.recorder import recorded_paths, recorders_of
from sqlbridge.history.schema import LOG_SCHEMA
from sqlbridge.history.tables import LOG, PROCESSES, TABLES, TEXT_LOG, raw_name

__all__ = ["SessionHistory"]


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
        #: Guards ``_interrupted``: rows are derived while a statement scans (not in begin).
        self._derive_lock = threading.Lock()
        #: (instance, files, process state) -> its JobInterrupted rows.
        self._interrupted: dict[tuple[Any, ...], pa.Table] = {}
        self._listed: list[str] = []

    def _current(self) -> History | None:
        loader = self._loader()
        if loader is None:
            return None
        if getattr(loader, "asl_history", None) is not None:
            return self._history
        self._recorders = recorders_of(loader)
        # Paths stay known after their recorder closes: what it wrote is still history.
        paths = self._recorder_paths + tuple(
            p for p in recorded_paths(loader) if p not in self._recorder_paths)
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
            for attempt in range(5):
                try:
                    self._register(con, history)
                    return True
                except (OSError, pa.ArrowException, duckdb.IOException):
                    # A file deleted while the interrupted rows were derived from it (a merge
                    # or retention): list again.
                    if attempt == 4:
                        raise
            return True

    def _register(self, con: duckdb.DuckDBPyConnection, history: History) -> None:
        """One listing of every table, registered on ``con``."""
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
        log_files = files[LOG]
        interrupted = _Derived(lambda: self._interrupted_tables(history, log_files, processes))
        native = _native_reader(con)
        for name, info in TABLES.items():
            raw = raw_name(name)
            derived = interrupted if name == LOG else None
            if name == PROCESSES:
                _replace(con, raw, processes)
            elif not (native is not None and native(files[name])
                      and _view(con, raw, files[name], info.schema, extra.get(name, []),
                                derived)):
                rows = extra.get(name, []) + ([derived.table()] if derived is not None else [])
                _replace(con, raw, _dataset(files[name], info.schema, rows))
        self._listed = [f for name in TABLES for f in files[name]]

    def _interrupted_tables(self, history: History, log_files: list[str],
                            processes: pa.Table) -> list[pa.Table]:
        with self._derive_lock:
            return self._interrupted_tables_locked(history, log_files, processes)

    def _interrupted_tables_locked(self, history: History, log_files: list[str],
                                   processes: pa.Table) -> list[pa.Table]:
        known = processes_of(processes)
        wanted: dict[str, tuple[list[str], Any]] = {}
        out = []
        for instance, files in history.instances_by_file(log_files).items():
            process = known.get(instance)
            if process is not None and process.alive:
                continue
            key = (instance, tuple(files), process)
            rows = self._interrupted.get(key)
            if rows is None:
                wanted[instance] = (files, process)
            elif rows.num_rows:
                out.append(rows)
        if wanted:
            # A dead instance's files no longer change (retention keeps its open starts), so
            # its rows are derived once per session, all missing instances in one scan.
            if len(self._interrupted) > 256:
                self._interrupted.clear()
            for instance, rows in interrupted_rows(wanted).items():
                files, process = wanted[instance]
                self._interrupted[(instance, tuple(files), process)] = rows
                if rows.num_rows:
                    out.append(rows)
        return out

    def recover(self, error: BaseException) -> bool:
        """Whether a statement that failed with ``error`` should run again: the error names
        a listed file that is gone (a merge or retention) or is corrupt (now skipped)."""
        text = str(error)
        with self._lock:
            named = [p for p in self._listed if p in text or os.path.abspath(p) in text]
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
        # from_paths opens nothing now: a file deleted before the scan fails the scan, which
        # the session retries (a dataset() would stat every file here).
        parts.append(ds.FileSystemDataset.from_paths(
            files, schema=schema, format=ds.ParquetFileFormat(), filesystem=_LOCAL))
    for table in extra:
        parts.append(ds.dataset(table.cast(schema)))
    if not parts:
        return ds.dataset(schema.empty_table())
    return parts[0] if len(parts) == 1 else ds.dataset(parts)


_LOCAL = pafs.LocalFileSystem()


def _native_reader(con: duckdb.DuckDBPyConnection) -> Any:
    """A test of whether DuckDB on ``con`` may read a list of files itself, or None if it may
    read none (asked per registration: cheap, and a cursor inherits its parent's settings)."""
    (external, allowed), = con.execute(
        "SELECT current_setting('enable_external_access'), "
        "current_setting('allowed_directories')").fetchall()
    if external:
        return lambda files: bool(files)
    prefixes = tuple(d if d.endswith(os.sep) else d + os.sep for d in allowed or ())
    if not prefixes:
        return None
    return lambda files: bool(files) and all(
        os.path.abspath(f).startswith(prefixes) for f in files)


class _Derived:
    """The JobInterrupted rows of one listing, derived the first time a statement scans them.

    Finding them reads ``type`` and ``job_id`` of every row of every stopped instance (0.1-0.2 s
    over a million jobs).  In ``_view`` their ``type`` is the constant 'JobInterrupted', so
    DuckDB's optimizer drops the branch of a statement that cannot see such a row (``WHERE
    type = 'JobFinish'``) and never asks for the stream; binding only asks for the schema."""

    def __init__(self, derive: Callable[[], list[pa.Table]]) -> None:
        self._derive = derive
        self._table: pa.Table | None = None
        self._lock = threading.Lock()

    def table(self) -> pa.Table:
        with self._lock:
            if self._table is None:
                parts = self._derive()
                self._table = pa.concat_tables(parts) if parts else LOG_SCHEMA.empty_table()
            return self._table

    def __arrow_c_schema__(self) -> Any:
        return LOG_SCHEMA.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.table().__arrow_c_stream__(requested_schema)


def _view(con: duckdb.DuckDBPyConnection, raw: str, files: list[str], schema: pa.Schema,
          extra: list[pa.Table], derived: _Derived | None) -> bool:
    """``raw`` as a view over DuckDB's ``read_parquet`` of ``files``, the rows of ``extra``
    and the ``derived`` JobInterrupted rows; False (nothing changed) if DuckDB may not read
    the files after all."""
    paths = ", ".join("'" + os.path.abspath(f).replace("'", "''") + "'" for f in files)
    # Footers were checked against the table's schema, so a positional union is exact; no
    # hive partitioning: a directory named key=value above the history is not a column.
    body = f"SELECT * FROM read_parquet([{paths}], hive_partitioning = false)"
    rows = f"{raw}_rows"
    if extra:
        _replace(con, rows, pa.concat_tables([t.cast(schema) for t in extra]))
        body += f' UNION ALL SELECT * FROM "{rows}"'
    if derived is not None:
        _replace(con, f"{raw}_interrupted", derived)
        body += _derived_branch(raw, schema)
    try:
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{raw}" AS {body}')
    except duckdb.PermissionException:
        return False
    if not extra:
        with contextlib.suppress(duckdb.Error, KeyError):
            con.unregister(rows)  # the last statement's rows; nothing reads them now
    return True


def _derived_branch(raw: str, schema: pa.Schema) -> str:
    columns = ", ".join("'JobInterrupted' AS \"type\"" if f.name == "type" else f'"{f.name}"'
                        for f in schema)
    return f' UNION ALL SELECT {columns} FROM "{raw}_interrupted"'


def _replace(con: duckdb.DuckDBPyConnection, name: str, data: Any) -> None:
    """Register ``data`` under ``name``, over a temporary view left by ``_view``."""
    try:
        con.register(name, data)
    except duckdb.CatalogException:
        con.execute(f'DROP VIEW IF EXISTS "{name}"')
        con.register(name, data)


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
