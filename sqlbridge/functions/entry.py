"""What the registry knows about one ClickHouse function: the ``Function`` entry.

An entry answers three questions for its function, each read by one consumer:

- how to run it in DuckDB (``translate`` for a call sqlglot left as a plain name, ``rewrite`` for
  a call sqlglot parsed into its own expression class, ``parametric`` for ``name(params)(args)``),
  read by ``sqlbridge.translate.expressions``;
- what ClickHouse names its column (``column_name``, only where sqlglot stores the arguments in
  another order than the user wrote them), read by ``sqlbridge.translate.names``;
- what type ClickHouse gives the result (``result_type``) and whether it can be NULL
  (``never_null``, ``nullable``), read by ``sqlbridge.translate.hints``.

Everything is optional: an entry that only says ``result_type="UInt32"`` leaves the translation
to sqlglot and fixes the type the output formats print.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

#: Tells the ClickHouse type of an expression when it is known (a system-table column, or a call
#: an earlier rewrite typed): ``"Array(UInt64)"``, or None.
TypeOf = Callable[[exp.Expression], str | None]

#: Column name -> ClickHouse type, for the system tables a query reads.
Columns = dict[str, str]

#: sqlglot's classes for a call it did not recognise: the function is known by its name only.
NAMED_CALLS = (exp.Anonymous, exp.AnonymousAggFunc, exp.CombinedAggFunc)


@dataclass
class Call:
    """One call of a function that sqlglot left as a name: ``node`` with its ``args``."""

    node: exp.Expression
    type_of: TypeOf
    args: list[exp.Expression] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The function's name, lowercase (ClickHouse's names are case-sensitive, but the
        registry is not: ``todatetime`` and ``toDateTime`` are one entry)."""
        return self.node.name.lower()


class Namer:
    """What a ``column_name`` hook may call: ``name(e)`` is ClickHouse's text of ``e`` in a column
    name, ``join(es)`` the texts separated by ``", "``."""

    def __init__(self, name: Callable[[exp.Expression], str]) -> None:
        self.name = name

    def join(self, items: list[exp.Expression]) -> str:
        return ", ".join(self.name(i) for i in items)


@dataclass(frozen=True)
class Function:
    """One ClickHouse function (see the module docstring for who reads which field)."""

    #: The ClickHouse spelling, e.g. ``uniqExact``.
    name: str
    #: Other names for the same function (``median`` for ``quantile``, ``ifNull``...).
    aliases: tuple[str, ...] = ()
    #: sqlglot expression classes the ClickHouse parser turns this function into
    #: (``count()`` is ``exp.Count``); a typed node is found by its class, not by its name.
    nodes: tuple[type[exp.Expression], ...] = ()
    #: ``f(call) -> DuckDB expression`` for a call known by name; None leaves the call as it is
    #: (DuckDB may know it, or fail with UNKNOWN_FUNCTION).
    translate: Callable[[Call], exp.Expression | None] | None = None
    #: ``f(node, type_of) -> DuckDB expression`` for a node of one of ``nodes``; None keeps
    #: sqlglot's translation.
    rewrite: Callable[[exp.Expression, TypeOf], exp.Expression | None] | None = None
    #: ``f(params, args)`` for the parametric form ``name(params)(args)``; None refuses it.
    parametric: Callable[[list[exp.Expression], list[exp.Expression]],
                         exp.Expression | None] | None = None
    #: The plain DuckDB aggregate of ``args`` (what an ``-If`` combinator filters), for
    #: aggregates that take ``If``.
    aggregate: Callable[[list[exp.Expression]], exp.Expression] | None = None
    #: ``nameIf(args, cond)`` is translated (with ``aggregate``); ``True`` needs ``aggregate``.
    takes_if: bool = False
    #: ``nameIf`` over no matching rows is 0, as ClickHouse (DuckDB: NULL).
    if_zero: bool = False
    #: The ClickHouse type of the result: a fixed name, or ``f(node, columns)`` (None: unknown,
    #: the type follows from DuckDB's).
    result_type: str | Callable[[exp.Expression, Columns], str | None] | None = None
    #: The result is never NULL, whatever the arguments.
    never_null: bool = False
    #: ``f(node, nullable) -> bool`` where nullability is not "any argument is nullable"
    #: (``ifNull``, ``if``); ``nullable(e)`` answers for a sub-expression.
    nullable: Callable[[exp.Expression, Callable[[exp.Expression], bool]], bool] | None = None
    #: ``f(node, name, namer) -> str | None``: the column name ClickHouse prints, where the
    #: default ``name(arg1, arg2, ...)`` in sqlglot's argument order would be wrong.
    column_name: Callable[[exp.Expression, str, Namer], str | None] | None = None

    def type_for(self, node: exp.Expression, columns: Columns) -> str | None:
        if self.result_type is None or isinstance(self.result_type, str):
            return self.result_type
        return self.result_type(node, columns)
