"""Date and time functions.

Fixed here: ``dateDiff('m', ...)`` (ClickHouse's ``m`` is month, DuckDB's minute: units are spelt
out); ``toStartOfMinute(t)``/``toDateTime(t)`` are typed DateTime, so they print whole seconds,
not ``.000000``; ``formatDateTime`` (``%M`` is the month name in ClickHouse, minutes are ``%i``;
``%F``, ``%T``, ``%D``, ``%R``... are re-spelt for strftime); ``toStartOfInterval`` buckets in
the session's zone (DuckDB's default is UTC, wrong for +05:45); ``toDateTime(t, 'UTC')`` and
``toTimeZone`` keep the instant and put the zone in the type, which the formats print in.
Added: ``toDateTime``, ``toDateTime64``, ``toUnixTimestamp``, ``toYYYYMMDD``, ``toYear`` ..
``toSecond`` (DuckDB date parts, typed as ClickHouse's UInt8/UInt16), ``toStartOfFiveMinutes``
(and ten, fifteen), ``toStartOfInterval``, ``today``, ``now64``, ``toUnixTimestamp64Micro`` (and
Milli, Nano), ``age`` (DuckDB ``date_sub``: whole units elapsed), ``toInterval*``.
"""

from __future__ import annotations

from sqlglot import exp

from sqlbridge.errors import NotImplemented_
from sqlbridge.functions.builders import cast, fn, session_zone, typed
from sqlbridge.functions.entry import Call, Columns, Function, Namer, TypeOf

#: ClickHouse's unit names (and abbreviations) -> DuckDB's.
DATE_UNITS = {
    "microsecond": "microsecond", "microseconds": "microsecond", "us": "microsecond",
    "u": "microsecond",
    "millisecond": "millisecond", "milliseconds": "millisecond", "ms": "millisecond",
    "second": "second", "seconds": "second", "ss": "second", "s": "second",
    "minute": "minute", "minutes": "minute", "mi": "minute", "n": "minute",
    "hour": "hour", "hours": "hour", "hh": "hour", "h": "hour",
    "day": "day", "days": "day", "dd": "day", "d": "day",
    "week": "week", "weeks": "week", "wk": "week", "ww": "week",
    "month": "month", "months": "month", "mm": "month", "m": "month",
    "quarter": "quarter", "quarters": "quarter", "qq": "quarter", "q": "quarter",
    "year": "year", "years": "year", "yyyy": "year", "yy": "year",
}


def _date_part(part: str):
    """``toHour(t)`` -> DuckDB ``hour(t)`` (both in the session's zone)."""
    return lambda call: fn(part, call.args[0]) if len(call.args) == 1 else None


def _bucket(minutes: int):
    def translate(call: Call) -> exp.Expression | None:
        if not call.args:
            return None
        return fn("time_bucket", exp.Interval(this=exp.Literal.string(str(minutes)),
                                              unit=exp.Var(this="MINUTE")), call.args[0],
                  session_zone())
    return translate


def _start_of_interval(call: Call) -> exp.Expression | None:
    # Buckets start at local midnight in the session's zone, as ClickHouse's (DuckDB's
    # two-argument time_bucket counts in UTC: 11:45 in Asia/Kathmandu, not 12:00).
    args = call.args
    if len(args) < 2:
        return None
    zone = args[2] if len(args) > 2 else session_zone()
    return fn("time_bucket", args[1], args[0], zone)


def _start_of_interval_type(node: exp.Expression, columns: Columns) -> str | None:
    if isinstance(node, exp.Anonymous) and len(node.expressions) >= 2 and \
            isinstance(node.expressions[1], exp.Interval):
        unit = node.expressions[1].unit
        if unit is not None and unit.name.lower() in ("second", "minute", "hour", "day"):
            return "DateTime"  # ClickHouse: DateTime for sub-day buckets of a DateTime64
    return None


def _truncated_type(node: exp.Expression, columns: Columns) -> str | None:
    if not isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        return "DateTime" if isinstance(node, exp.Anonymous) else None
    unit = node.args.get("unit")
    if unit is not None and unit.name.lower() in ("minute", "hour", "day"):
        return "DateTime"  # ClickHouse's toStartOfMinute(DateTime64) is a DateTime
    return None


def _truncated_name(node: exp.Expression, name: str, n: Namer) -> str | None:
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc) and \
            name.lower().startswith("tostartof"):
        return f"{name}({n.name(node.this)})"
    return None


def _to_datetime(arg: exp.Expression, scale: int) -> exp.Expression:
    if isinstance(arg, exp.Literal) and not arg.is_string:
        value: exp.Expression = fn("to_timestamp", arg)
    else:
        value = cast(arg, "TIMESTAMPTZ")
    if scale == 0:
        value = fn("date_trunc", exp.Literal.string("second"), value)
    return typed(value, "DateTime" if scale == 0 else "DateTime64(6)")


def _has_zone(args: list[exp.Expression]) -> bool:
    return len(args) >= 2 and isinstance(args[-1], exp.Literal) and args[-1].is_string


def _zoned(scale: int | None):
    """``toDateTime`` (scale 0), ``toDateTime64`` (6), ``toTimeZone`` (None: the argument's)."""

    def translate(call: Call) -> exp.Expression | None:
        if _has_zone(call.args):
            # An explicit zone: the same instant, printed in that zone; the zone goes into the
            # result's type (DateTime('UTC'), see _zoned_type), which the output formats honour.
            if scale is None:
                return cast(call.args[0], "TIMESTAMPTZ")
            return _to_datetime(call.args[0], scale)
        if scale is not None and call.args:
            return _to_datetime(call.args[0], scale)
        return None

    return translate


def _zoned_type(node: exp.Expression, columns: Columns) -> str | None:
    """``toDateTime(t, 'UTC')`` is a ``DateTime('UTC')``, ``toTimeZone(t, 'UTC')`` keeps
    ``t``'s type with the zone: formats print such columns in that zone, not the session's."""
    if not isinstance(node, exp.Anonymous):
        return None
    name = node.name.lower()
    if not _has_zone(list(node.expressions)):
        return "DateTime" if name == "todatetime" else None
    quoted = "'" + node.expressions[-1].name.replace("'", "\\'") + "'"
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


def _now(call: Call) -> exp.Expression | None:
    if call.args:
        return None
    # ClickHouse's now() is a DateTime (whole seconds). The value keeps DuckDB's microseconds,
    # so that `schedule_time <= now()` holds for a job scheduled a moment ago; the type says
    # DateTime (toTypeName, and results print whole seconds).
    return typed(exp.CurrentTimestamp(), "DateTime")


def _age(call: Call) -> exp.Expression | None:
    args = call.args
    if len(args) < 3 or not isinstance(args[0], exp.Literal):
        return None
    unit = DATE_UNITS.get(args[0].name.lower())
    if unit is None:
        raise NotImplemented_(f"age unit '{args[0].name}' is not known; use one of "
                              "second, minute, hour, day, week, month, quarter, year")
    return fn("date_sub", exp.Literal.string(unit), args[1], args[2])


def _date_diff(node: exp.Expression, type_of: TypeOf) -> exp.Expression:
    unit = node.args.get("unit")
    name = unit.name.lower() if unit is not None else "day"
    if name not in DATE_UNITS:
        raise NotImplemented_(f"dateDiff unit '{name}' is not known; use one of second, minute, "
                              "hour, day, week, month, quarter, year, millisecond, microsecond")
    node.set("unit", exp.Var(this=DATE_UNITS[name].upper()))
    return node


def _date_diff_name(node: exp.Expression, name: str, n: Namer) -> str | None:
    if not isinstance(node, exp.DateDiff):
        return None
    unit = node.args.get("unit")
    unit_text = f"'{unit.name.lower()}', " if unit is not None else ""
    return f"{name}({unit_text}{n.name(node.expression)}, {n.name(node.this)})"


#: ClickHouse formatDateTime specifiers that DuckDB's strftime spells differently (or lacks).
_STRFTIME = {"M": "%B", "i": "%M", "F": "%Y-%m-%d", "T": "%H:%M:%S", "D": "%m/%d/%y",
             "R": "%H:%M", "r": "%I:%M %p", "h": "%I", "n": "\n", "t": "\t", "s": "%S",
             "%": "%%", "e": "%-d", "k": "%-H", "l": "%-I", "c": "%-m", "C": "%y"}


def _format_date_time(node: exp.Expression, type_of: TypeOf) -> exp.Expression:
    """``formatDateTime(t, '%Y-%m-%d %H:%M:%S')``: ClickHouse's ``%M`` is the month name
    (minutes are ``%i``), and ``%F``/``%T`` are not DuckDB's; the format is re-spelt."""
    fmt = node.args.get("format")
    if not isinstance(fmt, exp.Literal) or not fmt.is_string:
        return node
    out, text, i = [], fmt.name, 0
    while i < len(text):
        if text[i] == "%" and i + 1 < len(text):
            spec = text[i + 1]
            out.append(_STRFTIME.get(spec, "%" + spec))
            i += 2
        else:
            out.append(text[i])
            i += 1
    node.set("format", exp.Literal.string("".join(out)))
    return node


def _epoch(duckdb_name: str):
    return lambda call: fn(duckdb_name, call.args[0]) if len(call.args) == 1 else None


def _interval(duckdb_name: str):
    return lambda call: fn(duckdb_name, call.args[0]) if call.args else None


_DATE_PARTS = [  # ClickHouse name, DuckDB part, ClickHouse result type
    ("toYear", "year", "UInt16"), ("toMonth", "month", "UInt8"),
    ("toDayOfMonth", "day", "UInt8"), ("toHour", "hour", "UInt8"),
    ("toMinute", "minute", "UInt8"), ("toSecond", "second", "UInt8"),
    ("toQuarter", "quarter", "UInt8"), ("toDayOfYear", "dayofyear", "UInt16"),
]

_INTERVALS = ["Microsecond", "Millisecond", "Second", "Minute", "Hour", "Day", "Week", "Month",
              "Year"]

FUNCTIONS = [
    *(Function(name, translate=_date_part(part), result_type=t) for name, part, t in _DATE_PARTS),
    # sqlglot parses toDayOfWeek(t) as DayOfWeekIso; a call left by name becomes isodow.
    Function("toDayOfWeek", nodes=(exp.DayOfWeekIso, exp.DayOfWeek),
             translate=_date_part("isodow"), result_type="UInt8"),
    Function("toStartOfMinute", aliases=("toStartOfHour", "toStartOfDay"),
             nodes=(exp.TimestampTrunc, exp.DateTrunc), result_type=_truncated_type,
             column_name=_truncated_name),
    Function("toStartOfFiveMinutes", aliases=("toStartOfFiveMinute",), translate=_bucket(5),
             result_type="DateTime"),
    Function("toStartOfTenMinutes", translate=_bucket(10), result_type="DateTime"),
    Function("toStartOfFifteenMinutes", translate=_bucket(15), result_type="DateTime"),
    Function("toStartOfInterval", translate=_start_of_interval,
             result_type=_start_of_interval_type),
    Function("now", translate=_now, result_type="DateTime"),
    # DuckDB's precision, not now64()'s 3.
    Function("now64", translate=lambda call: typed(exp.CurrentTimestamp(), "DateTime64(6)")),
    Function("today", translate=lambda call: None if call.args else exp.CurrentDate()),
    Function("toDateTime", translate=_zoned(0), result_type=_zoned_type),
    Function("toDateTime64", translate=_zoned(6), result_type=_zoned_type),
    Function("toTimeZone", translate=_zoned(None), result_type=_zoned_type),
    Function("toUnixTimestamp", result_type="UInt32", translate=lambda call: cast(
        fn("floor", fn("epoch", call.args[0])), "BIGINT") if call.args else None),
    Function("toYYYYMMDD", result_type="UInt32", translate=lambda call: cast(fn(
        "strftime", call.args[0], exp.Literal.string("%Y%m%d")), "UINTEGER") if call.args
        else None),
    Function("toUnixTimestamp64Micro", translate=_epoch("epoch_us"), result_type="Int64"),
    Function("toUnixTimestamp64Milli", translate=_epoch("epoch_ms"), result_type="Int64"),
    Function("toUnixTimestamp64Nano", translate=_epoch("epoch_ns"), result_type="Int64"),
    Function("age", translate=_age, result_type="Int64"),
    Function("dateDiff", nodes=(exp.DateDiff,), rewrite=_date_diff, result_type="Int64",
             column_name=_date_diff_name),
    Function("formatDateTime", nodes=(exp.TimeToStr,), rewrite=_format_date_time),
    *(Function(f"toInterval{unit}", translate=_interval(f"to_{unit.lower()}s"))
      for unit in _INTERVALS),
]
