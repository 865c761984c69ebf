"""Every saved query, run on a known start-up state (``startup_state``), gives the expected rows.

The same SQL also runs in chdb, the real ClickHouse engine, over the same rows: the saved
queries are ClickHouse SQL first, and asl must answer them as ClickHouse would.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from startup_state import startup_jobs, startup_pools, t

import queries
import sqlbridge
from sqlbridge.params import substitute
from sqlbridge.testing import FakeLoader

PARAMS = {"job": "startup Ordinary database logs"}
CAUSE = "TableLoadError: Code: 33. DB::Exception: Cannot read all data. (CANNOT_READ_ALL_DATA)"

EXPECTED: dict[str, list[list]] = {
    "running": [
        ["load table default.hits", 3, "BackgroundLoad", "ForegroundLoad", 2.0, 0, t(1.0)],
    ],
    "blocked": [
        ["startup table default.hits", 4, "ForegroundLoad", 1, 1, 0, 0,
         ["load table default.hits (executing)"]],
        ["load table logs.metrics_agg", 14, "BackgroundLoad", 1, 0, 1, 0,
         ["load table logs.metrics (ready)"]],
        ["startup Ordinary database logs", 10, "BackgrndStartup", 2, 0, 1, 1,
         ["startup table logs.errors (ready)", "startup table logs.metrics (blocked)"]],
        ["startup Ordinary database default", 11, "BackgrndStartup", 2, 0, 1, 1,
         ["startup table default.hits (blocked)", "startup table default.users (ready)"]],
        ["startup table logs.metrics", 13, "BackgrndStartup", 1, 0, 1, 0,
         ["load table logs.metrics (ready)"]],
    ],
    "ready_queue": [
        ["BackgroundLoad", 1, 1, 10, "load table logs.metrics", 12, t(0)],
        ["BackgrndStartup", 2, 1, 9, "startup table default.users", 9, t(0.6)],
        ["BackgrndStartup", 2, 2, 12, "startup table logs.errors", 8, t(2.0)],
    ],
    "failures": [
        ["load table logs.events", 5, "FAILED", "load table logs.events", CAUSE],
        ["startup table logs.events", 6, "CANCELED", "load table logs.events", CAUSE],
    ],
    "failure_impact": [
        ["load table logs.events", CAUSE, 1, ["startup table logs.events"]],
    ],
    "slowest": [
        ["load table logs.errors", 7, "OK", "BackgroundLoad", 1.5, 0.5],
        ["load table default.users", 1, "OK", "BackgroundLoad", 0.5, 0.1],
        ["load dictionary default.dict_users", 2, "OK", "BackgroundLoad", 0.25, 0.1],
        ["load table logs.events", 5, "FAILED", "BackgroundLoad", 0.125, 0.2],
    ],
    "wait_time": [
        ["BackgroundLoad", 5, 0.19, 0.1, 0.5, "load table logs.errors"],
    ],
    "summary": [
        ["ForegroundLoad", "PENDING", 2, 1, 0, 1, 2.0, 2.0],
        ["BackgroundLoad", "PENDING", 2, 0, 1, 1, 0.0, 0.0],
        ["BackgroundLoad", "OK", 3, 0, 0, 0, 2.25, 1.5],
        ["BackgroundLoad", "FAILED", 1, 0, 0, 0, 0.125, 0.125],
        ["BackgrndStartup", "PENDING", 5, 0, 2, 3, 0.0, 0.0],
        ["BackgrndStartup", "CANCELED", 1, 0, 0, 0, 0.0, 0.0],
    ],
    "boosts": [
        ["load table default.hits", 3, "PENDING", "BackgroundLoad", "ForegroundLoad", 1,
         "executing", 0],
        ["startup table default.hits", 4, "PENDING", "BackgrndStartup", "ForegroundLoad", 2,
         "blocked", 1],
    ],
    "progress": [[14, 5, 35.7, 3, 1, 1, 1, 3, 5]],
    "databases": [
        ["default", 2, 1, 0, 1, 0, 0, 4, 0],
        ["logs", 4, 1, 0, 0, 1, 1, 5, 0],
    ],
    "waiters": [
        ["startup table default.hits", 4, 1, "blocked", 1, "ForegroundLoad", "BackgrndStartup"],
    ],
    "job": [
        ["startup Ordinary database logs", 10, [6, 8, 13], 2, "PENDING", 0, 1, 0, 0.0, 2,
         "BackgrndStartup", 2, 2, "BackgrndStartup", 2, None, 0, None, t(0), None, None, None],
    ],
    "dependencies": [
        ["startup table logs.events", 6, "CANCELED", "finished", "BackgrndStartup", 0.0],
        ["startup table logs.errors", 8, "PENDING", "ready", "BackgrndStartup", 0.0],
        ["startup table logs.metrics", 13, "PENDING", "blocked", "BackgrndStartup", 0.0],
    ],
    "pools": [
        [0, "ForegroundLoad", 0, 2, 0, 0, 0, 0],
        [1, "BackgroundLoad", 1, 2, 1, 0, 1, 1],
        [2, "BackgrndStartup", 2, 2, 0, 0, 2, 0],
    ],
}


#: The saved queries of the live tables (the history's run on a recorded history in
#: tests/history/test_history_queries.py).
LIVE_QUERIES = [n for n in queries.names() if not re.search(
    r"system\.asynchronous_loader_(log|text_log|processes|retention)", queries.load(n).sql)]


@pytest.fixture(scope="module")
def db():
    with sqlbridge.connect(FakeLoader(startup_jobs(), startup_pools()), time_zone="UTC") as s:
        yield s


def test_every_saved_query_has_expected_rows():
    assert sorted(EXPECTED) == LIVE_QUERIES
    assert len(queries.names()) >= 10


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_saved_query_rows(db, name):
    table = db.query(substitute(queries.load(name).sql, PARAMS))
    assert [list(row.values()) for row in table.to_pylist()] == EXPECTED[name]


@pytest.mark.parametrize("name", queries.names())
def test_saved_query_opens_with_its_purpose(name):
    saved = queries.load(name)
    assert saved.sql.startswith("-- ")
    assert len(saved.purpose) > 20 and saved.purpose.endswith(".")
    assert "system.asynchronous_loader" in saved.sql


def test_the_spec_topics_are_covered():
    purposes = {q.name: q.purpose.lower() for q in queries.all_queries()}
    for name, words in {
        "running": "executing", "blocked": "block", "ready_queue": "ready queue",
        "failures": "root cause", "slowest": "slowest", "wait_time": "wait time",
        "summary": "pool and status", "boosts": "boost",
    }.items():
        assert words in purposes[name], name


def test_parameters_and_default_format_are_read_from_the_file():
    job = queries.load("job.sql")
    assert job.parameters == [("job", "String")]
    assert job.default_format == "Vertical"
    assert queries.load("summary").parameters == []
    assert queries.load("summary").default_format is None
    with pytest.raises(queries.UnknownQuery, match="Did you mean: failure_impact, failures"):
        queries.load("failure")


_ENUM = "Enum8('PENDING' = 0, 'OK' = 1, 'FAILED' = 2, 'CANCELED' = 3)"


@pytest.fixture(scope="module")
def chdb_tables():
    chdb = pytest.importorskip("chdb")
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        jobs = startup_jobs()
        i = jobs.schema.get_field_index("status")
        jobs = jobs.set_column(i, "status", jobs["status"].cast(pa.string()))
        pq.write_table(jobs, Path(tmp, "jobs.parquet"))
        pq.write_table(startup_pools(), Path(tmp, "pools.parquet"))
        yield chdb, tmp


@pytest.mark.parametrize("name", LIVE_QUERIES)
def test_saved_query_answers_as_clickhouse_does(db, chdb_tables, name):
    chdb, tmp = chdb_tables
    sql = substitute(queries.load(name).sql, PARAMS)
    ch_sql = re.sub(r"\bsystem\.asynchronous_loader_pools\b",
                    f"file('{tmp}/pools.parquet', Parquet)", sql)
    ch_sql = re.sub(r"\bsystem\.asynchronous_loader\b",
                    f"(SELECT * REPLACE (CAST(status AS {_ENUM}) AS status) "
                    f"FROM file('{tmp}/jobs.parquet', Parquet))", ch_sql)
    theirs = str(chdb.query(ch_sql, "TSVWithNames", options={"session_timezone": "UTC"}))
    assert db.run(sql, format="TSVWithNames") == theirs
