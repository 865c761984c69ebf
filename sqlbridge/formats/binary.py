"""Parquet and Arrow (IPC file / stream): the table itself, written by pyarrow, as ``bytes``.

The bytes are not ClickHouse's (its writers set their own metadata); what matters is that
ClickHouse, DuckDB, pandas and pyarrow read back the same columns and values.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq


def render_parquet(table: pa.Table, **_) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def render_arrow(table: pa.Table, **_) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def render_arrow_stream(table: pa.Table, **_) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()
