"""Small builders of DuckDB expressions, shared by the function families."""

from __future__ import annotations

import sqlglot
from sqlglot import exp


def fn(name: str, *args: exp.Expression) -> exp.Expression:
    """The DuckDB call ``name(args)``."""
    return exp.Anonymous(this=name, expressions=list(args))


def cast(e: exp.Expression, to: str) -> exp.Expression:
    """``CAST(e AS to)``, ``to`` a DuckDB type name."""
    return exp.Cast(this=e, to=exp.DataType.build(to, dialect="duckdb"))


def typed(e: exp.Expression, clickhouse_type: str) -> exp.Expression:
    """``e`` marked with the ClickHouse type it has, for the rewrites of the calls around it."""
    e.meta["clickhouse_type"] = clickhouse_type
    return e


def template(sql: str, x: exp.Expression) -> exp.Expression:
    """DuckDB ``sql`` with each ``__x`` replaced by (a copy of) ``x``."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for column in list(tree.find_all(exp.Column)):
        if column.name == "__x":
            column.replace(x.copy())
    return tree


def zero_if_null(e: exp.Expression) -> exp.Expression:
    """``coalesce(e, 0)``: ClickHouse's 0 where DuckDB answers NULL (sums of nothing...)."""
    return exp.Coalesce(this=e, expressions=[exp.Literal.number(0)])


def session_zone() -> exp.Expression:
    """The session's time zone, as DuckDB knows it."""
    return fn("current_setting", exp.Literal.string("TimeZone"))


#: The value ClickHouse gives a type where DuckDB has NULL (``assumeNotNull``, ``arr[9]``).
DEFAULTS = {"UInt64": exp.Literal.number(0), "Int64": exp.Literal.number(0),
            "UInt8": exp.Literal.number(0), "UInt32": exp.Literal.number(0),
            "Float64": exp.Literal.number(0), "String": exp.Literal.string("")}

#: DuckDB types of ClickHouse's fixed-width numbers (``toUInt8`` -> ``UTINYINT``...).
NUMBER_TYPES = {
    "UInt8": "UTINYINT", "UInt16": "USMALLINT", "UInt32": "UINTEGER", "UInt64": "UBIGINT",
    "Int8": "TINYINT", "Int16": "SMALLINT", "Int32": "INTEGER", "Int64": "BIGINT",
    "Float32": "FLOAT", "Float64": "DOUBLE",
}


def renamed(duckdb_name: str):
    """The translation of a function DuckDB spells ``duckdb_name``, taking the same arguments
    in the same order."""
    return lambda call: fn(duckdb_name, *call.args)


def with_args(count: int, build):
    """The translation ``build(*args)`` for a call with ``count`` arguments; a call with another
    number stays as it is (and DuckDB says what is wrong with it)."""
    return lambda call: build(*call.args) if len(call.args) == count else None
