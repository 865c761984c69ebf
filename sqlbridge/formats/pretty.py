"""Pretty, PrettyCompact and PrettySpace (and their NoEscapes/MonoBlock spellings).

A port of ClickHouse 26.9's ``PrettyBlockOutputFormat`` with ``output_format_pretty_color=0``
(we cannot know that we write to a terminal, so NoEscapes changes nothing) and the other
settings at their defaults:

* row numbers (``1.``) in a left margin as wide as the largest number plus ``. ``;
* column names right-aligned over numbers and dates, left otherwise, set into the top border
  in PrettyCompact; a name that is not an identifier and is more than 4 columns wider than
  both its values and 24 is cut in the middle with ``⋯``;
* values written raw, except named tuples, which become indented JSON objects; a value with
  newlines spans several lines (``↴`` at a line end, ``↳`` at the start of its
  continuation); a value wider than 10000 columns is cut with ``⋯``;
* widths measured like a terminal (wide CJK characters count 2, tabs jump to multiples of 8);
* a ``-- 2.00 million`` tip after rows whose last column is a number above a million;
* the column names repeated at the bottom from 50 rows on;
* more than 1000 rows: the first 500 and the last 500 with a ``─ ─ ─`` line between, then
  ``Showed 1000 out of N rows.`` (printed from 1000 rows on);
* a short (<= 10 rows) table of 5+ columns that is at least 250 columns wide or has a
  multi-line value falls back to the Vertical layout.
"""

from __future__ import annotations

import math

import pyarrow as pa

from . import _width, vertical
from ._columns import columns_of
from ._serialize import serialize_column
from ._time import zone

MAX_ROWS = 1000
MAX_COLUMN_PAD_WIDTH = 250
MAX_VALUE_WIDTH = 10000
FOOTER_MIN_ROWS = 50
FALLBACK_MAX_ROWS = 10
FALLBACK_MIN_COLUMNS = 5
FALLBACK_MIN_WIDTH = 250
NULL = "ᴺᵁᴸᴸ"

# (left, fill, middle, right) for each kind of border line
_TOP = ("┏", "━", "┳", "┓")
_HEADER_END = ("┡", "━", "╇", "┩")
_SEPARATOR = ("├", "─", "┼", "┤")
_BOTTOM = ("└", "─", "┴", "┘")
_FOOTER_BEGIN = ("┢", "━", "╈", "┪")
_FOOTER_END = ("┗", "━", "┻", "┛")
_COMPACT_TOP = ("┌", "─", "┬", "┐")


def _displayed(num_rows: int) -> list[int]:
    """Indices of the rows shown: all, or the first and last halves of MAX_ROWS."""
    if num_rows <= MAX_ROWS:
        return list(range(num_rows))
    head = (MAX_ROWS + 1) // 2
    return list(range(head)) + list(range(num_rows - MAX_ROWS // 2, num_rows))


def _line(widths: list[int], parts: tuple[str, str, str, str], margin: str) -> str:
    left, fill, middle, right = parts
    return margin + left + middle.join(fill * (w + 2) for w in widths) + right + "\n"


def _fragments(value: str):
    """The lines of a value as ClickHouse iterates them (no empty piece after a final \\n)."""
    start = 0
    while start < len(value):
        nl = value.find("\n", start)
        end = len(value) if nl < 0 else nl
        yield value[start:end]
        start = end + 1


class _Cell:
    """Writes one value line by line (``writeValueWithPadding``)."""

    __slots__ = ("value", "offset")

    def __init__(self, value: str):
        self.value = value
        self.offset = 0

    def done(self) -> bool:
        return self.offset == len(self.value)

    def line(self, pad_to: int, cut_to: int, right: bool, prefix: int) -> str:
        value = self.value
        continuation = 0 < self.offset < len(value)
        if self.offset == len(value):
            fragment, fragment_width = "", 0
        else:
            nl = value.find("\n", self.offset)
            end = len(value) if nl < 0 else nl
            fragment = value[self.offset : end]
            fragment_width = _width.width(fragment, prefix)
            self.offset = end
        is_cut = bool(cut_to) and fragment_width > cut_to
        if is_cut:
            fragment = _width.cut(fragment, prefix, MAX_VALUE_WIDTH) + "⋯"
            fragment_width = MAX_VALUE_WIDTH
        padding = " " * max(0, pad_to - fragment_width)
        out = "↳" if continuation else " "
        out += padding + fragment if right else fragment + padding
        if self.offset != len(value):
            out += "↴"
        elif not is_cut:
            out += " "
        if self.offset < len(value):
            self.offset += 1
        return out


def render(table: pa.Table, style: str, *, time_zone=None, **_) -> str:
    """``style`` is ``full`` (Pretty), ``compact`` (PrettyCompact) or ``space`` (PrettySpace)."""
    num_rows = table.num_rows
    if num_rows == 0 or table.num_columns == 0:
        return ""  # ClickHouse prints nothing at all for an empty result
    tz = zone(time_zone)
    rows = _displayed(num_rows)
    if num_rows > MAX_ROWS:
        head, tail = (MAX_ROWS + 1) // 2, MAX_ROWS // 2
        table = pa.concat_tables([table.slice(0, head), table.slice(num_rows - tail)])
    cols = columns_of(table)
    # named tuples print as JSON objects in the Pretty formats (also in the Vertical fallback)
    values = [serialize_column(c, "pretty", tz, NULL).to_pylist() for c in cols]

    number_width = int(math.log10(num_rows)) + 3  # "1000. "
    base_prefix = number_width + (1 if style == "space" else 2)
    widths, names, has_newlines = _measure(cols, values, base_prefix)

    if (
        num_rows <= FALLBACK_MAX_ROWS
        and len(cols) >= FALLBACK_MIN_COLUMNS
        and (sum(widths) >= FALLBACK_MIN_WIDTH or has_newlines)
    ):
        return vertical.render_rows(cols, num_rows, tz, "pretty")

    grid = _Grid(style, widths, names, [c.align_right for c in cols], " " * number_width)
    cut_to = 0 if (num_rows == 1 and len(cols) == 1) else MAX_VALUE_WIDTH
    tips = vertical.tips(cols[-1], len(rows)) if cols[-1].is_number else None

    out = [grid.header()]
    for k, i in enumerate(rows):
        if k and i != rows[k - 1] + 1:  # the rows cut out of the middle
            out.append(grid.separator + grid.filler())
        if i:
            out.append(grid.separator)
        tip = tips[k] if tips else ""
        out.append(grid.row(i + 1, [v[k] for v in values], cut_to, base_prefix, tip))
    out.append(grid.footer() if num_rows >= FOOTER_MIN_ROWS else grid.bottom())
    if num_rows >= MAX_ROWS:
        if style == "space":
            out.append("\n")
        out.append(f"Showed {min(num_rows, MAX_ROWS)} out of {num_rows} rows.\n")
    return "".join(out)


def _measure(cols, values, base_prefix: int):
    """``calculateWidths``: each column's width (values and name), the names as shown (maybe
    cut), and whether any value spans several lines.

    Tabs are measured at the column's position on the line, with the columns before it at
    their final widths, so the running ``prefix`` matters.
    """
    widths: list[int] = []
    names: list[tuple[str, int]] = []
    has_newlines = False
    prefix = base_prefix
    for col, column in zip(cols, values, strict=True):
        widest = 0
        for v in column:
            if len(v) > MAX_VALUE_WIDTH and len(v.encode()) > MAX_VALUE_WIDTH * 4:
                v = v.encode()[: MAX_VALUE_WIDTH * 4].decode("utf-8", "ignore")
            if "\n" in v:
                has_newlines = True
            for fragment in _fragments(v):
                w = _width.width(fragment, prefix)
                widest = max(widest, min(MAX_COLUMN_PAD_WIDTH, MAX_VALUE_WIDTH, w))
        name, name_width = vertical.truncate_name(col.name, max(widest, vertical.NAME_CUT_TO))
        name_width = min(MAX_COLUMN_PAD_WIDTH, name_width)
        names.append((name, name_width))
        widths.append(max(widest, name_width))
        prefix += widths[-1] + 3
    return widths, names, has_newlines


class _Grid:
    """The lines of one table in one style, once the column widths are known."""

    def __init__(self, style: str, widths, names, right, margin: str):
        self.full, self.compact, self.space = style == "full", style == "compact", style == "space"
        self.widths, self.names, self.right, self.margin = widths, names, right, margin
        self.separator = self._line(_SEPARATOR) if self.full else ""

    def _line(self, parts: tuple[str, str, str, str]) -> str:
        return _line(self.widths, parts, self.margin)

    def names_line(self, top: bool) -> str:
        corner = _COMPACT_TOP if top else _BOTTOM
        if self.full:
            left, sep, right = "┃ ", " ┃ ", " ┃"
        elif self.compact:
            left, sep, right = corner[0] + "─", "─" + corner[2] + "─", "─" + corner[3]
        else:
            left, sep, right = " ", "   ", ""
        fill = "─" if self.compact else " "
        cells = []
        for (name, name_width), width, right_aligned in zip(
            self.names, self.widths, self.right, strict=True
        ):
            padding = fill * (width - name_width)
            cells.append(padding + name if right_aligned else name + padding)
        return self.margin + left + sep.join(cells) + right + "\n"

    def header(self) -> str:
        if self.full:
            return self._line(_TOP) + self.names_line(True) + self._line(_HEADER_END)
        return self.names_line(True) + ("\n" if self.space else "")

    def footer(self) -> str:
        """Column names again at the bottom of a long table."""
        if self.full:
            return self._line(_FOOTER_BEGIN) + self.names_line(False) + self._line(_FOOTER_END)
        if self.space:
            return "\n" + self.names_line(False) + "\n"
        return self.names_line(False)

    def bottom(self) -> str:
        return "" if self.space else self._line(_BOTTOM)

    def filler(self) -> str:
        """``─ ─ ─ ─``: where rows were left out."""
        size = sum(w + 3 for w in self.widths) + (-2 if self.space else 1)
        return self.margin + "".join(" " if i % 2 else "─" for i in range(size)) + "\n"

    def row(self, number: int, values: list[str], cut_to: int, prefix: int, tip: str) -> str:
        """One row: as many lines as its tallest value has, each followed by ``tip``."""
        cells = [_Cell(v) for v in values]
        label = f"{number}. "
        lines = []
        first = True
        while True:
            line = [label.rjust(len(self.margin)) if first else self.margin]
            first = False
            for j, cell in enumerate(cells):
                if not self.space:
                    line.append("│")
                elif j:
                    line.append(" ")
                line.append(cell.line(self.widths[j], cut_to, self.right[j], prefix))
            if not self.space:
                line.append("│")
            lines.append("".join(line) + tip + "\n")
            if all(cell.done() for cell in cells):
                return "".join(lines)
