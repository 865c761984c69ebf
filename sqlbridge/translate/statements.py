"""The statements that are not a query: ``SHOW TABLES``/``COLUMNS``/``DATABASES``, ``EXISTS``,
``DESCRIBE`` and ``EXPLAIN [PLAN|SYNTAX]``. Most are answered here without DuckDB (``result``);
the inner query of ``DESCRIBE (q)`` and ``EXPLAIN q`` is translated by ``translate_query``."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
from sqlglot import exp

from sqlbridge import catalog
from sqlbridge.errors import (
    NotImplemented_,
    UnknownTable,
)
from sqlbridge.translate.refusals import WRITE_COMMANDS, refuse
from sqlbridge.translate.tables import system_name, system_table_named
from sqlbridge.translate.translation import Translation

#: Translates the inner query of DESCRIBE/EXPLAIN (``clickhouse.translate_clickhouse``).
TranslateQuery = Callable[[str], Translation]


def command(tree: exp.Command, translate_query: TranslateQuery) -> Translation:
    """``SHOW ...``, ``EXPLAIN ...`` and the other statements sqlglot keeps as a
    ``Command``."""
    word = tree.name.upper()
    rest = tree.expression
    rest = rest.name if isinstance(rest, exp.Expression) else str(rest or "")
    if word == "SHOW":
        parts = rest.split()
        fmt = None
        if len(parts) >= 2 and parts[-2].upper() == "FORMAT":
            fmt, parts = parts[-1], parts[:-2]
        words = [p.upper() for p in parts]
        if words in (["TABLES"], ["TABLES", "FROM", "SYSTEM"], ["TABLES", "IN", "SYSTEM"]):
            names = pa.table({"name": [t.name for t in catalog.SYSTEM_TABLES.values()]})
            return Translation(sql=None, result=names, format=fmt)
        if len(words) == 3 and words[0] == "COLUMNS" and words[1] in ("FROM", "IN"):
            return Translation(sql=None, result=_show_columns(parts[2]), format=fmt)
        if words == ["DATABASES"]:
            return Translation(sql=None, result=pa.table({"name": ["system"]}), format=fmt)
        raise NotImplemented_(f"SHOW {rest} is not supported; try SHOW TABLES FROM system")
    if word == "EXPLAIN":
        return _explain(rest, translate_query)
    if word in WRITE_COMMANDS:
        raise refuse(word)
    raise NotImplemented_(f"{word} is not supported; use SELECT, DESCRIBE or SHOW TABLES")


def _show_columns(name: str) -> pa.Table:
    """``SHOW COLUMNS FROM system.x``: ClickHouse's six columns, sorted by name."""
    columns = sorted(system_table_named(name).columns, key=lambda c: c.name)
    return pa.table({
        "field": [c.name for c in columns],
        "type": [c.clickhouse_type for c in columns],
        "null": ["YES" if c.clickhouse_type.startswith("Nullable(") else "NO" for c in columns],
        "key": [""] * len(columns),
        "default": pa.array([None] * len(columns), pa.string()),
        "extra": [""] * len(columns),
    })


def exists_statement(text: str) -> Translation | None:
    """``EXISTS [TABLE] system.x``: 1 for our tables, 0 otherwise (``result``, a UInt8)."""
    words = text.split()
    if len(words) > 2 and words[-2].upper() == "FORMAT":
        fmt, words = words[-1], words[:-2]
    else:
        fmt = None
    if not words or words[0].upper() != "EXISTS" or len(words) not in (2, 3):
        return None
    if len(words) == 3 and words[1].upper() not in ("TABLE", "VIEW", "DICTIONARY"):
        return None
    try:
        found = 1 if system_table_named(words[-1]) else 0
    except UnknownTable:
        found = 0
    return Translation(sql=None, result=pa.table({"result": pa.array([found], pa.uint8())}),
                       format=fmt)


def _explain(rest: str, translate_query: TranslateQuery) -> Translation:
    """``EXPLAIN [PLAN] q``: DuckDB's plan for ``q``; ``EXPLAIN SYNTAX q``: the DuckDB SQL ``q``
    is translated to (ClickHouse shows its own rewritten query there; ours is the translation,
    which is what one wants to see when a query answers something unexpected)."""
    head, _, tail = rest.strip().partition(" ")
    kind = head.upper()
    if kind in ("PLAN", "SYNTAX"):
        rest = tail
    elif kind in ("AST", "PIPELINE", "ESTIMATE", "QUERY", "TABLE", "ANALYZE", "INDEXES"):
        raise NotImplemented_(f"EXPLAIN {kind} is not supported; use EXPLAIN PLAN or EXPLAIN "
                              "SYNTAX")
    else:
        kind = "PLAN"
    inner = translate_query(rest)
    if inner.sql is None or inner.describe:
        raise NotImplemented_("EXPLAIN needs a SELECT query")
    # The query's SETTINGS apply to the EXPLAIN, as in ClickHouse (its limits to the plan's rows).
    if kind == "SYNTAX":
        return Translation(sql=None, result=pa.table({"explain": inner.sql.split("\n")}),
                           format=inner.format, settings=inner.settings)
    return Translation(sql=inner.sql, format=inner.format, tables=inner.tables, explain=True,
                       settings=inner.settings)


def describe(tree: exp.Describe, translate_query: TranslateQuery) -> Translation:
    """``DESCRIBE system.x`` (a ready answer), ``DESCRIBE (query)``, ``DESCRIBE t``."""
    fmt = None
    for prop in tree.expressions or []:
        if isinstance(prop, exp.FileFormatProperty):
            fmt = prop.name
    target = tree.this
    if isinstance(target, exp.Table):
        name = system_name(target)
        if name in catalog.SYSTEM_TABLES:
            return Translation(sql=None, result=catalog.describe(catalog.SYSTEM_TABLES[name]),
                               format=fmt)
        if name is not None:
            return Translation(sql=f"DESCRIBE {catalog.INTERNAL_SCHEMA}.{name}", format=fmt,
                               describe=True)
        if target.db.lower() == "system" and not target.args.get("catalog"):
            raise UnknownTable(f"Table system.{target.name} does not exist. "
                               f"The system tables are: {catalog.system_table_list()}")
    inner = translate_query(target.sql(dialect="clickhouse")) \
        if isinstance(target, exp.Query) else None
    sql = f"DESCRIBE {inner.sql}" if inner is not None else f"DESCRIBE {target.sql('duckdb')}"
    return Translation(sql=sql, format=fmt, describe=True,
                       tables=inner.tables if inner is not None else frozenset())
