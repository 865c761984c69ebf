"""ClickHouse type names for Arrow columns.

The output formats need a ClickHouse type for every column: JSON prints it in ``meta``,
``*WithNamesAndTypes`` print it in a header line, and Pretty/Markdown align numbers to the
right.  A column may carry its exact type in the field metadata (``b"clickhouse_type"``: the
session attaches ``Enum8(...)``, ``Nullable(UInt64)`` and so on to the system-table columns);
everything else is inferred from the Arrow type the way ClickHouse's Arrow reader would.

The small parser at the bottom splits a type name into its parts so that the renderers can ask
"is this nullable?", "is this a number?" without re-implementing the grammar everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

__all__ = ["clickhouse_type", "parse_type", "CHType", "unwrap"]

METADATA_KEY = b"clickhouse_type"

_INTS = {
    pa.int8(): "Int8",
    pa.int16(): "Int16",
    pa.int32(): "Int32",
    pa.int64(): "Int64",
    pa.uint8(): "UInt8",
    pa.uint16(): "UInt16",
    pa.uint32(): "UInt32",
    pa.uint64(): "UInt64",
    pa.float16(): "Float32",
    pa.float32(): "Float32",
    pa.float64(): "Float64",
}

_TIME_UNITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}

# Types ClickHouse never wraps in Nullable(...).
_NEVER_NULLABLE = ("Array(", "Tuple(", "Map(", "Nullable(")


def clickhouse_type(field: pa.Field, column: pa.ChunkedArray | pa.Array | None = None) -> str:
    """The ClickHouse type name of ``field``.

    ``field.metadata[b"clickhouse_type"]`` wins verbatim.  Otherwise the type is inferred from
    the Arrow type, with ``Nullable(...)`` where ``column`` actually holds a null: around the
    column's type, or around the element type of an array, tuple or map (which themselves are
    never Nullable in ClickHouse).  Without ``column`` nothing is Nullable.
    """
    if field.metadata and METADATA_KEY in field.metadata:
        return field.metadata[METADATA_KEY].decode()
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return _nullable(field.type, column)


def _nullable(t: pa.DataType, data: pa.Array | None) -> str:
    name = _arrow_to_clickhouse(t, data)
    if data is None or not data.null_count or name.startswith(_NEVER_NULLABLE[:3]):
        return name
    if name.startswith("LowCardinality("):
        return f"LowCardinality(Nullable({name[len('LowCardinality(') : -1]}))"
    return f"Nullable({name})"


def _arrow_to_clickhouse(t: pa.DataType, data: pa.Array | None = None) -> str:
    if t in _INTS:
        return _INTS[t]
    if pat.is_boolean(t):
        return "Bool"
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return "String"
    if pat.is_binary(t) or pat.is_large_binary(t) or pat.is_binary_view(t):
        return "String"
    if pat.is_fixed_size_binary(t):
        return f"FixedString({t.byte_width})"
    if pat.is_timestamp(t):
        scale = _TIME_UNITS[t.unit]
        return "DateTime" if scale == 0 else f"DateTime64({scale})"
    if pat.is_date(t):
        # ClickHouse prints Date and Date32 alike; Date (1970..2149) is what a ClickHouse user
        # expects, Date32 only says that some value lies outside that range.
        return "Date32" if data is not None and _outside_date_range(data) else "Date"
    if pat.is_decimal(t):
        return f"Decimal({t.precision}, {t.scale})"
    if pat.is_dictionary(t):
        return f"LowCardinality({_arrow_to_clickhouse(t.value_type)})"
    if pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t) or pat.is_list_view(t):
        values = _flat_values(data)
        return f"Array({_nullable(t.value_type, values)})"
    if pat.is_map(t):
        key = _arrow_to_clickhouse(t.key_type)
        items = data.items if data is not None else None
        return f"Map({key}, {_nullable(t.item_type, items)})"
    if pat.is_struct(t):
        parts = []
        for i, f in enumerate(t):
            child = data.field(i) if data is not None else None
            parts.append(f"{_tuple_name(f.name)} {_nullable(f.type, child)}")
        return f"Tuple({', '.join(parts)})"
    if pat.is_null(t):
        return "Nullable(Nothing)"
    # Durations, intervals, times: rendered as text, so call them strings.
    return "String"


def _outside_date_range(data: pa.Array) -> bool:
    days = pc.min_max(data.cast(pa.date32()).cast(pa.int32()))
    low, high = days["min"].as_py(), days["max"].as_py()
    return low is not None and (low < 0 or high > 65535)


def _flat_values(data: pa.Array | None) -> pa.Array | None:
    """The elements of the (non-null) lists of ``data``."""
    if data is None:
        return None
    if pat.is_fixed_size_list(data.type) or pat.is_list_view(data.type):
        return data.flatten()
    start, stop = data.offsets[0].as_py(), data.offsets[-1].as_py()
    return data.values.slice(start, stop - start)


def _tuple_name(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


@dataclass(frozen=True)
class CHType:
    """A parsed ClickHouse type: ``name`` and its arguments (nested types or raw text)."""

    name: str
    args: tuple = ()

    def __str__(self) -> str:
        if not self.args:
            return self.name
        parts = []
        for a in self.args:
            if isinstance(a, tuple):
                parts.append(f"{_tuple_name(a[0])} {a[1]}" if a[0] else str(a[1]))
            else:
                parts.append(str(a))
        return f"{self.name}({', '.join(parts)})"

    @property
    def nullable(self) -> bool:
        return self.name == "Nullable"

    @property
    def base(self) -> CHType:
        """The type without Nullable/LowCardinality wrappers."""
        return unwrap(self)

    def is_number(self) -> bool:
        """ClickHouse's ``isNumber``: integers, floats, decimals (not Bool, not dates)."""
        n = self.base.name
        return n.startswith(("Int", "UInt", "Float", "Decimal", "BFloat"))

    def align_right(self) -> bool:
        """``shouldAlignRightInPrettyFormats``: numbers, dates and times."""
        n = self.base.name
        return self.is_number() or n.startswith(("Date", "Time"))


def unwrap(t: CHType) -> CHType:
    while t.name in ("Nullable", "LowCardinality") and t.args:
        t = t.args[0]
    return t


def parse_type(text: str) -> CHType:
    """Parse a ClickHouse type name; unknown shapes keep their arguments as raw strings."""
    return _parse(text, 0)[1]


_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")
_ELEMENT = re.compile(r"(`(?:[^`\\]|\\.)*`|[A-Za-z_][A-Za-z0-9_]*)\s+(\S.*)$", re.S)


def _parse(text: str, pos: int) -> tuple[int, CHType]:
    m = _NAME.match(text, pos)
    if not m:
        return len(text), CHType(text.strip())
    name, pos = m.group(1), m.end()
    if pos >= len(text) or text[pos] != "(":
        return pos, CHType(name)
    args = []
    pos += 1
    while True:
        start, depth, quote = pos, 0, ""
        # find the extent of one argument
        while pos < len(text):
            c = text[pos]
            if quote:
                if c == "\\":
                    pos += 1
                elif c == quote:
                    quote = ""
            elif c in "'`":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                break
            pos += 1
        raw = text[start:pos].strip()
        args.append(_parse_arg(name, raw))
        if pos >= len(text) or text[pos] == ")":
            pos += 1
            break
        pos += 1
    return pos, CHType(name, tuple(args))


_TYPE_ARGS = {"Nullable", "LowCardinality", "Array", "Map"}


def _parse_arg(outer: str, raw: str):
    if outer in _TYPE_ARGS:
        return _parse(raw, 0)[1]
    if outer in ("Tuple", "Nested", "Variant"):
        # ``name Type`` or just ``Type``
        m = _ELEMENT.match(raw)
        if m:
            name = m.group(1)
            if name.startswith("`"):
                name = re.sub(r"\\(.)", r"\1", name[1:-1])
            return (name, _parse(m.group(2), 0)[1])
        return (None, _parse(raw, 0)[1])
    return raw
