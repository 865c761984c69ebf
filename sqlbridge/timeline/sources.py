"""The job table a timeline is drawn from, with each job's worker lane when the source has it.

* a ``loader.AsyncLoader``: ``snapshot(with_worker=True)`` (the 22 columns, ``worker``,
  ``thread_id``), or the plain snapshot from a loader that does not record lanes;
* an HTTP endpoint (``sqlbridge.endpoint.client.Client``): ``system.asynchronous_loader``
  joined with ``system.asynchronous_loader_workers`` on ``job_id`` when the server has that
  table (an older server does not: its lanes are then packed by time, and the picture says so);
* a history (``sqlbridge.history.HistorySource``): the last known state of each job of its
  latest run, with ``worker`` when it offers ``snapshot(with_worker=True)``;
* anything else with ``timeline_table()`` or ``snapshot()``.
"""

from __future__ import annotations

import inspect
from typing import Any

import pyarrow as pa

__all__ = ["timeline_table", "WORKERS_TABLE", "with_workers"]

WORKERS_TABLE = "system.asynchronous_loader_workers"


def timeline_table(source: Any) -> pa.Table:
    """The job rows of ``source``, with ``worker`` when it records one."""
    if hasattr(source, "timeline_table"):
        return source.timeline_table()
    if hasattr(source, "execute"):  # an endpoint client: two statements, joined here
        return _remote(source)
    if getattr(source, "latest_only", None) is False:
        # A history of several runs repeats job ids; a timeline is of one run: the latest.
        source.latest_only = True
        try:
            return _snapshot(source)
        finally:
            source.latest_only = False
    return _snapshot(source)


def _snapshot(source: Any) -> pa.Table:
    snapshot = source.snapshot
    try:
        takes_worker = "with_worker" in inspect.signature(snapshot).parameters
    except (TypeError, ValueError):
        takes_worker = False
    return snapshot(with_worker=True) if takes_worker else snapshot()


def with_workers(jobs: pa.Table, workers: pa.Table) -> pa.Table:
    """``jobs`` plus a ``worker`` column from ``workers`` (``job_id``, ``worker``) by job_id."""
    lane = dict(zip(workers.column("job_id").to_pylist(), workers.column("worker").to_pylist(),
                    strict=True))
    values = [lane.get(i) for i in jobs.column("job_id").to_pylist()]
    if "worker" in jobs.column_names:
        jobs = jobs.drop_columns(["worker"])
    return jobs.append_column("worker", pa.array(values, pa.uint32()))


def _remote(client: Any) -> pa.Table:
    from sqlbridge.endpoint.client import ServerError

    jobs = client.snapshot()
    try:
        data = client.execute(f"SELECT job_id, worker FROM {WORKERS_TABLE} FORMAT ArrowStream")
    except ServerError as e:
        if "UNKNOWN_TABLE" in str(e) or e.code == 60:
            return jobs  # an endpoint from before the workers table
        raise
    workers = pa.ipc.open_stream(data).read_all()
    return with_workers(jobs, workers)
