"""Arithmetic functions.

Fixed here: ``round(0.25, 1)`` (DuckDB rounds half away from zero, 0.3; ClickHouse rounds floats
half to even, 0.2: ``round_even``). Added: ``intDiv``, ``modulo``.
"""

from __future__ import annotations

from sqlglot import exp

from sqlbridge.functions.builders import fn, with_args
from sqlbridge.functions.entry import Function, TypeOf


def _round(node: exp.Expression, type_of: TypeOf) -> exp.Expression:
    digits = node.args.get("decimals") or exp.Literal.number(0)
    return fn("round_even", node.this, digits)


FUNCTIONS = [
    Function("round", nodes=(exp.Round,), rewrite=_round),
    Function("intDiv", translate=with_args(2, lambda a, b: exp.IntDiv(this=a, expression=b))),
    Function("modulo", translate=with_args(2, lambda a, b: exp.Mod(this=a, expression=b))),
]
