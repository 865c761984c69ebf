"""ClickHouse SQL -> DuckDB: checked against chdb (the real ClickHouse engine) on the same data.

Each case runs twice: in chdb over the sample snapshot written to Parquet (``status`` cast back
to its Enum8, as in the real system table), and through our session; the JSONCompact ``data``
and the column names must be equal. The chdb side is the oracle, not our reading of the docs.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sqlbridge
from sqlbridge import catalog
from sqlbridge.errors import NotImplemented_
from sqlbridge.split import split_statements
from sqlbridge.testing import FakeLoader
from sqlbridge.translate import translate

CASES = [
    (
        "SELECT job, extract(job, 'table ([^.]+)\\\\.') AS db, extract(job, 'ta.') AS m, "
        "extract(job, 'zz') AS none FROM system.asynchronous_loader ORDER BY job_id"
    ),
    (
        "SELECT job, CAST(schedule_time AS DateTime64(6)) = schedule_time AS same "
        "FROM system.asynchronous_loader ORDER BY job_id"
    ),
    "SELECT job, toUInt64(elapsed), toInt64(2.7) FROM system.asynchronous_loader ORDER BY job",
    (
        "SELECT job, job_id - 5, -waiters, dependencies_left - 1, is_ready - 1 FROM "
        "system.asynchronous_loader ORDER BY job_id"
    ),
    (
        "SELECT CAST(job_id AS String), job_id::String, job_id BETWEEN 2 AND 4, CASE WHEN "
        "is_ready THEN 1 ELSE 0 END, job NOT LIKE 'load%', job NOT ILIKE 'LOAD%' FROM "
        "system.asynchronous_loader ORDER BY job_id"
    ),
    (
        "SELECT a.job, a.dependencies[1], a.dependencies[5], a.job_id = 1 OR a.job_id = 2 OR "
        "a.job_id = 3 FROM system.asynchronous_loader AS a ORDER BY a.job_id"
    ),
    "SELECT count(DISTINCT pool), countDistinct(job) FROM system.asynchronous_loader",
    (
        "SELECT job FROM system.asynchronous_loader WHERE schedule_time > now() - INTERVAL 1 "
        "HOUR OR schedule_time < now() ORDER BY job"
    ),
    "SELECT countIf(status = 'FAILED'), count() FROM system.asynchronous_loader",
    'SELECT job, arrayJoin(dependencies) AS d FROM system.asynchronous_loader ORDER BY job, d',
    'SELECT job FROM system.asynchronous_loader WHERE has(dependencies, 4) ORDER BY job',
    'SELECT job, toStartOfMinute(start_time) FROM system.asynchronous_loader ORDER BY job',
    (
        "SELECT job, dateDiff('second', start_time, finish_time) FROM system.asynchronous_loader "
        'ORDER BY job'
    ),
    (
        "SELECT job, dateDiff('ms', start_time, finish_time) AS ms FROM "
        'system.asynchronous_loader ORDER BY job'
    ),
    "SELECT job, ifNull(exception, '') FROM system.asynchronous_loader ORDER BY job",
    'SELECT quantile(0.9)(elapsed), median(elapsed) FROM system.asynchronous_loader',
    'SELECT pool, groupArray(job) FROM system.asynchronous_loader GROUP BY pool ORDER BY pool',
    "SELECT groupArray(exception) FROM system.asynchronous_loader WHERE status = 'OK'",
    'SELECT job, toDateTime(schedule_time) FROM system.asynchronous_loader ORDER BY job',
    (
        'SELECT job, length(dependencies), empty(dependencies), notEmpty(dependencies) FROM '
        'system.asynchronous_loader ORDER BY job'
    ),
    'SELECT job, length(job) FROM system.asynchronous_loader ORDER BY job',
    'SELECT uniq(pool), uniqExact(execution_pool), uniq(job) FROM system.asynchronous_loader',
    'SELECT argMax(job, elapsed), argMin(job, job_id) FROM system.asynchronous_loader',
    'SELECT pool, any(priority) FROM system.asynchronous_loader GROUP BY pool ORDER BY pool',
    (
        'SELECT job, toString(job_id), toString(elapsed), toString(start_time) FROM '
        'system.asynchronous_loader ORDER BY job'
    ),
    'SELECT job, round(elapsed, 1), round(elapsed) FROM system.asynchronous_loader ORDER BY job',
    "SELECT job, if(is_ready, 'ready', 'not ready') FROM system.asynchronous_loader ORDER BY job",
    (
        "SELECT job, multiIf(is_executing, 'executing', is_blocked, 'blocked', is_ready, 'ready',"
        " 'done') AS state FROM system.asynchronous_loader ORDER BY job"
    ),
    (
        "SELECT job FROM system.asynchronous_loader WHERE job LIKE 'load%' AND job ILIKE '%DB.%' "
        "AND pool IN ('ForegroundLoad') ORDER BY job"
    ),
    'SELECT job, d FROM system.asynchronous_loader ARRAY JOIN dependencies AS d ORDER BY job, d',
    (
        'SELECT job, dependencies FROM system.asynchronous_loader ARRAY JOIN dependencies ORDER '
        'BY job, dependencies'
    ),
    'SELECT pool, job FROM system.asynchronous_loader ORDER BY pool, job LIMIT 1 BY pool',
    (
        "SELECT sumIf(elapsed, status = 'OK'), avgIf(elapsed, elapsed > 0), maxIf(job_id, "
        "is_ready), minIf(job_id, status = 'PENDING') FROM system.asynchronous_loader"
    ),
    (
        'SELECT sum(elapsed), sum(job_id), sum(waiters) FROM system.asynchronous_loader WHERE job'
        " = 'nothing'"
    ),
    'SELECT status, count() FROM system.asynchronous_loader GROUP BY status ORDER BY status',
    (
        "SELECT job, status = 'FAILED', is_ready + 1, job_id * 2, elapsed / 2 FROM "
        'system.asynchronous_loader ORDER BY job'
    ),
    (
        "SELECT arrayStringConcat(groupArray(job), ', ') FROM system.asynchronous_loader WHERE "
        "pool = 'BackgroundLoad'"
    ),
    (
        'SELECT job, indexOf(dependencies, 1), arrayElement(dependencies, 1), '
        'hasAny(dependencies, [1, 2]), hasAll(dependencies, [4, 1]) FROM '
        'system.asynchronous_loader ORDER BY job'
    ),
    (
        'SELECT job, arrayMap(x -> x * 10, dependencies), arrayFilter(x -> x > 1, dependencies), '
        'arrayCount(x -> x > 1, dependencies) FROM system.asynchronous_loader ORDER BY job'
    ),
    (
        'SELECT job, isNull(ready_seqno), isNotNull(exception), ready_seqno FROM '
        'system.asynchronous_loader ORDER BY job'
    ),
    (
        'SELECT job, toUnixTimestamp(schedule_time), toYYYYMMDD(schedule_time), '
        'toDate(schedule_time) FROM system.asynchronous_loader ORDER BY job'
    ),
    (
        'SELECT job, intDiv(job_id, 2), modulo(job_id, 3), job_id % 2 FROM '
        'system.asynchronous_loader ORDER BY job'
    ),
    (
        'SELECT formatReadableTimeDelta(elapsed), formatReadableTimeDelta(3661), '
        'formatReadableTimeDelta(100), formatReadableTimeDelta(432546534), '
        "formatReadableTimeDelta(0) FROM system.asynchronous_loader WHERE job = 'load db.a'"
    ),
    (
        "SELECT job, startsWith(job, 'load'), endsWith(job, '.b'), lower(job), upper(job), "
        "substring(job, 1, 4), concat(job, '!') FROM system.asynchronous_loader ORDER BY job"
    ),
    (
        'SELECT job, toStartOfHour(start_time), toStartOfFiveMinutes(start_time), '
        'toStartOfDay(start_time) FROM system.asynchronous_loader ORDER BY job'
    ),
    (
        "SELECT job, replaceAll(job, 'db.', 'database '), extract(job, '[a-z]+$'), match(job, "
        "'^load') FROM system.asynchronous_loader ORDER BY job"
    ),
    (
        'SELECT count() FROM system.asynchronous_loader WHERE finish_time > '
        "toDateTime('2026-11-22 06:53:58')"
    ),
    (
        'SELECT job FROM system.asynchronous_loader WHERE start_time > now() - INTERVAL 100 YEAR '
        'ORDER BY job'
    ),
    'SELECT quantiles(0.5, 0.9)(elapsed) FROM system.asynchronous_loader',
    'SELECT number FROM numbers(3)',
    (
        'SELECT job, dependencies, status, ready_seqno, schedule_time, enqueue_time, exception '
        'FROM system.asynchronous_loader ORDER BY job'
    ),
    'SELECT countIf(is_ready), countIf(is_blocked OR is_executing) FROM system.asynchronous_loader',
    (
        'SELECT job, NOT is_ready, -priority, priority IS NULL FROM system.asynchronous_loader '
        'ORDER BY job'
    ),
    (
        "SELECT job, coalesce(ready_seqno, 0), nullIf(pool, 'ForegroundLoad') FROM "
        'system.asynchronous_loader ORDER BY job'
    ),
    (
        'SELECT formatReadableTimeDelta(elapsed * 1000000), formatReadableTimeDelta(86400*61 + '
        '5), formatReadableTimeDelta(-90) FROM system.asynchronous_loader ORDER BY job'
    ),
    'SELECT pool, status, count() FROM system.asynchronous_loader GROUP BY ALL ORDER BY ALL',
    'SELECT pool, is_ready, job FROM system.asynchronous_loader ORDER BY ALL DESC',
]


@pytest.mark.parametrize("sql", CASES)
def test_same_answer_as_clickhouse(db, oracle, sql):
    expected = oracle(sql)
    got = json.loads(db.run(sql, "JSONCompact"))
    assert [m["name"] for m in got["meta"]] == [m["name"] for m in expected["meta"]]
    assert got["data"] == expected["data"]


_INT = ("Int", "UInt")


def _types(meta: list[dict]) -> list[str]:
    return [m["type"] for m in meta]


@pytest.mark.parametrize("sql", CASES)
def test_types_like_clickhouse_up_to_integer_width(db, oracle, sql):
    """Types match, except that ClickHouse picks narrow integers for arithmetic (``is_ready - 1``
    is Int16) where DuckDB answers 32 or 64 bits."""
    expected = _types(oracle(sql)["meta"])
    got = _types(json.loads(db.run(sql, "JSONCompact"))["meta"])
    for want, have in zip(expected, got, strict=True):
        if want != have:
            assert want.startswith(_INT) and have.startswith(_INT), (want, have)


def _saved_queries() -> list:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "queries"
    # The oracle holds one table: queries of the pools or of a history are tested elsewhere
    # (tests/history/test_history_queries.py runs the history ones on a recorded history).
    return sorted(p for p in root.glob("*.sql")
                  if "{" not in p.read_text()
                  and "system.asynchronous_loader_" not in p.read_text())


@pytest.mark.parametrize("path", _saved_queries(), ids=lambda p: p.stem)
def test_saved_queries_answer_like_clickhouse(db, oracle, path):
    for sql in db.statements(path.read_text()):
        expected = oracle(sql)
        got = json.loads(db.run(sql, "JSONCompact"))
        assert [m["name"] for m in got["meta"]] == [m["name"] for m in expected["meta"]]
        assert got["data"] == expected["data"]
        assert _types(got["meta"]) == _types(expected["meta"])


@pytest.mark.parametrize("sql", [
    "SELECT count(), countIf(status = 'FAILED'), uniq(job), length(dependencies) AS n "
    "FROM system.asynchronous_loader GROUP BY n ORDER BY n",
    "SELECT job, ready_seqno, toStartOfMinute(start_time), dateDiff('second', start_time, "
    "finish_time) FROM system.asynchronous_loader ORDER BY job",
])
def test_same_types_as_clickhouse(db, oracle, sql):
    expected = [m["type"] for m in oracle(sql)["meta"]]
    got = [m["type"] for m in json.loads(db.run(sql, "JSONCompact"))["meta"]]
    assert got == expected


# ------------------------------------------------------------------ FORMAT, \G, system.* --


@pytest.mark.parametrize("sql", [
    "SELECT * FROM system.asynchronous_loader FORMAT Vertical LIMIT 1",
    "SELECT * FROM system.asynchronous_loader LIMIT 1 FORMAT Vertical",
    "SELECT * FROM system.asynchronous_loader LIMIT 1 \\G",
    "SELECT * FROM system.asynchronous_loader LIMIT 1\\G;",
    "select * from system.asynchronous_loader limit 1 format Vertical settings max_threads = 1",
])
def test_documented_query_in_every_spelling(db, sql):
    t = translate(sql) if not sql.endswith(";") else translate(split_statements(sql)[0].text)
    assert t.format.lower() == "vertical"
    assert t.tables == {"asynchronous_loader"}
    text = db.run(sql)
    assert text.startswith("Row 1:\n──────\njob:")
    assert "Row 2:" not in text


def test_casts_to_clickhouse_only_types(db):
    """Types DuckDB lacks are cast to their DuckDB equivalents instead of failing."""
    table = db.query(
        "SELECT CAST(job AS LowCardinality(String)) AS j, "
        "CAST(status AS Enum8('PENDING' = 0, 'OK' = 1, 'FAILED' = 2, 'CANCELED' = 3)) AS s, "
        "CAST(finish_time AS Nullable(DateTime64(6))) AS f "
        "FROM system.asynchronous_loader ORDER BY job_id LIMIT 1"
    )
    row = table.to_pylist()[0]
    assert isinstance(row["j"], str) and row["s"] in ("PENDING", "OK", "FAILED", "CANCELED")


def test_format_clause_is_ignored_by_query(db):
    t = db.query("SELECT job FROM system.asynchronous_loader ORDER BY job LIMIT 2 FORMAT JSON")
    assert t.column("job").to_pylist() == ["load db.a", "load db.b"]


def test_run_default_and_explicit_formats(db):
    sql = "SELECT job_id, job FROM system.asynchronous_loader ORDER BY job_id LIMIT 2"
    assert db.run(sql) == "1\tload db.a\n2\tload db.b\n"
    assert db.run(sql, format="CSV") == '1,"load db.a"\n2,"load db.b"\n'
    assert db.run(sql + " FORMAT TSVWithNames", format="CSV").startswith("job_id\tjob\n")


def test_names_inside_strings_and_comments_are_not_rewritten(db):
    sql = ("SELECT 'system.asynchronous_loader FORMAT JSON' AS s -- FORMAT CSV\n"
           "FROM system.asynchronous_loader LIMIT 1")
    t = translate(sql)
    assert t.format is None
    assert "'system.asynchronous_loader FORMAT JSON'" in t.sql
    assert db.query(sql).column("s").to_pylist() == ["system.asynchronous_loader FORMAT JSON"]


def test_cte_named_like_the_table_is_left_alone(db):
    sql = ("WITH asynchronous_loader AS (SELECT 1 AS x) "
           "SELECT x FROM asynchronous_loader")
    assert db.query(sql).column("x").to_pylist() == [1]
    assert translate(sql).tables == frozenset()


def test_table_aliases_and_qualified_columns(db):
    t = db.query("SELECT asynchronous_loader.job FROM system.asynchronous_loader "
                 "WHERE asynchronous_loader.job_id = 1")
    assert t.column(0).to_pylist() == ["load db.a"]
    t = db.query("SELECT j.job, d.job AS dep FROM system.asynchronous_loader AS j "
                 "ARRAY JOIN j.dependencies AS dep_id "
                 "JOIN system.asynchronous_loader AS d ON d.job_id = dep_id ORDER BY j.job, dep")
    assert t.to_pylist() == [
        {"job": "startup db.b", "dep": "load db.b"},
        {"job": "startup db.c", "dep": "load db.a"},
        {"job": "startup db.c", "dep": "load db.c"},
    ]


def test_columns_qualified_by_database_and_table_as_in_clickhouse(db):
    for sql in ("SELECT system.asynchronous_loader.job FROM system.asynchronous_loader "
                "WHERE system.asynchronous_loader.job_id = 1",
                "SELECT system.asynchronous_loader.job FROM system.asynchronous_loader AS a "
                "WHERE a.job_id = 1"):
        assert db.query(sql).column(0).to_pylist() == ["load db.a"], sql


def test_quoted_and_upper_case_system_names(db):
    for sql in ('SELECT count() AS n FROM "system"."asynchronous_loader"',
                "SELECT count() AS n FROM `system`.`asynchronous_loader`",
                "SELECT count() AS n FROM SYSTEM.ASYNCHRONOUS_LOADER"):
        assert db.query(sql).column("n").to_pylist() == [7], sql


def test_unsupported_clauses_say_so(db):
    for sql in ("SELECT pool, count() FROM system.asynchronous_loader GROUP BY pool WITH TOTALS",
                "SELECT * FROM system.asynchronous_loader FINAL"):
        with pytest.raises(NotImplemented_):
            db.query(sql)


def test_with_totals_without_group_by_is_not_implemented_not_a_syntax_error(db):
    with pytest.raises(NotImplemented_, match="WITH TOTALS"):
        db.query("SELECT count() FROM system.asynchronous_loader WITH TOTALS")


# ------------------------------------------------------------------------- DuckDB dialect --


def test_duckdb_dialect_passes_duckdb_sql_through(duck):
    t = duck.query("FROM system.asynchronous_loader SELECT job, list_transform(dependencies, "
                   "lambda x: x * 2) AS d WHERE len(dependencies) > 0 ORDER BY job")
    assert t.to_pylist() == [{"job": "startup db.b", "d": [4]},
                             {"job": "startup db.c", "d": [8, 2]}]
    t = duck.query("SELECT count(*) AS n FROM system.asynchronous_loader FORMAT JSON")
    assert t.column("n").to_pylist() == [7]
    assert duck.translate("SELECT 1 FORMAT JSON").format == "JSON"
    assert duck.translate("SELECT format('{}', 1)").format is None
    assert duck.run("SELECT 1 AS x LIMIT 1 \\G") == "Row 1:\n──────\nx: 1\n"


def test_duckdb_dialect_keeps_duckdb_types_and_names(duck):
    t = duck.query("SELECT status = 'OK' AS ok, count(*) AS n FROM system.asynchronous_loader "
                   "GROUP BY ALL ORDER BY ok")
    assert t.column("ok").to_pylist() == [False, True]


def test_duckdb_dialect_system_main_still_works(duck):
    t = duck.query("SELECT count(*) AS n FROM system.main.duckdb_settings()")
    assert t.column("n").to_pylist()[0] > 10


# --------------------------------------------------------------------------------- split --


def test_split_on_tokens_not_characters():
    text = ("SELECT ';' AS a; -- a comment; with a semicolon\n"
            "SELECT \"x;y\" FROM t /* ; */ ; SELECT 3\\G SELECT 4;;  ")
    assert [p.text for p in split_statements(text)] == [
        "SELECT ';' AS a",
        "-- a comment; with a semicolon\nSELECT \"x;y\" FROM t /* ; */",
        "SELECT 3\\G",
        "SELECT 4",
    ]


def test_split_keeps_offsets_and_drops_comment_only_pieces():
    text = "SELECT 1;\n  SELECT 2; -- trailing comment"
    pieces = split_statements(text)
    assert [(p.text, p.offset) for p in pieces] == [("SELECT 1", 0), ("SELECT 2", 12)]


def test_session_statements_then_run_each(db):
    script = "SELECT 1 AS a; SELECT 'x;y' AS b FORMAT CSV"
    assert [db.run(s) for s in db.statements(script)] == ["1\n", '"x;y"\n']


@pytest.mark.parametrize("sql", [
    "SELECT job FROM system.asynchronous_loader WHERE job_id > 2 ORDER BY job_id DESC LIMIT 2",
    "SELECT job FROM system.asynchronous_loader WHERE job_id > 100 LIMIT 2",
    "SELECT * FROM system.asynchronous_loader ORDER BY job LIMIT 1",
])
def test_json_rows_before_limit_like_clickhouse(db, oracle, sql):
    expected = oracle(sql)
    got = json.loads(db.run(sql + " FORMAT JSON"))
    assert got["rows_before_limit_at_least"] == expected["rows_before_limit_at_least"]
    assert got["rows"] == expected["rows"]
    assert [m["name"] for m in got["meta"]] == [m["name"] for m in expected["meta"]]


def test_no_rows_before_limit_without_limit(db):
    got = json.loads(db.run("SELECT job FROM system.asynchronous_loader FORMAT JSON"))
    assert "rows_before_limit_at_least" not in got


_PIECES = st.lists(
    st.one_of(
        st.text(alphabet="ab;'\\ -\n", max_size=8).map(lambda s: "'" + s.replace("\\", "\\\\")
                                                        .replace("'", "''") + "'"),
        st.sampled_from(["/* ; */", "x", "1", "(", ")", "+", "\"a;b\""]),
    ),
    min_size=1, max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=4))
def test_split_never_cuts_inside_literals_or_comments(statements):
    bodies = ["SELECT " + " ".join(parts) for parts in statements]
    pieces = split_statements(" ;\n".join(bodies))
    assert [p.text for p in pieces] == bodies


@pytest.mark.parametrize("fmt", ["Vertical", "PrettyCompact", "JSONEachRow", "CSV", "TSV",
                                 "TSVWithNamesAndTypes", "JSONCompactEachRowWithNamesAndTypes"])
def test_documented_query_prints_like_clickhouse(db, oracle, fmt):
    sql = "SELECT * FROM system.asynchronous_loader ORDER BY job_id LIMIT 3"
    assert db.run(f"{sql} FORMAT {fmt}") == oracle(sql, fmt)


def test_to_type_name_speaks_clickhouse(db):
    t = db.query("SELECT toTypeName(status) AS a, toTypeName(ready_seqno) AS b, "
                 "toTypeName(groupArray(job)) AS c, toTypeName(max(elapsed)) AS d, "
                 "toTypeName(1.5) AS e FROM system.asynchronous_loader")
    assert t.to_pylist() == [{
        "a": catalog.STATUS_CLICKHOUSE_TYPE, "b": "Nullable(UInt64)", "c": "Array(String)",
        "d": "Float64", "e": "Float64"}]


@pytest.mark.parametrize("sql", [
    "SELECT job, start_time, toStartOfHour(start_time), toStartOfDay(start_time), "
    "toDate(start_time), toString(start_time) FROM system.asynchronous_loader ORDER BY job",
    "SELECT count() FROM system.asynchronous_loader WHERE schedule_time > now() - INTERVAL 1 "
    "YEAR AND toDateTime('2026-11-22 12:38:00') < finish_time",
])
def test_a_session_time_zone_like_clickhouse(oracle, sql):
    zone = "Asia/Kathmandu"  # +05:45
    with sqlbridge.connect(FakeLoader(), time_zone=zone) as session:
        got = json.loads(session.run(sql, "JSONCompact"))
    assert got["data"] == oracle(sql, zone=zone)["data"]


def test_explain_syntax_shows_the_translation_and_explain_shows_the_plan(db):
    syntax = db.query("EXPLAIN SYNTAX SELECT countIf(is_ready) FROM system.asynchronous_loader")
    assert syntax.column_names == ["explain"]
    assert "COUNT_IF(CAST(is_ready AS BOOLEAN))" in syntax.column(0)[0].as_py()
    plan = db.query("EXPLAIN SELECT count() FROM system.asynchronous_loader WHERE is_ready")
    text = "\n".join(plan.column("explain").to_pylist())
    assert "Aggregate" in text and "ARROW_SCAN" in text.upper()
    with pytest.raises(NotImplemented_):
        db.query("EXPLAIN PIPELINE SELECT 1")


def test_the_registry_finds_a_function_by_name_any_case_by_sqlglot_class_and_as_an_if_combinator():
    import sqlglot

    from sqlbridge.functions import lookup, lookup_name

    assert lookup_name("uniqexact") is lookup_name("uniqExact")
    assert lookup_name("uniqExactIf").result_type == "UInt64"  # derived from uniqExact
    assert lookup_name("toStartOfHour") is lookup_name("toStartOfMinute")  # an alias
    count = sqlglot.parse_one("SELECT count()", read="clickhouse").expressions[0]
    assert lookup(count) is lookup_name("count")  # sqlglot's exp.Count
    assert lookup_name("noSuchFunction") is None
