"""The processes table of a history, and the JobInterrupted rows of processes that are gone.

Which processes are alive is ``alive.py``'s rule (``is_alive``).

A job with a JobStart row and no JobFinish row in an instance whose process is not alive reads as
one more row of type ``JobInterrupted``: a copy of its start row with ``is_executing = 0``, the
time it was last known to run (the last heartbeat, or ``ended``) as its event time, ``elapsed``
up to then, status left PENDING (it never finished), and a ``reason``.  Nothing is written: the
rows are derived at read time, so they disappear by themselves if the history later turns out to
hold the finish (another segment, another reader's copy).
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from sqlbridge.history.alive import ALIVE_COLUMNS, is_alive
from sqlbridge.history.schema import LOG_SCHEMA, PROCESSES_SCHEMA
from sqlbridge.history.tables import PROCESSES_VIEW_SCHEMA

__all__ = ["PROCESSES_VIEW_SCHEMA", "Process", "read_processes", "interrupted_rows"]


@dataclass(frozen=True)
class Process:
    instance: str
    hostname: str
    pid: int
    heartbeat: dt.datetime
    ended: dt.datetime | None
    alive: bool


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def read_processes(files: Sequence[str], now: dt.datetime | None = None) -> pa.Table:
    """The processes table with ``is_alive``, from ``processes/<instance>.parquet`` files."""
    now = now or _now()
    tables = []
    for path in files:
        try:
            tables.append(pq.read_table(path, schema=PROCESSES_SCHEMA))
        except (OSError, pa.ArrowException):
            continue  # the reader checked it; a file replaced meanwhile is read next time
    if not tables:
        return PROCESSES_VIEW_SCHEMA.empty_table()
    table = pa.concat_tables(tables)
    host = socket.gethostname()
    alive = [int(is_alive(row, host, now)) for row in table.select(ALIVE_COLUMNS).to_pylist()]
    return table.append_column(PROCESSES_VIEW_SCHEMA.field("is_alive"),
                               pa.array(alive, pa.uint8()))


def processes_of(table: pa.Table) -> dict[str, Process]:
    """The rows of a processes table by loader instance."""
    out = {}
    for row in table.select(["loader_instance", "hostname", "pid", "heartbeat", "ended",
                             "is_alive"]).to_pylist():
        out[row["loader_instance"]] = Process(row["loader_instance"], row["hostname"],
                                              row["pid"], row["heartbeat"], row["ended"],
                                              bool(row["is_alive"]))
    return out


def _stamp(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _reason(process: Process | None, pid: int, host: str) -> tuple[str, dt.datetime | None]:
    if process is None:
        return f"process {pid} on {host} stopped (it left no heartbeat)", None
    if process.ended is not None:
        return (f"the recording of process {pid} on {host} was closed at "
                f"{_stamp(process.ended)} before the job finished", process.ended)
    return (f"process {pid} on {host} stopped (last heartbeat {_stamp(process.heartbeat)})",
            process.heartbeat)


def _open_job_ids(files: Sequence[str]) -> np.ndarray:
    """Job ids with a start row and no finish row.  Ids are small dense integers, so a mark
    per id does it in two vectorized passes (a hash set of a million ids costs ~10x more);
    ``type`` is read as a dictionary (half the time of reading its strings)."""
    schema = LOG_SCHEMA.set(LOG_SCHEMA.get_field_index("type"),
                            pa.field("type", pa.dictionary(pa.int32(), pa.string())))
    data = ds.FileSystemDataset.from_paths(
        list(files), schema=schema, filesystem=pafs.LocalFileSystem(),
        format=ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(
            dictionary_columns={"type"})))
    keys = data.to_table(columns=["type", "job_id"])
    if keys.num_rows == 0:
        return np.empty(0, np.uint64)
    ids = keys.column("job_id").to_numpy()
    start = np.concatenate([_is_start(chunk) for chunk in keys.column("type").chunks])
    top = int(ids.max())
    if top > 4 * len(ids) + 1_000_000:  # sparse ids (not this loader's): a set difference
        return np.setdiff1d(ids[start], ids[~start])
    mark = np.zeros(top + 1, np.bool_)
    mark[ids[start]] = True
    mark[ids[~start]] = False
    return np.nonzero(mark)[0].astype(np.uint64)


def _is_start(chunk: pa.DictionaryArray) -> np.ndarray:
    names = chunk.dictionary.to_pylist()
    if "JobStart" not in names:
        return np.zeros(len(chunk), np.bool_)
    return pc.equal(chunk.indices, names.index("JobStart")).to_numpy(zero_copy_only=False)


def interrupted_rows(instances: Mapping[str, tuple[Sequence[str], Process | None]]
                     ) -> dict[str, pa.Table]:
    """The JobInterrupted rows of each instance that is not alive, from its log files and its
    processes row (None if it left none); see the module docstring."""
    out = {instance: LOG_SCHEMA.empty_table() for instance in instances}
    by_instance: dict[str, list[dict]] = {}
    wanted = [(instance, files) for instance, (files, _process) in instances.items() if files]
    # One after another: pyarrow already reads each instance's files on all cores.
    open_sets = [_open_job_ids(files) for _instance, files in wanted]
    for (instance, files), open_ids in zip(wanted, open_sets, strict=True):
        if len(open_ids) == 0:
            continue
        data = ds.FileSystemDataset.from_paths(list(files), schema=LOG_SCHEMA,
                                               format=ds.ParquetFileFormat(),
                                               filesystem=pafs.LocalFileSystem())
        rows = data.to_table(filter=(ds.field("type") == "JobStart")
                             & ds.field("job_id").isin(pa.array(open_ids, pa.uint64())))
        seen_ids: set[int] = set()
        for row in rows.to_pylist():
            if row["job_id"] not in seen_ids:  # a start recorded twice counts once
                seen_ids.add(row["job_id"])
                by_instance.setdefault(instance, []).append(row)
    for instance, found in by_instance.items():
        process = instances[instance][1]
        for row in found:
            reason, seen = _reason(process, row["pid"], row["hostname"])
            # Never before the start itself (a heartbeat from another host's clock, say).
            seen = max(seen or row["event_time_microseconds"], row["event_time_microseconds"])
            row["type"] = "JobInterrupted"
            row["event_time_microseconds"] = seen
            row["event_time"] = seen.replace(microsecond=0)
            row["event_date"] = seen.astimezone(dt.UTC).date()
            row["is_executing"] = 0
            if row["start_time"] is not None:
                row["elapsed"] = max(0.0, (seen - row["start_time"]).total_seconds())
            row["reason"] = reason
        out[instance] = pa.Table.from_pylist(found, schema=LOG_SCHEMA)
    return out
