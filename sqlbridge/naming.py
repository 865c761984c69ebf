"""ClickHouse's names and types for the columns of a query result.

``SELECT count(), countIf(status = 'FAILED') ...`` prints, in ClickHouse (24+, the analyzer),
the headers ``count()`` and ``countIf(equals(status, 'FAILED'))``: function names as the user
wrote them, operators spelt as the functions they are. DuckDB would say ``count_star()`` and
``count_if((status = 'FAILED'))``. TSVWithNames, JSON ``meta`` and Vertical all show these names,
so the translator aliases each unaliased computed column with the name computed here from the
parsed (not yet translated) ClickHouse tree. Function names come from the source text, because
sqlglot normalises them (``toStartOfMinute`` becomes ``TimestampTrunc``).

The types: DuckDB answers ``count()`` as BIGINT and cannot know that ``ready_seqno`` is
``Nullable(UInt64)`` when the current snapshot happens to hold no NULL; ``type_hints`` records
what ClickHouse would say, and the session attaches it to the result's Arrow fields.
"""

from __future__ import annotations

import re

from sqlglot import exp

from sqlbridge import catalog

_OPERATORS: dict[type[exp.Expression], str] = {
    exp.EQ: "equals", exp.NEQ: "notEquals", exp.GT: "greater", exp.GTE: "greaterOrEquals",
    exp.LT: "less", exp.LTE: "lessOrEquals", exp.Add: "plus", exp.Sub: "minus",
    exp.Mul: "multiply", exp.Div: "divide", exp.Mod: "modulo", exp.And: "and", exp.Or: "or",
    exp.Like: "like", exp.ILike: "ilike", exp.DPipe: "concat", exp.IntDiv: "intDiv",
}

_DATETIME_FUNCTIONS = {
    "now", "todatetime", "tostartoffiveminutes", "tostartoffiveminute", "tostartoftenminutes",
    "tostartoffifteenminutes", "tostartofminute", "tostartofhour", "tostartofday",
}

_UINT64_FUNCTIONS = {
    "count", "countif", "uniq", "uniqexact", "uniqif", "uniqexactif", "length", "uniqcombined",
    "uniqhll12", "countdistinct",
}


def column_name(node: exp.Expression, src: str) -> str | None:
    """The name ClickHouse gives an unaliased computed column; None when no alias is needed."""
    if is_float_constant(node):
        return node.name.lower()
    if isinstance(node, exp.Alias | exp.Column | exp.Star) or _columns_matcher(node) is not None:
        return None  # COLUMNS('re') expands to columns that keep their own names
    try:
        return _name(node, src)
    except Exception:  # naming is cosmetic: never fail a query over it
        return node.sql(dialect="clickhouse")


def is_float_constant(node: exp.Expression) -> bool:
    """``inf``/``nan``: ClickHouse's lexer reads them as Float64 literals, sqlglot as columns."""
    return isinstance(node, exp.Column) and not node.table and isinstance(
        node.this, exp.Identifier) and not node.this.quoted and node.name.lower() in ("inf", "nan")


def _columns_matcher(node: exp.Expression) -> str | None:
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
    lower = name.lower()
    if isinstance(node, exp.ParameterizedAgg):
        params = _join(node.args.get("params") or [], src)
        return f"{name}({_join(node.expressions, src)})({params})"
    if isinstance(node, exp.Quantile):
        if lower == "median":
            return f"{name}({_name(node.this, src)})"
        return f"{name}({_name(node.args['quantile'], src)})({_name(node.this, src)})"
    if isinstance(node, exp.Count) and (node.this is None or isinstance(node.this, exp.Star)):
        return f"{name}()"
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
        return f"countDistinct({_join(node.this.expressions, src)})"
    if lower == "tuple" and isinstance(node, exp.Anonymous | exp.Struct | exp.Tuple):
        return f"({_join(node.expressions, src)})"
    if isinstance(node, exp.DateDiff):
        unit = node.args.get("unit")
        unit_text = f"'{unit.name.lower()}', " if unit is not None else ""
        return f"{name}({unit_text}{_name(node.expression, src)}, {_name(node.this, src)})"
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc) and lower.startswith("tostartof"):
        return f"{name}({_name(node.this, src)})"
    if isinstance(node, exp.If):
        parts = [node.this, node.args.get("true"), node.args.get("false")]
        return f"{name}({_join([p for p in parts if p is not None], src)})"
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc | exp.CombinedAggFunc):
        return f"{name}({_join(node.expressions, src)})"
    return f"{name}({_join(_args(node), src)})"


def type_hints(select: exp.Select, tables: set[str], names: list[str | None]) -> dict[str, str]:
    """Output column name -> ClickHouse type, for the columns whose type the query fixes.

    ``names`` are the ``column_name`` of each projection (None where the projection is named
    already).
    """
    columns: dict[str, str] = {}
    for name in sorted(tables):
        table = catalog.SYSTEM_TABLES.get(name)
        if table is not None:
            for c in table.columns:
                columns.setdefault(c.name, c.clickhouse_type)
    hints: dict[str, str] = {}
    for projection, computed in zip(select.expressions, names, strict=True):
        target = projection.this if isinstance(projection, exp.Alias) else projection
        out = projection.alias if isinstance(projection, exp.Alias) else computed
        if isinstance(target, exp.Star):
            hints.update(columns)
        elif _columns_matcher(target) is not None:
            pattern = re.compile(_columns_matcher(target) or "")
            hints.update({k: v for k, v in columns.items() if pattern.search(k)})
        elif isinstance(target, exp.Column):
            if target.name in columns:
                hints[out or target.name] = columns[target.name]
        elif out is not None:
            t = _computed_type(target, columns)
            if t is not None:
                hints[out] = t
    return hints


_FIXED_TYPES = {"indexof": "UInt64", "arraycount": "UInt32", "tounixtimestamp": "UInt32",
                "toyyyymmdd": "UInt32", "toyear": "UInt16", "tomonth": "UInt8",
                "todayofmonth": "UInt8", "tohour": "UInt8", "tominute": "UInt8",
                "tosecond": "UInt8", "todayofweek": "UInt8", "toquarter": "UInt8",
                "todayofyear": "UInt16", "lengthutf8": "UInt64", "arrayexists": "UInt8",
                "arrayall": "UInt8", "touint64orzero": "UInt64", "touint32orzero": "UInt32",
                "touint8orzero": "UInt8", "toint64orzero": "Int64", "toint32orzero": "Int32",
                "tounixtimestamp64micro": "Int64", "tounixtimestamp64milli": "Int64",
                "tounixtimestamp64nano": "Int64", "age": "Int64"}


def _zoned_type(node: exp.Expression, columns: dict[str, str]) -> str | None:
    """``toDateTime(t, 'UTC')`` is a ``DateTime('UTC')``, ``toTimeZone(t, 'UTC')`` keeps
    ``t``'s type with the zone: formats print such columns in that zone, not the session's."""
    if not isinstance(node, exp.Anonymous) or len(node.expressions) < 2:
        return None
    name, zone = node.name.lower(), node.expressions[-1]
    if name not in ("todatetime", "totimezone", "todatetime64") or not (
            isinstance(zone, exp.Literal) and zone.is_string):
        return None
    quoted = "'" + zone.name.replace("'", "\\'") + "'"
    if name == "todatetime":
        return f"DateTime({quoted})"
    if name == "todatetime64":
        return f"DateTime64(6, {quoted})"
    arg = node.expressions[0]
    base = columns.get(arg.name, "") if isinstance(arg, exp.Column) else ""
    base = base.removeprefix("Nullable(").removesuffix(")")
    if base.startswith("DateTime64"):
        return f"DateTime64(6, {quoted})"
    return f"DateTime({quoted})"


def _computed_type(node: exp.Expression, columns: dict[str, str]) -> str | None:
    if isinstance(node, exp.DayOfWeekIso | exp.DayOfWeek):
        return "UInt8"
    if isinstance(node, exp.StrPosition):
        return "UInt64"  # position(): DuckDB's instr is BIGINT
    if isinstance(node, exp.Add | exp.Sub) and isinstance(node.expression, exp.Interval):
        shifted = _computed_type(node.this, columns)
        if shifted == "DateTime":
            return shifted  # a DateTime plus an interval of seconds or more stays a DateTime
    if isinstance(node, exp.Boolean) or isinstance(node, exp.Cast) and node.to.this in (
            exp.DataType.Type.BOOLEAN,):
        return "Bool"  # ClickHouse's true/false literals are Bool (comparisons are UInt8)
    if isinstance(node, exp.Count | exp.CountIf | exp.ApproxDistinct | exp.Length):
        return "UInt64"
    if isinstance(node, exp.Sum) and isinstance(node.this, exp.Column):
        base = columns.get(node.this.name, "").removeprefix("Nullable(").rstrip(")")
        if base.startswith(("UInt", "Int")):  # sum keeps the 64-bit family; DuckDB widens
            return "UInt64" if base.startswith("UInt") else "Int64"
    if isinstance(node, exp.Anonymous) and node.name.lower() in _FIXED_TYPES:
        return _FIXED_TYPES[node.name.lower()]
    if isinstance(node, exp.RowNumber):
        return "UInt64"
    if isinstance(node, exp.ArraySum | exp.ArrayMax | exp.ArrayMin) and \
            isinstance(node.this, exp.Column):
        element = columns.get(node.this.name, "").removeprefix("Array(").removesuffix(")")
        if isinstance(node, exp.ArraySum) and element.startswith(("UInt", "Int")):
            return "UInt64" if element.startswith("UInt") else "Int64"  # DuckDB: HUGEINT
        if element.startswith(("UInt", "Int")):
            return element
    if isinstance(node, exp.Anonymous) and node.name.lower() == "assumenotnull" and \
            isinstance(node.expressions[0], exp.Column):
        known = columns.get(node.expressions[0].name, "")
        if known.startswith("Nullable("):
            return known[len("Nullable("):-1]
    if isinstance(node, exp.Window):
        return _computed_type(node.this, columns)
    anonymous = isinstance(node, exp.Anonymous | exp.AnonymousAggFunc)
    if anonymous and node.name.lower() in _UINT64_FUNCTIONS:
        return "UInt64"
    if isinstance(node, exp.DateDiff):
        return "Int64"
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        unit = node.args.get("unit")
        if unit is not None and unit.name.lower() in ("minute", "hour", "day"):
            return "DateTime"  # ClickHouse's toStartOfMinute(DateTime64) is a DateTime
    zoned = _zoned_type(node, columns)
    if zoned is not None:
        return zoned
    if isinstance(node, exp.Anonymous) and node.name.lower() in _DATETIME_FUNCTIONS:
        return "DateTime"
    if isinstance(node, exp.Anonymous) and node.name.lower() == "tostartofinterval" and \
            len(node.expressions) >= 2 and isinstance(node.expressions[1], exp.Interval):
        unit = node.expressions[1].unit
        if unit is not None and unit.name.lower() in ("second", "minute", "hour", "day"):
            return "DateTime"  # ClickHouse: DateTime for sub-day buckets of a DateTime64
    return None


# ------------------------------------------------------------------------ nullability --

#: Functions whose result is never NULL, whatever their arguments (ClickHouse's ``Null``
#: combinator does not apply to them).
_NEVER_NULL = (exp.Count, exp.CountIf, exp.ApproxDistinct, exp.Is, exp.RowNumber, exp.Array,
               exp.ArrayAgg)
_NEVER_NULL_NAMES = {"count", "countif", "uniq", "uniqexact", "countdistinct", "isnull",
                     "isnotnull", "grouparray", "groupuniqarray", "assumenotnull", "empty",
                     "notempty", "length", "has", "tostring", "row_number", "rank",
                     "dense_rank", "formatreadabletimedelta"}


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
        if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc | exp.CombinedAggFunc) and \
                node.name.lower() in _NEVER_NULL_NAMES:
            return False
        if isinstance(node, exp.Coalesce):
            return all(nullable(a, depth + 1) for a in [node.this, *node.expressions])
        if isinstance(node, exp.If):
            branches = [node.args.get("true"), node.args.get("false")]
            return any(b is not None and nullable(b, depth + 1) for b in branches) or \
                node.args.get("false") is None
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
