"""Errors carry ClickHouse's codes and say what to do; the session survives every one of them."""

from __future__ import annotations

import pytest

import sqlbridge
from sqlbridge import errors
from sqlbridge.testing import FakeLoader

GOOD = "SELECT count() AS n FROM system.asynchronous_loader"
T = "system.asynchronous_loader"


def _error(db, sql, run=False) -> errors.QueryError:
    with pytest.raises(errors.QueryError) as info:
        db.run(sql) if run else db.query(sql)
    assert db.query(GOOD).column("n").to_pylist() == [7], "session unusable after an error"
    e = info.value
    assert str(e).startswith(f"Code: {e.code}. DB::Exception: ")
    assert str(e).endswith(f"({e.name})")
    return e


@pytest.mark.parametrize("sql, cls, words", [
    ("SELECT * FROM system.nosuch", errors.UnknownTable,
     ["system.nosuch", "system.asynchronous_loader", "system.asynchronous_loader_pools"]),
    ("SELECT * FROM nosuch", errors.UnknownTable, ["nosuch", "system.asynchronous_loader"]),
    ("DESCRIBE system.nosuch", errors.UnknownTable, ["system.asynchronous_loader_pools"]),
    ("SELECT nosuch FROM system.asynchronous_loader", errors.UnknownIdentifier,
     ["'nosuch'", "DESCRIBE system.asynchronous_loader"]),
    ("SELECT nofunc(job) FROM system.asynchronous_loader", errors.UnknownFunction, ["nofunc"]),
    ("SELECT toUInt64('abc')", errors.CannotParseText, ["abc"]),
    ("SELECT toDateTime('garbage')", errors.CannotParseText, ["garbage"]),
    ("SELECT job + 1 FROM system.asynchronous_loader", errors.IllegalTypeOfArgument, ["CAST"]),
    ("SELECT job, count() FROM system.asynchronous_loader", errors.NotAnAggregate, ["GROUP BY"]),
    ("SELECT 1; SELECT 2", errors.SyntaxError_, ["Multi-statements"]),
    ("", errors.SyntaxError_, ["Empty query"]),
    ("SELECT 'abc", errors.SyntaxError_, []),
    ("SELECT dateDiff('fortnight', now(), now())", errors.NotImplemented_, ["second"]),
])
def test_codes_and_messages(db, sql, cls, words):
    e = _error(db, sql)
    assert type(e) is cls, str(e)
    for word in words:
        assert word in str(e)


@pytest.mark.parametrize("sql, position, near", [
    ("SELECT * FORM system.asynchronous_loader", 15, "system"),
    ("SELECT count( FROM system.asynchronous_loader", 27, "asynchronous_loader"),
    ("SELECT 1 +", 10, "+"),
    ("SELEC job FROM system.asynchronous_loader", 1, "SELEC"),
    ("SELECT job\nFROM system.asynchronous_loader\nWHERE job = = 1", 56, "="),
])
def test_syntax_error_position(db, sql, position, near):
    e = _error(db, sql)
    assert isinstance(e, errors.SyntaxError_) and e.code == 62
    assert f"failed at position {position} ('{near}')" in str(e)


@pytest.mark.parametrize("sql, position, near", [
    ("SELECT * FORM system.asynchronous_loader", 15, "system"),
    ("SELECT *\nFROM system.asynchronous_loader\nWHERE job = = 1", 54, "="),
    ("SELECT job FROM system.asynchronous_loader WHERE job = = 1 FORMAT JSON", 56, "="),
])
def test_syntax_error_position_in_duckdb_dialect(duck, sql, position, near):
    e = _error(duck, sql)
    assert f"failed at position {position} ('{near}')" in str(e)
    assert "asl_system" not in str(e)


def test_unknown_format_lists_the_formats(db):
    e = _error(db, "SELECT 1 FORMAT Nope", run=True)
    assert isinstance(e, errors.UnknownFormat) and e.code == 73
    for name in ("TabSeparated", "Vertical", "PrettyCompact", "JSONEachRow"):
        assert name in str(e)
    with pytest.raises(errors.UnknownFormat):
        db.run("SELECT 1", format="Nope")


def test_unknown_table_in_duckdb_dialect_lists_ours(duck):
    e = _error(duck, "SELECT * FROM system.nosuch")
    assert isinstance(e, errors.UnknownTable)
    assert "system.asynchronous_loader" in str(e)


def test_a_failing_loader_snapshot_is_a_query_error():
    class Broken(FakeLoader):
        def snapshot(self):
            raise RuntimeError("loader broke")

    with sqlbridge.connect(Broken()) as session:
        with pytest.raises(errors.QueryError, match="snapshot of system.asynchronous_loader "
                                                    "failed: RuntimeError: loader broke"):
            session.query(GOOD)
        assert session.query("SELECT 1 AS x").column("x").to_pylist() == [1]
        assert session.query("SELECT count() AS n FROM system.asynchronous_loader_pools"
                             ).column("n").to_pylist() == [2]


def test_closed_session_says_so():
    db = sqlbridge.connect(FakeLoader())
    db.close()
    db.close()  # idempotent
    with pytest.raises(errors.SessionClosed):
        db.query(GOOD)


def test_unknown_identifier_without_from_is_code_47(db):
    with pytest.raises(errors.QueryError) as e:
        db.run("SELECT nope")
    assert e.value.code == 47


def test_unknown_qualified_column_is_code_47_naming_it(db):
    with pytest.raises(errors.UnknownIdentifier) as e:
        db.run(f"SELECT a.nope FROM {T} AS a")
    assert "'a.nope'" in str(e.value) and "Values list" not in str(e.value)


def test_unknown_column_suggestions_are_a_clickhouse_list_ending_a_sentence(db):
    with pytest.raises(errors.UnknownIdentifier) as e:
        db.run(f"SELECT jb FROM {T}")
    assert "Maybe you meant: ['job" in str(e.value)
    assert "']. DESCRIBE system.asynchronous_loader lists the columns" in str(e.value)


def test_unknown_function_error_names_what_the_user_wrote(db):
    with pytest.raises(errors.QueryError) as e:
        db.run(f"SELECT cityHash64(job) FROM {T}")
    assert "cityHash64" in str(e.value)


def test_integer_division_by_zero_is_illegal_division(db):
    with pytest.raises(errors.QueryError) as e:
        db.run("SELECT intDiv(1, 0)")
    assert e.value.code == 153
    assert "SET " not in str(e.value)


@pytest.mark.parametrize("sql", [
    "SELECT " + "+".join(["1"] * 2000),
    "SELECT " + "(" * 600 + "1" + ")" * 600,
], ids=["2000-terms", "600-parentheses"])
def test_too_deep_expression_is_a_query_error(db, sql):
    error: object = None
    try:
        db.run(sql)
    except RecursionError:  # kept out of the report: its traceback takes seconds to render
        error = "RecursionError"
    except errors.QueryError as e:
        error = e
    assert db.run(f"SELECT count() FROM {T}") == "7\n"
    assert isinstance(error, errors.QueryError) and error.code == 167, str(error)[:200]


def test_unknown_time_zone_is_its_own_error_with_our_message():
    with pytest.raises(errors.UnknownTimeZone) as e:
        sqlbridge.connect(FakeLoader(), time_zone="Mars/Base")
    assert e.value.code == 36 and e.value.zone == "Mars/Base"
    assert isinstance(e.value, ValueError)  # what connect() raised before it had a type
    assert "Mars/Base" in str(e.value) and "IANA" in str(e.value)
    assert "Not implemented" not in str(e.value)
