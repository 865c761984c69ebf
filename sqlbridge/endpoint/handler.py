"""One HTTP request: routes, the query and its settings, and the answer, as ClickHouse's
``src/Server/HTTPHandler.cpp`` gives them.

* ``GET /?query=SQL`` or ``POST /`` with the SQL in the body; with both, the query is the
  ``query`` parameter, a newline, then the body (as ClickHouse joins them). ``GET /`` without a
  query and ``GET /ping`` answer ``Ok.\\n``.
* One statement per request: ClickHouse refuses multi-statements over HTTP (SYNTAX_ERROR), and
  so does this endpoint; a trailing ``;`` is fine. ``asl sql --connect`` sends a script's
  statements one request at a time.
* The format is the query's ``FORMAT`` clause (or trailing ``\\G``), else the
  ``X-ClickHouse-Format`` request header, else the ``default_format`` parameter, else
  TabSeparated (ClickHouse's default over HTTP). The answer carries ``X-ClickHouse-Format``,
  ``X-ClickHouse-Timezone``, ``X-ClickHouse-Query-Id`` and the Content-Type ClickHouse gives
  that format. The bytes are exactly what ``Session.run`` renders (the formats are tested
  against ClickHouse itself).
* ``param_NAME=value`` fills ``{NAME:Type}`` placeholders (``sqlbridge.params``: typed literals,
  no injection). Other URL parameters are settings: ``session_timezone`` and ``dialect``
  (``clickhouse`` or ``duckdb``) pick the session the statement runs in
  (``sqlbridge.endpoint.sessions``); settings that change nothing here (``max_threads``,
  ``log_comment``, ``wait_end_of_query``, ...) are accepted; any other is refused with
  NOT_IMPLEMENTED, as in a ``SETTINGS`` clause, rather than ignored.
* An error is ``Code: N. DB::Exception: message (NAME)`` with the status
  ``sqlbridge.endpoint.statuses`` gives its code; the token is checked first
  (``sqlbridge.endpoint.auth``).
* Other methods, as ClickHouse's server answers them: ``HEAD`` runs the statement like ``GET``
  (the same status and headers, no body; no Content-Length either, since the live answer of the
  ``GET`` that follows may be longer, and a reader that trusts a HEAD's length, DuckDB's httpfs,
  would cut a Parquet file short); ClickHouse's ``url()`` and DuckDB send one before reading.
  ``OPTIONS`` (a CORS preflight) is 204 with the headers of ClickHouse's default
  ``http_options_response``. ``PUT``, ``DELETE``, ``PATCH``, ``TRACE`` and ``CONNECT`` are 501
  Not Implemented and the connection is closed, as ClickHouse does (it sends no body; this says
  why, as NOT_IMPLEMENTED).

Robustness: a query is at most ``MAX_QUERY_SIZE`` bytes (ClickHouse's ``max_query_size``); a
larger body is refused before it is read and the connection closed. A request is read within
the connection limits (``sqlbridge.endpoint.connections``: header, body and send timeouts).
Malformed HTTP is answered ``Code: 1000. DB::Exception: ... (POCO_EXCEPTION)`` (ClickHouse's
code for what its HTTP library refuses) and ends that connection; a client that hangs up
mid-answer, or while its statement runs (the statement is then interrupted, see
``Endpoint.query``), ends that one connection and nothing else.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from sqlbridge.endpoint.auth import CHALLENGE, RequiredPassword, authenticate
from sqlbridge.endpoint.connections import still_connected
from sqlbridge.endpoint.exposure import hide_host_paths, printable
from sqlbridge.endpoint.sessions import Sessions
from sqlbridge.endpoint.statuses import content_type, http_status
from sqlbridge.errors import (
    BadArguments,
    NotImplemented_,
    QueryError,
    SyntaxError_,
    TooManySimultaneousQueries,
)

__all__ = ["Endpoint", "Handler", "MAX_QUERY_SIZE"]

log = logging.getLogger("asl.http")

#: ClickHouse's default ``max_query_size``: the longest query text accepted, in bytes.
MAX_QUERY_SIZE = 262144
#: Header fields accepted in one request.
MAX_HEADERS = 100


#: ClickHouse's answer to OPTIONS: the headers of the ``http_options_response`` section its
#: default configuration ships (a browser's CORS preflight then lets the query through).
OPTIONS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "origin, x-requested-with, x-clickhouse-format, "
                                    "x-clickhouse-user, x-clickhouse-key, Authorization",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Max-Age": "86400",
}


class HttpLengthRequired(QueryError):
    code, name = 381, "HTTP_LENGTH_REQUIRED"


class StdException(QueryError):
    """An unexpected Python error inside the server (ClickHouse's STD_EXCEPTION)."""

    code, name = 1001, "STD_EXCEPTION"


#: URL parameters ClickHouse's handler consumes itself (not settings); accepted and ignored
#: here, where they mean nothing (no sessions to resume, no compression, answers are buffered).
_RESERVED = frozenset({
    "query", "compress", "decompress", "user", "password", "quota_key", "query_id",
    "stacktrace", "buffer_size", "wait_end_of_query", "session_id", "session_timeout",
    "session_check", "client_protocol_version", "close_session", "database", "default_format",
})

#: Settings that change nothing here: transport and progress headers, and the engine tuning
#: a ``SETTINGS`` clause may carry (``translate``'s list).
_TRANSPORT_SETTINGS = frozenset({
    "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "enable_http_compression", "http_zlib_compression_level", "http_wait_end_of_query",
    "http_response_buffer_size", "cancel_http_readonly_queries_on_client_close",
    "add_http_cors_header", "max_query_size", "output_format_pretty_color",
})


def _harmless(name: str) -> bool:
    from sqlbridge.translate import _HARMLESS_SETTINGS

    return name in _TRANSPORT_SETTINGS or name.lower() in _HARMLESS_SETTINGS


class _Answer:
    __slots__ = ("status", "body", "headers", "close")

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                 close: bool = False) -> None:
        self.status, self.body, self.headers, self.close = status, body, headers or {}, close


def _error_answer(error: QueryError, close: bool = False) -> _Answer:
    status = http_status(error.code)
    headers = {"X-ClickHouse-Exception-Code": str(error.code),
               "Content-Type": "text/plain; charset=UTF-8"}
    if error.code == RequiredPassword.code:
        headers["WWW-Authenticate"] = CHALLENGE
    return _Answer(status, (hide_host_paths(str(error)) + "\n").encode(), headers, close)


class Endpoint:
    """What the handler calls: authentication and running one query, under the server's limits
    (``max_concurrent_queries`` at once; each statement's limits are the session's)."""

    def __init__(self, sessions: Sessions, token: str | None,
                 max_concurrent_queries: int = 0) -> None:
        self.sessions = sessions
        self._token = token.encode() if token is not None else None
        self.max_concurrent_queries = max_concurrent_queries
        self._running = 0
        self._running_lock = threading.Lock()

    @property
    def running(self) -> int:
        """Statements running now."""
        return self._running

    def authenticate(self, headers: Any) -> None:
        authenticate(headers, self._token)

    def query(self, text: str, params: list[tuple[str, str]], headers: Any,
              alive: Callable[[], bool] | None = None) -> _Answer:
        default_format = headers.get("X-ClickHouse-Format") or None
        query_id = headers.get("X-ClickHouse-Query-Id") or None
        values: dict[str, str] = {}
        settings: dict[str, str] = {}
        for key, value in params:
            if key.startswith("param_") and len(key) > len("param_"):
                values.setdefault(key[len("param_"):], value)
            elif key == "default_format":
                default_format = default_format or value or None
            elif key == "query_id":
                query_id = query_id or value or None
            elif key and key not in _RESERVED:
                settings.setdefault(key, value)
        dialect, time_zone, limits = self._settings(settings)
        with self._slot(), self.sessions.use(dialect, time_zone) as db:
            pieces = db.split(text)
            if not pieces:
                raise SyntaxError_("Empty query")
            if len(pieces) > 1:
                raise SyntaxError_(_multi_statements(text, pieces))
            answer = db.execute(pieces[0], params=values,
                                format=default_format or "TabSeparated", settings=limits,
                                alive=alive)
        out = answer.render()
        body = out.encode() if isinstance(out, str) else out
        fmt = answer.format or "TabSeparated"
        return _Answer(200, body, {
            "Content-Type": content_type(fmt),
            "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Timezone": answer.time_zone,
            "X-ClickHouse-Query-Id": query_id or str(uuid.uuid4()),
        })

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        with self._running_lock:
            if self.max_concurrent_queries and self._running >= self.max_concurrent_queries:
                raise TooManySimultaneousQueries(
                    f"Too many simultaneous queries. Maximum: {self.max_concurrent_queries} "
                    "(the server's max_concurrent_queries; retry when one has finished)")
            self._running += 1
        try:
            yield
        finally:
            with self._running_lock:
                self._running -= 1

    @staticmethod
    def _settings(settings: dict[str, str]) -> tuple[str | None, str | None, dict[str, str]]:
        from sqlbridge.limits import LIMIT_SETTINGS, Limits
        from sqlbridge.translate import DIALECTS

        dialect = time_zone = None
        limits: dict[str, str] = {}
        for name, value in settings.items():
            if name == "session_timezone":
                time_zone = value or None  # '' is the server's zone, as in ClickHouse
            elif name == "dialect":
                if value not in DIALECTS:
                    raise BadArguments(f"Unexpected value of Dialect: '{value}'. Must be one of "
                                       f"{list(DIALECTS)!r}")
                dialect = value
            elif name in LIMIT_SETTINGS:
                limits[name] = value
            elif name == "output_format_pretty_color" and value.lower() not in (
                    "0", "false", "auto"):
                raise NotImplemented_("Setting output_format_pretty_color: colours are not "
                                      "supported; Pretty formats print without them")
            elif not _harmless(name):
                raise NotImplemented_(f"Setting {name} is not supported here (ignoring it could "
                                      "change the answer); remove it from the URL")
        Limits().with_settings(limits)  # a bad value is refused before a session is opened
        return dialect, time_zone, limits


class Handler(http.server.BaseHTTPRequestHandler):
    """One connection: ClickHouse's routes, keep-alive, bounded reads, quiet failures."""

    protocol_version = "HTTP/1.1"
    # A request line without a version is HTTP/0.9 to http.server, which then answers with a
    # bare body; every answer here carries a status line and headers.
    default_request_version = "HTTP/1.1"
    server_version = "asl"
    sys_version = ""
    server: Any  # server._ServerMixin: .endpoint, .timeouts

    def parse_request(self) -> bool:
        """http.server's parsing, stricter where it is lenient: only HTTP/1.0 and 1.1, and
        header lines of ``Name: value`` (a line without a colon is not skipped silently)."""
        if not super().parse_request():
            return False
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.send_error(505, f"Invalid HTTP version ({self.request_version})")
            return False
        if self.headers.defects:
            self.send_error(400, "Malformed header line (expected Name: value)")
            return False
        if len(self.headers) > MAX_HEADERS:  # http.client's own cap is a global others raise
            self.send_error(431, f"Too many headers: more than {MAX_HEADERS}")
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle()  # the statement runs, as in ClickHouse: its status and headers, no body

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._drop_body()
        self._send(_Answer(204, b"", dict(OPTIONS_HEADERS), close=True))

    def _refuse_method(self) -> None:
        self._drop_body()
        self._send(_error_answer(NotImplemented_(
            f"HTTP method {self.command} is not supported: ClickHouse's HTTP "
            "interface answers GET, HEAD and POST (and OPTIONS, a CORS preflight); send queries "
            "with GET /?query=... or POST /"), close=True))

    do_PUT = do_DELETE = do_PATCH = do_TRACE = do_CONNECT = _refuse_method

    def _drop_body(self) -> None:
        # Read (at most MAX_QUERY_SIZE of) it: closing with unread bytes would reset the
        # connection under the answer, and the client would see no status at all.
        try:
            self._read_body()
        except (QueryError, _Malformed, OSError):
            pass

    def _handle(self) -> None:
        self._send(self._answer(self.server.endpoint))

    def handle_expect_100(self) -> bool:
        # Refuse an oversized body before the client sends it, rather than after.
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_QUERY_SIZE:
            self._send(_error_answer(SyntaxError_(_too_large(int(length))), close=True))
            return False
        return super().handle_expect_100()

    def _answer(self, endpoint: Endpoint) -> _Answer:
        url = urllib.parse.urlsplit(self.path)
        try:
            body = self._read_body()
        except QueryError as e:
            return _error_answer(e, close=True)  # the rest of the body is still on the wire
        except _Malformed as e:
            return _Answer(400, f"Code: 1000. DB::Exception: Malformed HTTP request: {e}. "
                                "(POCO_EXCEPTION)\n".encode(),
                           {"Content-Type": "text/plain; charset=UTF-8",
                            "X-ClickHouse-Exception-Code": "1000"}, close=True)
        except TimeoutError:
            return _Answer(408, b"Code: 209. DB::Exception: Timeout exceeded while reading the "
                                b"request body. (SOCKET_TIMEOUT)\n",
                           {"Content-Type": "text/plain; charset=UTF-8",
                            "X-ClickHouse-Exception-Code": "209"}, close=True)
        try:
            endpoint.authenticate(self.headers)
            if url.path == "/ping":
                return _Answer(200, b"Ok.\n")
            if url.path not in ("/", ""):
                return _Answer(404, f"There is no handle {url.path}\n\nUse / or /ping for health "
                                    "checks.\nSend queries with POST / or GET /?query=...\n"
                                    .encode(), {"Content-Type": "text/plain; charset=UTF-8"})
            try:
                params = urllib.parse.parse_qsl(url.query, keep_blank_values=True,
                                                errors="strict")
            except UnicodeDecodeError:
                raise BadArguments("The URL is not valid UTF-8: a percent-encoded parameter "
                                   "decodes to bytes that are not UTF-8; encode the query as "
                                   "UTF-8 before percent-encoding it") from None
            query = next((v for k, v in params if k == "query"), "")
            if not query and not body and self.command in ("GET", "HEAD"):
                return _Answer(200, b"Ok.\n")
            try:
                text = (query + "\n" if query else "") + body.decode("utf-8")
            except UnicodeDecodeError as e:
                raise BadArguments(f"The query is not valid UTF-8 (byte {e.start} of the "
                                   "body)") from None
            if len(text.encode()) > MAX_QUERY_SIZE:
                raise SyntaxError_(_too_large(len(text.encode())))
            return endpoint.query(text, params, self.headers, alive=self._client_waits)
        except QueryError as e:
            return _error_answer(e)
        except Exception as e:  # a bug, or a loader failing in an unforeseen way: one answer
            log.exception("asl HTTP endpoint: unexpected error")
            return _error_answer(StdException(f"{type(e).__name__}: {e}"))

    def _client_waits(self) -> bool:
        """False once the client has closed its end (polled while its statement runs; bytes
        of a next, pipelined request still mean it waits)."""
        return still_connected(self.connection)

    def _read_body(self) -> bytes:
        timeouts = getattr(self.server, "timeouts", None)
        if timeouts is not None and hasattr(self.rfile, "deadline"):
            self.rfile.deadline = time.monotonic() + timeouts.body_timeout
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            if self.command == "POST":
                raise HttpLengthRequired("The Transfer-Encoding is not chunked and there is no "
                                         "Content-Length header for POST request")
            return b""
        try:
            size = int(length)
            if size < 0:
                raise ValueError
        except ValueError:
            raise _Malformed(f"Content-Length {length!r} is not a number") from None
        if size > MAX_QUERY_SIZE:
            raise SyntaxError_(_too_large(size))
        data = self.rfile.read(size)
        if len(data) < size:
            raise _Malformed("the body ended before Content-Length bytes")
        return data

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _Malformed("a chunk size is not hexadecimal") from None
            if size == 0:
                while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            if len(body) + size > MAX_QUERY_SIZE:
                raise SyntaxError_(_too_large(len(body) + size))
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise _Malformed("the body ended inside a chunk")
            body += chunk
            self.rfile.readline(8)

    def _send(self, answer: _Answer) -> None:
        self._send_timeout()
        try:
            self.send_response(answer.status)
            headers = {"Content-Type": "text/plain; charset=UTF-8", **answer.headers,
                       "Content-Length": str(len(answer.body))}
            body = answer.body
            if self.command == "HEAD" or answer.status == 204:
                body = b""  # see the module docstring: no length for a HEAD
                del headers["Content-Length"]
                if answer.status == 204:
                    del headers["Content-Type"]
            if answer.close:
                headers["Connection"] = "close"
                self.close_connection = True
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client left: nothing to tell it

    def _send_timeout(self) -> None:
        timeouts = getattr(self.server, "timeouts", None)
        with contextlib.suppress(OSError):
            self.connection.settimeout(timeouts.send_timeout if timeouts else None)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's protocol errors (bad request line, huge headers, unknown method) as
        ClickHouse-style plain text, not HTML, and never keeping the connection."""
        phrase = self.responses.get(code, ("Error",))[0]
        what = printable(f"{message or phrase}" + (f": {explain}" if explain else ""))
        text = (f"Code: 1000. DB::Exception: HTTP {code}: {what}. (POCO_EXCEPTION)")
        self.close_connection = True
        self._send_timeout()
        try:
            self.send_response(code, printable(message) if message else None)
            self.send_header("Content-Type", "text/plain; charset=UTF-8")
            self.send_header("X-ClickHouse-Exception-Code", "1000")
            self.send_header("Connection", "close")
            body = (text + "\n").encode("utf-8", "replace")
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.end_headers()
        except (ConnectionError, TimeoutError):
            pass

    def version_string(self) -> str:
        return self.server_version

    def address_string(self) -> str:
        address = self.client_address
        return str(address[0]) if isinstance(address, tuple) and address else "unix"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _multi_statements(text: str, pieces: list) -> str:
    end = text.find(";", pieces[0].offset + len(pieces[0].text))
    position = end + 1 if 0 <= end < pieces[1].offset else pieces[1].offset + 1
    return (f"Syntax error (Multi-statements are not allowed): failed at position {position} "
            f"(end of query): {' '.join(text[position - 1:position + 39].split())}. Send one "
            "statement per request (asl sql --connect sends a script's statements one by one)")


class _Malformed(Exception):
    """The request is not well-formed HTTP (its body, here)."""


def _too_large(size: int) -> str:
    # Not ClickHouse's "(can be increased with the `max_query_size` setting)": here the
    # setting is accepted and changes nothing, so the message must not send users to it.
    return (f"Max query size exceeded: the query is {size} bytes, at most {MAX_QUERY_SIZE} are "
            "accepted (a fixed limit here; max_query_size does not raise it)")

