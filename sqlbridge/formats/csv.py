"""CSV: comma-separated, strings/dates/arrays in double quotes (``"`` doubled), ``\\N`` NULL.

Numbers and booleans are bare.  ``CSVWithNames`` adds a quoted header line of names,
``CSVWithNamesAndTypes`` one of types too.  A (non-nullable) Tuple column is written as one
column per element, named ``t.a``, ``t.b`` (``output_format_csv_serialize_tuple_into_separate_
columns=1``).
"""

from __future__ import annotations

import pyarrow as pa

from ._columns import Column, columns_of
from ._escape import csv_quote
from ._rows import interleave, rows_text
from ._serialize import serialize_column
from ._time import zone


def _render(table: pa.Table, names: bool, types: bool, time_zone=None) -> str:
    cols = [part for c in columns_of(table) for part in _flatten(c)]
    tz = zone(time_zone)
    head = ""

    def header(values: list[str]) -> str:
        return ",".join(csv_quote(pa.array(values, pa.string())).to_pylist()) + "\n"

    if names:
        head += header([c.name for c in cols])
    if types:
        head += header([c.type_name for c in cols])
    cells = [serialize_column(c, "csv", tz, "\\N") for c in cols]
    return rows_text([*interleave(cells, ","), "\n"], table.num_rows, head=head)


def render(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, False, False, time_zone)


def render_with_names(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, True, False, time_zone)


def render_with_names_and_types(table: pa.Table, *, time_zone=None, **_) -> str:
    return _render(table, True, True, time_zone)


def _flatten(col: Column) -> list[Column]:
    """A bare Tuple column as its elements (recursively); any other column as itself."""
    if not pa.types.is_struct(col.data.type) or col.type.name != "Tuple" or col.data.null_count:
        return [col]
    out = []
    for i, field in enumerate(col.data.type):
        arg = col.type.args[i] if i < len(col.type.args) else (None, None)
        name, chtype = arg if isinstance(arg, tuple) else (None, None)
        child = Column(
            f"{col.name}.{name or field.name or i + 1}",
            field,
            col.data.field(i),
            str(chtype) if chtype else None,
        )
        out.extend(_flatten(child))
    return out
