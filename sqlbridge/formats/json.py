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

from ._columns import columns_of
from ._escape import json_string
from ._numbers import floats
from ._rows import interleave, rows_pieces, rows_text
from ._serialize import json_pretty, serialize_column
from ._time import zone


def _key(name: str) -> str:
    return json_string(pa.array([name], pa.string()))[0].as_py()


# --------------------------------------------------------------------------- row-per-line


def render_each_row(table: pa.Table, *, time_zone=None, **_) -> str:
    cols = columns_of(table)
    tz = zone(time_zone)
    parts: list = []
    for i, c in enumerate(cols):
        parts.append(("{" if i == 0 else ",") + _key(c.name) + ":")
        parts.append(serialize_column(c, "json", tz, "null"))
    parts.append("}\n")
    return rows_text(parts, table.num_rows)


def _compact_lines(table: pa.Table, time_zone, head_rows: int) -> str:
    """JSONCompactEachRow, after ``head_rows`` header lines (names, then types)."""
    cols = columns_of(table)
    head = ""
    if head_rows >= 1:
        head += _header_line([c.name for c in cols])
    if head_rows >= 2:
        head += _header_line([c.type_name for c in cols])
    cells = [serialize_column(c, "json", zone(time_zone), "null") for c in cols]
    return rows_text(["[", *interleave(cells, ", "), "]\n"], table.num_rows, head=head)


def _header_line(values: list[str]) -> str:
    return "[" + ", ".join(_key(v) for v in values) + "]\n"


def render_compact_each_row(table: pa.Table, *, time_zone=None, **_) -> str:
    return _compact_lines(table, time_zone, 0)


def render_compact_each_row_with_names(table: pa.Table, *, time_zone=None, **_) -> str:
    return _compact_lines(table, time_zone, 1)


def render_compact_each_row_with_names_and_types(table: pa.Table, *, time_zone=None, **_) -> str:
    return _compact_lines(table, time_zone, 2)


# --------------------------------------------------------------------------- envelope


def _number(value) -> str:
    if isinstance(value, float):
        return floats(pa.array([value], pa.float64()))[0].as_py()
    return str(int(value))


def _envelope(cols, num_rows: int, data: list[str], statistics, rows_before_limit) -> str:
    meta = ",\n".join(
        f'\t\t{{\n\t\t\t"name": {_key(c.name)},\n\t\t\t"type": {_key(c.type_name)}\n\t\t}}'
        for c in cols
    )
    out = ["{\n", '\t"meta":\n', "\t[\n", meta, "\n\t],\n\n", '\t"data":\n', "\t[\n"]
    out.extend(data)
    out.append("\n\t],\n\n")
    out.append(f'\t"rows": {num_rows},\n\n')
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
    cols = columns_of(table)
    cells = [serialize_column(c, "json", zone(time_zone), "null") for c in cols]
    parts = ["\t\t[", *interleave(cells, ", "), "],\n"]
    data = rows_pieces(parts, table.num_rows, trim=2)
    return _envelope(cols, table.num_rows, data, statistics, rows_before_limit)


def render_json(
    table: pa.Table, *, time_zone=None, statistics=None, rows_before_limit=None, **_
) -> str:
    tz = zone(time_zone)
    cols = columns_of(table)
    parts: list = []
    for i, c in enumerate(cols):
        parts.append(("\t\t{\n" if i == 0 else ",\n") + f"\t\t\t{_key(c.name)}: ")
        parts.append(json_pretty(c.data, c.type, tz, 3, "\t"))
    parts.append("\n\t\t},\n" if cols else "\t\t{\n\t\t},\n")
    data = rows_pieces(parts, table.num_rows, trim=2)
    return _envelope(cols, table.num_rows, data, statistics, rows_before_limit)
