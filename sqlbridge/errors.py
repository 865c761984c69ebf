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
