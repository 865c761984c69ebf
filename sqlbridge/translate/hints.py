"""ClickHouse's types for the columns of a query result, from the query: ``type_hints`` and
``nullable_outputs``.

DuckDB answers ``count()`` as BIGINT and cannot know that ``ready_seqno`` is
``Nullable(UInt64)`` when the current snapshot happens to hold no NULL; the hints record what
ClickHouse would say, and the session attaches them to the result's Arrow fields
(``sqlbridge.resulttypes``). A function's result type and nullability come from its registry
entry (``sqlbridge.functions``); what is left here is the types of columns, operators and
literals.
"""

from __future__ import annotations

import re

from sqlglot import exp

from sqlbridge import catalog
from sqlbridge.functions import lookup
from sqlbridge.functions.entry import Columns
from sqlbridge.translate.names import columns_matcher


def _system_columns(tables: set[str]) -> Columns:
    columns: Columns = {}
    for name in sorted(tables):
        table = catalog.SYSTEM_TABLES.get(name)
        if table is not None:
            for c in table.columns:
                columns.setdefault(c.name, c.clickhouse_type)
    return columns


def type_hints(select: exp.Select, tables: set[str], names: list[str | None]) -> dict[str, str]:
    """Output column name -> ClickHouse type, for the columns whose type the query fixes.

    ``names`` are the ``column_name`` of each projection (None where the projection is named
    already).
    """
    columns = _system_columns(tables)
    hints: dict[str, str] = {}
    for projection, computed in zip(select.expressions, names, strict=True):
        target = projection.this if isinstance(projection, exp.Alias) else projection
        out = projection.alias if isinstance(projection, exp.Alias) else computed
        if isinstance(target, exp.Star):
            hints.update(columns)
        elif columns_matcher(target) is not None:
            pattern = re.compile(columns_matcher(target) or "")
            hints.update({k: v for k, v in columns.items() if pattern.search(k)})
        elif isinstance(target, exp.Column):
            if target.name in columns:
                hints[out or target.name] = columns[target.name]
        elif out is not None:
            t = _computed_type(target, columns)
            if t is not None:
                hints[out] = t
    return hints


def _computed_type(node: exp.Expression, columns: Columns) -> str | None:
    if isinstance(node, exp.Add | exp.Sub) and isinstance(node.expression, exp.Interval):
        shifted = _computed_type(node.this, columns)
        if shifted == "DateTime":
            return shifted  # a DateTime plus an interval of seconds or more stays a DateTime
    if isinstance(node, exp.Boolean) or isinstance(node, exp.Cast) and node.to.this in (
            exp.DataType.Type.BOOLEAN,):
        return "Bool"  # ClickHouse's true/false literals are Bool (comparisons are UInt8)
    if isinstance(node, exp.Window):
        return _computed_type(node.this, columns)
    literal = _integer_literal_type(node)
    if literal is not None:
        return literal
    entry = lookup(node)
    return entry.type_for(node, columns) if entry is not None else None


def _integer_literal_type(node: exp.Expression) -> str | None:
    """ClickHouse types an integer literal by its value, the smallest that holds it: ``1`` is
    UInt8, ``256`` UInt16, ``-1`` Int8 (DuckDB says INTEGER for all three)."""
    while isinstance(node, exp.Paren):
        node = node.this
    negative = isinstance(node, exp.Neg)
    literal = node.this if negative else node
    while isinstance(literal, exp.Paren):
        literal = literal.this
    if not isinstance(literal, exp.Literal) or literal.is_string or not literal.is_int:
        return None
    value = -int(literal.this) if negative else int(literal.this)
    for bits in (8, 16, 32, 64):
        if value >= 0 and value < 1 << bits:
            return f"UInt{bits}"
        if value < 0 and value >= -(1 << (bits - 1)):
            return f"Int{bits}"
    return None


#: Expressions whose result is never NULL that are not function calls.
_NEVER_NULL = (exp.Is, exp.Array)


def nullable_outputs(select: exp.Select, tree: exp.Expression, tables: set[str],
                     names: list[str | None]) -> set[str]:
    """Names of output columns ClickHouse would type ``Nullable(...)``.

    ClickHouse decides nullability from types, not data: ``max(finish_time)`` is
    ``Nullable(DateTime64(6))`` even when every row has a finish time; a function of a Nullable
    argument is Nullable, except the NULL-handling ones (``count``, ``isNull``, ``ifNull``
    with a non-NULL fallback, ...). Columns of inner SELECTs are followed by alias.
    """
    nullable_columns = {
        c.name for name in tables if name in catalog.SYSTEM_TABLES
        for c in catalog.SYSTEM_TABLES[name].columns if c.clickhouse_type.startswith("Nullable(")
    }
    aliases: dict[str, exp.Expression] = {}
    for inner in tree.find_all(exp.Select):
        if inner is not select:
            for p in inner.expressions:
                if isinstance(p, exp.Alias):
                    aliases.setdefault(p.alias, p.this)

    def nullable(node: exp.Expression, depth: int = 0) -> bool:
        if depth > 32:
            return False
        if isinstance(node, exp.Null):
            return True
        if isinstance(node, exp.Column):
            target = aliases.get(node.name)
            if target is not None and not (isinstance(target, exp.Column)
                                           and target.name == node.name):
                return nullable(target, depth + 1)
            return node.name in nullable_columns
        if isinstance(node, _NEVER_NULL):
            return False
        entry = lookup(node)
        if entry is not None and entry.never_null:
            return False
        if entry is not None and entry.nullable is not None:
            return entry.nullable(node, lambda e: nullable(e, depth + 1))
        if isinstance(node, exp.Case):
            branches = [w.args["true"] for w in node.args.get("ifs") or []]
            default = node.args.get("default")
            return default is None or any(nullable(b, depth + 1) for b in [*branches, default])
        if isinstance(node, exp.Window):
            return nullable(node.this, depth + 1)
        return any(nullable(child, depth + 1) for child in node.iter_expressions()
                   if not isinstance(child, exp.DataType | exp.Var))

    out: set[str] = set()
    for projection, computed in zip(select.expressions, names, strict=True):
        target = projection.this if isinstance(projection, exp.Alias) else projection
        name = projection.alias if isinstance(projection, exp.Alias) else (
            computed or (target.name if isinstance(target, exp.Column) else None))
        if name is not None and not isinstance(target, exp.Star) and nullable(target):
            out.add(name)
    return out
