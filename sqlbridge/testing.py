"""A stand-in loader with hand-built tables, for testing SQL mechanics without threads.

Tests of the CLI, the HTTP endpoint or the notebook magic need rows with exact values (a FAILED
job with a known message, a NULL ``ready_seqno``, a job with two dependencies); a real loader
produces them only through timing. ``FakeLoader`` returns the same tables every time and counts
how often it was asked, which is how the tests prove one snapshot per statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from loader.snapshot import POOLS_SCHEMA, SCHEMA, STATUS_NAMES

UTC = dt.UTC
#: A fixed instant the sample rows are built around.
T0 = dt.datetime(2026, 11, 22, 6, 53, 57, 123456, tzinfo=UTC)

_DEFAULTS: dict[str, Any] = {
    "dependencies": [], "dependencies_left": 0, "status": "OK", "is_executing": 0,
    "is_blocked": 0, "is_ready": 0, "elapsed": 0.0, "pool_id": 0, "pool": "ForegroundLoad",
    "priority": 0, "execution_pool_id": None, "execution_pool": None,
    "execution_priority": None, "ready_seqno": None, "waiters": 0, "exception": None,
    "schedule_time": T0, "enqueue_time": None, "start_time": None, "finish_time": None,
}


def job_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """A snapshot table from partial rows (``job`` and ``job_id`` required; the rest default)."""
    full = []
    for row in rows:
        r = {**_DEFAULTS, **row}
        for key, fallback in (("execution_pool_id", "pool_id"), ("execution_pool", "pool"),
                              ("execution_priority", "priority")):
            if r[key] is None:
                r[key] = r[fallback]
        full.append(r)
    columns = {}
    for f in SCHEMA:
        values = [r[f.name] for r in full]
        if f.name == "status":
            indices = pa.array([STATUS_NAMES.index(v) for v in values], pa.int8())
            columns[f.name] = pa.DictionaryArray.from_arrays(indices, pa.array(STATUS_NAMES))
        else:
            columns[f.name] = pa.array(values, f.type)
    return pa.table(columns, schema=SCHEMA)


def sample_jobs() -> pa.Table:
    """Seven jobs covering every status and state, NULLs, dependencies and two pools."""
    s = dt.timedelta(seconds=1)
    return job_table([
        {"job": "load db.a", "job_id": 1, "elapsed": 1.5, "enqueue_time": T0,
         "start_time": T0 + s, "finish_time": T0 + 2.5 * s},
        {"job": "load db.b", "job_id": 2, "status": "FAILED", "elapsed": 0.25,
         "exception": "Code: 695. Load job 'load db.b' failed: ValueError: boom. "
         "(ASYNC_LOAD_FAILED)", "enqueue_time": T0, "start_time": T0 + s,
         "finish_time": T0 + 1.25 * s},
        {"job": "startup db.b", "job_id": 3, "dependencies": [2], "status": "CANCELED",
         "exception": "Code: 696. Load job 'startup db.b' -> Code: 695. Load job 'load db.b' "
         "failed: ValueError: boom. (ASYNC_LOAD_FAILED). (ASYNC_LOAD_CANCELED)",
         "finish_time": T0 + 1.25 * s},
        {"job": "load db.c", "job_id": 4, "status": "PENDING", "is_executing": 1,
         "elapsed": 3.75, "pool_id": 1, "pool": "BackgroundLoad", "priority": 1,
         "execution_pool_id": 0, "execution_pool": "ForegroundLoad", "execution_priority": 0,
         "waiters": 1, "enqueue_time": T0, "start_time": T0 + 2 * s},
        {"job": "startup db.c", "job_id": 5, "dependencies": [4, 1], "dependencies_left": 1,
         "status": "PENDING", "is_blocked": 1, "pool_id": 1, "pool": "BackgroundLoad",
         "priority": 1},
        {"job": "load db.d", "job_id": 6, "status": "PENDING", "is_ready": 1, "ready_seqno": 7,
         "pool_id": 1, "pool": "BackgroundLoad", "priority": 1, "enqueue_time": T0 + 3 * s},
        {"job": "load db.e", "job_id": 7, "elapsed": 0.5, "enqueue_time": T0,
         "start_time": T0 + 61 * s, "finish_time": T0 + 61.5 * s},
    ])


def sample_pools() -> pa.Table:
    return pa.table(
        {"pool_id": [0, 1], "pool": ["ForegroundLoad", "BackgroundLoad"], "priority": [0, 1],
         "max_threads": [2, 1], "workers": [1, 0], "suspended_workers": [0, 0],
         "ready_jobs": [0, 1], "executing_jobs": [1, 0]},
        schema=POOLS_SCHEMA,
    )


class FakeLoader:
    """Has ``snapshot()`` and ``pool_snapshot()``, like ``loader.AsyncLoader``; counts calls."""

    def __init__(self, jobs: pa.Table | None = None, pools: pa.Table | None = None) -> None:
        self.jobs = sample_jobs() if jobs is None else jobs
        self.pools = sample_pools() if pools is None else pools
        self.snapshot_calls = 0
        self.pool_snapshot_calls = 0

    def snapshot(self) -> pa.Table:
        self.snapshot_calls += 1
        return self.jobs

    def pool_snapshot(self) -> pa.Table:
        self.pool_snapshot_calls += 1
        return self.pools
