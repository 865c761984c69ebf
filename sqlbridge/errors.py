"""Query errors with ClickHouse's codes, printed as ``Code: N. message`` by every interface."""

from __future__ import annotations


class QueryError(Exception):
    """A query could not run. ``code``/``name`` follow ClickHouse's ErrorCodes."""

    code = 1002
    name = "UNKNOWN_EXCEPTION"
    #: The HTTP status the endpoint answers with.
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        dot = "" if self.message.endswith(".") else "."
        return f"Code: {self.code}. DB::Exception: {self.message}{dot} ({self.name})"


class UnknownIdentifier(QueryError):
    code, name, http_status = 47, "UNKNOWN_IDENTIFIER", 404


class UnknownFunction(QueryError):
    code, name, http_status = 46, "UNKNOWN_FUNCTION", 404


class UnknownTable(QueryError):
    code, name, http_status = 60, "UNKNOWN_TABLE", 404


class SyntaxError_(QueryError):
    code, name, http_status = 62, "SYNTAX_ERROR", 400


class IllegalTypeOfArgument(QueryError):
    code, name, http_status = 43, "ILLEGAL_TYPE_OF_ARGUMENT", 400


class TypeMismatch(QueryError):
    code, name, http_status = 53, "TYPE_MISMATCH", 400


class UnknownFormat(QueryError):
    code, name, http_status = 73, "UNKNOWN_FORMAT", 400


class Readonly(QueryError):
    """The statement would change the database, touch files, or change settings."""

    code, name, http_status = 164, "READONLY", 403


class NotImplemented_(QueryError):
    code, name, http_status = 48, "NOT_IMPLEMENTED", 501


class BadArguments(QueryError):
    code, name, http_status = 36, "BAD_ARGUMENTS", 400


# --- added by the session/translation layer -------------------------------------------------


class CannotParseText(QueryError):
    code, name, http_status = 6, "CANNOT_PARSE_TEXT", 400


class ArgumentOutOfBound(QueryError):
    code, name, http_status = 69, "ARGUMENT_OUT_OF_BOUND", 400


class UnknownDatabase(QueryError):
    code, name, http_status = 81, "UNKNOWN_DATABASE", 404


class QueryWasCancelled(QueryError):
    code, name, http_status = 394, "QUERY_WAS_CANCELLED", 500


class SessionClosed(QueryError):
    """The session was closed; connect again."""

    code, name, http_status = 372, "SESSION_NOT_FOUND", 500


class UnknownQueryParameter(QueryError):
    """A ``{name:Type}`` placeholder has no value (ClickHouse: ``Substitution `x` is not set``)."""

    code, name, http_status = 456, "UNKNOWN_QUERY_PARAMETER", 400


class BadQueryParameter(QueryError):
    """A query parameter's value does not parse as its placeholder's type."""

    code, name, http_status = 457, "BAD_QUERY_PARAMETER", 400


class NotAnAggregate(QueryError):
    code, name, http_status = 215, "NOT_AN_AGGREGATE", 400


class TooDeepAst(QueryError):
    """An expression nested deeper than the translator (sqlglot, Python recursion) can walk."""

    code, name, http_status = 167, "TOO_DEEP_AST", 400


class SamplingNotSupported(QueryError):
    code, name, http_status = 141, "SAMPLING_NOT_SUPPORTED", 400


class IllegalDivision(QueryError):
    code, name, http_status = 153, "ILLEGAL_DIVISION", 400
