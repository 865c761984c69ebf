"""Fixtures shared by the SQL tests: a session over fixed rows, and ClickHouse over them."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

import sqlbridge
from sqlbridge import catalog
from sqlbridge.testing import FakeLoader, sample_jobs


@pytest.fixture(scope="module")
def db():
    """A ClickHouse-dialect session over ``sample_jobs()``, times in UTC."""
    with sqlbridge.connect(FakeLoader(), time_zone="UTC") as session:
        yield session


@pytest.fixture(scope="module")
def duck():
    """The same rows in a DuckDB-dialect session."""
    with sqlbridge.connect(FakeLoader(), dialect="duckdb", time_zone="UTC") as session:
        yield session


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    """``run(sql, fmt, zone)``: the real ClickHouse (chdb) over the same ``sample_jobs()``."""
    chdb = pytest.importorskip("chdb")
    path = tmp_path_factory.mktemp("oracle") / "jobs.parquet"
    pq.write_table(sample_jobs(), path)
    enum = catalog.STATUS_CLICKHOUSE_TYPE.replace("'", "\\'")
    # Parquet loses the Enum, makes array elements Nullable and pins times to UTC (the real
    # table's DateTime64 shows in the session's zone): put back the real types.
    times = ", ".join(
        f"fromUnixTimestamp64Micro(toUnixTimestamp64Micro({c})) AS {c}"
        for c in ("schedule_time", "enqueue_time", "start_time", "finish_time"))
    source = (f"(SELECT * REPLACE (CAST(status, '{enum}') AS status, "
              f"CAST(dependencies, 'Array(UInt64)') AS dependencies, {times}) "
              f"FROM file('{path}', Parquet))")

    def run(sql: str, fmt: str = "JSONCompact", zone: str = "UTC") -> dict | str:
        sql = sql.replace("system.asynchronous_loader", source)
        tail = f" SETTINGS session_timezone = '{zone}', output_format_pretty_color = 0"
        if " SETTINGS " in sql:  # the statement brings its own SETTINGS clause
            tail = ""
        out = chdb.query(f"{sql}{tail} FORMAT {fmt}", fmt).bytes()
        return json.loads(out) if fmt == "JSONCompact" else out.decode()

    return run
