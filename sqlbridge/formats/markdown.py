"""Markdown: a pipe table, numbers and dates right-aligned (``-:``), values TSV-escaped.

ClickHouse does not escape ``|`` or other Markdown characters by default
(``output_format_markdown_escape_special_characters=0``), and NULL shows as ``\\N``.  Column
names are escaped like values.
"""

from __future__ import annotations

import pyarrow as pa

from ._columns import columns_of
from ._escape import escape
from ._rows import interleave, rows_text
from ._serialize import serialize_column
from ._time import zone


def render(table: pa.Table, *, time_zone=None, **_) -> str:
    cols = columns_of(table)
    tz = zone(time_zone)
    names = escape(pa.array([c.name for c in cols], pa.string())).to_pylist()
    head = "| " + " | ".join(names) + " |\n"
    head += "|" + "|".join("-:" if c.align_right else ":-" for c in cols) + "|\n"
    cells = [serialize_column(c, "escaped", tz, "\\N") for c in cols]
    return rows_text(["| ", *interleave(cells, " | "), " |\n"], table.num_rows, head=head)
