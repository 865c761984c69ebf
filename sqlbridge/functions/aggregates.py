"""Aggregate and window functions.

Fixed here: ``uniq`` (sqlglot's ``approx_count_distinct`` is HyperLogLog, off even for three
values; ClickHouse's is exact for small sets, so ``count(DISTINCT x)``); ``quantile(q)(x)`` and
``median`` (DuckDB's ``quantile`` is ``quantile_disc``; ClickHouse interpolates:
``quantile_cont``); ``groupArray`` (DuckDB's ``list`` keeps NULLs and is NULL over no rows;
ClickHouse skips NULLs and gives ``[]``); ``sum`` over no rows (0, not NULL, outside windows);
``countIf(is_ready)`` and every ``-If`` combinator (DuckDB will not take a UInt8 as a condition);
the variances (from the moments, as ClickHouse, so the last digit agrees).
Added: ``uniqExact``, ``countDistinct``, ``groupUniqArray``, ``anyLast``, ``topK(n)(x)``,
``quantiles(...)(x)``, ``groupArray(n)(x)``, ``sumIf``/``avgIf``/.../``uniqIf``.
"""

from __future__ import annotations

from sqlglot import exp

from sqlbridge.functions.builders import cast, fn, template, zero_if_null
from sqlbridge.functions.entry import Call, Columns, Function, Namer, TypeOf


def _not_null_list(agg: exp.Expression, arg: exp.Expression) -> exp.Expression:
    """``coalesce(agg FILTER (WHERE arg IS NOT NULL), [])``: ClickHouse's array aggregates."""
    filtered = exp.Filter(
        this=agg,
        expression=exp.Where(this=exp.Not(this=exp.Is(this=arg.copy(), expression=exp.Null()))),
    )
    return exp.Coalesce(this=filtered, expressions=[exp.Array(expressions=[])])


def _count_distinct(args: list[exp.Expression]) -> exp.Expression:
    arg = args[0] if len(args) == 1 else exp.Struct(expressions=args)
    return exp.Count(this=exp.Distinct(expressions=[arg]))


def _group_array(args: list[exp.Expression]) -> exp.Expression:
    if len(args) == 1:
        return _not_null_list(fn("list", args[0]), args[0])
    return fn("grouparray", *args)


def _group_uniq_array(args: list[exp.Expression]) -> exp.Expression:
    if len(args) == 1:
        return _not_null_list(
            exp.Anonymous(this="list", expressions=[exp.Distinct(expressions=[args[0]])]), args[0]
        )
    return fn("groupuniqarray", *args)


def _as_aggregate(aggregate):
    """The translation of a call that is its plain aggregate."""
    return lambda call: aggregate(call.args)


def _in_window(node: exp.Expression) -> bool:
    return isinstance(node.parent, exp.Window | exp.Filter)


def _sum(node: exp.Expression, type_of: TypeOf) -> exp.Expression | None:
    return None if _in_window(node) else zero_if_null(node)


def _sum_type(node: exp.Expression, columns: Columns) -> str | None:
    if isinstance(node, exp.Sum) and isinstance(node.this, exp.Column):
        base = columns.get(node.this.name, "").removeprefix("Nullable(").rstrip(")")
        if base.startswith(("UInt", "Int")):  # sum keeps the 64-bit family; DuckDB widens
            return "UInt64" if base.startswith("UInt") else "Int64"
    return None


def _count_name(node: exp.Expression, name: str, n: Namer) -> str | None:
    if isinstance(node, exp.Count) and (node.this is None or isinstance(node.this, exp.Star)):
        return f"{name}()"
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
        return f"countDistinct({n.join(node.this.expressions)})"
    return None


def _quantile_name(node: exp.Expression, name: str, n: Namer) -> str | None:
    if not isinstance(node, exp.Quantile):
        return None
    if name.lower() == "median":
        return f"{name}({n.name(node.this)})"
    return f"{name}({n.name(node.args['quantile'])})({n.name(node.this)})"


def _group_array_parametric(params: list[exp.Expression], args: list[exp.Expression]
                            ) -> exp.Expression | None:
    if len(args) == 1 and len(params) == 1:
        return fn("list_slice", _not_null_list(fn("list", args[0]), args[0]),
                  exp.Literal.number(1), params[0])
    return None


#: ClickHouse's variances come from the moments (count, sum, sum of squares), not Welford's
#: algorithm as DuckDB's ``var_pop``: the same formula gives the same last digit.
_MOMENTS = "(sum(__x * __x) - sum(__x) * sum(__x) / count(__x))"
_VARIANCES = {
    "varPop": f"greatest({_MOMENTS} / count(__x), 0)",
    "varSamp": f"greatest({_MOMENTS} / (count(__x) - 1), 0)",
    "stddevPop": f"sqrt(greatest({_MOMENTS} / count(__x), 0))",
    "stddevSamp": f"sqrt(greatest({_MOMENTS} / (count(__x) - 1), 0))",
}


def _moments(sql: str):
    def translate(call: Call) -> exp.Expression | None:
        return template(sql, cast(call.args[0], "DOUBLE")) if len(call.args) == 1 else None
    return translate


def _renamed(duckdb_name: str):
    """An aggregate DuckDB spells ``duckdb_name``, same arguments."""
    return lambda args: fn(duckdb_name, *args)


def if_combinator(base: Function) -> Function:
    """``sumIf(x, cond)`` from ``sum``: the aggregate, filtered by ``cond`` (cast to BOOLEAN:
    DuckDB takes no UInt8 as a condition)."""

    def translate(call: Call) -> exp.Expression | None:
        if not call.args or base.aggregate is None:
            return None
        cond = cast(call.args[-1], "BOOLEAN")
        agg = base.aggregate(list(call.args[:-1]))
        if isinstance(agg, exp.Coalesce):  # groupArrayIf: filter inside the coalesce
            inner = agg.this
            inner.set("expression", exp.Where(this=exp.and_(inner.expression.this, cond)))
            return agg
        filtered = exp.Filter(this=agg, expression=exp.Where(this=cond))
        return zero_if_null(filtered) if base.if_zero else filtered

    fixed = base.result_type if isinstance(base.result_type, str) else None
    return Function(base.name + "If", translate=translate, result_type=fixed)


_COUNT = Function("count", nodes=(exp.Count,), result_type="UInt64", never_null=True,
                  aggregate=lambda args: exp.Count(this=args[0] if args else exp.Star()),
                  takes_if=True, if_zero=True, column_name=_count_name)

FUNCTIONS = [
    _COUNT,
    # countIf(cond) is sqlglot's CountIf; countIf(x, cond) stays a name: count's -If.
    Function("countIf", nodes=(exp.CountIf,), result_type="UInt64", never_null=True,
             rewrite=lambda node, _: exp.CountIf(this=cast(node.this, "BOOLEAN")),
             translate=if_combinator(_COUNT).translate),
    Function("countDistinct", translate=_as_aggregate(_count_distinct),
             aggregate=_count_distinct, result_type="UInt64", never_null=True),
    Function("uniq", nodes=(exp.ApproxDistinct,), aggregate=_count_distinct, takes_if=True,
             rewrite=lambda node, _: _count_distinct([node.this]),
             result_type="UInt64", never_null=True),
    Function("uniqExact", translate=_as_aggregate(_count_distinct), aggregate=_count_distinct,
             takes_if=True, result_type="UInt64", never_null=True),
    Function("uniqCombined", result_type="UInt64"),
    Function("uniqHLL12", result_type="UInt64"),
    Function("sum", nodes=(exp.Sum,), rewrite=_sum, result_type=_sum_type,
             aggregate=lambda args: exp.Sum(this=args[0]), takes_if=True, if_zero=True),
    Function("avg", aggregate=lambda args: exp.Avg(this=args[0]), takes_if=True),
    Function("min", aggregate=lambda args: exp.Min(this=args[0]), takes_if=True),
    Function("max", aggregate=lambda args: exp.Max(this=args[0]), takes_if=True),
    Function("any", aggregate=_renamed("any_value"), takes_if=True),
    Function("anyLast", translate=lambda call: fn("last", *call.args),
             aggregate=_renamed("last"), takes_if=True),
    Function("argMax", aggregate=_renamed("arg_max"), takes_if=True),
    Function("argMin", aggregate=_renamed("arg_min"), takes_if=True),
    Function("quantile", nodes=(exp.Quantile,), column_name=_quantile_name,
             rewrite=lambda node, _: fn("quantile_cont", node.this, node.args["quantile"])),
    Function("median", takes_if=True,
             aggregate=lambda args: fn("quantile_cont", args[0], exp.Literal.number(0.5))),
    Function("quantiles", parametric=lambda params, args: fn(
        "quantile_cont", args[0], exp.Array(expressions=params)) if len(args) == 1 else None),
    Function("topK", parametric=lambda params, args: fn(
        "approx_top_k", args[0], params[0]) if len(args) == 1 and len(params) == 1 else None),
    Function("groupArray", nodes=(exp.ArrayAgg,), translate=_as_aggregate(_group_array),
             aggregate=_group_array, takes_if=True, never_null=True,
             parametric=_group_array_parametric),
    Function("groupUniqArray", translate=_as_aggregate(_group_uniq_array),
             aggregate=_group_uniq_array,
             takes_if=True, never_null=True),
    *(Function(name, translate=_moments(sql)) for name, sql in _VARIANCES.items()),
    # Window functions.
    Function("row_number", nodes=(exp.RowNumber,), result_type="UInt64", never_null=True),
    Function("rank", never_null=True),
    Function("dense_rank", never_null=True),
]
