"""Whole rows of text at once: ``rows_text``/``rows_pieces`` join per-column string arrays and
constant separators in one Arrow pass per slice of rows."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def rows_text(parts: list, num_rows: int, trim: int = 0, head: str = "") -> str:
    """``head``, then every row written as the concatenation of ``parts``, as one ``str``.

    ``parts`` mixes constant strings (separators, JSON keys) and string arrays (one value per
    row, no nulls), so a whole format is a single ``binary_join_element_wise`` pass per slice
    of rows, and the text is read straight out of the Arrow buffer.  ``trim`` drops that many
    trailing characters (a separator after the last row).
    """
    return "".join([head, *rows_pieces(parts, num_rows, trim)])


def rows_pieces(parts: list, num_rows: int, trim: int = 0) -> list[str]:
    """:func:`rows_text` as a list of pieces, for callers that add more text around it
    (one final ``join`` instead of copying a large text twice).  Slices of rows keep every
    Arrow buffer far below the 2 GiB limit of a string array."""
    if num_rows == 0:
        return []
    if not any(isinstance(p, pa.Array) for p in parts):
        text = "".join(parts) * num_rows
        return [text[: len(text) - trim]]
    pieces = []
    for start in range(0, num_rows, _ROWS_PER_SLICE):
        args = [p.slice(start, _ROWS_PER_SLICE) if isinstance(p, pa.Array) else p for p in parts]
        pieces.append(_buffer_text(pc.binary_join_element_wise(*args, "")))
    if trim:
        pieces[-1] = pieces[-1][: len(pieces[-1]) - trim]
    return pieces


_ROWS_PER_SLICE = 1 << 16


def _buffer_text(arr: pa.Array) -> str:
    """The concatenated values of a null-free string array."""
    offsets = memoryview(arr.buffers()[1]).cast("i")
    start, stop = offsets[arr.offset], offsets[arr.offset + len(arr)]
    data = arr.buffers()[2]
    if data is None or start == stop:
        return ""
    return str(memoryview(data)[start:stop], "utf-8")


def interleave(cells: list, sep: str) -> list:
    """``[c0, sep, c1, sep, c2]``: the parts of a row whose cells are separated by ``sep``."""
    parts: list = []
    for i, c in enumerate(cells):
        if i:
            parts.append(sep)
        parts.append(c)
    return parts
