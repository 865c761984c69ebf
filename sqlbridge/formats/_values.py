"""Arrow columns -> ClickHouse's text for each value, one Arrow string array per column.

ClickHouse serializes a value in one of a few *styles* depending on the format:

``text``     raw (``serializeText``): Pretty, Vertical, TSVRaw
``escaped``  backslash escapes (``serializeTextEscaped``): TabSeparated, Markdown
``quoted``   SQL literals (``serializeTextQuoted``): Values, and every element inside an
             Array/Tuple/Map in the three styles above
``csv``      RFC 4180 quoting (``serializeTextCSV``)
``json``     JSON values (``serializeTextJSON``)

Every function here works on whole columns with ``pyarrow.compute`` and keeps nulls as nulls:
the format decides how a top-level NULL looks (``\\N``, ``ᴺᵁᴸᴸ``, ``null``, ``NULL``).  Python
loops only run over the rare values that need them (floats printed with an exponent, strings
with control characters, nested values in pretty-printed JSON).
"""

from __future__ import annotations

import os
import re
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from ..chtypes import CHType, clickhouse_type, parse_type, unwrap
from ..errors import BadArguments

STRING = pa.string()

# --------------------------------------------------------------------------- escaping tables

# serializeTextEscaped / serializeTextQuoted (writeAnyEscapedString): these and nothing else.
_ESCAPES = [
    ("\\", "\\\\"),
    ("\b", "\\b"),
    ("\f", "\\f"),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\0", "\\0"),
    ("'", "\\'"),
]
_ESCAPE_RE = r"[\\\x08\x0c\n\r\t\x00']"

# writeJSONString: the short escapes, then \u00XX (upper-case hex) for other control characters.
_JSON_SHORT = [
    ("\\", "\\\\"),
    ('"', '\\"'),
    ("/", "\\/"),
    ("\b", "\\b"),
    ("\f", "\\f"),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
]
_JSON_SHORT_RE = r'[\\"/\x08\x0c\n\r\t]'
_JSON_OTHER = {
    c: f"\\u{c:04X}" for c in list(range(0x20)) + [0x2028, 0x2029] if chr(c) not in "\b\f\n\r\t"
}
_JSON_OTHER_RE = "[" + "".join(re.escape(chr(c)) for c in _JSON_OTHER) + "]"
_JSON_ANY_RE = _JSON_OTHER_RE[:-1] + _JSON_SHORT_RE[1:]


def _replace_all(arr: pa.Array, pairs, pattern: str) -> pa.Array:
    """Apply ``pairs`` of literal replacements, but only to the values that need any."""
    if len(arr) == 0:
        return arr
    mask = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
    if not pc.any(mask).as_py():
        return arr
    subset = arr.filter(mask)
    for old, new in pairs:
        subset = pc.replace_substring(subset, old, new)
    return pc.replace_with_mask(arr, mask, subset)


def _translate(arr: pa.Array, table: dict, pattern: str) -> pa.Array:
    """Like :func:`_replace_all` for many single characters: Python ``str.translate`` on the
    (rare) values that contain one of them."""
    if len(arr) == 0:
        return arr
    mask = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
    if not pc.any(mask).as_py():
        return arr
    subset = [s.translate(table) for s in arr.filter(mask).to_pylist()]
    return pc.replace_with_mask(arr, mask, pa.array(subset, STRING))


def escape(arr: pa.Array) -> pa.Array:
    """TabSeparated escaping (the body of a quoted literal)."""
    return _replace_all(arr, _ESCAPES, _ESCAPE_RE)


def quote(arr: pa.Array) -> pa.Array:
    return wrap(escape(arr), "'", "'")


def csv_quote(arr: pa.Array) -> pa.Array:
    arr = _replace_all(arr, [('"', '""')], '"')
    return wrap(arr, '"', '"')


def json_string(arr: pa.Array) -> pa.Array:
    if len(arr):
        mask = pc.fill_null(pc.match_substring_regex(arr, _JSON_ANY_RE), False)
        if pc.any(mask).as_py():
            subset = arr.filter(mask)
            for old, new in _JSON_SHORT:
                subset = pc.replace_substring(subset, old, new)
            subset = _translate(subset, _JSON_OTHER, _JSON_OTHER_RE)
            arr = pc.replace_with_mask(arr, mask, subset)
    return wrap(arr, '"', '"')


def wrap(arr: pa.Array, left: str, right: str) -> pa.Array:
    """``left + value + right`` for every non-null value."""
    return pc.binary_join_element_wise(left, arr, right, "")


def concat(*parts) -> pa.Array:
    """Element-wise concatenation of arrays and/or Python strings."""
    return pc.binary_join_element_wise(*parts, "")


# --------------------------------------------------------------------------- numbers


def _float_fix(text: str) -> str:
    """Arrow prints ``1e+16``; ClickHouse (like JavaScript) writes plain digits up to 1e21 and
    an exponent without ``+`` above."""
    mantissa, _, exp = text.partition("e+")
    sign = ""
    if mantissa.startswith("-"):
        sign, mantissa = "-", mantissa[1:]
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + int(exp)  # position of the decimal point within digits
    if point > 21:
        return sign + mantissa + "e" + exp
    if point < len(digits):
        return sign + digits[:point] + "." + digits[point:]
    return sign + digits + "0" * (point - len(digits))


def floats(arr: pa.Array) -> pa.Array:
    out = pc.cast(arr, STRING)
    if len(out) == 0:
        return out
    mask = pc.fill_null(pc.match_substring(out, "e+"), False)
    if pc.any(mask).as_py():
        fixed = [_float_fix(s) for s in out.filter(mask).to_pylist()]
        out = pc.replace_with_mask(out, mask, pa.array(fixed, STRING))
    return out


def decimals(arr: pa.Array) -> pa.Array:
    """Decimals without trailing zeros (``output_format_decimal_trailing_zeros=0``)."""
    out = pc.cast(arr, STRING)
    if arr.type.scale > 0:
        out = pc.replace_substring_regex(out, r"\.?0+$", "")
        out = pc.replace_substring_regex(out, r"^(-?)$", r"${1}0")
    return out


# --------------------------------------------------------------------------- time


def local_zone() -> str:
    """The process's IANA zone: ``$TZ``, else the ``/etc/localtime`` link, else UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        return tz
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    if marker in target:
        return target.split(marker, 1)[1]
    try:
        with open("/etc/timezone") as f:
            return f.read().strip() or "UTC"
    except OSError:
        return "UTC"


_UNIT_FOR_SCALE = [(0, "s"), (3, "ms"), (6, "us"), (9, "ns")]


def datetimes(arr: pa.Array, scale: int, tz: str) -> pa.Array:
    """``YYYY-MM-DD hh:mm:ss[.fff...]`` in ``tz``; naive timestamps are UTC instants.

    Arrow's timestamp-to-string cast writes exactly ClickHouse's layout (the fraction has as
    many digits as the unit), and is much faster than ``strftime``; ``local_timestamp`` moves
    the instants to the zone's wall clock first.
    """
    unit = next((u for s, u in _UNIT_FOR_SCALE if s >= scale), "ns")
    if arr.type.tz is None:
        arr = arr.cast(pa.timestamp(arr.type.unit, tz="UTC"))
    if arr.type.unit != unit:
        arr = pc.cast(arr, pa.timestamp(unit, tz="UTC"), safe=False)
    wall = pc.local_timestamp(arr.cast(pa.timestamp(unit, tz=tz)))
    out = pc.cast(wall, STRING)
    if scale not in (0, 3, 6, 9):
        out = pc.utf8_slice_codeunits(out, 0, 20 + scale)
    return out


# --------------------------------------------------------------------------- the dispatcher


class Column:
    """One result column: its name, Arrow data and parsed ClickHouse type."""

    def __init__(
        self, name: str, field: pa.Field, data: pa.ChunkedArray, type_name: str | None = None
    ):
        self.name = name
        self.type_name = type_name or clickhouse_type(field, data)
        self.type = parse_type(self.type_name)
        if isinstance(data, pa.ChunkedArray):
            data = data.chunk(0) if data.num_chunks == 1 else data.combine_chunks()
        self.data = data

    def head(self, n: int) -> Column:
        """The same column cut to its first ``n`` values."""
        part = Column.__new__(Column)
        part.name, part.type_name, part.type = self.name, self.type_name, self.type
        part.data = self.data.slice(0, n)
        return part

    @property
    def align_right(self) -> bool:
        return self.type.align_right()

    @property
    def is_number(self) -> bool:
        return self.type.is_number()


def columns_of(table: pa.Table) -> list[Column]:
    return [Column(f.name, f, table.column(i)) for i, f in enumerate(table.schema)]


def _scale(t: CHType, arr_type: pa.DataType) -> int:
    if t.name == "DateTime64" and t.args:
        return int(t.args[0])
    if t.name == "DateTime":
        return 0
    return {"s": 0, "ms": 3, "us": 6, "ns": 9}[arr_type.unit]


def _own_zone(t: CHType) -> str | None:
    """The zone written into a ``DateTime('Zone')``/``DateTime64(P, 'Zone')`` type, if any."""
    for arg in t.args if t.name in ("DateTime", "DateTime64") else ():
        if isinstance(arg, str) and arg.startswith("'"):
            return arg.strip("'")
    return None


def _unify_strings(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pat.is_large_string(t) or pat.is_string_view(t):
        return arr.cast(STRING)
    if (
        pat.is_binary(t)
        or pat.is_large_binary(t)
        or pat.is_binary_view(t)
        or (pat.is_fixed_size_binary(t))
    ):
        raw = arr.cast(pa.binary())
        try:
            return raw.cast(STRING)
        except pa.ArrowInvalid:  # not UTF-8: show U+FFFD, as ClickHouse's JSON output does
            values = [None if b is None else b.decode("utf-8", "replace") for b in raw.to_pylist()]
            return pa.array(values, STRING)
    return arr


# The Pretty formats write values as ``text`` except that named tuples, wherever they are,
# become indented JSON objects; elements inside arrays/maps are then ``pretty_quoted``.
_PRETTY_BASE = {"pretty": "text", "pretty_quoted": "quoted"}


def serialize(arr: pa.Array, chtype: CHType, style: str, tz: str) -> pa.Array:
    """Each value of ``arr`` as ClickHouse would write it in ``style``; nulls stay null."""
    if pat.is_struct(arr.type) and style in _PRETTY_BASE:
        return _pretty_struct(arr, chtype, style, tz)
    style = _PRETTY_BASE.get(style, style) if not _is_container(arr.type) else style
    t = arr.type
    base = unwrap(chtype)
    if pat.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if (
        pat.is_string(t)
        or pat.is_large_string(t)
        or pat.is_string_view(t)
        or pat.is_binary(t)
        or pat.is_large_binary(t)
        or pat.is_fixed_size_binary(t)
        or pat.is_binary_view(t)
    ):
        return _strings(_unify_strings(arr), style)
    if pat.is_boolean(t):
        return pc.if_else(arr, "true", "false")
    if pat.is_integer(t):
        if base.name == "Bool":
            return pc.if_else(pc.not_equal(arr, 0), "true", "false")
        return pc.cast(arr, STRING)
    if pat.is_floating(t):
        if pat.is_float16(t):
            arr = arr.cast(pa.float32())
        out = floats(arr)
        if style == "json":
            out = pc.if_else(pc.is_finite(arr), out, pa.scalar(None, STRING))
        return out
    if pat.is_decimal(t):
        return decimals(arr)
    if pat.is_timestamp(t):
        return _maybe_quote(datetimes(arr, _scale(base, t), _own_zone(base) or tz), style)
    if pat.is_date(t):
        return _maybe_quote(pc.cast(arr.cast(pa.date32()), STRING), style)
    if pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t) or pat.is_list_view(t):
        return _lists(arr, base, style, tz)
    if pat.is_map(t):
        return _maps(arr, base, style, tz)
    if pat.is_struct(t):
        return _structs(arr, base, style, tz)
    if pat.is_null(t):
        return pa.nulls(len(arr), STRING)
    if pat.is_interval(t) or pat.is_duration(t):
        if base.name.startswith("Interval"):
            return _interval_numbers(arr, base.name[len("Interval") :])
        return _strings(_interval_text(arr), style)
    # times of day and anything else: Arrow's own text, as a string
    try:
        text = pc.cast(arr, STRING)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        text = pa.array([None if v is None else str(v) for v in arr.to_pylist()], STRING)
    return _strings(text, style)


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


def _interval_numbers(arr: pa.Array, unit: str) -> pa.Array:
    """A ClickHouse ``IntervalSecond`` (etc.) value is just a count of its unit."""
    out = []
    for v in _interval_parts(arr):
        if v is None:
            out.append(None)
            continue
        months, days, nanos = v
        if unit in _MONTHS:
            count = months / _MONTHS[unit]
        else:
            count = (months * 30 * 86400 + days * 86400 + nanos / 1e9) / _SECONDS.get(unit, 1)
        out.append(str(int(count)) if count == int(count) else repr(count))
    return pa.array(out, STRING)


def _interval_text(arr: pa.Array) -> pa.Array:
    """Intervals without a ClickHouse type: DuckDB's wording (``1 day 02:00:00``)."""
    out = []
    for v in _interval_parts(arr):
        if v is None:
            out.append(None)
            continue
        months, days, nanos = v
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
        out.append(" ".join(words))
    return pa.array(out, STRING)


def _strings(arr: pa.Array, style: str) -> pa.Array:
    if style == "text":
        return arr
    if style == "escaped":
        return escape(arr)
    if style == "quoted":
        return quote(arr)
    if style == "csv":
        return csv_quote(arr)
    return json_string(arr)


def _maybe_quote(arr: pa.Array, style: str) -> pa.Array:
    if style == "quoted":
        return wrap(arr, "'", "'")
    if style in ("csv", "json"):
        return wrap(arr, '"', '"')
    return arr


def _element_style(style: str) -> str:
    if style in _PRETTY_BASE:
        return "pretty_quoted"
    return "json" if style == "json" else "quoted"


def _is_container(t: pa.DataType) -> bool:
    if pat.is_dictionary(t):
        return False
    return pat.is_nested(t)


def _pretty_struct(arr: pa.Array, chtype: CHType, style: str, tz: str) -> pa.Array:
    from ._jsonpretty import json_pretty  # a cycle at import time otherwise

    fields = list(arr.type)
    if fields and _tuple_is_named(unwrap(chtype), fields):
        out = json_pretty(arr, chtype, tz, 0, " ")
        return pc.if_else(arr.is_null(), pa.scalar(None, STRING), out)
    return _structs(arr, unwrap(chtype), style, tz)


def _null_word(style: str) -> str:
    return "null" if style == "json" else "NULL"


def _finish_nested(text: pa.Array, style: str) -> pa.Array:
    style = _PRETTY_BASE.get(style, style)
    return csv_quote(text) if style == "csv" else text


def type_arg(t: CHType, i: int) -> CHType:
    """The ``i``-th type inside ``t`` (an Array's element, a Map's key or value, a Tuple's
    element without its name); an empty ``CHType`` when the name does not say."""
    if i < len(t.args):
        a = t.args[i]
        if isinstance(a, tuple):
            a = a[1]
        if isinstance(a, CHType):
            return a
    return CHType("")


def _elements(values: pa.Array, field: pa.Field, chtype: CHType, style: str, tz: str):
    if not chtype.name:
        chtype = parse_type(clickhouse_type(field))
    inner = _element_style(style)
    out = serialize(values, chtype, inner, tz)
    return pc.fill_null(out, _null_word(style))


def _lists(arr: pa.Array, t: CHType, style: str, tz: str) -> pa.Array:
    if pat.is_list_view(arr.type) or pat.is_fixed_size_list(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_field))
    if pat.is_large_list(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_field))
    values = arr.values  # respects the array's own offset through offsets below
    items = _elements(values, arr.type.value_field, type_arg(t, 0), style, tz)
    rebuilt = pa.ListArray.from_arrays(arr.offsets, items, mask=arr.is_null())
    joined = pc.binary_join(rebuilt, ",")
    return _finish_nested(wrap(joined, "[", "]"), style)


def _maps(arr: pa.Array, t: CHType, style: str, tz: str) -> pa.Array:
    keys = _elements(arr.keys, arr.type.key_field, type_arg(t, 0), style, tz)
    if style == "json" and not pat.is_string(arr.keys.type):
        keys = wrap(pc.cast(keys, STRING), '"', '"')
    items = _elements(arr.items, arr.type.item_field, type_arg(t, 1), style, tz)
    pairs = concat(keys, ":", items)
    rebuilt = pa.ListArray.from_arrays(arr.offsets, pairs, mask=arr.is_null())
    return _finish_nested(wrap(pc.binary_join(rebuilt, ","), "{", "}"), style)


def _structs(arr: pa.Array, t: CHType, style: str, tz: str) -> pa.Array:
    fields = list(arr.type)
    if not fields:
        return pa.array(["()"] * len(arr), STRING)
    named = style == "json" and _tuple_is_named(t, fields)
    parts = []
    for i, f in enumerate(fields):
        child = arr.field(i)
        text = _elements(child, f, type_arg(t, i), style, tz)
        if named:
            key = json_string(pa.array([f.name], STRING))[0].as_py()
            text = concat(key + ":", text)
        parts.append(text)
    joined = pc.binary_join_element_wise(*parts, ",")
    if style == "json":
        left, right = ("{", "}") if named else ("[", "]")
    else:
        left, right = "(", ")"
    out = wrap(joined, left, right)
    out = pc.if_else(arr.is_null(), pa.scalar(None, STRING), out)
    return _finish_nested(out, style)


def _tuple_is_named(t: CHType, fields) -> bool:
    if t.name == "Tuple" and t.args:
        return all(isinstance(a, tuple) and a[0] for a in t.args)
    return all(f.name and not f.name.isdigit() for f in fields)


# --------------------------------------------------------------------------- helpers


#: formatReadableQuantity's units, a factor of 1000 apart.
QUANTITY_UNITS = (
    "", " thousand", " million", " billion", " trillion", " quadrillion", " quintillion",
    " sextillion", " septillion", " octillion", " nonillion", " decillion", " undecillion",
    " duodecillion", " tredecillion", " quattuordecillion", " quindecillion", " sexdecillion",
    " septendecillion", " octodecillion", " novemdecillion", " vigintillion",
)  # fmt: skip


def readable_quantity(value: float) -> str:
    """``formatReadableQuantity(value, 2)``: ``2.00 million``."""
    units = QUANTITY_UNITS
    i = 0
    while i + 1 < len(units) and abs(value) >= 1000:
        value /= 1000
        i += 1
    if abs(value) >= 1e60:
        # double-conversion's ToFixed refuses such numbers; ClickHouse then prints the float
        return floats(pa.array([value], pa.float64()))[0].as_py() + units[i]
    fixed = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=_WIDE)
    return f"{fixed}{units[i]}"


_WIDE = Context(prec=100)


def number_tip(value) -> str:
    """The `` -- 2.00 million`` tip ClickHouse prints after a large number in Pretty formats."""
    if value is None:
        return ""
    v = float(value)
    a = abs(v)
    if v != v or a == float("inf") or a <= 1_000_000 or 1e17 < a < 1.844675e19:
        return ""
    return " -- " + readable_quantity(v)


def zone(time_zone: str | None) -> str:
    """``time_zone``, or the local zone when None; an unknown name is a ``BadArguments``."""
    tz = time_zone or local_zone()
    _check_zone(tz)
    return tz


@cache
def _check_zone(tz: str) -> None:
    try:
        pa.array([0], pa.timestamp("s", tz=tz)).cast(pa.timestamp("s", tz="UTC"))
        pc.local_timestamp(pa.array([0], pa.timestamp("s", tz=tz)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise BadArguments(f"Invalid time zone: {tz}") from None


def serialize_column(col: Column, style: str, tz: str, null: str | None = None) -> pa.Array:
    """``col`` in ``style``; top-level nulls replaced by ``null`` when given."""
    out = serialize(col.data, col.type, style, tz)
    if null is not None and out.null_count:
        out = pc.fill_null(out, null)
    return out


def rows_text(parts: list, num_rows: int, trim: int = 0, head: str = "") -> str:
    """``head``, then every row written as the concatenation of ``parts``, as one ``str``.

    ``parts`` mixes constant strings (separators, JSON keys) and string arrays (one value per
    row, no nulls), so a whole format is a single ``binary_join_element_wise`` pass per slice
    of rows, and the text is read straight out of the Arrow buffer.  ``trim`` drops that many
    trailing characters (a separator after the last row).
    """
    return "".join([head, *rows_pieces(parts, num_rows, trim)])


def rows_pieces(parts: list, num_rows: int, trim: int = 0) -> list[str]:
    """:func:`rows_text` as a list of pieces, for callers that add more text around it
    (one final ``join`` instead of copying a large text twice).  Slices of rows keep every
    Arrow buffer far below the 2 GiB limit of a string array."""
    if num_rows == 0:
        return []
    if not any(isinstance(p, pa.Array) for p in parts):
        text = "".join(parts) * num_rows
        return [text[: len(text) - trim]]
    pieces = []
    for start in range(0, num_rows, _ROWS_PER_SLICE):
        args = [p.slice(start, _ROWS_PER_SLICE) if isinstance(p, pa.Array) else p for p in parts]
        pieces.append(_buffer_text(pc.binary_join_element_wise(*args, "")))
    if trim:
        pieces[-1] = pieces[-1][: len(pieces[-1]) - trim]
    return pieces


_ROWS_PER_SLICE = 1 << 16


def _buffer_text(arr: pa.Array) -> str:
    """The concatenated values of a null-free string array."""
    offsets = memoryview(arr.buffers()[1]).cast("i")
    start, stop = offsets[arr.offset], offsets[arr.offset + len(arr)]
    data = arr.buffers()[2]
    if data is None or start == stop:
        return ""
    return str(memoryview(data)[start:stop], "utf-8")


def interleave(cells: list, sep: str) -> list:
    """``[c0, sep, c1, sep, c2]``: the parts of a row whose cells are separated by ``sep``."""
    parts: list = []
    for i, c in enumerate(cells):
        if i:
            parts.append(sep)
        parts.append(c)
    return parts
