"""Functions that format numbers for people: ``formatReadable*`` and ``bar``.

Added: ``formatReadableQuantity``/``formatReadableSize`` (two decimals, as ClickHouse),
``formatReadableTimeDelta`` (a DuckDB macro, ``asl_format_readable_time_delta``), ``bar``
(DuckDB's, without its padding to the full width).
"""

from __future__ import annotations

from sqlglot import exp

from sqlbridge.functions.builders import cast, fn, template, with_args
from sqlbridge.functions.entry import Call, Function

_READABLE_QUANTITY = (
    "CASE WHEN abs(__x) >= 1e15 THEN printf('%.2f quadrillion', __x / 1e15) "
    "WHEN abs(__x) >= 1e12 THEN printf('%.2f trillion', __x / 1e12) "
    "WHEN abs(__x) >= 1e9 THEN printf('%.2f billion', __x / 1e9) "
    "WHEN abs(__x) >= 1e6 THEN printf('%.2f million', __x / 1e6) "
    "WHEN abs(__x) >= 1e3 THEN printf('%.2f thousand', __x / 1e3) "
    "ELSE printf('%.2f', __x) END")
_READABLE_SIZE = "CASE " + " ".join(
    f"WHEN abs(__x) >= {1024 ** i}.0 THEN printf('%.2f {unit}', __x / {1024 ** i}.0)"
    for i, unit in reversed(list(enumerate(["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"])))
    if i) + " ELSE printf('%.2f B', __x) END"


def _of_double(sql: str):
    return with_args(1, lambda x: template(sql, cast(x, "DOUBLE")))


def _time_delta(call: Call) -> exp.Expression | None:
    if not call.args:
        return None
    return fn("asl_format_readable_time_delta", cast(call.args[0], "DOUBLE"))


def _bar(x: exp.Expression, low: exp.Expression, high: exp.Expression, width: exp.Expression
         ) -> exp.Expression:
    # DuckDB pads the bar with blanks to the full width.
    return fn("rtrim", fn("bar", *[cast(a, "DOUBLE") for a in (x, low, high)], width))


FUNCTIONS = [
    Function("formatReadableQuantity", translate=_of_double(_READABLE_QUANTITY)),
    Function("formatReadableSize", translate=_of_double(_READABLE_SIZE)),
    Function("formatReadableTimeDelta", translate=_time_delta, never_null=True),
    Function("bar", translate=with_args(4, _bar)),
]
