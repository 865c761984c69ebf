"""What the translation of one statement tells the session: ``Translation``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa


@dataclass
class Translation:
    """What to run for one statement."""

    #: DuckDB SQL to execute, or None when ``result`` answers without DuckDB.
    sql: str | None
    #: The FORMAT the statement asked for (``\\G`` -> Vertical), as written.
    format: str | None = None
    #: Names of the live system tables the statement reads (e.g. ``asynchronous_loader``).
    tables: frozenset[str] = frozenset()
    #: A ready answer (``DESCRIBE system.x``, ``SHOW TABLES``).
    result: pa.Table | None = None
    #: Output column name -> ClickHouse type, where known from the query.
    type_hints: dict[str, str] = field(default_factory=dict)
    #: Output columns ClickHouse types Nullable whether or not this result holds a NULL.
    nullable: frozenset[str] = frozenset()
    #: ClickHouse has no booleans in results: comparisons are UInt8 (1/0).
    booleans_as_uint8: bool = False
    #: For DuckDB errors: maps an offset in ``sql`` back to the user's text (None if unknown).
    position: Callable[[int], int | None] = lambda _offset: None
    #: DESCRIBE of something other than a system table: reshape DuckDB's answer.
    describe: bool = False
    #: ``EXPLAIN [PLAN] <query>``: run ``sql`` under DuckDB's EXPLAIN, answer the plan lines.
    explain: bool = False
    #: Name of an extra result column holding the row count before LIMIT (JSON formats print
    #: ``rows_before_limit_at_least``); the session removes it from the result.
    rows_before_limit_column: str | None = None
    #: The statement's SETTINGS the session honours (``sqlbridge.limits.LIMIT_SETTINGS``), as
    #: written: ``max_execution_time``, ``max_result_rows``...
    settings: dict[str, str] = field(default_factory=dict)


ROWS_BEFORE_LIMIT = "__asl_rows_before_limit"
