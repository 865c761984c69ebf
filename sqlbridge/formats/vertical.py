"""Vertical: one ``name: value`` line per column, a ``Row N:`` heading per row.

Layout (``VerticalRowOutputFormat``): ``Row N:``, then a line of ``─`` whose length is
``digits(N + 1) + 5`` (so it is one too long at rows 9, 99, 999 ...: ClickHouse's quirk, kept),
then each column as ``name:`` padded with spaces so that all values start in one column.  Values
are written raw (no escaping: a newline in a value breaks the line, a tab stays a tab), NULL as
``ᴺᵁᴸᴸ``, and numbers above a million get a ``-- 1.23 million`` tip.  Rows are separated by an
empty line; after ``output_format_pretty_max_rows`` (1000) rows it stops with
``Showed first 1000.``.  Column names over 28 columns wide that are not plain identifiers
are cut in the middle with ``⋯``.
"""

from __future__ import annotations

import math
import re

import pyarrow as pa

from . import _width
from ._columns import Column, columns_of
from ._numbers import number_tip
from ._serialize import serialize_column
from ._time import zone

MAX_ROWS = 1000
NAME_CUT_TO = 24
NAME_MIN_CHARS_TO_CUT = 4
NULL = "ᴺᵁᴸᴸ"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def truncate_name(name: str, cut_to: int) -> tuple[str, int]:
    """``truncateName``: cut an over-long, non-identifier name in the middle."""
    length = _width.width(name)
    if (
        not cut_to
        or length <= cut_to + NAME_MIN_CHARS_TO_CUT
        or (_IDENTIFIER.match(name) and name.lower() != "null")
    ):
        return name, length
    prefix_chars = cut_to // 2
    suffix_chars = (cut_to - 1) // 2
    head = _width.cut(name, 0, prefix_chars)
    tail_start = len(_width.cut(name, 0, length - suffix_chars))
    return head + "⋯" + name[tail_start:], cut_to


def tips(col: Column, num_rows: int) -> list[str]:
    """The readable-number tip of each of the first ``num_rows`` values ('' for none)."""
    if not col.is_number:
        return [""] * num_rows
    data = col.data.slice(0, num_rows)
    if pa.types.is_dictionary(data.type):
        data = data.dictionary_decode()
    return [number_tip(v) for v in data.to_pylist()]


def render_rows(cols: list[Column], num_rows: int, tz: str, style: str = "text") -> str:
    """The rows (at most :data:`MAX_ROWS`) without the trailing ``Showed first`` line.

    The Pretty formats fall back to this layout with ``style="pretty"``.
    """
    shown = min(num_rows, MAX_ROWS)
    names = [truncate_name(c.name, NAME_CUT_TO) for c in cols]
    longest = max((w for _, w in names), default=0)
    labels = [f"{n}: " + " " * (longest - w) for n, w in names]
    values = []
    for c in cols:
        text = serialize_column(c.head(shown), style, tz, NULL).to_pylist()
        tip = tips(c, shown)
        values.append([v + t for v, t in zip(text, tip, strict=True)])
    out = []
    for r in range(shown):
        n = r + 1
        dashes = "─" * (int(math.log10(n + 1)) + 1 + len("Row :"))
        lines = "".join(f"{labels[i]}{values[i][r]}\n" for i in range(len(cols)))
        out.append(f"Row {n}:\n{dashes}\n{lines}")
    return "\n".join(out)


def render(table: pa.Table, *, time_zone=None, **_) -> str:
    cols = columns_of(table)
    text = render_rows(cols, table.num_rows, zone(time_zone))
    if table.num_rows > MAX_ROWS:
        # the row after the last shown one still writes its separating empty line
        text += f"\nShowed first {MAX_ROWS}.\n"
    return text
