"""Values: SQL tuples ``(1,'a',NULL),(2,'b',NULL)`` as an INSERT would take them, no newline."""

from __future__ import annotations

import pyarrow as pa

from ._columns import columns_of
from ._rows import interleave, rows_text
from ._serialize import serialize_column
from ._time import zone


def render(table: pa.Table, *, time_zone=None, **_) -> str:
    cols = columns_of(table)
    tz = zone(time_zone)
    cells = [serialize_column(c, "quoted", tz, "NULL") for c in cols]
    return rows_text(["(", *interleave(cells, ","), "),"], table.num_rows, trim=1)
