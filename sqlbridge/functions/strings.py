"""String functions (and ``length``/``empty``/``notEmpty``, which also take arrays).

Fixed here: ``length(arr)`` (sqlglot emits ``LENGTH(CAST(arr AS TEXT))``, the length of
``'[1, 2]'``; arrays now use ``len``, strings ``strlen``: bytes, as ClickHouse counts);
``extract(s, re)`` (emitted as SQL ``EXTRACT``; now ``regexp_extract``).
Added: ``empty``, ``notEmpty``, ``lengthUTF8``, ``replaceAll``, ``replaceRegexpAll``,
``replaceRegexpOne``, ``extractAll``.
"""

from __future__ import annotations

from sqlglot import exp

from sqlbridge.functions.builders import cast, fn, renamed, with_args
from sqlbridge.functions.entry import Call, Function, TypeOf


def length(arg: exp.Expression, type_of: TypeOf) -> exp.Expression:
    """ClickHouse's ``length``: elements of an array, bytes of a string."""
    t = type_of(arg) or ""
    if t.startswith("Array") or isinstance(arg, exp.Array):
        return fn("len", arg)
    if "String" in t or (isinstance(arg, exp.Literal) and arg.is_string):
        return fn("strlen", arg)
    return fn("length", arg)


def _empty(call: Call) -> exp.Expression | None:
    if len(call.args) != 1:
        return None
    size = length(call.args[0], call.type_of)
    return exp.EQ(this=size, expression=exp.Literal.number(0)) if call.name == "empty" else \
        exp.GT(this=size, expression=exp.Literal.number(0))


def _has_group(pattern: str) -> bool:
    """Does a regular expression have a capturing group (an unescaped ``(`` not ``(?``)?"""
    escaped = False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "(" and not pattern.startswith("?", i + 1):
            return True
    return False


def _regexp_extract(haystack: exp.Expression, pattern: exp.Expression) -> exp.Expression:
    """ClickHouse ``extract``: the first capture group if the pattern has one, else the match.

    The choice needs the pattern's text, so it is made for literal patterns; a computed pattern
    gets the whole match.
    """
    group = 1 if isinstance(pattern, exp.Literal) and _has_group(pattern.name) else 0
    return fn("regexp_extract", haystack, pattern, exp.Literal.number(group))


def _extract(node: exp.Expression, type_of: TypeOf) -> exp.Expression | None:
    if isinstance(node.this, exp.Var):  # EXTRACT(HOUR FROM t), the SQL one
        return None
    return _regexp_extract(node.this, node.expression)


def _extract_all(haystack: exp.Expression, pattern: exp.Expression) -> exp.Expression:
    # ClickHouse: [] for a NULL haystack.
    return exp.Coalesce(this=fn("regexp_extract_all", haystack, pattern),
                        expressions=[cast(exp.Array(expressions=[]), "VARCHAR[]")])


FUNCTIONS = [
    # Not never_null: length(Nullable(String)) is Nullable(UInt64).
    Function("length", nodes=(exp.Length,), result_type="UInt64",
             translate=lambda call: length(call.args[0], call.type_of)
             if len(call.args) == 1 else None,
             rewrite=lambda node, type_of: length(node.this, type_of)),
    Function("lengthUTF8", translate=renamed("length"), result_type="UInt64"),
    Function("charLength", translate=renamed("length")),
    Function("empty", translate=_empty, never_null=True),
    Function("notEmpty", translate=_empty, never_null=True),
    Function("extract", nodes=(exp.Extract,), translate=with_args(2, _regexp_extract),
             rewrite=_extract),
    Function("extractAll", translate=with_args(2, _extract_all)),
    Function("replaceAll", translate=renamed("replace")),
    Function("replaceRegexpOne", translate=with_args(3, lambda *args: fn(
        "regexp_replace", *args))),
    Function("replaceRegexpAll", translate=with_args(3, lambda *args: fn(
        "regexp_replace", *args, exp.Literal.string("g")))),
    # position(): DuckDB's instr is BIGINT.
    Function("position", nodes=(exp.StrPosition,), result_type="UInt64"),
]
