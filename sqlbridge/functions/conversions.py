"""Type conversions: ``toUInt8`` .. ``toFloat64``, ``toDate``, ``to*OrZero``/``to*OrNull``,
``toString``, ``toTypeName``, ``assumeNotNull``.

Fixed here: ``toString(elapsed)`` (DuckDB prints ``0.0``, ClickHouse ``0``: whole floats print as
integers; ``toString([4, 1])`` is ``[4,1]``, no blanks); ``assumeNotNull`` gives the type's
default; ``toUInt64(2.7)`` truncates as ClickHouse (a CAST rounds); the Enum ``status`` converts
to its value.
Added: the ``to*`` casts, ``to*OrZero``/``to*OrNull`` (TRY_CAST), ``toTypeName`` (ClickHouse's
spelling: a system-table column's exact type, else DuckDB's type spelt the ClickHouse way).
"""

from __future__ import annotations

from sqlglot import exp

from sqlbridge.functions.builders import DEFAULTS, NUMBER_TYPES, cast, fn
from sqlbridge.functions.entry import Call, Columns, Function, TypeOf

_NUMBERS = ("UInt", "Int", "Float")


def _cast_to(duckdb_type: str):
    """``toUInt64(x)`` and the like: a CAST, truncating floats and reading Enums as numbers."""
    integer = duckdb_type not in ("DATE", "DOUBLE", "FLOAT")

    def translate(call: Call) -> exp.Expression | None:
        if not call.args:
            return None
        arg = call.args[0]
        if (call.type_of(arg) or "").startswith("Enum") and integer:
            return cast(fn("enum_code", arg), duckdb_type)
        operand = arg.this if isinstance(arg, exp.Neg) else arg  # toInt32(-1.5) is -1
        is_float = (isinstance(operand, exp.Literal) and not operand.is_string
                    and not operand.is_int) or call.type_of(operand) == "Float64"
        if is_float and integer:
            arg = fn("trunc", arg)  # ClickHouse truncates toUInt64(2.7) to 2; a CAST rounds
        return cast(arg, duckdb_type)

    return translate


def _try_cast(duckdb_type: str, zero: bool):
    """``toUInt64OrZero(s)``, ``toInt32OrNull(s)``: a TRY_CAST, with 0 for the ``OrZero`` kind."""

    def translate(call: Call) -> exp.Expression | None:
        if len(call.args) != 1:
            return None
        value = exp.TryCast(this=cast(call.args[0], "VARCHAR"),
                            to=exp.DataType.build(duckdb_type, dialect="duckdb"))
        return exp.Coalesce(this=value, expressions=[exp.Literal.number(0)]) if zero else value

    return translate


#: The ``OrZero`` conversions whose result type is recorded (the others' follows from DuckDB's).
_TYPED_OR_ZERO = {"UInt64", "UInt32", "UInt8", "Int64", "Int32"}


def _to_string(call: Call) -> exp.Expression | None:
    if len(call.args) != 1:
        return None
    arg, t = call.args[0], call.type_of(call.args[0])
    if t is not None and t.startswith("Decimal"):  # ClickHouse prints 1.5, not 1.500000
        arg, t = cast(arg, "DOUBLE"), "Float64"
    numbers = t is not None and t.startswith("Array(") and t[len("Array("):].startswith(_NUMBERS)
    if isinstance(arg, exp.Array):
        numbers = all(isinstance(e, exp.Literal) and not e.is_string or
                      isinstance(e, exp.Cast) and isinstance(e.this, exp.Literal)
                      for e in arg.expressions)
    if numbers:  # ClickHouse prints [4,1]; DuckDB's list text has blanks: [4, 1]
        return exp.DPipe(this=exp.DPipe(this=exp.Literal.string("["), expression=fn(
            "array_to_string", arg, exp.Literal.string(","))), expression=exp.Literal.string("]"))
    if t and "DateTime" in t:
        return fn("strftime", arg, exp.Literal.string("%Y-%m-%d %H:%M:%S.%f"))
    if t == "Float64":  # ClickHouse prints 0 and 2, DuckDB 0.0 and 2.0
        whole = exp.and_(exp.EQ(this=arg.copy(), expression=fn("trunc", arg.copy())),
                         exp.LT(this=fn("abs", arg.copy()), expression=exp.Literal.number(1e15)))
        return exp.Case().when(whole, cast(cast(arg.copy(), "BIGINT"), "VARCHAR")).else_(
            cast(arg, "VARCHAR"))
    return cast(arg, "VARCHAR")


def _type_name(call: Call) -> exp.Expression | None:
    if len(call.args) != 1:
        return None
    known = call.type_of(call.args[0])
    if known is not None:  # a system-table column: its exact type, Nullable included
        return exp.Literal.string(known)
    return fn("asl_clickhouse_type_name", fn("typeof", call.args[0]))


def _type_of_node(node: exp.Expression, type_of: TypeOf) -> exp.Expression | None:
    """sqlglot parses ``toTypeName(x)`` as ``Typeof``, which DuckDB would answer in its own
    spelling."""
    if node.meta.get("clickhouse_name", "").lower() != "totypename":
        return None
    call = exp.Anonymous(this="toTypeName", expressions=[node.this])
    return _type_name(Call(call, type_of, [node.this]))


def _assume_not_null(call: Call) -> exp.Expression | None:
    if len(call.args) != 1:
        return None
    arg = call.args[0]
    # NULL -> the type's default, as ClickHouse.
    default = DEFAULTS.get((call.type_of(arg) or "").removeprefix("Nullable(").rstrip(")"))
    if default is None:
        return arg
    return exp.Coalesce(this=arg, expressions=[default.copy()])


def _assume_not_null_type(node: exp.Expression, columns: Columns) -> str | None:
    if isinstance(node, exp.Anonymous) and isinstance(node.expressions[0], exp.Column):
        known = columns.get(node.expressions[0].name, "")
        if known.startswith("Nullable("):
            return known[len("Nullable("):-1]
    return None


FUNCTIONS = [
    *(Function(f"to{name}", translate=_cast_to(duck)) for name, duck in NUMBER_TYPES.items()),
    Function("toDate", translate=_cast_to("DATE")),
    *(Function(f"to{name}Or{kind}", translate=_try_cast(duck, kind == "Zero"),
               result_type=name if kind == "Zero" and name in _TYPED_OR_ZERO else None)
      for name, duck in NUMBER_TYPES.items() for kind in ("Zero", "Null")),
    Function("toString", translate=_to_string, never_null=True),
    Function("toTypeName", nodes=(exp.Typeof,), translate=_type_name, rewrite=_type_of_node),
    Function("assumeNotNull", translate=_assume_not_null, result_type=_assume_not_null_type,
             never_null=True),
]
