"""``serve()`` and the running ``Server``: binding, the serving thread, closing.

``serve()`` binds (``sqlbridge.endpoint.address``), opens the default session
(``sqlbridge.endpoint.sessions``) and starts serving on a daemon thread before it returns a
``Server``; nothing else is needed to run it in the background::

    with sqlbridge.serve(loader, "127.0.0.1:0") as server:   # port 0: any free port
        print(server.url)                                    # http://127.0.0.1:41123/
        ...                                                  # clients query it meanwhile
    # closed: no longer listening, connections ended, sessions closed, socket file removed

``ThreadingHTTPServer`` gives each connection a thread, which runs ``handler.Handler``.
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
import time
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
from sqlbridge.endpoint.handler import Endpoint, Handler
from sqlbridge.endpoint.sessions import Sessions
from sqlbridge.source import JobSource

__all__ = ["serve", "Server", "CLOSE_GRACE"]

log = logging.getLogger("asl.http")

#: Seconds ``close()`` lets requests in flight finish before ending their connections.
CLOSE_GRACE = 2.0


class _ServerMixin:
    """What both socket kinds share: connection tracking for ``close()``, quiet errors."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    endpoint: Endpoint

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
                remove_socket_file(self._unix_path, self._unix_inode)
            self._closed.set()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<sqlbridge.Server {self.url}{' closed' if self.closed else ''}>"


def serve(loader: JobSource, address: str | int | tuple[str, int] | os.PathLike[str], *,
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
    httpd.setup_tracking()
    try:
        sessions = Sessions(loader, dialect, time_zone)
    except BaseException:
        httpd.server_close()  # type: ignore[attr-defined]
        if unix_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(unix_path)
        raise
    httpd.endpoint = Endpoint(sessions, token)
    return Server(httpd, sessions, kind, unix_path)

