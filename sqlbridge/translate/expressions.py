"""Rewriting the expressions of a parsed ClickHouse query for DuckDB: function calls through
the registry (``sqlbridge.functions``), and the operators, literals and types that sqlglot
prints as DuckDB SQL which runs but answers differently:

  - ``job_id - 10``, ``-waiters``: DuckDB keeps UInt64 and fails on overflow; ClickHouse
    answers Int64, so unsigned columns are cast to BIGINT first.
  - ``status = 2``: DuckDB tries to read ``'OK'`` as a number; the enum side becomes
    ``enum_code``. ``status > 'OK'``: DuckDB compared the names as text; the literal is cast to
    the ENUM, so values compare (PENDING < OK < FAILED < CANCELED); ``CAST(status AS Int8)`` is
    the value.
  - ``finish_time - start_time``, ``now() - t``: DuckDB answers an INTERVAL; ClickHouse seconds
    (Decimal(18, 6) with a DateTime64 side, Int32 between DateTimes).
  - ``1 - 0.9``: DuckDB reads decimal literals as DECIMAL (0.1); ClickHouse as Float64.
  - ``[1][5]`` is 0 as for a column; ``CAST(x AS DateTime64(6))``, ``LowCardinality(String)``
    and ``Enum8(...)`` become DuckDB types.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from sqlbridge import catalog
from sqlbridge.errors import NotImplemented_
from sqlbridge.functions import Call, lookup, lookup_name
from sqlbridge.functions.arrays import element_or_default, literal_array_type
from sqlbridge.functions.builders import cast, fn, typed
from sqlbridge.functions.entry import NAMED_CALLS, TypeOf
from sqlbridge.translate.names import is_float_constant


def _call(node: exp.Expression, type_of: TypeOf) -> exp.Expression | None:
    """A call sqlglot left as a name, translated by its registry entry."""
    entry = lookup_name(node.name)
    if entry is None or entry.translate is None:
        return None
    return entry.translate(Call(node, type_of, list(node.expressions)))


def _parametric(node: exp.ParameterizedAgg) -> exp.Expression:
    entry = lookup_name(node.name)
    # sqlglot keeps the parameters in ``expressions`` and the arguments in ``params``.
    params, args = list(node.expressions), list(node.args.get("params") or [])
    out = entry.parametric(params, args) if entry is not None and entry.parametric else None
    if out is None:
        raise NotImplemented_(f"Aggregate function {node.name}(...)(...) is not supported here; "
                              "use quantile, quantiles, topK or groupArray")
    return out


def _signed_arithmetic(node: exp.Sub | exp.Neg, type_of: TypeOf) -> exp.Expression:
    """``job_id - 10``, ``-waiters``: ClickHouse answers a signed type (Int64); DuckDB stays
    unsigned and fails with "Overflow in subtraction". Unsigned columns are cast first."""
    for key in ("this", "expression"):
        operand = node.args.get(key)
        if operand is not None and (type_of(operand) or "").startswith("UInt"):
            node.set(key, cast(operand, "BIGINT"))
    return node


def _enum_vs_number(node: exp.Binary, type_of: TypeOf) -> exp.Expression:
    """``status = 2``: ClickHouse compares an Enum with its number; DuckDB would try to parse
    ``'OK'`` as an integer, so the enum side becomes its code (``enum_code(status)``).

    ``status > 'OK'``: ClickHouse compares Enum values (PENDING=0 < OK=1 < ...); DuckDB would
    compare the names as text, so the literal is cast to the status ENUM (DuckDB then compares
    by position, which is the value)."""
    for side, other_side in (("this", "expression"), ("expression", "this")):
        operand, other = node.args[side], node.args[other_side]
        if not (type_of(operand) or "").startswith("Enum") or not isinstance(other, exp.Literal):
            continue
        if not other.is_string:
            node.set(side, fn("enum_code", operand))
        elif not isinstance(node, exp.EQ | exp.NEQ):
            node.set(other_side, exp.Cast(this=other, to=exp.DataType.build(
                catalog.STATUS_DUCKDB_TYPE, dialect="duckdb", udt=True)))
    return node


def _enum_to_integer(node: exp.Cast, type_of: TypeOf) -> exp.Expression:
    """``CAST(status AS Int8)``: ClickHouse gives the Enum value, DuckDB tries to parse the
    name as a number; the ENUM goes through ``enum_code`` first."""
    if (type_of(node.this) or "").startswith("Enum") and \
            node.to.is_type(*exp.DataType.INTEGER_TYPES):
        node.set("this", fn("enum_code", node.this))
    return node


def _time_kind(e: exp.Expression, type_of: TypeOf) -> str | None:
    """``DateTime64`` or ``DateTime`` when ``e`` (already translated) is a point in time."""
    t = (type_of(e) or "").removeprefix("Nullable(")
    if t.startswith("DateTime64"):
        return "DateTime64"
    if t.startswith("DateTime"):
        return "DateTime"
    return None


def _time_difference(node: exp.Sub, type_of: TypeOf) -> exp.Expression | None:
    """``finish_time - start_time``, ``now() - schedule_time``: ClickHouse answers seconds
    (Decimal(18, 6) when a side is DateTime64, Int32 between DateTimes); DuckDB an INTERVAL,
    which prints as ``00:00:01.5`` and cannot be compared with a number."""
    kinds = [_time_kind(node.this, type_of), _time_kind(node.expression, type_of)]
    if None in kinds:
        return None
    if kinds == ["DateTime", "DateTime"]:
        seconds = exp.Sub(this=fn("floor", fn("epoch", node.this)),
                          expression=fn("floor", fn("epoch", node.expression)))
        return typed(cast(seconds, "INTEGER"), "Int32")
    micros = exp.Sub(this=fn("epoch_us", node.this), expression=fn("epoch_us", node.expression))
    out = cast(exp.Div(this=cast(micros, "DECIMAL(18, 0)"),
                       expression=cast(exp.Literal.number(1000000), "DECIMAL(18, 0)")),
               "DECIMAL(18, 6)")
    return typed(out, "Decimal(18, 6)")


_TYPE_FIXES = {
    # ClickHouse types sqlglot passes through by name, which DuckDB does not know.
    exp.DataType.Type.DATETIME64: "TIMESTAMPTZ",
    exp.DataType.Type.ENUM8: "VARCHAR",
    exp.DataType.Type.ENUM16: "VARCHAR",
    exp.DataType.Type.ENUM: "VARCHAR",
}


def _data_type(node: exp.DataType) -> exp.Expression:
    """``CAST(x AS DateTime64(6))``, ``LowCardinality(String)``, ``Enum8(...)`` for DuckDB."""
    if node.this == exp.DataType.Type.LOWCARDINALITY and node.expressions:
        return node.expressions[0]
    fixed = _TYPE_FIXES.get(node.this)
    if fixed is not None:
        return exp.DataType.build(fixed, dialect="duckdb")
    return node


def fix_functions(tree: exp.Expression, type_of: TypeOf) -> exp.Expression:
    """Rewrite the ClickHouse function calls and operators of ``tree`` (a parsed ClickHouse
    query) for DuckDB.

    A rewritten node may carry ``meta["clickhouse_type"]`` (``now()`` is a DateTime, a decimal
    literal a Float64) so that the calls around it, rewritten later, know its type."""
    columns = type_of

    def type_of(e: exp.Expression) -> str | None:  # noqa: F811 - the wider TypeOf
        return e.meta.get("clickhouse_type") or columns(e)

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal) and not node.is_string and not node.is_int and \
                not isinstance(node.parent, exp.DataTypeParam | exp.Interval):
            # ClickHouse reads 0.9 as a Float64 (1 - 0.9 = 0.09999999999999998); DuckDB as a
            # DECIMAL (0.1).
            return typed(cast(node, "DOUBLE"), "Float64")
        if is_float_constant(node):
            return typed(cast(exp.Literal.string(node.name.lower()), "DOUBLE"), "Float64")
        if isinstance(node, exp.Sub):
            difference = _time_difference(node, type_of)
            if difference is not None:
                return difference
        if isinstance(node, exp.Cast) and node.meta.get("clickhouse_type") is None:
            return _enum_to_integer(node, type_of)
        if isinstance(node, NAMED_CALLS):
            return _call(node, type_of) or node
        if isinstance(node, exp.ParameterizedAgg):
            return _parametric(node)
        entry = lookup(node)
        if entry is not None and entry.rewrite is not None:
            return entry.rewrite(node, type_of) or node
        if isinstance(node, exp.Sub | exp.Neg):
            return _signed_arithmetic(node, type_of)
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
            return element_or_default(node, type_of(node.this) or literal_array_type(node.this))
        if isinstance(node, exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE):
            return _enum_vs_number(node, type_of)
        if isinstance(node, exp.DataType):
            return _data_type(node)
        return node

    return _post_order(tree, fix)


def _post_order(
    node: exp.Expression, fun: Callable[[exp.Expression], exp.Expression]
) -> exp.Expression:
    """Like ``Expression.transform`` but children first, so a rewritten call's arguments are
    rewritten too (``transform`` does not descend into a node it has just replaced)."""
    for child in list(node.iter_expressions()):
        _post_order(child, fun)
    parent, key, index = node.parent, node.arg_key, node.index
    new = fun(node)  # may wrap ``node`` (re-parenting it), so the slot was taken first
    if new is not node and parent is not None and key:
        parent.set(key, new, index)
    return new
