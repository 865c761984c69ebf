"""``Answer``, what ``Session.execute`` returns, and how a DuckDB result becomes one: read batch
by batch under the result caps, DESCRIBE reshaped to ClickHouse's columns, the statistics the
JSON formats print."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from sqlbridge.limits import Limits, result_exceeded

__all__ = ["Answer", "read_result", "clickhouse_describe", "statistics", "BATCH_ROWS"]

#: Rows per batch read from DuckDB (the result caps are checked between batches).
BATCH_ROWS = 65536


@dataclass
class Answer:
    """One statement's result: what ``Session.execute`` returns."""

    #: The result, with ClickHouse's types as Arrow metadata (``sqlbridge.resulttypes``).
    table: pa.Table
    #: The canonical output format: the statement's ``FORMAT`` clause, else the caller's
    #: ``format``; None when neither asked for one (the caller shows the table its own way).
    format: str | None
    #: The session's time zone: how the result's times print.
    time_zone: str
    #: ``elapsed``, ``rows_read``, ``bytes_read`` (the JSON formats' ``statistics``).
    statistics: dict[str, Any] = field(default_factory=dict)
    #: The row count before LIMIT, for the JSON formats' ``rows_before_limit_at_least``.
    rows_before_limit: int | None = None

    def render(self, default: str = "TabSeparated") -> str | bytes:
        """ClickHouse's output: ``format``, else ``default``."""
        from sqlbridge.formats import render

        return render(self.table, self.format or default, time_zone=self.time_zone,
                      statistics=dict(self.statistics), rows_before_limit=self.rows_before_limit)


def read_result(relation: duckdb.DuckDBPyRelation, limits: Limits) -> pa.Table:
    """The relation's rows, batch by batch, checked against the result caps as they come."""
    if not limits.max_result_rows and not limits.max_result_bytes:
        return relation.to_arrow_table()
    reader = relation.to_arrow_reader(BATCH_ROWS)
    batches, rows, nbytes = [], 0, 0
    for batch in reader:
        batches.append(batch)
        rows += batch.num_rows
        nbytes += batch.nbytes
        if limits.exceeded(rows, nbytes):
            if limits.result_overflow_mode == "break":
                break
            reader.close()
            raise result_exceeded(limits, rows, nbytes)
    return pa.Table.from_batches(batches, schema=reader.schema)


def capped(table: pa.Table, limits: Limits) -> pa.Table:
    """A result made whole before it is counted (a ready answer, a plan) against the caps:
    one block, so ``break`` keeps it all and ``throw`` refuses it."""
    rows, nbytes = table.num_rows, table.nbytes
    if limits.result_overflow_mode == "throw" and limits.exceeded(rows, nbytes):
        raise result_exceeded(limits, rows, nbytes)
    return table


def statistics(started: float, rows: int, nbytes: int) -> dict[str, Any]:
    return {"elapsed": time.perf_counter() - started, "rows_read": rows, "bytes_read": nbytes}


def clickhouse_describe(table: pa.Table) -> pa.Table:
    """DuckDB's DESCRIBE (column_name, column_type, ...) in ClickHouse's seven columns."""
    from sqlbridge.resulttypes import clickhouse_name_of_duckdb_type

    names = table.column("column_name").to_pylist()
    types = [clickhouse_name_of_duckdb_type(t) for t in table.column("column_type").to_pylist()]
    empty = [""] * len(names)
    return pa.table({"name": names, "type": types, "default_type": empty,
                     "default_expression": empty, "comment": empty,
                     "codec_expression": empty, "ttl_expression": empty})
