"""``{name:Type}`` query parameters: typed literals, never SQL, and ClickHouse's errors."""

from __future__ import annotations

import pytest

from sqlbridge.errors import BadQueryParameter, NotImplemented_, UnknownQueryParameter
from sqlbridge.params import find_placeholders, parse_assignments, substitute


def test_placeholders_in_strings_and_comments_are_left_alone():
    sql = ("SELECT {a:String}, '{a:String}' -- {b:UInt8}\n"
           "/* {c:UInt8} */ FROM t WHERE x = {d:Array(Nullable(String))}")
    names = [name for _, _, name, _ in find_placeholders(sql)]
    assert names == ["a", "d"]
    out = substitute(sql, {"a": "x", "d": "['y', NULL]"})
    assert out == ("SELECT 'x', '{a:String}' -- {b:UInt8}\n"
                   "/* {c:UInt8} */ FROM t WHERE x = ['y', NULL]")


def test_a_duckdb_struct_literal_is_not_a_placeholder():
    assert find_placeholders("SELECT {'a': 1}, {x:UInt8}", "duckdb")[0][2] == "x"
    assert len(find_placeholders("SELECT {'a': 1}", "duckdb")) == 0


@pytest.mark.parametrize(("type_", "value", "clickhouse", "duckdb"), [
    ("String", "it's", r"'it\'s'", "'it''s'"),
    ("String", r"a\tb", "'a\tb'", "'a\tb'"),
    ("String", "x' OR 1=1 --", r"'x\' OR 1=1 --'", "'x'' OR 1=1 --'"),
    ("UInt64", "18446744073709551615", "CAST(18446744073709551615 AS UInt64)",
     "CAST(18446744073709551615 AS UBIGINT)"),
    ("Int8", "-128", "CAST(-128 AS Int8)", "CAST(-128 AS TINYINT)"),
    ("Float64", "1.5", "CAST(1.5 AS Float64)", "CAST(1.5 AS DOUBLE)"),
    ("Float64", "inf", "CAST('inf' AS Float64)", "CAST('inf' AS DOUBLE)"),
    ("Bool", "true", "true", "true"),
    ("Date", "2026-11-22", "CAST('2026-11-22' AS Date)", "CAST('2026-11-22' AS DATE)"),
    ("DateTime", "2026-11-22 06:53:57", "toDateTime('2026-11-22 06:53:57')",
     "CAST('2026-11-22 06:53:57' AS TIMESTAMPTZ)"),
    ("DateTime64(6)", "2026-11-22 06:53:57.5", "toDateTime64('2026-11-22 06:53:57.5', 6)",
     "CAST('2026-11-22 06:53:57.5' AS TIMESTAMPTZ)"),
    ("Array(UInt8)", "[1, 2]", "[CAST(1 AS UInt8), CAST(2 AS UInt8)]",
     "[CAST(1 AS UTINYINT), CAST(2 AS UTINYINT)]"),
    ("Array(String)", r"['a', 'b\'c']", r"['a', 'b\'c']", "['a', 'b''c']"),
    ("Array(Array(String))", "[['a'], []]", "[['a'], []]", "[['a'], []]"),
    ("Nullable(String)", r"\N", "NULL", "NULL"),
    ("LowCardinality(String)", "x", "'x'", "'x'"),
    ("Identifier", "system.asynchronous_loader", "`system`.`asynchronous_loader`",
     '"system"."asynchronous_loader"'),
])
def test_values_become_typed_literals(type_, value, clickhouse, duckdb):
    sql = f"SELECT {{v:{type_}}}"
    assert substitute(sql, {"v": value}) == f"SELECT {clickhouse}"
    assert substitute(sql, {"v": value}, "duckdb") == f"SELECT {duckdb}"


def test_a_missing_parameter_is_clickhouses_error_456():
    with pytest.raises(UnknownQueryParameter) as e:
        substitute("SELECT {job:String}", {"other": "x"})
    assert e.value.code == 456
    assert str(e.value).startswith("Code: 456. DB::Exception: Substitution `job` is not set")
    assert "--param job=" in str(e.value)


@pytest.mark.parametrize(("type_", "value"), [
    ("UInt8", "256"), ("UInt64", "-1"), ("UInt64", "abc"), ("Int64", "1.5"),
    ("Float64", "fast"), ("Bool", "maybe"), ("Date", "2026-13-01"), ("Date", "22/11/2026"),
    ("DateTime", "yesterday"), ("UUID", "not-a-uuid"), ("Array(UInt8)", "[1, x]"),
    ("Array(UInt8)", "1, 2"), ("Array(String)", "['a'"),
])
def test_an_ill_typed_value_is_error_457(type_, value):
    with pytest.raises(BadQueryParameter) as e:
        substitute(f"SELECT {{v:{type_}}}", {"v": value})
    assert e.value.code == 457
    assert f"cannot be parsed as {type_} for query parameter 'v'" in str(e.value)


def test_null_needs_a_nullable_type():
    with pytest.raises(BadQueryParameter):
        substitute("SELECT {v:Array(UInt8)}", {"v": "[NULL]"})
    assert substitute("SELECT {v:Array(Nullable(UInt8))}", {"v": "[NULL]"}) == "SELECT [NULL]"


def test_unsupported_types_say_which_are_supported():
    with pytest.raises(NotImplemented_, match="Map"):
        substitute("SELECT {m:Map(String, UInt8)}", {"m": "{}"})


def test_assignments():
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(BadQueryParameter):
        parse_assignments(["novalue"])
    with pytest.raises(BadQueryParameter):
        parse_assignments(["1bad=x"])


def test_same_values_as_clickhouse():
    """chdb (the real engine) substitutes its own parameters: our literals must agree."""
    chdb = pytest.importorskip("chdb")
    sql = ("SELECT {s:String} AS s, {n:UInt64} AS n, {f:Float64} AS f, {a:Array(String)} AS a, "
           "{d:DateTime64(6)} AS d, {ids:Array(UInt64)} AS ids, {z:Nullable(String)} AS z, "
           "{b:Bool} AS b, {day:Date} AS day, toTypeName(n), toTypeName(ids)")
    values = {"s": r"x' OR 1=1 --\tq", "n": "5", "f": "-1.5", "a": r"['a','b\'c']",
              "d": "2026-01-02 03:04:05.123", "ids": "[1, 2,3]", "z": r"\N", "b": "true",
              "day": "2026-01-01"}
    options = {"session_timezone": "UTC"}
    ours = str(chdb.query(substitute(sql, values), "TSV", options=options))
    theirs = str(chdb.query(sql, "TSV", params=values, options=options))
    assert ours == theirs
