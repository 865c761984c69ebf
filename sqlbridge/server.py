"""``serve(loader, address)``: the live tables over HTTP, in the manner of ClickHouse's interface.

What a client sees
------------------
The protocol is ClickHouse's (``src/Server/HTTPHandler.cpp``), so ``curl``, ClickHouse drivers
and ``asl sql --connect`` all work:

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
  (``clickhouse`` or ``duckdb``) pick the session the statement runs in; settings that change
  nothing here (``max_threads``, ``log_comment``, ``wait_end_of_query``, ...) are accepted; any
  other is refused with NOT_IMPLEMENTED, as in a ``SETTINGS`` clause, rather than ignored.
* An error is ``Code: N. DB::Exception: message (NAME)`` plus a newline, with the header
  ``X-ClickHouse-Exception-Code: N`` and the HTTP status ClickHouse's ``exceptionCodeToHTTPStatus``
  gives that code (transcribed in ``HTTP_STATUS``; note that ClickHouse answers READONLY and
  query-parameter errors with 500, so this endpoint does too).

Security
--------
The endpoint listens on loopback unless told otherwise: ``"8123"`` or ``":8123"`` means
127.0.0.1:8123 (not every interface, as Python's ``""`` would). A path (``"/run/asl.sock"``,
``"unix:asl.sock"``) is a Unix socket, created with mode 0600 so only its owner can connect. A
non-loopback address (``0.0.0.0:8123``, a LAN address, a host name that resolves elsewhere) is
refused with ``UnsafeBindError`` unless a ``token`` is given. With a token, every request
(``/ping`` too) must carry it as ``Authorization: Bearer <token>``, ClickHouse's
``X-ClickHouse-Key: <token>``, or the password of ``Authorization: Basic`` (so ``curl -u :TOKEN``
and ClickHouse drivers work); it is compared in constant time (``hmac.compare_digest``). No
token at all is 401 with ``WWW-Authenticate`` (REQUIRED_PASSWORD, 194), a wrong one 403
(AUTHENTICATION_FAILED, 516), as ClickHouse's table says. A token in the URL is not accepted
(URLs end up in logs). Every statement runs in a sandboxed, read-only ``Session``
(``sqlbridge.sandbox``): no files, no ATTACH, no extensions, no settings.

Robustness: a query is at most ``MAX_QUERY_SIZE`` bytes (ClickHouse's ``max_query_size``); a
larger body is refused before it is read and the connection closed. Malformed HTTP, an idle or
stalled connection (``IDLE_TIMEOUT``), a client that hangs up mid-answer: each ends that one
connection and nothing else. Any statement's failure leaves its session usable.

Sessions and threads
--------------------
``ThreadingHTTPServer`` gives each connection a thread. All of them share **one session per
(dialect, time zone)** (the server's default, opened at start, plus one per other
``session_timezone``/``dialect`` asked for, up to ``MAX_SESSIONS``, least recently used closed
first). A ``Session`` is thread-safe: its lock covers only the DuckDB part of a statement (take
the snapshot, run the query, collect the Arrow result); translation before and rendering after
run outside it, in parallel with other requests as far as the GIL allows. Every statement takes
its own consistent snapshot, however many times it scans the table.
One session per thread would instead cost a DuckDB connection and catalog setup (~40 ms, a few
MB) per *connection*, since the server makes a thread per connection, and would buy little: the
lock is held for milliseconds, and rendering, the larger part of a big answer, is GIL-bound
Python either way.

Lifecycle
---------
``serve()`` binds, opens the default session and starts serving on a daemon thread before it
returns a ``Server``; nothing else is needed to run it in the background::

    with sqlbridge.serve(loader, "127.0.0.1:0") as server:   # port 0: any free port
        print(server.url)                                    # http://127.0.0.1:41123/
        ...                                                  # clients query it meanwhile
    # closed: no longer listening, connections ended, sessions closed, socket file removed

``server.serve_forever()`` blocks the calling thread until ``close()`` is called (from another
thread or a signal handler) or Ctrl-C, and closes the server on the way out (the
KeyboardInterrupt propagates to the caller). ``close()`` stops accepting, gives requests in
flight a moment to finish, then ends every connection, closes the sessions and removes a Unix
socket file; it is idempotent. The loader is not the server's: it is never shut down by it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import http.server
import ipaddress
import logging
import os
import socket
import socketserver
import stat
import threading
import time
import urllib.parse
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlbridge.errors import BadArguments, NotImplemented_, QueryError, SyntaxError_

if TYPE_CHECKING:
    from sqlbridge.session import Session

__all__ = ["serve", "Server", "UnsafeBindError", "HTTP_STATUS", "http_status", "MAX_QUERY_SIZE"]

log = logging.getLogger("asl.http")

#: ClickHouse's default ``max_query_size``: the longest query text accepted, in bytes.
MAX_QUERY_SIZE = 262144
#: Seconds a connection may sit idle (or stall mid-request) before it is closed.
IDLE_TIMEOUT = 30.0
#: Sessions kept open at once (one per dialect and time zone asked for).
MAX_SESSIONS = 8
#: Seconds ``close()`` lets requests in flight finish before ending their connections.
CLOSE_GRACE = 2.0


class UnsafeBindError(ValueError):
    """``serve()`` was asked to listen beyond this machine without a token."""


class RequiredPassword(QueryError):
    code, name, http_status = 194, "REQUIRED_PASSWORD", 401


class AuthenticationFailed(QueryError):
    code, name, http_status = 516, "AUTHENTICATION_FAILED", 403


class HttpLengthRequired(QueryError):
    code, name, http_status = 381, "HTTP_LENGTH_REQUIRED", 411


class StdException(QueryError):
    """An unexpected Python error inside the server (ClickHouse's STD_EXCEPTION)."""

    code, name, http_status = 1001, "STD_EXCEPTION", 500


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


def _content_type(fmt: str) -> str:
    """The Content-Type ClickHouse's output format ``fmt`` (a canonical name) declares."""
    if fmt.startswith("TabSeparated"):
        return "text/tab-separated-values; charset=UTF-8"
    if fmt.startswith("CSV"):
        return "text/csv; charset=UTF-8; header=" + ("present" if "Names" in fmt else "absent")
    if fmt in ("JSON", "JSONCompact"):
        return "application/json; charset=UTF-8"
    if fmt == "JSONEachRow":
        return "application/x-ndjson; charset=UTF-8"
    if fmt in ("Parquet", "Arrow", "ArrowStream"):
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"


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


# ----------------------------------------------------------------------------- addresses --

def _parse_address(address: Any) -> tuple[str, Any]:
    """``("unix", path)`` or ``("tcp", (host, port))``; an empty host means loopback."""
    if isinstance(address, os.PathLike):
        return "unix", os.fspath(address)
    if isinstance(address, int):
        return "tcp", ("", address)
    if isinstance(address, tuple) and len(address) == 2:
        return "tcp", (str(address[0] or ""), int(address[1]))
    if not isinstance(address, str):
        raise TypeError(f"address must be 'host:port', a port, (host, port) or a socket path, "
                        f"not {address!r}")
    text = address.strip()
    if text.startswith("unix:"):
        return "unix", text[len("unix:"):]
    for scheme in ("http://", "https://"):
        if text.startswith(scheme):
            text = text[len(scheme):].rstrip("/")
    if "/" in text:
        return "unix", text
    if text.isdigit():
        return "tcp", ("", int(text))
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"cannot read the address {address!r}: use HOST:PORT (127.0.0.1:8123, "
                         "[::1]:8123, :8123), a port number, or a Unix socket path "
                         "(/run/asl.sock, unix:asl.sock)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return "tcp", (host, int(port))


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, str, bool]:
    """(family, address to bind, whether every address ``host`` names is loopback)."""
    if not host:
        return socket.AF_INET, "127.0.0.1", True
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ValueError(f"cannot resolve the host {host!r} to listen on: {e.strerror}") from None
    loopback = all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
                   for info in infos)
    family, _, _, _, sockaddr = infos[0]
    return family, str(sockaddr[0]), loopback


def _check_token(token: str | None) -> None:
    if token is None:
        return
    if not isinstance(token, str) or not token or any(c.isspace() or not c.isprintable()
                                                      for c in token):
        raise ValueError("token must be a non-empty string of printable characters without "
                         "spaces (it travels in an HTTP header); for example "
                         "secrets.token_urlsafe(32)")


# ------------------------------------------------------------------------------ sessions --

class _Sessions:
    """One ``Session`` per (dialect, time zone), least recently used closed past the cap.

    A session being used is never closed under its user: eviction marks it, and the last user
    closes it when done.
    """

    def __init__(self, loader: Any, dialect: str, time_zone: str | None) -> None:
        from sqlbridge.session import connect

        self._loader = loader
        self._lock = threading.Lock()
        self._open: OrderedDict[tuple[str, str], Session] = OrderedDict()
        self._users: dict[int, int] = {}
        self._retired: set[int] = set()
        default = connect(loader, dialect=dialect, time_zone=time_zone)
        self.default_key = (default.dialect, default.time_zone)
        self._open[self.default_key] = default
        self._closed = False

    @contextlib.contextmanager
    def use(self, dialect: str | None, time_zone: str | None) -> Iterator[Session]:
        key = (dialect or self.default_key[0], time_zone or self.default_key[1])
        with self._lock:
            if self._closed:
                from sqlbridge.errors import SessionClosed

                raise SessionClosed("The server is shutting down")
            db = self._open.get(key)
            if db is not None:
                self._open.move_to_end(key)
                self._users[id(db)] = self._users.get(id(db), 0) + 1
        if db is None:
            db = self._open_new(key)
        try:
            yield db
        finally:
            with self._lock:
                left = self._users[id(db)] - 1
                if left:
                    self._users[id(db)] = left
                else:
                    del self._users[id(db)]
                    if id(db) in self._retired:
                        self._retired.discard(id(db))
                        db.close()

    def _open_new(self, key: tuple[str, str]) -> Session:
        from sqlbridge.session import connect

        try:
            # Outside the lock: opening takes ~40 ms, and other sessions keep serving meanwhile.
            fresh = connect(self._loader, dialect=key[0], time_zone=key[1])
        except ValueError:
            raise BadArguments(f"Invalid time zone: {key[1]} (session_timezone takes an IANA "
                               "name such as UTC or Europe/Berlin)") from None
        with self._lock:
            db = self._open.get(key)
            if db is None:
                db = self._open[key] = fresh
            self._users[id(db)] = self._users.get(id(db), 0) + 1
            while len(self._open) > MAX_SESSIONS:
                old_key, old = next(iter(self._open.items()))
                if old_key == self.default_key:
                    self._open.move_to_end(old_key)
                    continue
                del self._open[old_key]
                if id(old) in self._users:
                    self._retired.add(id(old))
                else:
                    old.close()
        if db is not fresh:
            fresh.close()
        return db

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sessions = list(self._open.values())
            self._open.clear()
        for db in sessions:
            db.close()  # a statement still running finishes first: close takes its lock


# ------------------------------------------------------------------------------ the work --

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
        headers["WWW-Authenticate"] = 'Bearer realm="asl", Basic realm="asl"'
    return _Answer(status, (str(error) + "\n").encode(), headers, close)


class _Endpoint:
    """What the handler calls: authentication and running one query."""

    def __init__(self, sessions: _Sessions, token: str | None) -> None:
        self.sessions = sessions
        self._token = token.encode() if token is not None else None

    def authenticate(self, headers: Any) -> None:
        if self._token is None:
            return
        offered = []
        auth = headers.get("Authorization")
        if auth:
            scheme, _, value = auth.strip().partition(" ")
            if scheme.lower() == "bearer":
                offered.append(value.strip())
            elif scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(value.strip(), validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    raise AuthenticationFailed("Invalid authentication: the Basic credentials "
                                               "are not valid base64 of user:password") from None
                offered.append(decoded.partition(":")[2])
            else:
                raise AuthenticationFailed(f"Invalid authentication: '{scheme}' HTTP "
                                           "Authorization scheme is not supported; use Bearer")
        key = headers.get("X-ClickHouse-Key")
        if key is not None:
            offered.append(key.strip())
        if not offered:
            raise RequiredPassword("Authentication required: this asl endpoint needs its token, "
                                   "sent as 'Authorization: Bearer <token>' or "
                                   "'X-ClickHouse-Key: <token>' (asl --connect reads ASL_TOKEN "
                                   "or --token); a token in the URL is not accepted")
        # Every offered credential is compared, so timing tells nothing about which one failed.
        verdicts = [hmac.compare_digest(o.encode(), self._token) for o in offered]
        if not all(verdicts):
            raise AuthenticationFailed("Authentication failed: the token is incorrect")

    def query(self, text: str, params: list[tuple[str, str]], headers: Any) -> _Answer:
        from sqlbridge.formats import canonical_format
        from sqlbridge.params import substitute
        from sqlbridge.split import split_statements

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
        dialect, time_zone = self._settings(settings)
        with self.sessions.use(dialect, time_zone) as db:
            pieces = split_statements(text, db.dialect)
            if not pieces:
                raise SyntaxError_("Empty query")
            if len(pieces) > 1:
                raise SyntaxError_(_multi_statements(text, pieces))
            sql = substitute(pieces[0].text, values, db.dialect)
            fmt = canonical_format(db.translate(sql).format or default_format or "TabSeparated")
            out = db.run(sql, format=fmt)
            zone = db.time_zone
        body = out.encode() if isinstance(out, str) else out
        return _Answer(200, body, {
            "Content-Type": _content_type(fmt),
            "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Timezone": zone,
            "X-ClickHouse-Query-Id": query_id or str(uuid.uuid4()),
        })

    @staticmethod
    def _settings(settings: dict[str, str]) -> tuple[str | None, str | None]:
        from sqlbridge.translate import DIALECTS

        dialect = time_zone = None
        for name, value in settings.items():
            if name == "session_timezone":
                time_zone = value or None  # '' is the server's zone, as in ClickHouse
            elif name == "dialect":
                if value not in DIALECTS:
                    raise BadArguments(f"Unexpected value of Dialect: '{value}'. Must be one of "
                                       f"{list(DIALECTS)!r}")
                dialect = value
            elif name == "output_format_pretty_color" and value.lower() not in (
                    "0", "false", "auto"):
                raise NotImplemented_("Setting output_format_pretty_color: colours are not "
                                      "supported; Pretty formats print without them")
            elif not _harmless(name):
                raise NotImplemented_(f"Setting {name} is not supported here (ignoring it could "
                                      "change the answer); remove it from the URL")
        return dialect, time_zone


# ------------------------------------------------------------------------------- HTTP --

class _Handler(http.server.BaseHTTPRequestHandler):
    """One connection: ClickHouse's routes, keep-alive, bounded reads, quiet failures."""

    protocol_version = "HTTP/1.1"
    server_version = "asl"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: Any  # _ServerMixin

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        endpoint: _Endpoint = self.server.endpoint
        self.server.request_started()
        try:
            answer = self._answer(endpoint)
        finally:
            self.server.request_finished()
        self._send(answer)

    def handle_expect_100(self) -> bool:
        # Refuse an oversized body before the client sends it, rather than after.
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_QUERY_SIZE:
            self._send(_error_answer(SyntaxError_(_too_large(int(length))), close=True))
            return False
        return super().handle_expect_100()

    def _answer(self, endpoint: _Endpoint) -> _Answer:
        url = urllib.parse.urlsplit(self.path)
        try:
            body = self._read_body()
        except QueryError as e:
            return _error_answer(e, close=True)  # the rest of the body is still on the wire
        except _Malformed as e:
            return _Answer(400, f"Bad request: {e}\n".encode(),
                           {"Content-Type": "text/plain; charset=UTF-8"}, close=True)
        try:
            endpoint.authenticate(self.headers)
            if url.path == "/ping":
                return _Answer(200, b"Ok.\n")
            if url.path not in ("/", ""):
                return _Answer(404, f"There is no handle {url.path}\n\nUse / or /ping for health "
                                    "checks.\nSend queries with POST / or GET /?query=...\n"
                                    .encode(), {"Content-Type": "text/plain; charset=UTF-8"})
            params = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
            query = next((v for k, v in params if k == "query"), "")
            if not query and not body and self.command == "GET":
                return _Answer(200, b"Ok.\n")
            try:
                text = (query + "\n" if query else "") + body.decode("utf-8")
            except UnicodeDecodeError as e:
                raise BadArguments(f"The query is not valid UTF-8 (byte {e.start} of the "
                                   "body)") from None
            if len(text.encode()) > MAX_QUERY_SIZE:
                raise SyntaxError_(_too_large(len(text.encode())))
            return endpoint.query(text, params, self.headers)
        except QueryError as e:
            return _error_answer(e)
        except Exception as e:  # a bug, or a loader failing in an unforeseen way: one answer
            log.exception("asl HTTP endpoint: unexpected error")
            return _error_answer(StdException(f"{type(e).__name__}: {e}"))

    def _read_body(self) -> bytes:
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
        try:
            self.send_response(answer.status)
            headers = {"Content-Type": "text/plain; charset=UTF-8", **answer.headers,
                       "Content-Length": str(len(answer.body))}
            if answer.close:
                headers["Connection"] = "close"
                self.close_connection = True
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client left: nothing to tell it

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's protocol errors (bad request line, huge headers, unknown method) as
        plain text, not HTML, and never keeping the connection."""
        phrase = self.responses.get(code, ("Error",))[0]
        text = f"{code} {message or phrase}" + (f": {explain}" if explain else "")
        self.close_connection = True
        try:
            self.send_response(code, message)
            self.send_header("Content-Type", "text/plain; charset=UTF-8")
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
    return (f"Max query size exceeded (can be increased with the `max_query_size` setting): "
            f"the query is {size} bytes, at most {MAX_QUERY_SIZE} are accepted")


class _ServerMixin:
    """What both socket kinds share: connection tracking for ``close()``, quiet errors."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    endpoint: _Endpoint

    def setup_tracking(self) -> None:
        self._connections: set[socket.socket] = set()
        self._busy = 0
        self._cond = threading.Condition()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._cond:
            self._connections.add(request)
        try:
            super().process_request_thread(request, client_address)  # type: ignore[misc]
        finally:
            with self._cond:
                self._connections.discard(request)
                self._cond.notify_all()

    def request_started(self) -> None:
        with self._cond:
            self._busy += 1

    def request_finished(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def end_connections(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        with self._cond:
            while self._busy and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + grace
        with self._cond:
            while self._connections and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that vanished mid-request is normal life for a server; anything else is
        # logged, never printed over the user's terminal, and ends only that connection.
        log.debug("asl HTTP endpoint: connection error", exc_info=True)


class _TCPServer(_ServerMixin, http.server.ThreadingHTTPServer):
    def server_bind(self) -> None:
        # HTTPServer.server_bind would look up the host's FQDN (a DNS query); not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _TCP6Server(_TCPServer):
    address_family = socket.AF_INET6


class _UnixServer(_ServerMixin, socketserver.ThreadingUnixStreamServer):
    pass


# ------------------------------------------------------------------------------ public --

class Server:
    """A running endpoint; see the module docstring for its lifecycle."""

    def __init__(self, httpd: _ServerMixin, sessions: _Sessions, kind: str,
                 unix_path: str | None) -> None:
        self._httpd = httpd
        self._sessions = sessions
        self._kind = kind
        self._unix_path = unix_path
        self._unix_inode = os.stat(unix_path).st_ino if unix_path else None
        self._closed = threading.Event()
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=httpd.serve_forever,  # type: ignore[attr-defined]
                                        kwargs={"poll_interval": 0.1},
                                        name="asl-http", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int] | str:
        """``(host, port)`` as bound (the real port when 0 was asked), or the socket's path."""
        if self._kind == "unix":
            assert self._unix_path is not None
            return self._unix_path
        host, port = self._httpd.server_address[:2]  # type: ignore[attr-defined]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:8123/``, or ``http+unix://%2Frun%2Fasl.sock/`` for a socket
        (``asl sql --connect`` takes either)."""
        if self._kind == "unix":
            return "http+unix://" + urllib.parse.quote(os.path.abspath(str(self.address)),
                                                       safe="") + "/"
        host, port = self.address
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def serve_forever(self) -> None:
        """Block until ``close()`` is called or Ctrl-C; the server is closed on return."""
        try:
            while not self._closed.wait(0.5):
                pass
        finally:
            self.close()

    def close(self) -> None:
        """Stop listening, finish or end the connections, close the sessions; idempotent."""
        with self._close_lock:
            if self._closed.is_set():
                return
            httpd: Any = self._httpd
            httpd.shutdown()
            self._thread.join()
            httpd.server_close()
            httpd.end_connections(CLOSE_GRACE)
            self._sessions.close()
            if self._unix_path is not None:
                with contextlib.suppress(OSError):
                    if os.stat(self._unix_path).st_ino == self._unix_inode:
                        os.unlink(self._unix_path)
            self._closed.set()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<sqlbridge.Server {self.url}{' closed' if self.closed else ''}>"


def serve(loader: Any, address: str | int | tuple[str, int] | os.PathLike[str], *,
          token: str | None = None, dialect: str = "clickhouse",
          time_zone: str | None = None) -> Server:
    """Serve ``loader``'s live tables over HTTP at ``address``; returns the running ``Server``.

    ``address``: ``"127.0.0.1:8123"``, ``"[::1]:8123"``, ``":8123"`` or ``8123`` (loopback),
    ``"HOST:0"`` (any free port: read ``server.url``), or a Unix socket path (``"/run/asl.sock"``,
    ``"unix:asl.sock"``). A non-loopback address needs ``token`` (else ``UnsafeBindError``).
    ``dialect`` and ``time_zone`` are the defaults for requests that do not set ``dialect`` or
    ``session_timezone`` (default zone: this process's local zone, as ClickHouse uses the
    server's). Raises ``OSError`` if the address is taken.
    """
    _check_token(token)
    kind, where = _parse_address(address)
    unix_path = None
    if kind == "unix":
        unix_path = os.path.abspath(os.path.expanduser(where))
        _clear_stale_socket(unix_path)
        httpd: _ServerMixin = _UnixServer(unix_path, _Handler, bind_and_activate=False)
        try:
            old_umask = os.umask(0o177)  # the socket is born 0600: no window for others
            try:
                httpd.server_bind()  # type: ignore[attr-defined]
            finally:
                os.umask(old_umask)
            httpd.server_activate()  # type: ignore[attr-defined]
        except BaseException:
            httpd.server_close()  # type: ignore[attr-defined]
            raise
    else:
        host, port = where
        family, bind_host, loopback = _resolve(host, port)
        if not loopback and token is None:
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise UnsafeBindError(
                f"Refusing to serve on {shown} without a token: anyone who can reach that "
                "address could read every job's name, state and error. Pass token=... (clients "
                "send it as 'Authorization: Bearer <token>' or 'X-ClickHouse-Key'; asl --connect "
                "reads ASL_TOKEN), or listen on loopback (127.0.0.1:PORT) or a Unix socket path")
        cls = _TCP6Server if family == socket.AF_INET6 else _TCPServer
        httpd = cls((bind_host, port), _Handler, bind_and_activate=False)
        try:
            httpd.server_bind()
            httpd.server_activate()
        except BaseException:
            httpd.server_close()
            raise
    httpd.setup_tracking()
    try:
        sessions = _Sessions(loader, dialect, time_zone)
    except BaseException:
        httpd.server_close()  # type: ignore[attr-defined]
        if unix_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(unix_path)
        raise
    httpd.endpoint = _Endpoint(sessions, token)
    return Server(httpd, sessions, kind, unix_path)


def _clear_stale_socket(path: str) -> None:
    """Remove a socket file left by a process that died; refuse to touch anything else."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{path} exists and is not a socket; choose another path")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)  # nobody listens: a leftover
        return
    except OSError:
        return
    finally:
        probe.close()
    raise OSError(f"{path}: another server is listening on this socket")
