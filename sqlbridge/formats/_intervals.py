"""Intervals and durations: a count of the unit for a ClickHouse ``Interval*`` type, else
DuckDB's wording (``1 day 02:00:00``)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

STRING = pa.string()

_SECONDS = {
    "Nanosecond": 1e-9,
    "Microsecond": 1e-6,
    "Millisecond": 1e-3,
    "Second": 1,
    "Minute": 60,
    "Hour": 3600,
    "Day": 86400,
    "Week": 604800,
}


_MONTHS = {"Month": 1, "Quarter": 3, "Year": 12}


_NANOS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def _interval_parts(arr: pa.Array) -> list:
    """(months, days, nanoseconds) per value, None for nulls."""
    if pat.is_duration(arr.type):
        scale = _NANOS[arr.type.unit]
        counts = pc.cast(arr, pa.int64()).to_pylist()
        return [None if n is None else (0, 0, n * scale) for n in counts]
    return [None if v is None else (v.months, v.days, v.nanoseconds) for v in arr.to_pylist()]


def _each(arr: pa.Array, text) -> pa.Array:
    """``text(months, days, nanoseconds)`` for every value of ``arr``; nulls stay null."""
    return pa.array([None if v is None else text(*v) for v in _interval_parts(arr)], STRING)


def interval_numbers(arr: pa.Array, unit: str) -> pa.Array:
    """A ClickHouse ``IntervalSecond`` (etc.) value is just a count of its unit."""

    def count_of(months: int, days: int, nanos: int) -> str:
        if unit in _MONTHS:
            count = months / _MONTHS[unit]
        else:
            count = (months * 30 * 86400 + days * 86400 + nanos / 1e9) / _SECONDS.get(unit, 1)
        return str(int(count)) if count == int(count) else repr(count)

    return _each(arr, count_of)


def _words(months: int, days: int, nanos: int) -> str:
    words = []
    years, months = divmod(months, 12) if months >= 0 else (-(-months // 12), -(-months % 12))
    for count, word in ((years, "year"), (months, "month"), (days, "day")):
        if count:
            words.append(f"{count} {word}{'' if abs(count) == 1 else 's'}")
    if nanos or not words:
        sign = "-" if nanos < 0 else ""
        micros = abs(nanos) // 1000
        seconds, micros = divmod(micros, 10**6)
        clock = f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        words.append(clock + (f".{micros:06d}" if micros else ""))
    return " ".join(words)


def interval_text(arr: pa.Array) -> pa.Array:
    """Intervals without a ClickHouse type: DuckDB's wording (``1 day 02:00:00``)."""
    return _each(arr, _words)
