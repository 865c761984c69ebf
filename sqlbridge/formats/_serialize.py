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

JSONPretty (``json_pretty``): ``serializeTextJSONPretty``, JSON with nested values spread over
indented lines. The ``JSON`` format uses it for nested values inside ``data`` (tab indents), and
the Pretty formats for named tuples (``output_format_pretty_named_tuples_as_json``, one-space
indents). It lives with ``serialize`` because the two call each other: a named tuple inside an
array in a Pretty format is JSON, and JSON's leaves are ``serialize``'s."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from ..chtypes import CHType, clickhouse_type, parse_type, unwrap
from ._columns import Column, type_arg
from ._escape import concat, csv_quote, escape, json_string, quote, wrap
from ._intervals import interval_numbers, interval_text
from ._numbers import decimals, floats
from ._time import datetimes

STRING = pa.string()


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
            return interval_numbers(arr, base.name[len("Interval") :])
        return _strings(interval_text(arr), style)
    # times of day and anything else: Arrow's own text, as a string
    try:
        text = pc.cast(arr, STRING)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        text = pa.array([None if v is None else str(v) for v in arr.to_pylist()], STRING)
    return _strings(text, style)


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


def serialize_column(col: Column, style: str, tz: str, null: str | None = None) -> pa.Array:
    """``col`` in ``style``; top-level nulls replaced by ``null`` when given."""
    out = serialize(col.data, col.type, style, tz)
    if null is not None and out.null_count:
        out = pc.fill_null(out, null)
    return out


# ------------------------------------------------------------------------ JSONPretty


def _key(name: str) -> str:
    return json_string(pa.array([name], pa.string()))[0].as_py()


def _is_nested(t: pa.DataType) -> bool:
    return (
        pat.is_list(t)
        or pat.is_large_list(t)
        or pat.is_fixed_size_list(t)
        or pat.is_list_view(t)
        or pat.is_map(t)
        or pat.is_struct(t)
    )


def json_pretty(arr: pa.Array, chtype: CHType, tz: str, indent: int, unit: str) -> pa.Array:
    """``serializeTextJSONPretty``: arrays of scalars stay on one line; arrays of nested
    values, tuples and maps put each element on its own line, one level deeper.

    ``indent`` is the depth of the value's own line, ``unit`` a tab (JSON) or ``" "``
    (Pretty formats).
    """
    t = arr.type
    if pat.is_dictionary(t):
        arr, t = arr.dictionary_decode(), arr.type.value_type
    if not _is_nested(t):
        return pc.fill_null(serialize(arr, chtype, "json", tz), "null")
    base = unwrap(chtype) if chtype.name else CHType("")
    if not pat.is_map(t) and not pat.is_struct(t):
        if not pat.is_list(t):
            arr = arr.cast(pa.list_(t.value_field))
        if not _is_nested(arr.type.value_type):
            return pc.fill_null(serialize(arr, chtype, "json", tz), "null")
        child_type = _child_type(base, 0, arr.type.value_field)
        children = json_pretty(arr.values, child_type, tz, indent + 1, unit).to_pylist()
        offsets = arr.offsets.to_pylist()
        blocks = [
            _block(unit, "[", "]", children[offsets[i] : offsets[i + 1]], indent)
            for i in range(len(arr))
        ]
        return pa.array(blocks, pa.string())
    if pat.is_map(t):
        keys = serialize(arr.keys, _child_type(base, 0, t.key_field), "json", tz)
        if not pat.is_string(arr.keys.type):
            keys = wrap(pc.cast(keys, pa.string()), '"', '"')
        keys = keys.to_pylist()
        items = json_pretty(
            arr.items, _child_type(base, 1, t.item_field), tz, indent + 1, unit
        ).to_pylist()
        offsets = arr.offsets.to_pylist()
        out = []
        for i in range(len(arr)):
            lo, hi = offsets[i], offsets[i + 1]
            out.append(
                _block(unit, "{", "}", [f"{keys[j]}: {items[j]}" for j in range(lo, hi)], indent)
            )
        return pa.array(out, pa.string())
    # struct
    fields = list(t)
    named = bool(fields) and _tuple_is_named(base, fields)
    parts = []
    for i, f in enumerate(fields):
        child = json_pretty(arr.field(i), _child_type(base, i, f), tz, indent + 1, unit).to_pylist()
        parts.append([f"{_key(f.name)}: {v}" for v in child] if named else child)
    valid = arr.is_valid().to_pylist()
    out = []
    for r in range(len(arr)):
        if not valid[r]:
            out.append("null")
            continue
        out.append(
            _block(
                unit, "{" if named else "[", "}" if named else "]", [p[r] for p in parts], indent
            )
        )
    return pa.array(out, pa.string())


def _block(unit: str, left: str, right: str, items: list[str], indent: int) -> str:
    if not items:
        return left + right
    pad = _pad(unit, indent + 1)
    return left + "\n" + ",\n".join(pad + x for x in items) + "\n" + _pad(unit, indent) + right


def _pad(unit: str, depth: int) -> str:
    """Indentation of a line at ``depth``: tabs in JSON; in the Pretty formats ClickHouse
    (26.9) puts nested lines one space deeper than their depth, the outermost brace at 0."""
    if unit == "\t":
        return "\t" * depth
    return unit * (depth + 1) if depth else ""


def _child_type(base: CHType, i: int, field: pa.Field) -> CHType:
    t = type_arg(base, i)
    return t if t.name else parse_type(clickhouse_type(field))
