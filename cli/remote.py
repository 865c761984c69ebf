"""``--connect URL``: the commands' client for an asl HTTP endpoint (``sqlbridge.serve``).

Like ``clickhouse-client`` over HTTP, the client sends SQL and prints the server's bytes: the
server translates, runs and renders, so ``asl sql --connect`` imports neither DuckDB, pyarrow nor
sqlglot and starts about as fast as Python itself. Each statement is one ``POST`` (ClickHouse
refuses several per request); a script is split here, with the session's own tokenizer
(``sqlbridge.split``, which does import sqlglot) only when the text could hold more than one
statement. Options become what ClickHouse's HTTP interface understands: ``--format`` is
``default_format`` (a ``FORMAT`` clause still wins), ``--time-zone`` is the ``session_timezone``
setting, ``--dialect duckdb`` the ``dialect`` setting, ``--param`` the ``param_NAME`` parameters,
and the token goes in ``X-ClickHouse-Key``. So the same commands also work against a real
ClickHouse server's HTTP port.

``asl graph`` needs the job table itself: ``Remote.snapshot()`` fetches it as ``FORMAT
ArrowStream`` and casts it to the loader's schema, which makes a ``Remote`` a source like any
loader (``snapshot()``/``pool_snapshot()``).

Exit codes: an error answer is the server's ``Code: N. ...`` text on stderr and exit 1, as for a
local query. No answer at all (connection refused, no such socket, unknown host, connect
time-out) is one line, ``Error: Code: 210. DB::NetException: Connection refused (...)``, and
exit 2: nothing ran, and what must change is the command line (``--connect``/``ASL_URL``) or
the server, not the query. A connection lost or timed out *after* the request was sent is
exit 1.
"""

from __future__ import annotations

import http.client
import re
import socket
import sys
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import click

#: Seconds to wait for a connection, and for an answer (clickhouse-client's receive_timeout).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 300.0

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SCHEMES = "http://HOST:PORT, https://HOST:PORT, unix:/PATH or http+unix://%2FPATH"


class Unreachable(click.ClickException):
    """No server answered at the URL: a usage error (exit 2), printed as one line."""

    exit_code = 2


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


def parse_params(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``--param name=value`` pairs, checked as ``sqlbridge.params.parse_assignments`` checks
    them (that module imports pyarrow and sqlglot, which ``--connect`` does without)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not _IDENTIFIER.fullmatch(name):
            raise click.BadParameter(f"Query parameter must be given as name=value, got {item!r}",
                                     param_hint="'--param'")
        out[name] = value
    return out


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


class Remote:
    """An asl endpoint as a source of jobs; keeps one connection alive across statements."""

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
            raise Unreachable(self._unreachable(e)) from None
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
        return (f"{what}. No asl HTTP endpoint answers at {self.url}: start one (asl demo "
                "--serve ADDR, or sqlbridge.serve(loader, ADDR) in the loader's process) or fix "
                "--connect / ASL_URL")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Remote:
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

        data = self.execute(f"SELECT * FROM {name} FORMAT ArrowStream")
        assert data is not None
        table = pa.ipc.open_stream(data).read_all()
        return table.select(schema.names).cast(schema)

    # ------------------------------------------------------------------- scripts --

    def run_script(self, text: str, *, format_name: str, dialect: str = "clickhouse",
                   time_zone: str | None = None, params: Mapping[str, str] | None = None) -> int:
        """Like ``cli.run.run_script`` for a local source: every statement in order, each
        answer written as it arrives; the first error stops the script (exit code 1)."""
        from cli.run import write

        settings = {"default_format": format_name}
        if time_zone:
            settings["session_timezone"] = time_zone
        if dialect != "clickhouse":
            settings["dialect"] = dialect
        try:
            statements = split_script(text, dialect)
        except ValueError as e:  # sqlbridge's SyntaxError_: an unterminated string, say
            click.echo(str(e), err=True)
            return 1
        if not statements:
            raise click.UsageError("No SQL statement given (the text is empty or only comments)")
        for statement in statements:
            try:
                self.execute(statement, settings=settings, params=params, write=write)
            except ServerError as e:
                sys.stdout.flush()
                click.echo(e.text, err=True)
                return 1
        return 0


def split_script(text: str, dialect: str = "clickhouse") -> list[str]:
    """The statements of ``text``. Plain single statements (the common case) skip the
    tokenizer and its sqlglot import; anything with ``;``, ``\\G`` before the end, or a comment
    goes through ``sqlbridge.split``, exactly as a local session splits it."""
    body = text.strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    plain = not any(mark in body for mark in (";", "--", "/*", "#")) and "\\G" not in body[:-2]
    if plain:
        return [body] if body else []
    from sqlbridge.errors import QueryError
    from sqlbridge.split import split_statements

    try:
        return [piece.text for piece in split_statements(text, dialect)]
    except QueryError as e:
        raise ValueError(str(e)) from None
