"""``system.settings``: the settings a ClickHouse client may send here, and what each one does.

A driver reads ``SELECT name, value, readonly FROM system.settings`` on connecting and decides
from it what to send: ``clickhouse-connect`` asks for compressed answers only if
``enable_http_compression`` is writable, for progress headers only if
``send_progress_in_http_headers`` is, and refuses to send a setting marked ``readonly``. So the
table answers truthfully, with ClickHouse's columns (``name``, ``value``, ``changed``,
``description``, ``min``, ``max``, ``disallowed_values``, ``readonly``, ``type``, ``default``,
``alias_for``, ``is_obsolete``, ``tier``; ``tier`` as text):

* honoured, ``readonly = 0``: ``session_timezone`` and ``dialect`` (which session a request
  runs in), the limits of ``sqlbridge.limits`` (``max_execution_time``, ``max_result_rows``,
  ``max_result_bytes``, ``result_overflow_mode``), each with the value the session applies when
  a request says nothing;
* fixed facts, ``readonly = 1``: answers are never compressed nor streamed with progress
  headers, a client that hangs up stops its statement, every statement is read-only, Arrow
  strings are strings, 64-bit integers are JSON numbers, the longest query;
* accepted and ignored, ``readonly = 0``: the engine tuning a ClickHouse query may carry
  (``max_threads``, ``log_comment``...: ``sqlbridge.translate``'s harmless settings), with
  ClickHouse's default as the value and a description that says it changes nothing here.

A setting not in the table is refused with NOT_IMPLEMENTED if a request sends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from sqlbridge.limits import Limits

__all__ = ["SCHEMA", "table"]

#: ClickHouse 26.9's ``system.settings`` columns (``tier`` is its Enum8's name, as text).
SCHEMA = pa.schema([
    pa.field("name", pa.string(), nullable=False),
    pa.field("value", pa.string(), nullable=False),
    pa.field("changed", pa.uint8(), nullable=False),
    pa.field("description", pa.string(), nullable=False),
    pa.field("min", pa.string()),
    pa.field("max", pa.string()),
    pa.field("disallowed_values", pa.list_(pa.string()), nullable=False),
    pa.field("readonly", pa.uint8(), nullable=False),
    pa.field("type", pa.string(), nullable=False),
    pa.field("default", pa.string(), nullable=False),
    pa.field("alias_for", pa.string(), nullable=False),
    pa.field("is_obsolete", pa.uint8(), nullable=False),
    pa.field("tier", pa.string(), nullable=False),
])

_PER_REQUEST = ("A request sets it with the URL parameter of that name, a statement with a "
                "SETTINGS clause.")

#: (name, type, ClickHouse's default, description) of the limits ``sqlbridge.limits`` honours.
_LIMITS = (
    ("max_execution_time", "Seconds", "0",
     "Honoured: a statement running longer is interrupted and fails with TIMEOUT_EXCEEDED "
     "(159); 0 is no limit. " + _PER_REQUEST),
    ("max_result_rows", "UInt64", "0",
     "Honoured: a result of more rows fails with TOO_MANY_ROWS_OR_BYTES (396), or is cut with "
     "result_overflow_mode = 'break'; 0 is no limit. " + _PER_REQUEST),
    ("max_result_bytes", "UInt64", "0",
     "Honoured: a result larger than this many bytes (Arrow's in-memory size) fails with "
     "TOO_MANY_ROWS_OR_BYTES (396), or is cut with result_overflow_mode = 'break'; 0 is no "
     "limit. " + _PER_REQUEST),
    ("result_overflow_mode", "OverflowMode", "throw",
     "Honoured: 'throw' or 'break', what max_result_rows and max_result_bytes do. "
     + _PER_REQUEST),
)

#: (name, value here, type, ClickHouse's default, description) of what cannot change here.
_FIXED = (
    ("readonly", "2", "UInt64", "0",
     "Every statement is read-only here (the sandbox refuses writes, DDL, files and "
     "extensions), whatever the HTTP method; the setting itself is accepted and changes "
     "nothing."),
    ("enable_http_compression", "0", "Bool", "1",
     "Answers are never compressed (Accept-Encoding is not read); the setting is accepted and "
     "changes nothing."),
    ("http_zlib_compression_level", "3", "Int64", "3",
     "Accepted and changes nothing: answers are never compressed."),
    ("send_progress_in_http_headers", "0", "Bool", "0",
     "No X-ClickHouse-Progress headers: an answer is complete before it is sent. Accepted and "
     "changes nothing."),
    ("http_headers_progress_interval_ms", "100", "UInt64", "100",
     "Accepted and changes nothing: no progress headers are sent."),
    ("http_wait_end_of_query", "1", "Bool", "0",
     "Always: an answer is complete before it is sent (its Content-Length is known). Accepted "
     "and changes nothing."),
    ("http_response_buffer_size", "0", "UInt64", "0",
     "Accepted and changes nothing: the whole answer is buffered."),
    ("cancel_http_readonly_queries_on_client_close", "1", "Bool", "0",
     "Always: a statement whose client hangs up is interrupted. Accepted and changes nothing."),
    ("add_http_cors_header", "0", "Bool", "0",
     "Accepted and changes nothing: answers carry no CORS header (OPTIONS answers a "
     "preflight request as ClickHouse's default configuration does)."),
    ("max_query_size", "262144", "UInt64", "262144",
     "The longest query text accepted, in bytes; a longer one is refused with SYNTAX_ERROR. "
     "The setting is accepted and changes nothing."),
    ("output_format_pretty_color", "0", "UInt64Auto", "auto",
     "Pretty formats print without ANSI colours; 0, false and auto are accepted, anything "
     "else is NOT_IMPLEMENTED."),
    ("output_format_arrow_string_as_string", "1", "Bool", "1",
     "Arrow and ArrowStream answers hold String columns as Arrow strings."),
    ("output_format_json_quote_64bit_integers", "0", "Bool", "0",
     "JSON formats print 64-bit integers as numbers, as ClickHouse 26.9 does by default."),
)

#: ClickHouse 26.9's (type, default, alias_for, tier) of the settings accepted and ignored.
_IGNORED = {
    "max_threads": ("MaxThreads", "auto(2)", "", "Production"),
    "max_block_size": ("NonZeroUInt64", "65409", "", "Production"),
    "max_memory_usage": ("UInt64", "0", "", "Production"),
    "log_queries": ("Bool", "1", "", "Production"),
    "log_comment": ("String", "", "", "Production"),
    "use_query_cache": ("Bool", "0", "", "Production"),
    "enable_analyzer": ("Bool", "1", "allow_experimental_analyzer", "Obsolete"),
    "allow_experimental_analyzer": ("Bool", "1", "", "Obsolete"),
    "max_bytes_before_external_group_by": ("UInt64", "0", "", "Production"),
    "max_bytes_before_external_sort": ("UInt64", "0", "", "Production"),
}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def table(*, time_zone: str, dialect: str, limits: Limits | None = None) -> pa.Table:
    """The rows of ``system.settings`` for a session in ``time_zone`` and ``dialect`` whose
    statements run under ``limits`` unless a request or a statement says otherwise."""
    from sqlbridge.limits import LIMIT_SETTINGS, Limits
    from sqlbridge.translate import _HARMLESS_SETTINGS

    limits = limits or Limits()
    rows: list[tuple] = [
        ("session_timezone", time_zone, 1,
         "Honoured: the session's time zone (timezone()), in which times are shown and "
         "computed. A request picks another zone with the URL parameter session_timezone=...; "
         "a SETTINGS clause cannot change it per statement here (NOT_IMPLEMENTED).",
         0, "Timezone", "", "", "Beta"),
        ("dialect", dialect, int(dialect != "clickhouse"),
         "asl's own setting, not ClickHouse's: the SQL dialect of the statement, clickhouse or "
         "duckdb. A request picks it with the URL parameter dialect=....",
         0, "String", "clickhouse", "", "Production"),
    ]
    for name, kind, default, description in _LIMITS:
        value = getattr(limits, name)
        text = _seconds(value) if kind == "Seconds" else str(value)
        rows.append((name, text, int(text != default), description, 0, kind, default, "",
                     "Production"))
    for name, value, kind, default, description in _FIXED:
        rows.append((name, value, int(value != default), description, 1, kind, default, "",
                     "Production"))
    listed = {r[0] for r in rows}
    for name in sorted(set(_HARMLESS_SETTINGS) - listed - LIMIT_SETTINGS):
        kind, default, alias, tier = _IGNORED.get(name, ("String", "", "", "Production"))
        rows.append((name, default, 0, "Accepted and ignored: it tunes or logs ClickHouse's "
                     "engine and changes no answer here.", 0, kind, default, alias, tier))
    rows.sort(key=lambda r: r[0])
    columns = list(zip(*rows, strict=True))
    names, values, changed, descriptions, readonly, kinds, defaults, aliases, tiers = columns
    n = len(rows)
    return pa.table([
        pa.array(names, pa.string()), pa.array(values, pa.string()),
        pa.array(changed, pa.uint8()), pa.array(descriptions, pa.string()),
        pa.nulls(n, pa.string()), pa.nulls(n, pa.string()),
        pa.array([[]] * n, pa.list_(pa.string())), pa.array(readonly, pa.uint8()),
        pa.array(kinds, pa.string()), pa.array(defaults, pa.string()),
        pa.array(aliases, pa.string()), pa.array([int(t == "Obsolete") for t in tiers],
                                                  pa.uint8()),
        pa.array(tiers, pa.string()),
    ], schema=SCHEMA)
