"""One result column as the formats see it: name, Arrow data and parsed ClickHouse type."""

from __future__ import annotations

import pyarrow as pa

from ..chtypes import CHType, clickhouse_type, parse_type


class Column:
    """One result column: its name, Arrow data and parsed ClickHouse type."""

    def __init__(
        self, name: str, field: pa.Field, data: pa.ChunkedArray, type_name: str | None = None
    ):
        self.name = name
        self.type_name = type_name or clickhouse_type(field, data)
        self.type = parse_type(self.type_name)
        if isinstance(data, pa.ChunkedArray):
            data = data.chunk(0) if data.num_chunks == 1 else data.combine_chunks()
        self.data = data

    def head(self, n: int) -> Column:
        """The same column cut to its first ``n`` values."""
        part = Column.__new__(Column)
        part.name, part.type_name, part.type = self.name, self.type_name, self.type
        part.data = self.data.slice(0, n)
        return part

    @property
    def align_right(self) -> bool:
        return self.type.align_right()

    @property
    def is_number(self) -> bool:
        return self.type.is_number()


def columns_of(table: pa.Table) -> list[Column]:
    return [Column(f.name, f, table.column(i)) for i, f in enumerate(table.schema)]


def type_arg(t: CHType, i: int) -> CHType:
    """The ``i``-th type inside ``t`` (an Array's element, a Map's key or value, a Tuple's
    element without its name); an empty ``CHType`` when the name does not say."""
    if i < len(t.args):
        a = t.args[i]
        if isinstance(a, tuple):
            a = a[1]
        if isinstance(a, CHType):
            return a
    return CHType("")
