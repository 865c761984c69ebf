"""``serializeTextJSONPretty``: JSON with nested values spread over indented lines.

The ``JSON`` format uses it for nested values inside ``data`` (tab indents), and the Pretty
formats for named tuples (``output_format_pretty_named_tuples_as_json``, one-space indents).
Arrays of scalars stay on one line; arrays of nested values, tuples and maps put each element
on its own line, one level deeper.  Nested values are rare, so this walks them in Python.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from ..chtypes import CHType, clickhouse_type, parse_type, unwrap
from ._values import json_string, serialize, type_arg, wrap


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
    named = bool(fields) and _named(base, fields)
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


def _named(t: CHType, fields) -> bool:
    if t.name == "Tuple" and t.args:
        return all(isinstance(a, tuple) and a[0] for a in t.args)
    return all(f.name and not f.name.isdigit() for f in fields)
