"""Conditional and NULL functions: ``if``, ``multiIf``, ``ifNull``/``coalesce``, ``isNull``,
``isNotNull``.

Added: ``multiIf`` (a CASE; DuckDB will not take a UInt8 as a condition, so each is cast to
BOOLEAN), ``isNull``, ``isNotNull``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from sqlbridge.errors import NotImplemented_
from sqlbridge.functions.builders import cast, with_args
from sqlbridge.functions.entry import Call, Function, Namer


def _multi_if(call: Call) -> exp.Expression:
    args = call.args
    if len(args) < 3 or len(args) % 2 == 0:
        raise NotImplemented_("multiIf needs an odd number (at least 3) of arguments: "
                              "multiIf(cond1, then1, cond2, then2, ..., else)")
    case = exp.Case()
    for cond, then in zip(args[0:-1:2], args[1:-1:2], strict=True):
        case = case.when(cast(cond, "BOOLEAN"), then)
    return case.else_(args[-1])


def _coalesce_nullable(node: exp.Expression, nullable: Callable[[exp.Expression], bool]) -> bool:
    """NULL only when every argument can be (``ifNull(x, 0)`` is not Nullable)."""
    return all(nullable(a) for a in [node.this, *node.expressions])


def _if_nullable(node: exp.Expression, nullable: Callable[[exp.Expression], bool]) -> bool:
    """NULL when a branch can be, or when there is no else branch."""
    branches = [node.args.get("true"), node.args.get("false")]
    return any(b is not None and nullable(b) for b in branches) or \
        node.args.get("false") is None


def _if_name(node: exp.Expression, name: str, n: Namer) -> str | None:
    if not isinstance(node, exp.If):
        return None
    parts = [node.this, node.args.get("true"), node.args.get("false")]
    return f"{name}({n.join([p for p in parts if p is not None])})"


FUNCTIONS = [
    Function("if", nodes=(exp.If,), nullable=_if_nullable, column_name=_if_name),
    Function("multiIf", translate=_multi_if),
    Function("coalesce", aliases=("ifNull",), nodes=(exp.Coalesce,), nullable=_coalesce_nullable),
    Function("isNull", never_null=True, translate=with_args(
        1, lambda x: exp.Is(this=x, expression=exp.Null()))),
    Function("isNotNull", never_null=True, translate=with_args(
        1, lambda x: exp.Not(this=exp.Is(this=x, expression=exp.Null())))),
]
