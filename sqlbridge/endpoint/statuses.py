"""What ClickHouse answers over HTTP for an error code, and the Content-Type of each format.

An error is ``Code: N. DB::Exception: message (NAME)`` plus a newline, with the header
``X-ClickHouse-Exception-Code: N`` and the HTTP status ClickHouse's ``exceptionCodeToHTTPStatus``
gives that code (transcribed in ``HTTP_STATUS``; note that ClickHouse answers READONLY and
query-parameter errors with 500, so this endpoint does too). This table is the one source of
HTTP statuses: the errors of ``sqlbridge.errors`` carry a code and a name, nothing more.

A successful answer carries the Content-Type ClickHouse gives its format (``content_type``).
"""

from __future__ import annotations

__all__ = ["HTTP_STATUS", "http_status", "content_type"]


def _codes(*pairs: int) -> frozenset[int]:
    return frozenset(pairs)


#: ClickHouse's ``exceptionCodeToHTTPStatus`` (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp),
#: codes by number with their names beside them; every other code is 500. (Three names of the
#: newest version, CANNOT_PARSE_IPV4/IPV6 and UNSUPPORTED_MEDIA_TYPE, are left out: nothing in
#: asl raises them.)
HTTP_STATUS: dict[int, frozenset[int]] = {
    401: _codes(194),                                   # REQUIRED_PASSWORD
    403: _codes(192, 193, 516, 512, 497),               # UNKNOWN_USER, WRONG_PASSWORD,
                                                        # AUTHENTICATION_FAILED,
                                                        # SET_NON_GRANTED_ROLE, ACCESS_DENIED
    400: _codes(36, 427, 6, 25, 26, 38, 41, 72, 441,    # BAD_ARGUMENTS, CANNOT_COMPILE_REGEXP,
                27, 376, 15, 44, 37, 123, 8, 167, 168,  # CANNOT_PARSE_* (TEXT, ESCAPE_SEQUENCE,
                223, 62, 117, 53, 321),                 # QUOTED_STRING, DATE, DATETIME, NUMBER,
                                                        # DOMAIN_VALUE_FROM_STRING,
                                                        # INPUT_ASSERTION_FAILED, UUID),
                                                        # DUPLICATE_COLUMN, ILLEGAL_COLUMN,
                                                        # UNKNOWN_ELEMENT_IN_AST,
                                                        # UNKNOWN_TYPE_OF_AST_NODE,
                                                        # THERE_IS_NO_COLUMN, TOO_DEEP_AST,
                                                        # TOO_BIG_AST, UNEXPECTED_AST_STRUCTURE,
                                                        # SYNTAX_ERROR, INCORRECT_DATA,
                                                        # TYPE_MISMATCH,
                                                        # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
    404: _codes(60, 46, 47, 50, 56, 81, 115, 152, 63,   # UNKNOWN_ TABLE, FUNCTION, IDENTIFIER,
                73, 336, 78, 511),                      # TYPE, STORAGE, DATABASE, SETTING,
                                                        # DIRECTION_OF_SORTING,
                                                        # AGGREGATE_FUNCTION, FORMAT,
                                                        # DATABASE_ENGINE, TYPE_OF_QUERY, ROLE
    413: _codes(229),                                   # QUERY_IS_TOO_LARGE
    501: _codes(48),                                    # NOT_IMPLEMENTED
    503: _codes(209, 76, 439),                          # SOCKET_TIMEOUT, CANNOT_OPEN_FILE,
                                                        # CANNOT_SCHEDULE_TASK
    411: _codes(381),                                   # HTTP_LENGTH_REQUIRED
    408: _codes(159),                                   # TIMEOUT_EXCEEDED
}
_STATUS_OF = {code: status for status, codes in HTTP_STATUS.items() for code in codes}


def http_status(code: int) -> int:
    """The HTTP status ClickHouse answers an exception with error code ``code``."""
    return _STATUS_OF.get(code, 500)


def content_type(fmt: str) -> str:
    """The Content-Type ClickHouse's output format ``fmt`` (a canonical name) declares."""
    if fmt.startswith("TabSeparated"):
        return "text/tab-separated-values; charset=UTF-8"
    if fmt.startswith("CSV"):
        return "text/csv; charset=UTF-8; header=" + ("present" if "Names" in fmt else "absent")
    if fmt in ("JSON", "JSONCompact"):
        return "application/json; charset=UTF-8"
    if fmt == "JSONEachRow":
        return "application/x-ndjson; charset=UTF-8"
    if fmt in ("Parquet", "Arrow", "ArrowStream", "Native"):
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"
