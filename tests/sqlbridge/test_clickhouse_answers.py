"""ClickHouse queries a user would write, answered as ClickHouse answers them: each is checked
against the real ClickHouse engine (chdb) over the same rows (functions, types, names, clauses,
time zones, formats)."""

from __future__ import annotations

import json

import pytest

import sqlbridge
from sqlbridge.errors import NotImplemented_, QueryError
from sqlbridge.testing import FakeLoader

T = "system.asynchronous_loader"


def _same(db, oracle, sql: str) -> None:
    expected = oracle(sql)
    got = json.loads(db.run(sql, "JSONCompact"))
    assert [m["name"] for m in got["meta"]] == [m["name"] for m in expected["meta"]]
    assert got["data"] == expected["data"]


def test_two_array_joins_multiply(db, oracle):
    _same(db, oracle, f"SELECT job, arrayJoin(dependencies) AS d, arrayJoin([10, 20]) AS k "
                      f"FROM {T} ORDER BY job, d, k")


@pytest.mark.parametrize("sql", [f"SELECT job FROM {T} SAMPLE 0.5",
                                 f"SELECT job FROM {T} SAMPLE 1"])
def test_sample_is_refused_like_clickhouse(db, sql):
    with pytest.raises(QueryError):
        db.run(sql)


def test_datetime_minus_datetime_is_seconds(db, oracle):
    sql = f"SELECT job, finish_time - start_time AS d FROM {T} ORDER BY job"
    expected = oracle(sql)
    got = json.loads(db.run(sql, "JSONCompact"))
    assert got["data"] == expected["data"]
    assert got["meta"] == expected["meta"]


def test_now_minus_time_compares_with_a_number(db, oracle):
    _same(db, oracle, f"SELECT job, now() - schedule_time > 0 AS past FROM {T} ORDER BY job")


@pytest.mark.parametrize("sql", [
    f"SELECT job FROM {T} WHERE status > 'OK' ORDER BY job",
    f"SELECT job, status < 'FAILED' FROM {T} ORDER BY job",
])
def test_enum_orders_by_value_against_a_literal(db, oracle, sql):
    _same(db, oracle, sql)


@pytest.mark.parametrize("sql", [
    f"SELECT job, CAST(status AS Int8) AS v FROM {T} ORDER BY job",
    f"SELECT job, toInt8(status) FROM {T} ORDER BY job",
])
def test_enum_to_integer_is_its_value(db, oracle, sql):
    _same(db, oracle, sql)


@pytest.mark.parametrize("sql", [
    f"WITH 1 AS x SELECT x + job_id FROM {T} ORDER BY job_id",
    f"WITH 'FAILED' AS s SELECT job FROM {T} WHERE status = s ORDER BY job",
])
def test_with_expression_alias(db, oracle, sql):
    _same(db, oracle, sql)


def test_self_join_columns_get_distinct_names(db, oracle):
    sql = (f"SELECT a.job, b.job FROM {T} AS a JOIN {T} AS b ON has(a.dependencies, b.job_id) "
           "ORDER BY a.job, b.job")
    assert db.run(sql, "JSONEachRow") == oracle(sql, "JSONEachRow")


@pytest.mark.parametrize("sql", [
    f"SELECT toString(start_time) AS s FROM {T} WHERE job = 'load db.a' "
    "SETTINGS session_timezone = 'Asia/Kathmandu'",
    f"SELECT job FROM {T} ORDER BY job SETTINGS limit = 2",
])
def test_settings_clause_is_honoured_or_refused(db, oracle, sql):
    try:
        got = db.run(sql, "TSV")
    except QueryError:
        return
    assert got == oracle(sql, "TSV")


@pytest.mark.parametrize("sql", [
    f"SELECT pool, count() AS c FROM {T} GROUP BY pool WITH ROLLUP ORDER BY pool",
    f"SELECT job, elapsed FROM {T} ORDER BY elapsed DESC LIMIT 1 WITH TIES",
    f"SELECT count() FROM {T} WHERE job GLOBAL IN ('load db.a')",
    f"SELECT job_id FROM {T} ORDER BY job_id WITH FILL",
])
def test_valid_clickhouse_is_not_a_syntax_error(db, oracle, sql):
    try:
        _same(db, oracle, sql)
    except NotImplemented_:
        pass


def test_to_string_of_an_array_like_clickhouse(db, oracle):
    _same(db, oracle, f"SELECT job, toString(dependencies) FROM {T} ORDER BY job")


def test_array_aggregates_of_an_empty_array(db, oracle):
    _same(db, oracle,
          f"SELECT job, arraySum(dependencies), arrayMax(dependencies) FROM {T} ORDER BY job")


def test_assume_not_null(db, oracle):
    _same(db, oracle, f"SELECT job, assumeNotNull(ready_seqno) FROM {T} ORDER BY job")


def test_decimal_literals_are_float64(db, oracle):
    sql = "SELECT 1 - 0.9 AS a, 2.5 * 2 AS b, 0.1 + 0.2 AS c"
    expected = oracle(sql)
    got = json.loads(db.run(sql, "JSONCompact"))
    assert got["data"] == expected["data"]
    assert got["meta"] == expected["meta"]


def test_format_readable_size(db, oracle):
    _same(db, oracle, "SELECT formatReadableSize(1536) AS a")


def test_format_date_time_percent_m(db, oracle):
    _same(db, oracle,
          f"SELECT job, formatDateTime(schedule_time, '%Y-%m-%d %H:%M:%S') FROM {T} ORDER BY job")


def test_to_start_of_interval_is_datetime(db, oracle):
    _same(db, oracle, f"SELECT job, toStartOfInterval(start_time, INTERVAL 10 second) AS m "
                      f"FROM {T} ORDER BY job")


def test_columns_matcher_keeps_column_names(db, oracle):
    sql = f"SELECT COLUMNS('time') FROM {T} ORDER BY job_id LIMIT 2"
    got = json.loads(db.run(sql, "JSONCompact"))
    assert got["meta"] == oracle(sql)["meta"]


def test_scalar_subquery_name_does_not_leak_internal_schema(db):
    t = db.query(f"SELECT (SELECT count() FROM {T})")
    assert "asl_system" not in t.column_names[0]


@pytest.mark.parametrize("sql", [
    f"SELECT job, toHour(start_time), toMinute(start_time) FROM {T} ORDER BY job",
    f"SELECT job, lengthUTF8(job) FROM {T} ORDER BY job",
    f"SELECT job, arrayExists(x -> x > 3, dependencies) FROM {T} ORDER BY job",
    f"SELECT job, toUInt64OrZero(substring(job, 100)) FROM {T} ORDER BY job",
    f"SELECT job, replaceRegexpOne(job, ' .*', '') FROM {T} ORDER BY job",
    f"SELECT job, extractAll(job, '[a-z]+') FROM {T} ORDER BY job",
    f"SELECT job, toUnixTimestamp64Micro(schedule_time) FROM {T} ORDER BY job",
    f"SELECT stddevPop(elapsed) FROM {T}",
    f"SELECT job, age('second', start_time, finish_time) FROM {T} ORDER BY job",
    f"SELECT count() FROM {T} WHERE schedule_time < now64()",
    "SELECT formatReadableQuantity(1234567)",
    f"SELECT job, toYear(schedule_time), toMonth(schedule_time) FROM {T} ORDER BY job",
])
def test_common_clickhouse_functions(db, oracle, sql):
    _same(db, oracle, sql)


@pytest.mark.parametrize("sql", ["SELECT count() FROM numbers(1e6)",
                                 "SELECT -number AS d FROM numbers(3)"])
def test_numbers_table_function(db, oracle, sql):
    _same(db, oracle, sql)


def test_bar_is_not_padded(db, oracle):
    _same(db, oracle, f"SELECT job, bar(elapsed, 0, 4, 10) AS b FROM {T} ORDER BY job")


def test_array_subscript_out_of_range_is_the_default(db, oracle):
    _same(db, oracle, "SELECT [1][5] AS x, [1, 2][0] AS y")


def test_expression_names_keep_literal_escapes(db, oracle):
    sql = f"SELECT extract(exception, 'Code: (\\\\d+)') FROM {T} ORDER BY job_id LIMIT 1"
    assert db.run(sql, "TSVWithNames") == oracle(sql, "TSVWithNames")


def test_describe_is_clickhouse_describe():
    chdb = pytest.importorskip("chdb")
    expected = chdb.query(f"DESCRIBE {T}", "TSV").bytes().decode()
    with sqlbridge.connect(FakeLoader(), time_zone="UTC") as session:
        assert session.run(f"DESCRIBE {T}", "TSV") == expected


@pytest.mark.parametrize("sql", [f"SHOW COLUMNS FROM {T}", f"EXISTS {T}"])
def test_show_columns_and_exists(db, sql):
    chdb = pytest.importorskip("chdb")
    assert db.run(sql, "TSV") == chdb.query(sql, "TSV").bytes().decode()


@pytest.mark.parametrize("fmt", ["TSVWithNamesAndTypes", "JSONEachRow"])
def test_bool_prints_true_and_false(db, oracle, fmt):
    sql = "SELECT true AS t, false AS f, 1 = 1 AS u"
    assert db.run(sql, fmt) == oracle(sql, fmt)


def test_bool_query_parameter(db):
    from sqlbridge.params import substitute

    assert db.run(substitute("SELECT {b:Bool} AS x", {"b": "true"}), "TSV") == "true\n"


def test_now_is_datetime(db):
    assert db.run("SELECT toTypeName(now())", "TSV") == "DateTime\n"


def _same_in_zone(oracle, sql: str, zone: str = "Asia/Kathmandu") -> None:
    with sqlbridge.connect(FakeLoader(), time_zone=zone) as session:
        try:
            got = session.run(sql, "TSV")
        except QueryError as e:
            got = str(e)
    assert got == oracle(sql, "TSV", zone=zone)


def test_to_start_of_interval_in_the_session_zone(oracle):
    _same_in_zone(oracle, f"SELECT job, toStartOfInterval(start_time, INTERVAL 1 hour) "
                          f"FROM {T} WHERE job = 'load db.a'")


@pytest.mark.parametrize("sql", [
    f"SELECT toDateTime(start_time, 'UTC') FROM {T} WHERE job = 'load db.a'",
    f"SELECT toTimeZone(start_time, 'UTC') FROM {T} WHERE job = 'load db.a'",
])
def test_explicit_time_zone_argument(oracle, sql):
    _same_in_zone(oracle, sql)


def test_format_date_time_f_and_t(oracle):
    _same_in_zone(oracle, f"SELECT formatDateTime(start_time, '%F %T') FROM {T} "
                          "WHERE job = 'load db.a'")


@pytest.mark.parametrize("sql", [
    f"SELECT job FROM {T} WHERE status IN ('FAILED', 'CANCELED') ORDER BY job",
    f"SELECT job FROM {T} ORDER BY status, job",
    f"SELECT max(status), min(status) FROM {T}",
    f"SELECT job, dateDiff('second', schedule_time, now()) > 0 FROM {T} ORDER BY job",
    f"SELECT pool, round(100 * countIf(status = 'OK') / count(), 2) AS pct FROM {T} "
    "GROUP BY pool ORDER BY pool",
    f"SELECT a.job, b.job AS dep FROM {T} AS a ARRAY JOIN a.dependencies AS d "
    f"JOIN {T} AS b ON b.job_id = d ORDER BY a.job, dep",
    f"SELECT job FROM {T} WHERE job_id IN (SELECT arrayJoin(dependencies) FROM {T}) "
    "ORDER BY job",
    f"SELECT job, row_number() OVER (PARTITION BY pool ORDER BY job_id) AS n FROM {T} "
    "ORDER BY job_id",
    f"SELECT * EXCEPT (dependencies, exception) FROM {T} ORDER BY job_id LIMIT 1",
    f"SELECT job FROM {T} ORDER BY job LIMIT 2 OFFSET 1",
])
def test_diagnostics_answer_like_clickhouse(db, oracle, sql):
    _same(db, oracle, sql)


_ODD = ("SELECT 'a\\tb' AS s, 'new\\nline' AS n, 'q\"x\\'y' AS q, 'back\\\\slash' AS b, "
        "'ünï😀' AS u, '' AS e, NULL AS nul")


@pytest.mark.parametrize("fmt", ["TabSeparated", "TSVRaw", "CSVWithNamesAndTypes", "Vertical",
                                 "Pretty", "PrettyCompact", "PrettySpace", "JSONEachRow",
                                 "JSONCompactEachRow", "Markdown", "Values"])
def test_awkward_strings_print_byte_for_byte(db, oracle, fmt):
    assert db.run(_ODD, fmt) == oracle(_ODD, fmt)


def test_pretty_cuts_long_results_like_clickhouse(db, oracle):
    sql = "SELECT number, toString(number) AS s FROM numbers(1200)"
    assert db.run(sql, "PrettyCompact") == oracle(sql, "PrettyCompact")


@pytest.mark.parametrize("sql", [
    "SELECT 1",
    "SELECT 1 AS x, -1 AS y, 256 AS z, (7) AS p, 70000 AS u32, -129 AS i16, 5000000000 AS u64, "
    "-9223372036854775808 AS i64, 18446744073709551615 AS umax, 1.5 AS f, 'a' AS s",
    f"SELECT job, 1 AS one FROM {T} ORDER BY job LIMIT 3",
])
def test_an_integer_literal_is_typed_by_its_value_as_clickhouse_types_it(db, oracle, sql):
    expected = oracle(sql)
    got = json.loads(db.run(sql, "JSONCompact"))
    assert got["meta"] == expected["meta"]
    assert got["data"] == expected["data"]
