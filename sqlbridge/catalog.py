"""The system tables: ClickHouse types, one-line column descriptions, and how DuckDB sees them.

This module is the one place that knows what ``system.asynchronous_loader`` *is* to a SQL user:
the loader only promises an Arrow schema (``loader.snapshot.SCHEMA``), while ClickHouse users
expect ``DESCRIBE`` to say ``Nullable(UInt64)`` or ``Enum8(...)`` and to explain each column.
Keeping the types and the descriptions next to each other, keyed by the Arrow schema's column
order, lets a test prove they never drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from loader.snapshot import POOLS_SCHEMA, SCHEMA, STATUS_NAMES

if TYPE_CHECKING:
    from sqlbridge.limits import Limits

#: ClickHouse's spelling of the status enum (values are the ``LoadStatus`` integers).
STATUS_CLICKHOUSE_TYPE = (
    "Enum8(" + ", ".join(f"'{n}' = {i}" for i, n in enumerate(STATUS_NAMES)) + ")"
)
#: The DuckDB ENUM created in each session's private database, so ``typeof(status)`` is an ENUM.
STATUS_DUCKDB_TYPE = "asl_status"
#: Where the views live inside DuckDB. ``system`` is DuckDB's own catalog and must not be shadowed
#: (a schema named ``system`` breaks ``system.main.*``), so queries are rewritten to these names.
INTERNAL_SCHEMA = "asl_system"


@dataclass(frozen=True)
class Column:
    name: str
    clickhouse_type: str
    description: str


@dataclass(frozen=True)
class SystemTable:
    """One ``system.<name>`` table: the columns, the loader method that fills it, its purpose."""

    name: str
    columns: tuple[Column, ...]
    arrow_schema: pa.Schema
    description: str
    #: Name of the loader method returning a fresh ``pa.Table`` with ``arrow_schema``.
    source_method: str
    #: Columns whose DuckDB view casts them (``status`` to the ENUM).
    casts: tuple[tuple[str, str], ...] = ()

    @property
    def qualified(self) -> str:
        return f"system.{self.name}"

    @property
    def view(self) -> str:
        """The DuckDB view that ``system.<name>`` is rewritten to."""
        return f"{INTERNAL_SCHEMA}.{self.name}"

    @property
    def raw_name(self) -> str:
        """The connection-local name under which the Arrow snapshot is registered."""
        return f"__asl_raw_{self.name}"

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def view_sql(self) -> str:
        casts = dict(self.casts)
        cols = ", ".join(
            f'CAST("{c.name}" AS {casts[c.name]}) AS "{c.name}"'
            if c.name in casts
            else f'"{c.name}"'
            for c in self.columns
        )
        return f"CREATE VIEW {self.view} AS SELECT {cols} FROM {self.raw_name}"

    def snapshot_of(self, loader: object) -> Callable[[], pa.Table]:
        return getattr(loader, self.source_method)


_TS = "DateTime64(6)"

ASYNCHRONOUS_LOADER = SystemTable(
    name="asynchronous_loader",
    description="Contains information and status for recent asynchronous jobs (e.g. for tables "
    "loading). The table contains a row for every job.",
    source_method="snapshot",
    arrow_schema=SCHEMA,
    casts=(("status", STATUS_DUCKDB_TYPE),),
    columns=(
        Column("job", "String", "Job name (may be not unique)."),
        Column("job_id", "UInt64", "Unique ID of the job."),
        Column("dependencies", "Array(UInt64)",
               "List of IDs of jobs that should be done before this job."),
        Column("dependencies_left", "UInt64", "Current number of dependencies left to be done."),
        # The comments are ClickHouse's, verbatim (its own typos included): DESCRIBE and
        # system.columns should read exactly as on a ClickHouse server.
        Column("status", STATUS_CLICKHOUSE_TYPE, "Current load status of a job: PENDING: Load "
               "job is not started yet. OK: Load job executed and was successful. FAILED: Load "
               "job executed and failed. CANCELED: Load job is not going to be executed due to "
               "removal or dependency failure."),
        Column("is_executing", "UInt8", "The job is currently being executed by a worker."),
        Column("is_blocked", "UInt8", "The job waits for its dependencies to be done."),
        Column("is_ready", "UInt8", "The job is ready to be executed and waits for a worker."),
        Column("elapsed", "Float64", "Seconds elapsed since start of execution. Zero if job is not "
               "started. "
               "Total execution time if job finished."),
        Column("pool_id", "UInt64", "ID of a pool currently assigned to the job."),
        Column("pool", "String", "Name of `pool_id` pool."),
        Column("priority", "Int64", "Priority of `pool_id` pool."),
        Column("execution_pool_id", "UInt64", "ID of a pool the job is executed in. Equals "
               "initially assigned pool before execution starts."),
        Column("execution_pool", "String", "Name of `execution_pool_id` pool."),
        Column("execution_priority", "Int64", "Priority of execution_pool_id pool."),
        Column("ready_seqno", "Nullable(UInt64)", "Not null for ready jobs. Worker pulls the next "
               "job to be executed from a ready queue of its pool. If there are multiple ready "
               "jobs, then job with the lowest value of `ready_seqno` is picked."),
        Column("waiters", "UInt64", "The number of threads waiting on this job."),
        Column("exception", "Nullable(String)", "Not null for failed and canceled jobs. Holds "
               "error message raised during query execution or error leading to cancelling of "
               "this job along with dependency failure chain of job names."),
        Column("schedule_time", _TS, "Time when job was created and scheduled to be executed "
               "(usually with all its dependencies)."),
        Column("enqueue_time", f"Nullable({_TS})", "Time when job became ready and was enqueued "
               "into a ready queue of it's pool. Null if the job is not ready yet."),
        Column("start_time", f"Nullable({_TS})", "Time when worker dequeues the job from ready "
               "queue and start its execution. Null if the job is not started yet."),
        Column("finish_time", f"Nullable({_TS})", "Time when job execution is finished. Null if "
               "the job is not finished yet."),
    ),
)

ASYNCHRONOUS_LOADER_POOLS = SystemTable(
    name="asynchronous_loader_pools",
    description="One row per pool of the asynchronous loader: its priority, worker limits and "
    "current queue lengths.",
    source_method="pool_snapshot",
    arrow_schema=POOLS_SCHEMA,
    columns=(
        Column("pool_id", "UInt64", "ID of the pool (0..N-1 in construction order)."),
        Column("pool", "String", "Name of the pool."),
        Column("priority", "Int64", "Priority of the pool (lower value = more urgent)."),
        Column("max_threads", "UInt64", "Maximum number of worker threads the pool may run."),
        Column("workers", "UInt64", "Worker threads currently alive in the pool."),
        Column("suspended_workers", "UInt64", "Workers suspended while their job waits on "
               "another job (they do not count against max_threads)."),
        Column("ready_jobs", "UInt64", "Jobs in the pool's ready queue, waiting for a worker."),
        Column("executing_jobs", "UInt64", "Jobs of the pool being executed right now."),
    ),
)

def _history_tables() -> list[SystemTable]:
    """The log tables of a recorded history (empty in a session that has none); their job
    columns share system.asynchronous_loader's descriptions."""
    from sqlbridge.history.tables import TABLES

    shared = {c.name: c.description for c in ASYNCHRONOUS_LOADER.columns}
    return [
        SystemTable(name=t.name, description=t.description, arrow_schema=t.schema,
                    columns=tuple(Column(name, ch, t.descriptions.get(name) or shared.get(name, ""))
                                  for name, ch in t.clickhouse_types.items()),
                    # No loader has this method: the session registers the data itself.
                    source_method="asl_history_table", casts=t.casts)
        for t in TABLES.values()
    ]


#: Which worker ran each job: ``loader.snapshot(with_worker=True)``'s lanes, for timelines of a
#: loader behind an endpoint (``asl timeline --connect``); empty from a source without lanes.
WORKERS_SCHEMA = pa.schema([
    pa.field("job_id", pa.uint64(), nullable=False),
    pa.field("job", pa.string(), nullable=False),
    pa.field("execution_pool", pa.string(), nullable=False),
    pa.field("worker", pa.uint32()),
    pa.field("thread_id", pa.uint64()),
])

ASYNCHRONOUS_LOADER_WORKERS = SystemTable(
    name="asynchronous_loader_workers",
    description="One row per job of system.asynchronous_loader: the worker lane of its execution "
    "pool that ran it (or runs it), and that worker's thread.",
    source_method="worker_snapshot",
    arrow_schema=WORKERS_SCHEMA,
    columns=(
        Column("job_id", "UInt64", "Unique ID of the job."),
        Column("job", "String", "Job name (may be not unique)."),
        Column("execution_pool", "String", "Name of the pool whose worker ran the job."),
        Column("worker", "Nullable(UInt32)", "Lane of the worker within its execution pool "
               "(0, 1, ...: a lane never runs two jobs at once). Null if the job never started."),
        Column("thread_id", "Nullable(UInt64)", "Native thread id of that worker (as in the "
               "thread_id of log records). Null if the job never started."),
    ),
)


def derived_source(table: SystemTable, loader: object) -> Callable[[], pa.Table] | None:
    """How to fill ``table`` from a loader without its ``source_method``: the workers table
    from ``snapshot(with_worker=True)``; None when the loader cannot say."""
    if table is not ASYNCHRONOUS_LOADER_WORKERS:
        return None
    import inspect

    snapshot = getattr(loader, "snapshot", None)
    try:
        if snapshot is None or "with_worker" not in inspect.signature(snapshot).parameters:
            return None
    except (TypeError, ValueError):
        return None

    def workers() -> pa.Table:
        return snapshot(with_worker=True).select(WORKERS_SCHEMA.names).cast(WORKERS_SCHEMA)
    return workers


#: Every ``system.<name>`` this package provides, by name.
SYSTEM_TABLES: dict[str, SystemTable] = {
    t.name: t for t in (ASYNCHRONOUS_LOADER, ASYNCHRONOUS_LOADER_POOLS,
                        ASYNCHRONOUS_LOADER_WORKERS, *_history_tables())
}


def system_table_list() -> str:
    """The known tables for error messages: ``system.a, system.b``."""
    return ", ".join(t.qualified for t in SYSTEM_TABLES.values())


_DESCRIBE_SCHEMA = pa.schema(
    [
        (name, pa.string())
        for name in ("name", "type", "default_type", "default_expression", "comment",
                     "codec_expression", "ttl_expression")
    ]
)


def describe(table: SystemTable) -> pa.Table:
    """ClickHouse's ``DESCRIBE TABLE`` result for a system table (seven String columns)."""
    n = len(table.columns)
    empty = [""] * n
    return pa.table(
        [
            [c.name for c in table.columns],
            [c.clickhouse_type for c in table.columns],
            empty, empty,
            [c.description for c in table.columns],
            empty, empty,
        ],
        schema=_DESCRIBE_SCHEMA,
    )


def tables_listing() -> pa.Table:
    """Rows for ``system.tables`` / ``SHOW TABLES FROM system``: what can be queried."""
    tables = list(SYSTEM_TABLES.values())
    return pa.table(
        {
            "database": ["system"] * len(tables),
            "name": [t.name for t in tables],
            "engine": ["SystemAsyncLoader"] * len(tables),
            "comment": [t.description for t in tables],
        }
    )


def columns_listing() -> pa.Table:
    """Rows for ``system.columns``: every column of every system table, its type and purpose."""
    rows = [
        ("system", t.name, c.name, c.clickhouse_type, i + 1, c.description)
        for t in SYSTEM_TABLES.values()
        for i, c in enumerate(t.columns)
    ]
    names = ("database", "table", "name", "type", "position", "comment")
    data = {n: [r[k] for r in rows] for k, n in enumerate(names)}
    data["position"] = pa.array(data["position"], pa.uint64())
    return pa.table(data)


def static_tables(*, time_zone: str = "UTC", dialect: str = "clickhouse",
                  limits: Limits | None = None) -> dict[str, pa.Table]:
    """The fixed tables created once per session beside the live ones; ``system.settings``
    says what that session honours (``sqlbridge.settings``)."""
    from sqlbridge import settings

    return {
        "tables": tables_listing(),
        "columns": columns_listing(),
        "databases": pa.table({"name": ["system"]}),
        "settings": settings.table(time_zone=time_zone, dialect=dialect, limits=limits),
    }
