"""Query errors with ClickHouse's codes, printed as ``Code: N. message`` by every interface."""

from __future__ import annotations


class QueryError(Exception):
    """A query could not run. ``code``/``name`` follow ClickHouse's ErrorCodes.

    The HTTP status for a code is ClickHouse's, from ``sqlbridge.endpoint.statuses``.
    """

    code = 1002
    name = "UNKNOWN_EXCEPTION"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        dot = "" if self.message.endswith(".") else "."
        return f"Code: {self.code}. DB::Exception: {self.message}{dot} ({self.name})"


class UnknownIdentifier(QueryError):
    code, name = 47, "UNKNOWN_IDENTIFIER"


class UnknownFunction(QueryError):
    code, name = 46, "UNKNOWN_FUNCTION"


class UnknownTable(QueryError):
    code, name = 60, "UNKNOWN_TABLE"


class SyntaxError_(QueryError):
    code, name = 62, "SYNTAX_ERROR"


class IllegalTypeOfArgument(QueryError):
    code, name = 43, "ILLEGAL_TYPE_OF_ARGUMENT"


class TypeMismatch(QueryError):
    code, name = 53, "TYPE_MISMATCH"


class UnknownFormat(QueryError):
    code, name = 73, "UNKNOWN_FORMAT"


class Readonly(QueryError):
    """The statement would change the database, touch files, or change settings."""

    code, name = 164, "READONLY"


class NotImplemented_(QueryError):
    code, name = 48, "NOT_IMPLEMENTED"


class BadArguments(QueryError):
    code, name = 36, "BAD_ARGUMENTS"


# --- added by the session/translation layer -------------------------------------------------


class CannotParseText(QueryError):
    code, name = 6, "CANNOT_PARSE_TEXT"


class ArgumentOutOfBound(QueryError):
    code, name = 69, "ARGUMENT_OUT_OF_BOUND"


class UnknownDatabase(QueryError):
    code, name = 81, "UNKNOWN_DATABASE"


class QueryWasCancelled(QueryError):
    code, name = 394, "QUERY_WAS_CANCELLED"


class SessionClosed(QueryError):
    """The session was closed; connect again."""

    code, name = 372, "SESSION_NOT_FOUND"


class UnknownQueryParameter(QueryError):
    """A ``{name:Type}`` placeholder has no value (ClickHouse: ``Substitution `x` is not set``)."""

    code, name = 456, "UNKNOWN_QUERY_PARAMETER"


class BadQueryParameter(QueryError):
    """A query parameter's value does not parse as its placeholder's type."""

    code, name = 457, "BAD_QUERY_PARAMETER"


class NotAnAggregate(QueryError):
    code, name = 215, "NOT_AN_AGGREGATE"


class TooDeepAst(QueryError):
    """An expression nested deeper than the translator (sqlglot, Python recursion) can walk."""

    code, name = 167, "TOO_DEEP_AST"


class TooBigAst(QueryError):
    """A statement with more parts than ClickHouse's ``max_ast_elements`` allows."""

    code, name = 168, "TOO_BIG_AST"


class SamplingNotSupported(QueryError):
    code, name = 141, "SAMPLING_NOT_SUPPORTED"


class IllegalDivision(QueryError):
    code, name = 153, "ILLEGAL_DIVISION"


class UnknownTimeZone(BadArguments, ValueError):
    """``time_zone`` / ``session_timezone`` is not an IANA zone name. Also a ``ValueError``
    (what ``sqlbridge.connect`` raised before it had a type of its own)."""

    def __init__(self, zone: str) -> None:
        super().__init__(f"Invalid time zone: {zone} (use an IANA name such as UTC, "
                         "Europe/Berlin or America/New_York)")
        self.zone = zone


# --- the limits a statement runs under (``sqlbridge.limits``) ---------------------------------


class TimeoutExceeded(QueryError):
    """The statement ran past ``max_execution_time`` and was interrupted."""

    code, name = 159, "TIMEOUT_EXCEEDED"


class TooManyRowsOrBytes(QueryError):
    """The result is larger than ``max_result_rows`` / ``max_result_bytes``."""

    code, name = 396, "TOO_MANY_ROWS_OR_BYTES"


class UnknownOverflowMode(QueryError):
    code, name = 145, "UNKNOWN_OVERFLOW_MODE"


class CannotParseInputAssertionFailed(QueryError):
    """A setting's value does not parse as its type (``max_execution_time='x'``)."""

    code, name = 27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED"


class TooManySimultaneousQueries(QueryError):
    """More statements at once than the endpoint's ``max_concurrent_queries``."""

    code, name = 202, "TOO_MANY_SIMULTANEOUS_QUERIES"
