"""A server start-up caught mid-load, as fixed rows: the known state saved queries are tested on.

Two databases.  ``default``: ``users`` loaded, the dictionary built from it loaded, ``hits``
(which needs the dictionary) still loading and boosted by a query waiting on its startup;
``users``'s startup ready.  ``logs``: ``events`` failed, which canceled its startup;
``errors`` loaded and its startup ready; ``metrics`` ready to load, its aggregate and startup
blocked behind it.  Times are fixed offsets from ``T0`` so every column is exact.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from sqlbridge.testing import T0, job_table

BG = {"pool_id": 1, "pool": "BackgroundLoad", "priority": 1}
ST = {"pool_id": 2, "pool": "BackgrndStartup", "priority": 2}
FG = {"pool_id": 0, "pool": "ForegroundLoad", "priority": 0}
FAILURE = (
    "Code: 695. Load job 'load table logs.events' failed: TableLoadError: Code: 33. "
    "DB::Exception: Cannot read all data. (CANNOT_READ_ALL_DATA). (ASYNC_LOAD_FAILED)"
)
CANCELED = (
    "Code: 696. Load job 'startup table logs.events' -> " + FAILURE + ". (ASYNC_LOAD_CANCELED)"
)


def t(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _fg_from(pool: dict) -> dict:
    """A job boosted to ForegroundLoad from ``pool`` (its execution pool)."""
    return {**FG, "execution_pool_id": pool["pool_id"], "execution_pool": pool["pool"],
            "execution_priority": pool["priority"]}


def startup_jobs() -> pa.Table:
    rows = [
        {"job": "load table default.users", "job_id": 1, **BG, "elapsed": 0.5,
         "enqueue_time": t(0), "start_time": t(0.1), "finish_time": t(0.6)},
        {"job": "load dictionary default.dict_users", "job_id": 2, **BG, "dependencies": [1],
         "elapsed": 0.25, "enqueue_time": t(0.6), "start_time": t(0.7), "finish_time": t(0.95)},
        {"job": "load table default.hits", "job_id": 3, **_fg_from(BG), "dependencies": [2],
         "status": "PENDING", "is_executing": 1, "elapsed": 2.0, "enqueue_time": t(0.95),
         "start_time": t(1.0)},
        {"job": "startup table default.hits", "job_id": 4, **_fg_from(ST), "dependencies": [3],
         "dependencies_left": 1, "status": "PENDING", "is_blocked": 1, "waiters": 1},
        {"job": "load table logs.events", "job_id": 5, **BG, "status": "FAILED",
         "elapsed": 0.125, "exception": FAILURE, "enqueue_time": t(0), "start_time": t(0.2),
         "finish_time": t(0.325)},
        {"job": "startup table logs.events", "job_id": 6, **ST, "dependencies": [5],
         "status": "CANCELED", "exception": CANCELED, "finish_time": t(0.325)},
        {"job": "load table logs.errors", "job_id": 7, **BG, "elapsed": 1.5,
         "enqueue_time": t(0), "start_time": t(0.5), "finish_time": t(2.0)},
        {"job": "startup table logs.errors", "job_id": 8, **ST, "dependencies": [7],
         "status": "PENDING", "is_ready": 1, "ready_seqno": 12, "enqueue_time": t(2.0)},
        {"job": "startup table default.users", "job_id": 9, **ST, "dependencies": [1],
         "status": "PENDING", "is_ready": 1, "ready_seqno": 9, "enqueue_time": t(0.6)},
        {"job": "startup Ordinary database logs", "job_id": 10, **ST,
         "dependencies": [6, 8, 13], "dependencies_left": 2, "status": "PENDING",
         "is_blocked": 1},
        {"job": "startup Ordinary database default", "job_id": 11, **ST,
         "dependencies": [4, 9], "dependencies_left": 2, "status": "PENDING", "is_blocked": 1},
        {"job": "load table logs.metrics", "job_id": 12, **BG, "status": "PENDING",
         "is_ready": 1, "ready_seqno": 10, "enqueue_time": t(0)},
        {"job": "startup table logs.metrics", "job_id": 13, **ST, "dependencies": [12],
         "dependencies_left": 1, "status": "PENDING", "is_blocked": 1},
        {"job": "load table logs.metrics_agg", "job_id": 14, **BG, "dependencies": [12],
         "dependencies_left": 1, "status": "PENDING", "is_blocked": 1},
    ]
    table = job_table(rows)
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["job"], rows[i]["job_id"]))
    return table.take(order)


def startup_pools() -> pa.Table:
    from loader.snapshot import POOLS_SCHEMA

    return pa.table(
        {"pool_id": [0, 1, 2], "pool": ["ForegroundLoad", "BackgroundLoad", "BackgrndStartup"],
         "priority": [0, 1, 2], "max_threads": [2, 2, 2], "workers": [0, 1, 0],
         "suspended_workers": [0, 0, 0], "ready_jobs": [0, 1, 2],
         "executing_jobs": [0, 1, 0]},
        schema=POOLS_SCHEMA,
    )
