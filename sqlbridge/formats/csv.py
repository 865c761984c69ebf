"""CSV: comma-separated, strings/dates/arrays in double quotes (``"`` doubled), ``\\N`` NULL.

Numbers and booleans are bare.  ``CSVWithNames`` adds a quoted header line of names,
``CSVWithNamesAndTypes`` one of types too.
"""

from __future__ import annotations

import pyarrow as pa

from ._values import columns_of, csv_quote, join_columns, joined, serialize_column, zone


def _render(table: pa.Table, names: bool, types: bool, time_zone=None) -> str:
    cols = columns_of(table)
    tz = zone(time_zone)
    head = ""

    def header(values: list[str]) -> str:
        return ",".join(csv_quote(pa.array(values, pa.string())).to_pylist()) + "\n"

    if names:
        head += header([c.name for c in cols])
    if types:
        head += header([c.type_name for c in cols])
    cells = [serialize_column(c, "csv", tz, "\\N") for c in cols]
    return head + joined(join_columns(cells, ",", table.num_rows))


def render(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, False, False, time_zone)


def render_with_names(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, True, False, time_zone)


def render_with_names_and_types(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, True, True, time_zone)
