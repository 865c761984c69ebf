"""Array and tuple functions.

Fixed here: ``arraySum``/``arrayMax``/``arrayMin`` of ``[]`` are 0 (DuckDB: NULL); ``arr[9]``
past the end is the element type's default (0, ''), not NULL, where the array's type is known.
Added: ``arrayStringConcat``, ``indexOf``, ``arrayElement``, ``hasAny``, ``hasAll``,
``arraySort``, ``arrayReverseSort``, ``arrayDistinct``, ``arrayUniq``, ``arrayCount``,
``arrayExists``, ``arrayAll``. (``length``, ``empty`` and ``notEmpty`` take arrays and strings:
see ``strings``.)
"""

from __future__ import annotations

from sqlglot import exp

from sqlbridge.functions.builders import fn, renamed, with_args, zero_if_null
from sqlbridge.functions.entry import Call, Columns, Function, Namer

_ELEMENT_DEFAULTS = {"UInt64": 0, "Int64": 0, "UInt8": 0, "Float64": 0, "String": ""}


def element_or_default(node: exp.Expression, array_type: str | None) -> exp.Expression:
    """``arr[9]`` past the end: ClickHouse answers the element type's default (0, ''), DuckDB
    NULL. Where the array's type is known, the default is put back."""
    if not array_type or not array_type.startswith("Array("):
        return node
    default = _ELEMENT_DEFAULTS.get(array_type[len("Array("):-1])
    if default is None:
        return node
    value = exp.Literal.string(default) if isinstance(default, str) else exp.Literal.number(0)
    return exp.Coalesce(this=node, expressions=[value])


def literal_array_type(e: exp.Expression) -> str | None:
    """``Array(Float64)``/``Array(String)`` for an array literal of numbers/strings, so that
    ``[1][5]`` gets the default (0) as a column would."""
    if not isinstance(e, exp.Array) or not e.expressions:
        return None
    items = [i.this if isinstance(i, exp.Cast) else i for i in e.expressions]
    if not all(isinstance(i, exp.Literal) for i in items):
        return None
    if all(i.is_string for i in items):
        return "Array(String)"
    return "Array(Float64)" if not any(i.is_string for i in items) else None


def _array_element(call: Call) -> exp.Expression | None:
    if len(call.args) == 2:
        return element_or_default(fn("list_extract", *call.args), call.type_of(call.args[0]))
    return fn("list_extract", *call.args)


def _element_type(node: exp.Expression, columns: Columns) -> str | None:
    """``arraySum(arr)`` of an integer array column: ClickHouse's (U)Int64 (DuckDB: HUGEINT);
    ``arrayMax``/``arrayMin`` keep the element type."""
    if not isinstance(node.this, exp.Column):
        return None
    element = columns.get(node.this.name, "").removeprefix("Array(").removesuffix(")")
    if isinstance(node, exp.ArraySum) and element.startswith(("UInt", "Int")):
        return "UInt64" if element.startswith("UInt") else "Int64"
    if element.startswith(("UInt", "Int")):
        return element
    return None


def _tuple_name(node: exp.Expression, name: str, n: Namer) -> str | None:
    if name.lower() == "tuple" and isinstance(node, exp.Anonymous | exp.Struct):
        return f"({n.join(node.expressions)})"
    return None


def _empty_to_zero(node: exp.Expression, type_of) -> exp.Expression:
    return zero_if_null(node)  # ClickHouse: 0 for an empty array; DuckDB: NULL


FUNCTIONS = [
    Function("arraySum", nodes=(exp.ArraySum,), rewrite=_empty_to_zero, result_type=_element_type),
    Function("arrayMax", nodes=(exp.ArrayMax,), rewrite=_empty_to_zero, result_type=_element_type),
    Function("arrayMin", nodes=(exp.ArrayMin,), rewrite=_empty_to_zero, result_type=_element_type),
    Function("hasAny", translate=renamed("list_has_any")),
    Function("hasAll", translate=renamed("list_has_all")),
    Function("arraySort", translate=renamed("list_sort")),
    Function("arrayReverseSort", translate=renamed("list_reverse_sort")),
    Function("arrayDistinct", translate=renamed("list_distinct")),
    Function("arrayElement", translate=_array_element),
    # sqlglot parses has() as ArrayContains; only a call left by name is known never to be NULL.
    Function("has", never_null=True),
    Function("arrayStringConcat", translate=lambda call: fn(
        "array_to_string", call.args[0],
        call.args[1] if len(call.args) > 1 else exp.Literal.string("")) if call.args else None),
    Function("indexOf", result_type="UInt64", translate=with_args(2, lambda *args: zero_if_null(
        fn("list_position", *args)))),
    Function("arrayUniq", translate=with_args(1, lambda arr: fn("len", fn("list_distinct", arr)))),
    Function("arrayCount", result_type="UInt32",
             translate=with_args(2, lambda f, arr: fn("len", fn("list_filter", arr, f)))),
    # UInt8, like a comparison.
    Function("arrayExists", result_type="UInt8", translate=with_args(2, lambda f, arr: fn(
        "coalesce", fn("list_bool_or", fn("list_transform", arr, f)), exp.false()))),
    Function("arrayAll", result_type="UInt8", translate=with_args(2, lambda f, arr: fn(
        "coalesce", fn("list_bool_and", fn("list_transform", arr, f)), exp.true()))),
    Function("tuple", nodes=(exp.Struct,), column_name=_tuple_name),
]
