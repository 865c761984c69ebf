"""The JSON family: JSON, JSONCompact, JSONEachRow, JSONCompactEachRow(+WithNames/AndTypes).

Values follow ClickHouse 26.9's defaults: numbers bare (64-bit integers too,
``output_format_json_quote_64bit_integers=0``), ``inf``/``nan`` as ``null``, strings with ``/``
escaped as ``\\/`` and control characters as ``\\u001B``, dates and times as strings,
booleans as ``true``/``false``, named tuples and maps as objects.

``JSON`` wraps the rows in ClickHouse's tab-indented envelope (``meta``, ``data``, ``rows``,
``rows_before_limit_at_least`` when known, ``statistics``) and pretty-prints nested arrays,
tuples and maps inside ``data`` (``output_format_json_pretty_print=1``); the compact and
row-per-line variants write every value on one line.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from ..chtypes import CHType, clickhouse_type, parse_type
from ._values import (
    _base,
    _type_arg,
    columns_of,
    concat,
    floats,
    join_columns,
    joined,
    json_string,
    serialize,
    serialize_column,
    wrap,
    zone,
)


def _key(name: str) -> str:
    return json_string(pa.array([name], pa.string()))[0].as_py()


# --------------------------------------------------------------------------- row-per-line


def render_each_row(table: pa.Table, *, time_zone=None, **_) -> str:
    cols = columns_of(table)
    tz = zone(time_zone)
    cells = [concat(_key(c.name) + ":", serialize_column(c, "json", tz, "null")) for c in cols]
    rows = wrap(join_columns(cells, ",", table.num_rows), "{", "}")
    return joined(rows)


def _compact_rows(table: pa.Table, tz: str) -> pa.Array:
    cols = columns_of(table)
    cells = [serialize_column(c, "json", tz, "null") for c in cols]
    return wrap(join_columns(cells, ", ", table.num_rows), "[", "]")


def _header_line(values: list[str]) -> str:
    return "[" + ", ".join(_key(v) for v in values) + "]\n"


def render_compact_each_row(table: pa.Table, *, time_zone=None, **_) -> str:
    return joined(_compact_rows(table, zone(time_zone)))


def render_compact_each_row_with_names(table: pa.Table, *, time_zone=None, **_) -> str:
    cols = columns_of(table)
    head = _header_line([c.name for c in cols])
    return head + render_compact_each_row(table, time_zone=time_zone)


def render_compact_each_row_with_names_and_types(table: pa.Table, *, time_zone=None, **_) -> str:
    cols = columns_of(table)
    head = _header_line([c.name for c in cols]) + _header_line([c.type_name for c in cols])
    return head + render_compact_each_row(table, time_zone=time_zone)


# --------------------------------------------------------------------------- envelope


def _number(value) -> str:
    if isinstance(value, float):
        return floats(pa.array([value], pa.float64()))[0].as_py()
    return str(int(value))


def _envelope(table: pa.Table, data: str, statistics, rows_before_limit) -> str:
    cols = columns_of(table)
    meta = ",\n".join(
        f'\t\t{{\n\t\t\t"name": {_key(c.name)},\n\t\t\t"type": {_key(c.type_name)}\n\t\t}}'
        for c in cols
    )
    out = ["{\n", '\t"meta":\n', "\t[\n", meta, "\n\t],\n\n", '\t"data":\n', "\t[\n"]
    out.append(data)
    out.append("\n\t],\n\n")
    out.append(f'\t"rows": {table.num_rows},\n\n')
    if rows_before_limit is not None:
        out.append(f'\t"rows_before_limit_at_least": {int(rows_before_limit)},\n\n')
    stats = statistics or {}
    out.append('\t"statistics":\n\t{\n')
    out.append(f'\t\t"elapsed": {_number(stats.get("elapsed", 0))},\n')
    out.append(f'\t\t"rows_read": {_number(stats.get("rows_read", 0))},\n')
    out.append(f'\t\t"bytes_read": {_number(stats.get("bytes_read", 0))}\n')
    out.append("\t}\n}\n")
    return "".join(out)


def render_json_compact(
    table: pa.Table, *, time_zone=None, statistics=None, rows_before_limit=None, **_
) -> str:
    rows = wrap(_compact_rows(table, zone(time_zone)), "\t\t", "")
    data = joined(rows, ",\n")[:-2]
    return _envelope(table, data, statistics, rows_before_limit)


def render_json(
    table: pa.Table, *, time_zone=None, statistics=None, rows_before_limit=None, **_
) -> str:
    tz = zone(time_zone)
    cols = columns_of(table)
    cells = []
    for c in cols:
        value = _pretty(c.data, c.type, tz, 3)
        cells.append(concat(f"\t\t\t{_key(c.name)}: ", value))
    body = join_columns(cells, ",\n", table.num_rows)
    rows = wrap(body, "\t\t{\n", "\n\t\t}")
    data = joined(rows, ",\n")[:-2]
    return _envelope(table, data, statistics, rows_before_limit)


# --------------------------------------------------------------------------- pretty nesting


def _is_nested(t: pa.DataType) -> bool:
    return (
        pat.is_list(t)
        or pat.is_large_list(t)
        or pat.is_fixed_size_list(t)
        or pat.is_list_view(t)
        or pat.is_map(t)
        or pat.is_struct(t)
    )


def _pretty(arr: pa.Array, chtype: CHType, tz: str, indent: int) -> pa.Array:
    """``serializeTextJSONPretty``: arrays of scalars stay on one line; arrays of nested
    values, tuples and maps put each element on its own line, one tab deeper."""
    t = arr.type
    if pat.is_dictionary(t):
        arr, t = arr.dictionary_decode(), arr.type.value_type
    if not _is_nested(t):
        return pc.fill_null(serialize(arr, chtype, "json", tz), "null")
    base = _base(chtype) if chtype.name else CHType("")
    if not pat.is_map(t) and not pat.is_struct(t):
        if not pat.is_list(t):
            arr = arr.cast(pa.list_(t.value_field))
        if not _is_nested(arr.type.value_type):
            return pc.fill_null(serialize(arr, chtype, "json", tz), "null")
        child_type = _child_type(base, 0, arr.type.value_field)
        children = _pretty(arr.values, child_type, tz, indent + 1).to_pylist()
        offsets = arr.offsets.to_pylist()
        blocks = [
            _block("[", "]", children[offsets[i] : offsets[i + 1]], indent) for i in range(len(arr))
        ]
        return pa.array(blocks, pa.string())
    if pat.is_map(t):
        keys = serialize(arr.keys, _child_type(base, 0, t.key_field), "json", tz)
        if not pat.is_string(arr.keys.type):
            keys = wrap(pc.cast(keys, pa.string()), '"', '"')
        keys = keys.to_pylist()
        items = _pretty(arr.items, _child_type(base, 1, t.item_field), tz, indent + 1).to_pylist()
        offsets = arr.offsets.to_pylist()
        out = []
        for i in range(len(arr)):
            lo, hi = offsets[i], offsets[i + 1]
            out.append(_block("{", "}", [f"{keys[j]}: {items[j]}" for j in range(lo, hi)], indent))
        return pa.array(out, pa.string())
    # struct
    fields = list(t)
    named = bool(fields) and _named(base, fields)
    parts = []
    for i, f in enumerate(fields):
        child = _pretty(arr.field(i), _child_type(base, i, f), tz, indent + 1).to_pylist()
        parts.append([f"{_key(f.name)}: {v}" for v in child] if named else child)
    valid = arr.is_valid().to_pylist()
    out = []
    for r in range(len(arr)):
        if not valid[r]:
            out.append("null")
            continue
        out.append(
            _block("{" if named else "[", "}" if named else "]", [p[r] for p in parts], indent)
        )
    return pa.array(out, pa.string())


def _block(left: str, right: str, items: list[str], indent: int) -> str:
    if not items:
        return left + right
    pad = "\t" * (indent + 1)
    return left + "\n" + ",\n".join(pad + x for x in items) + "\n" + "\t" * indent + right


def _child_type(base: CHType, i: int, field: pa.Field) -> CHType:
    t = _type_arg(base, i)
    return t if t.name else parse_type(clickhouse_type(field))


def _named(t: CHType, fields) -> bool:
    if t.name == "Tuple" and t.args:
        return all(isinstance(a, tuple) and a[0] for a in t.args)
    return all(f.name and not f.name.isdigit() for f in fields)
