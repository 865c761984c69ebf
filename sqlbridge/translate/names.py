"""ClickHouse's names for the columns of a query result.

``SELECT count(), countIf(status = 'FAILED') ...`` prints, in ClickHouse (24+, the analyzer),
the headers ``count()`` and ``countIf(equals(status, 'FAILED'))``: function names as the user
wrote them, operators spelt as the functions they are. DuckDB would say ``count_star()`` and
``count_if((status = 'FAILED'))``. TSVWithNames, JSON ``meta`` and Vertical all show these names,
so the translator aliases each unaliased computed column with the name computed here from the
parsed (not yet translated) ClickHouse tree. Function names come from the source text, because
sqlglot normalises them (``toStartOfMinute`` becomes ``TimestampTrunc``). Where sqlglot stores
a function's arguments in another order than the user wrote them, the function's registry entry
says how ClickHouse names it (``column_name``, see ``sqlbridge.functions``).
"""

from __future__ import annotations

from sqlglot import exp

from sqlbridge.functions import lookup
from sqlbridge.functions.entry import NAMED_CALLS, Namer

_OPERATORS: dict[type[exp.Expression], str] = {
    exp.EQ: "equals", exp.NEQ: "notEquals", exp.GT: "greater", exp.GTE: "greaterOrEquals",
    exp.LT: "less", exp.LTE: "lessOrEquals", exp.Add: "plus", exp.Sub: "minus",
    exp.Mul: "multiply", exp.Div: "divide", exp.Mod: "modulo", exp.And: "and", exp.Or: "or",
    exp.Like: "like", exp.ILike: "ilike", exp.DPipe: "concat", exp.IntDiv: "intDiv",
}


def column_name(node: exp.Expression, src: str) -> str | None:
    """The name ClickHouse gives an unaliased computed column; None when no alias is needed."""
    if is_float_constant(node):
        return node.name.lower()
    if isinstance(node, exp.Alias | exp.Column | exp.Star) or columns_matcher(node) is not None:
        return None  # COLUMNS('re') expands to columns that keep their own names
    try:
        return _name(node, src)
    except Exception:  # naming is cosmetic: never fail a query over it
        return node.sql(dialect="clickhouse")


def is_float_constant(node: exp.Expression) -> bool:
    """``inf``/``nan``: ClickHouse's lexer reads them as Float64 literals, sqlglot as columns."""
    return isinstance(node, exp.Column) and not node.table and isinstance(
        node.this, exp.Identifier) and not node.this.quoted and node.name.lower() in ("inf", "nan")


def columns_matcher(node: exp.Expression) -> str | None:
    """The regular expression of ``COLUMNS('re')``, else None."""
    if isinstance(node, exp.Columns) and isinstance(node.this, exp.Literal):
        return node.this.name
    if isinstance(node, exp.Anonymous) and node.name.lower() == "columns" and \
            len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Literal):
        return node.expressions[0].name
    return None


def distinct_names(projections: list[exp.Expression], names: list[str | None]
                   ) -> list[str | None]:
    """``names`` (from ``column_name``) with qualified duplicates told apart, and scalar
    subqueries named ``_subquery_N``.

    ``SELECT a.job, b.job`` names both columns ``job`` in DuckDB, and JSONEachRow then prints
    a duplicate key that JSON parsers collapse. ClickHouse keeps the qualifier of a column whose
    bare name is already taken: ``job``, ``b.job``.
    """
    taken: set[str] = set()
    out = list(names)
    subqueries = 0
    for i, (projection, name) in enumerate(zip(projections, names, strict=True)):
        if isinstance(projection, exp.Subquery):
            # ClickHouse's name for a scalar subquery (its text here would be the rewritten
            # one, naming the internal schema).
            subqueries += 1
            out[i] = name = f"_subquery_{subqueries}"
        if isinstance(projection, exp.Alias):
            taken.add(projection.alias)
            continue
        if isinstance(projection, exp.Column) and name is None:
            if projection.name in taken and projection.table:
                out[i] = f"{projection.table}.{projection.name}"
                taken.add(out[i])
            else:
                taken.add(projection.name)
        elif name is not None:
            taken.add(name)
    return out


def _function_name(node: exp.Expression, src: str) -> str:
    start, end = node.meta.get("start"), node.meta.get("end")
    if start is not None and end is not None and not isinstance(node, exp.Literal):
        return src[start: end + 1]
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc | exp.CombinedAggFunc |
                  exp.ParameterizedAgg):
        return node.name
    first = min((n.meta["start"] for n in node.walk() if n is not node and "start" in n.meta),
                default=None)
    if first is not None:
        i = src.rfind("(", 0, first)
        j = i
        while j > 0 and (src[j - 1].isalnum() or src[j - 1] == "_"):
            j -= 1
        if i > 0 and j < i:
            return src[j:i]
    return node.sql_name()


def _start(node: exp.Expression) -> int | None:
    return min((n.meta["start"] for n in node.walk() if "start" in n.meta), default=None)


def _args(node: exp.Expression) -> list[exp.Expression]:
    """A typed function's arguments in source order (sqlglot's ``arg_types`` order may differ:
    ``splitByChar(',', s)`` is stored as ``this=s``)."""
    out: list[exp.Expression] = []
    for key in node.arg_types:
        value = node.args.get(key)
        if isinstance(value, list):
            out.extend(v for v in value if isinstance(v, exp.Expression))
        elif isinstance(value, exp.Expression):
            out.append(value)
    starts = [_start(a) for a in out]
    if all(s is not None for s in starts):
        out = [a for _, a in sorted(zip(starts, out, strict=True), key=lambda p: p[0])]
    return out


def _join(items: list[exp.Expression], src: str) -> str:
    return ", ".join(_name(i, src) for i in items)


def _name(node: exp.Expression, src: str) -> str:
    if isinstance(node, exp.Paren):
        return _name(node.this, src)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return f"'{_escape(node.this)}'"
        return node.this if node.is_int else _float_name(node.this)
    if isinstance(node, exp.Null):
        return "NULL"
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Column):
        return node.name  # ClickHouse drops the table qualifier: `a.job` is named `job`
    if isinstance(node, exp.Identifier | exp.Star):
        return node.sql(dialect="clickhouse")
    if isinstance(node, exp.And | exp.Or):
        # ClickHouse flattens chains: and(a, b, c).
        parts = list(node.flatten())
        return f"{_OPERATORS[type(node)]}({_join(parts, src)})"
    op = _OPERATORS.get(type(node))
    if op is not None:
        if node.args.get("negate"):  # x NOT LIKE y
            op = "not" + op[0].upper() + op[1:] if op != "ilike" else "notILike"
        return f"{op}({_name(node.this, src)}, {_name(node.expression, src)})"
    if isinstance(node, exp.Not):
        inner = node.this
        if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
            return f"isNotNull({_name(inner.this, src)})"
        if isinstance(inner, exp.In):
            return f"notIn({_in_args(inner, src)})"
        if isinstance(inner, exp.Like | exp.ILike):
            negated = "notLike" if isinstance(inner, exp.Like) else "notILike"
            return f"{negated}({_name(inner.this, src)}, {_name(inner.expression, src)})"
        return f"not({_name(inner, src)})"
    if isinstance(node, exp.Cast):
        to = node.to.sql(dialect="clickhouse")
        return f"CAST({_name(node.this, src)}, '{to}')"
    if isinstance(node, exp.Interval) and node.unit is not None:
        unit = node.unit.name.capitalize()
        value = node.this
        text = value.this if isinstance(value, exp.Literal) else _name(value, src)
        return f"toInterval{unit}({text})"
    if isinstance(node, exp.Between):
        x = _name(node.this, src)
        low, high = _name(node.args["low"], src), _name(node.args["high"], src)
        return f"and(greaterOrEquals({x}, {low}), lessOrEquals({x}, {high}))"
    if isinstance(node, exp.Case) and node.this is None:
        parts = []
        for when in node.args.get("ifs") or []:
            parts += [when.this, when.args["true"]]
        default = node.args.get("default")
        parts.append(default if default is not None else exp.Null())
        return f"multiIf({_join(parts, src)})"
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        index = node.expressions[0]
        if isinstance(index, exp.Literal) and index.is_int:
            text = str(int(index.this) + 1)  # sqlglot stores ClickHouse's 1-based index 0-based
        else:
            text = _name(index, src)
        return f"arrayElement({_name(node.this, src)}, {text})"
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        return f"isNull({_name(node.this, src)})"
    if isinstance(node, exp.Neg):
        if isinstance(node.this, exp.Literal) and not node.this.is_string:
            return f"-{_name(node.this, src)}"  # ClickHouse folds a negative literal
        if is_float_constant(node.this):
            return f"-{node.this.name.lower()}"
        return f"negate({_name(node.this, src)})"
    if isinstance(node, exp.In):
        return f"in({_in_args(node, src)})"
    if isinstance(node, exp.Array):
        return f"[{_join(node.expressions, src)}]"
    if isinstance(node, exp.Lambda):
        return f"lambda(tuple({_join(node.expressions, src)}), {_name(node.this, src)})"
    if isinstance(node, exp.Tuple):
        return f"({_join(node.expressions, src)})"
    if isinstance(node, exp.Func):
        return _function(node, src)
    return node.sql(dialect="clickhouse")


def _float_name(text: str) -> str:
    """A Float64 literal as ClickHouse names it: ``1.0`` -> ``1.``, ``1e-3`` -> ``0.001``."""
    try:
        value = float(text)
    except ValueError:
        return text
    r = repr(value)
    if "e" in r or "inf" in r or "nan" in r:
        if "e+" in r and value.is_integer() and abs(value) < 1e21:
            return f"{int(value)}."
        return r.replace("e-0", "e-").replace("e+", "e")
    return r[:-1] if r.endswith(".0") else r


def _escape(text: str) -> str:
    """A string literal as ClickHouse writes it back in a column name: ``'a\\tb'`` stays
    escaped (sqlglot holds the unescaped value)."""
    return (text.replace("\\", "\\\\").replace("'", "\\'").replace("\t", "\\t")
            .replace("\n", "\\n"))


def _in_args(node: exp.In, src: str) -> str:
    return f"{_name(node.this, src)}, ({_join(node.expressions, src)})"


def _function(node: exp.Func, src: str) -> str:
    name = _function_name(node, src)
    if isinstance(node, exp.ParameterizedAgg):
        params = _join(node.args.get("params") or [], src)
        return f"{name}({_join(node.expressions, src)})({params})"
    entry = lookup(node)
    if entry is not None and entry.column_name is not None:
        text = entry.column_name(node, name, Namer(lambda e: _name(e, src)))
        if text is not None:
            return text
    if isinstance(node, NAMED_CALLS):
        return f"{name}({_join(node.expressions, src)})"
    return f"{name}({_join(_args(node), src)})"
