"""The registry of ClickHouse functions: one ``Function`` entry per function, found by name or by
the sqlglot expression class the ClickHouse parser makes of it.

Every consumer reads this one table: the translation to DuckDB (``sqlbridge.translate
.expressions``), ClickHouse's column names (``sqlbridge.translate.names``) and the ClickHouse
result types and nullability (``sqlbridge.translate.hints``).

Adding a function is one entry in the list ``FUNCTIONS`` of the module of its family
(``aggregates``, ``arrays``, ``conditionals``, ``conversions``, ``dates``, ``formatting``,
``arithmetic``, ``server``, ``strings``; a new family is a new module, added to ``_FAMILIES``
below)::

    Function("toUnixTimestamp", result_type="UInt32",
             translate=lambda call: cast(fn("floor", fn("epoch", call.args[0])), "BIGINT")
             if call.args else None),

- ``translate(call)`` builds the DuckDB expression for a call sqlglot left as a plain name
  (``call.args``, ``call.type_of(arg)``; ``builders`` has ``fn``, ``cast``, ``with_args``,
  ``renamed``...). Return None to leave the call alone (DuckDB may know it). A function that
  needs the session's state answers from a DuckDB macro or setting (``current_setting(...)``).
- ``result_type`` is the ClickHouse type the formats print (``"String"``), or a function of the
  node and the system-table column types; ``never_null=True`` when the result is never NULL.
- If sqlglot parses the function into its own class (check with ``sqlglot.parse_one("SELECT
  f(x)", read="clickhouse")``), list the class in ``nodes`` and use ``rewrite(node, type_of)``.
- Pin it against chdb: a case in ``CASES`` of ``tests/sqlbridge/test_translate.py``.

An aggregate with ``aggregate=`` and ``takes_if=True`` gets its ``-If`` combinator for free
(``sumIf`` from ``sum``). Names are case-insensitive here; a name or class listed twice is an
error at import.
"""

from __future__ import annotations

from functools import cache

from sqlglot import exp

from sqlbridge.functions import (
    aggregates,
    arithmetic,
    arrays,
    conditionals,
    conversions,
    dates,
    formatting,
    server,
    strings,
)
from sqlbridge.functions.entry import NAMED_CALLS, Function

_FAMILIES = (aggregates, arithmetic, arrays, conditionals, conversions, dates, formatting, server,
             strings)

#: Every entry, family by family.
FUNCTIONS: tuple[Function, ...] = tuple(f for family in _FAMILIES for f in family.FUNCTIONS)


def _index() -> tuple[dict[str, Function], dict[type[exp.Expression], Function]]:
    by_name: dict[str, Function] = {}
    by_node: dict[type[exp.Expression], Function] = {}
    for f in FUNCTIONS:
        for name in (f.name, *f.aliases):
            if name.lower() in by_name:
                raise ValueError(f"ClickHouse function {name} is registered twice; keep one "
                                 "entry (aliases= for another spelling)")
            by_name[name.lower()] = f
        for node in f.nodes:
            if node in by_node:
                raise ValueError(f"sqlglot class {node.__name__} belongs to both "
                                 f"{by_node[node].name} and {f.name}; list it in one entry")
            by_node[node] = f
        if f.takes_if and f.aggregate is None:
            raise ValueError(f"{f.name}: takes_if needs aggregate= (what the -If filters)")
    return by_name, by_node


_BY_NAME, _BY_NODE = _index()


@cache
def lookup_name(name: str) -> Function | None:
    """The entry for a function called ``name`` (any case), ``-If`` combinators included."""
    lowered = name.lower()
    found = _BY_NAME.get(lowered)
    if found is None and lowered.endswith("if"):
        base = _BY_NAME.get(lowered[:-2])
        if base is not None and base.takes_if:
            found = aggregates.if_combinator(base)
    return found


def lookup(node: exp.Expression) -> Function | None:
    """The entry for the call ``node`` of a parsed ClickHouse query: by name for a call sqlglot
    left as a name, by class for a node sqlglot typed (``exp.Count``); None for anything else,
    the parametric form ``name(params)(args)`` included (see ``lookup_name``)."""
    if isinstance(node, NAMED_CALLS):
        return lookup_name(node.name)
    for cls in type(node).__mro__:
        found = _BY_NODE.get(cls)
        if found is not None:
            return found
    return None
