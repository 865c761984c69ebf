"""A client for an asl HTTP endpoint (or any ClickHouse HTTP port): ``Client(url).execute(sql)``.

Like ``clickhouse-client`` over HTTP, the client sends SQL and gets the server's bytes: the
server translates, runs and renders, so this module imports neither DuckDB, pyarrow nor sqlglot
(``asl sql --connect`` starts about as fast as Python itself). Each statement is one ``POST``
(ClickHouse refuses several per request); ``split_script`` cuts a script with the session's own
tokenizer (``sqlbridge.split``, which does import sqlglot) only when the text could hold more
than one statement. Settings travel as URL parameters (``default_format``, ``session_timezone``,
``dialect``, ``max_execution_time``...), ``params`` as ``param_NAME``, the token in
``X-ClickHouse-Key``; so it also works against a real ClickHouse server's HTTP port.

A ``Client`` is a job source (``sqlbridge.source.JobSource``): ``snapshot()`` fetches the job
table as ``FORMAT ArrowStream`` and casts it to the loader's schema, so ``sqlbridge.graph`` (and
``asl graph --connect``) draw a remote loader like a local one.

Failures: ``Unreachable`` when no server answered at all (connection refused, no such socket,
unknown host, connect time-out: nothing ran); ``ServerError`` for an error answer (its text is
the server's ``Code: N. ...``) or a connection lost or timed out *after* the request was sent.
The command line (``cli.remote``) and the notebook map them to their own exits and messages.
"""

from __future__ import annotations

import http.client
import socket
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Client", "Unreachable", "ServerError", "parse_url", "split_script",
           "CONNECT_TIMEOUT", "READ_TIMEOUT"]

#: Seconds to wait for a connection, and for an answer (clickhouse-client's receive_timeout).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 300.0

_SCHEMES = "http://HOST:PORT, https://HOST:PORT, unix:/PATH or http+unix://%2FPATH"


class Unreachable(Exception):
    """No server answered at the URL: nothing ran; what must change is the URL or the server.
    ``str()`` is one line: ``Code: 210. DB::NetException: Connection refused (...). ...``;
    ``advice(fix)`` is the same line naming where the URL came from (``--connect``)."""

    def __init__(self, reason: str, url: str) -> None:
        self.reason, self.url = reason, url
        super().__init__(self.advice("the URL"))

    def advice(self, fix: str) -> str:
        return (f"{self.reason}. No asl HTTP endpoint answers at {self.url}: start one (asl demo "
                "--serve ADDR, or sqlbridge.serve(loader, ADDR) in the loader's process) or fix "
                f"{fix}")


class ServerError(Exception):
    """The server answered with an error; ``str()`` is its text (``Code: N. ...``)."""

    def __init__(self, text: str, status: int | None = None, code: int | None = None) -> None:
        super().__init__(text)
        self.text, self.status, self.code = text, status, code

def parse_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host or socket path, port, path prefix)``; ``ValueError`` says what to type."""
    text = url.strip()
    if text.startswith("unix:") and not text.startswith("unix://"):
        return "unix", text[len("unix:"):], 0, "/"
    if "://" not in text:
        text = "http://" + text
    parts = urllib.parse.urlsplit(text)
    if parts.scheme == "http+unix":
        path = urllib.parse.unquote(parts.netloc)
        if not path:
            raise ValueError(f"{url!r} names no socket: write http+unix://%2Frun%2Fasl.sock/")
        return "unix", path, 0, parts.path or "/"
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"cannot connect to {url!r}: use {_SCHEMES}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r} has a bad port: use {_SCHEMES}") from None
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host: use {_SCHEMES}")
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, port or default, parts.path or "/"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Client:
    """An endpoint at ``url``; keeps one connection alive across statements. A context manager."""

    def __init__(self, url: str, *, token: str | None = None,
                 timeout: float = READ_TIMEOUT) -> None:
        self.url = url
        self.scheme, self.host, self.port, self.prefix = parse_url(url)
        self.token = token or None
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    # ------------------------------------------------------------------ connection --

    def _where(self) -> str:
        return f"unix:{self.host}" if self.scheme == "unix" else f"{self.host}:{self.port}"

    def _connect(self) -> http.client.HTTPConnection:
        if self.scheme == "unix":
            conn: http.client.HTTPConnection = _UnixConnection(self.host, CONNECT_TIMEOUT)
        elif self.scheme == "https":
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=CONNECT_TIMEOUT)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=CONNECT_TIMEOUT)
        try:
            conn.connect()
        except OSError as e:
            conn.close()
            raise Unreachable(self._unreachable(e), self.url) from None
        assert conn.sock is not None
        conn.sock.settimeout(self.timeout)
        return conn

    def _unreachable(self, error: OSError) -> str:
        if isinstance(error, socket.gaierror):
            what = f"Code: 198. DB::NetException: Not found address of host: {self.host}"
        elif isinstance(error, TimeoutError):
            what = (f"Code: 209. DB::NetException: Timeout exceeded while connecting to "
                    f"{self._where()} ({CONNECT_TIMEOUT:g} s)")
        else:
            reason = error.strerror or str(error)
            what = f"Code: 210. DB::NetException: {reason} ({self._where()})"
        return what

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------- queries --

    def execute(self, sql: str, *, settings: Mapping[str, str] | None = None,
                params: Mapping[str, str] | None = None,
                write: Callable[[bytes], None] | None = None) -> bytes | None:
        """Run one statement. With ``write``, the answer's bytes are streamed to it and None
        returned; else they are returned. An error answer raises ``ServerError``."""
        query = dict(settings or {})
        query.update({f"param_{k}": v for k, v in (params or {}).items()})
        target = self.prefix + ("?" + urllib.parse.urlencode(query) if query else "")
        body = sql.encode()
        headers = {"Content-Type": "text/plain; charset=UTF-8", "User-Agent": "asl-cli"}
        if self.token:
            headers["X-ClickHouse-Key"] = self.token
        response = self._send(target, body, headers)
        try:
            if response.status != 200:
                raise self._error(response)
            return self._body(response, write)
        finally:
            if response.will_close:
                self.close()

    def _send(self, target: str, body: bytes,
              headers: dict[str, str]) -> http.client.HTTPResponse:
        # A kept-alive connection the server has since closed fails on first use: the query is
        # read-only, so sending it again on a fresh connection is safe.
        for attempt in (0, 1):
            fresh = self._conn is None
            if fresh:
                self._conn = self._connect()
            conn = self._conn
            assert conn is not None
            try:
                conn.request("POST", target, body=body, headers=headers)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as e:
                self.close()
                if fresh or attempt:
                    raise ServerError(f"Code: 210. DB::NetException: Connection reset by peer "
                                      f"while reading from socket ({self._where()}): "
                                      f"{e}") from None
            except TimeoutError:
                self.close()
                raise ServerError(f"Code: 209. DB::NetException: Timeout exceeded while reading "
                                  f"from socket ({self._where()}, {self.timeout:g} s)") from None
            except OSError as e:
                self.close()
                raise ServerError(f"Code: 210. DB::NetException: {e.strerror or e} "
                                  f"({self._where()})") from None
        raise AssertionError("unreachable")

    def _body(self, response: http.client.HTTPResponse,
              write: Callable[[bytes], None] | None) -> bytes | None:
        chunks = []
        try:
            while chunk := response.read(1 << 16):
                if write is None:
                    chunks.append(chunk)
                else:
                    write(chunk)
        except (http.client.IncompleteRead, ConnectionError, TimeoutError) as e:
            self.close()
            raise ServerError(f"Code: 210. DB::NetException: the answer from {self._where()} "
                              f"was cut off ({type(e).__name__})") from None
        return None if write is not None else b"".join(chunks)

    def _error(self, response: http.client.HTTPResponse) -> ServerError:
        try:
            text = response.read().decode("utf-8", "replace").strip()
        except (http.client.IncompleteRead, ConnectionError, TimeoutError):
            self.close()
            text = ""
        code = response.getheader("X-ClickHouse-Exception-Code")
        if not text.startswith("Code: "):
            # Not ClickHouse's error text (a proxy's page, an unknown path): say what came back.
            first = text.splitlines()[0][:300] if text else "(no body)"
            text = f"HTTP {response.status} {response.reason} from {self.url}: {first}"
        return ServerError(text, response.status, int(code) if code and code.isdigit() else None)

    # ------------------------------------------------------------- as a job source --

    def snapshot(self) -> Any:
        """The job table (``loader.snapshot()``'s schema), fetched as Arrow."""
        from loader.snapshot import SCHEMA

        return self._table("system.asynchronous_loader", SCHEMA)

    def pool_snapshot(self) -> Any:
        from loader.snapshot import POOLS_SCHEMA

        return self._table("system.asynchronous_loader_pools", POOLS_SCHEMA)

    def _table(self, name: str, schema: Any) -> Any:
        import pyarrow as pa

        # The whole table is the point here: lift the server's default result cap for it.
        data = self.execute(f"SELECT * FROM {name} FORMAT ArrowStream",
                            settings={"max_result_bytes": "0", "max_result_rows": "0"})
        assert data is not None
        table = pa.ipc.open_stream(data).read_all()
        return table.select(schema.names).cast(schema)


def split_script(text: str, dialect: str = "clickhouse") -> list[str]:
    """The statements of ``text``. Plain single statements (the common case) skip the
    tokenizer and its sqlglot import; anything with ``;``, ``\\G`` before the end, or a comment
    goes through ``sqlbridge.split``, exactly as a local session splits it; an unterminated
    string there is its ``SyntaxError_``."""
    body = text.strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    plain = not any(mark in body for mark in (";", "--", "/*", "#")) and "\\G" not in body[:-2]
    if plain:
        return [body] if body else []
    from sqlbridge.split import split_statements

    return [piece.text for piece in split_statements(text, dialect)]
