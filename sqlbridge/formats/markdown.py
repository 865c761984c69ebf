"""Markdown: a pipe table, numbers and dates right-aligned (``-:``), values TSV-escaped.

ClickHouse does not escape ``|`` or other Markdown characters by default
(``output_format_markdown_escape_special_characters=0``), and NULL shows as ``\\N``.
"""

from __future__ import annotations

import pyarrow as pa

from ._values import columns_of, interleave, rows_text, serialize_column, zone


def render(table: pa.Table, *, time_zone=None, **_) -> str:
    cols = columns_of(table)
    tz = zone(time_zone)
    head = "| " + " | ".join(c.name for c in cols) + " |\n"
    head += "|" + "|".join("-:" if c.align_right else ":-" for c in cols) + "|\n"
    cells = [serialize_column(c, "escaped", tz, "\\N") for c in cols]
    return head + rows_text(["| ", *interleave(cells, " | "), " |\n"], table.num_rows)
