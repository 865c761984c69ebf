"""Visible width of text, the way ClickHouse's Pretty formats measure it.

A port of ``UTF8::computeWidth``/``computeBytesBeforeWidth``: printable ASCII counts 1, a tab
advances to the next multiple of 8 *counting the position where the cell starts* (``prefix``),
an ESC starts an ANSI sequence that counts nothing up to and including its final byte, other control
characters count 0, and everything else takes its width from a table generated from ClickHouse
itself (:mod:`._widthtable`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache

from ._widthtable import STARTS, WIDTHS

_PLAIN = re.compile(r"[\x20-\x7e]*\Z")


@lru_cache(maxsize=4096)
def char_width(c: str) -> int:
    cp = ord(c)
    if cp < 0x80:
        return 1 if 0x20 <= cp <= 0x7E else 0
    return int(WIDTHS[bisect_right(STARTS, cp) - 1])


def width(text: str, prefix: int = 0) -> int:
    """Columns ``text`` occupies when it starts ``prefix`` columns into the line."""
    if _PLAIN.match(text):
        return len(text)
    return _scan(text, prefix, None)[0]


def cut(text: str, prefix: int, limit: int) -> str:
    """The longest head of ``text`` that fits in ``limit`` columns."""
    return text[: _scan(text, prefix, limit)[1]]


def _scan(text: str, prefix: int, limit: int | None) -> tuple[int, int]:
    w = 0
    escape = False
    for i, c in enumerate(text):
        cp = ord(c)
        if 0x20 <= cp <= 0x7E:
            if not escape:
                nxt = w + 1
            else:
                # inside an ANSI sequence: parameter/intermediate bytes and "[" count
                # nothing, a final byte ends the sequence (and counts nothing either)
                nxt = w
                if cp >= 0x40 and c != "[":
                    escape = False
        elif c == "\x1b":
            escape = True
            nxt = w
        elif c == "\t":
            nxt = w + 8 - (prefix + w) % 8
        else:
            nxt = w + char_width(c)
        if limit is not None and nxt > limit:
            return w, i
        w = nxt
    return w, len(text)
