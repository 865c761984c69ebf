"""TabSeparated and friends: one line per row, tab between values, ``\\N`` for NULL.

``TabSeparated`` backslash-escapes ``\\\\ \\t \\n \\r \\b \\f \\0 '`` in strings;
``TabSeparatedRaw`` writes them as they are.  Arrays, tuples and maps are written as SQL
literals (``['a','b']``) in both.  The ``WithNames`` variants add a header line of column names,
``WithNamesAndTypes`` a second one of ClickHouse types, escaped like values.
"""

from __future__ import annotations

import pyarrow as pa

from ._columns import columns_of
from ._escape import escape
from ._rows import interleave, rows_text
from ._serialize import serialize_column
from ._time import zone


def _render(table: pa.Table, raw: bool, names: bool, types: bool, time_zone=None) -> str:
    cols = columns_of(table)
    tz = zone(time_zone)
    head = ""
    style = "text" if raw else "escaped"

    def header(values: list[str]) -> str:
        arr = pa.array(values, pa.string())
        if not raw:
            arr = escape(arr)
        return "\t".join(arr.to_pylist()) + "\n"

    if names:
        head += header([c.name for c in cols])
    if types:
        head += header([c.type_name for c in cols])
    cells = [serialize_column(c, style, tz, "\\N") for c in cols]
    return rows_text([*interleave(cells, "\t"), "\n"], table.num_rows, head=head)


def render(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, False, False, False, time_zone)


def render_raw(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, True, False, False, time_zone)


def render_with_names(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, False, True, False, time_zone)


def render_with_names_and_types(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, False, True, True, time_zone)


def render_raw_with_names(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, True, True, False, time_zone)


def render_raw_with_names_and_types(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, True, True, True, time_zone)
