"""``serve()`` and the running ``Server``: binding, the serving thread, closing.

``serve()`` binds (``sqlbridge.endpoint.address``), opens the default session
(``sqlbridge.endpoint.sessions``) and starts serving on a daemon thread before it returns a
``Server``; nothing else is needed to run it in the background::

    with sqlbridge.serve(loader, "127.0.0.1:0") as server:   # port 0: any free port
        print(server.url)                                    # http://127.0.0.1:41123/
        ...                                                  # clients query it meanwhile
    # closed: no longer listening, connections ended, sessions closed, socket file removed

The serving thread runs ``connections.Dispatcher``: connections wait in a selector, and a
bounded pool of workers answers requests with ``handler.Handler``.
``server.serve_forever()`` blocks the calling thread until ``close()`` is called (from another
thread or a signal handler) or Ctrl-C, and closes the server on the way out (the
KeyboardInterrupt propagates to the caller). ``close()`` stops accepting, gives requests in
flight a moment to finish (``CLOSE_GRACE``), then ends every connection, closes the sessions and
removes a Unix socket file; it is idempotent. The loader is not the server's: it is never shut
down by it.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import os
import socket
import socketserver
import threading
import urllib.parse
from typing import Any

from sqlbridge.endpoint.address import (
    bind_owner_only,
    parse_address,
    remove_socket_file,
    tcp_bind_address,
    unix_socket_path,
)
from sqlbridge.endpoint.auth import check_token
from sqlbridge.endpoint.connections import Dispatcher, Reader, Timeouts
from sqlbridge.endpoint.handler import Endpoint, Handler
from sqlbridge.endpoint.sessions import Sessions
from sqlbridge.limits import Limits
from sqlbridge.source import JobSource

__all__ = ["serve", "Server", "CLOSE_GRACE", "MAX_EXECUTION_TIME", "MAX_RESULT_BYTES",
           "MAX_CONCURRENT_QUERIES"]

log = logging.getLogger("asl.http")

#: Seconds ``close()`` lets requests in flight finish before ending their connections.
CLOSE_GRACE = 2.0
#: The endpoint's default time limit per statement, in seconds (ClickHouse's default is none;
#: a diagnostic endpoint inside a server process should not run anything for ever).
MAX_EXECUTION_TIME = 60.0
#: The default cap on one result, in bytes of Arrow data. Rendering costs the served process
#: about 5x the answer's size at its peak (a 231 MB TSV answer: 1.16 GB), so the default keeps
#: one answer under ~650 MB; a 100k-job table is 15 MiB.
MAX_RESULT_BYTES = 128 * 1024 * 1024
#: Statements running at once, over all connections.
MAX_CONCURRENT_QUERIES = 24


class _ServerMixin:
    """What both socket kinds share: the endpoint, the connection limits, quiet errors. The
    socketserver classes only bind and listen; ``connections.Dispatcher`` serves."""

    request_queue_size = 128
    endpoint: Endpoint
    timeouts: Timeouts

    def make_handler(self, sock: socket.socket, address: Any, reader: Reader) -> Handler:
        """A ``Handler`` for one connection, without http.server's serve-it-all constructor
        (the dispatcher calls ``handle_one_request`` once per request)."""
        handler = Handler.__new__(Handler)
        handler.request, handler.client_address, handler.server = sock, address, self
        handler.connection = sock
        handler.rfile = reader  # type: ignore[assignment]
        handler.wfile = socketserver._SocketWriter(sock)  # type: ignore[attr-defined]
        handler.close_connection = True
        return handler


class _TCPServer(_ServerMixin, http.server.HTTPServer):
    def server_bind(self) -> None:
        # HTTPServer.server_bind would look up the host's FQDN (a DNS query); not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _TCP6Server(_TCPServer):
    address_family = socket.AF_INET6


class _UnixServer(_ServerMixin, socketserver.UnixStreamServer):
    pass


class Server:
    """A running endpoint; see the module docstring for its lifecycle."""

    def __init__(self, httpd: _ServerMixin, sessions: Sessions, kind: str,
                 unix_path: str | None) -> None:
        self._httpd = httpd
        self._sessions = sessions
        self._kind = kind
        self._unix_path = unix_path
        self._unix_inode = os.stat(unix_path).st_ino if unix_path else None
        self._closed = threading.Event()
        self._close_lock = threading.Lock()
        self._dispatcher = Dispatcher(httpd.socket,  # type: ignore[attr-defined]
                                      httpd.make_handler, httpd.timeouts)
        self._thread = threading.Thread(target=self._dispatcher.run, name="asl-http",
                                        daemon=True)
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
    def running_queries(self) -> int:
        """Statements running now (each request runs one)."""
        return self._httpd.endpoint.running

    @property
    def threads(self) -> int:
        """Request worker threads started so far (at most ``Timeouts.max_threads``)."""
        return self._dispatcher.thread_count()

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
            self._dispatcher.stop()
            self._thread.join()
            httpd.server_close()
            self._dispatcher.end_connections(CLOSE_GRACE)
            self._sessions.close()
            if self._unix_path is not None:
                remove_socket_file(self._unix_path, self._unix_inode)
            self._closed.set()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<sqlbridge.Server {self.url}{' closed' if self.closed else ''}>"


def serve(loader: JobSource, address: str | int | tuple[str, int] | os.PathLike[str], *,
          token: str | None = None, dialect: str = "clickhouse", time_zone: str | None = None,
          max_execution_time: float = MAX_EXECUTION_TIME,
          max_result_rows: int = 0, max_result_bytes: int = MAX_RESULT_BYTES,
          max_concurrent_queries: int = MAX_CONCURRENT_QUERIES,
          timeouts: Timeouts | None = None, max_lanes: int | None = None) -> Server:
    """Serve ``loader``'s live tables over HTTP at ``address``; returns the running ``Server``.

    ``address``: ``"127.0.0.1:8123"``, ``"[::1]:8123"``, ``":8123"`` or ``8123`` (loopback),
    ``"HOST:0"`` (any free port: read ``server.url``), or a Unix socket path (``"/run/asl.sock"``,
    ``"unix:asl.sock"``). A non-loopback address needs ``token`` (else ``UnsafeBindError``).
    ``dialect`` and ``time_zone`` are the defaults for requests that do not set ``dialect`` or
    ``session_timezone`` (default zone: this process's local zone, as ClickHouse uses the
    server's). Raises ``OSError`` if the address is taken.

    Protection (``sqlbridge.endpoint``, *Limits*): each statement runs at most
    ``max_execution_time`` seconds and returns at most ``max_result_rows`` rows /
    ``max_result_bytes`` bytes (0: no limit; a request's URL settings or the statement's
    SETTINGS may change them, as in ClickHouse); at most ``max_concurrent_queries`` run at
    once (more are TOO_MANY_SIMULTANEOUS_QUERIES). ``timeouts`` bounds the connections
    (``connections.Timeouts``: threads, header/body/send/keep-alive timeouts, connections).
    ``max_lanes`` caps the statements one session runs at once (default
    ``sqlbridge.session.MAX_LANES``; 1 serialises them, as before lanes existed).
    """
    check_token(token)
    kind, where = parse_address(address)
    unix_path = None
    if kind == "unix":
        unix_path = unix_socket_path(where)
        httpd: _ServerMixin = _UnixServer(unix_path, Handler, bind_and_activate=False)
        try:
            bind_owner_only(httpd)
            httpd.server_activate()  # type: ignore[attr-defined]
        except BaseException:
            httpd.server_close()  # type: ignore[attr-defined]
            raise
    else:
        host, port = where
        family, bind_host = tcp_bind_address(host, port, token)
        cls = _TCP6Server if family == socket.AF_INET6 else _TCPServer
        httpd = cls((bind_host, port), Handler, bind_and_activate=False)
        try:
            httpd.server_bind()
            httpd.server_activate()
        except BaseException:
            httpd.server_close()
            raise
    httpd.timeouts = timeouts or Timeouts()
    limits = Limits(max_execution_time=max_execution_time, max_result_rows=max_result_rows,
                    max_result_bytes=max_result_bytes)
    try:
        sessions = Sessions(loader, dialect, time_zone, limits=limits, max_lanes=max_lanes)
    except BaseException:
        httpd.server_close()  # type: ignore[attr-defined]
        if unix_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(unix_path)
        raise
    httpd.endpoint = Endpoint(sessions, token, max_concurrent_queries)
    return Server(httpd, sessions, kind, unix_path)

