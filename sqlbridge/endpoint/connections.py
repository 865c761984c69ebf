"""Connections without a thread each: one selector thread, a bounded pool of request workers.

``ThreadingHTTPServer`` gives every connection a thread for its whole life, so 200 idle
keep-alive connections were 200 threads, and a client trickling its request line a byte a second
held one for ever. Here:

* The *dispatcher* (the serving thread) owns the listening socket and every connection that is
  not being answered: it accepts, and reads what arrives without blocking into the
  connection's buffer until a whole header block is there (``\\r\\n\\r\\n``). Only then is the
  connection handed to a worker. An idle or trickling connection costs a buffer, not a thread.
* A *worker* (at most ``max_threads``, started on demand, named ``asl-http-N``) answers one
  request (``Handler.handle_one_request``): it reads the body (bounded by ``body_timeout``),
  runs the query, writes the answer (each send bounded by ``send_timeout``), then gives the
  connection back to the dispatcher to wait for the next request (keep-alive), or closes it.
* Deadlines, checked by the dispatcher every ``_SWEEP`` seconds: a header block not complete
  ``header_timeout`` seconds after its first byte, or a connection idle for
  ``keep_alive_timeout`` seconds, is closed; past ``max_connections`` open connections the
  longest idle is closed first (an answer in progress is never cut).

``Handler`` keeps http.server's request parsing: it reads through ``Reader``, a buffered reader
over the socket whose every read is bounded by the reader's deadline.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Reader", "Dispatcher", "Timeouts", "still_connected"]

log = logging.getLogger("asl.http")

#: Seconds between two checks of the connections' deadlines.
_SWEEP = 0.1
#: Largest header block buffered (http.server refuses longer lines and more headers anyway).
_MAX_HEADER_BLOCK = 65536 + 100 * 65537


class Timeouts:
    """The endpoint's connection limits (seconds, counts); see the module docstring."""

    def __init__(self, *, header_timeout: float = 10.0, body_timeout: float = 10.0,
                 send_timeout: float = 30.0, keep_alive_timeout: float = 30.0,
                 max_threads: int = 32, max_connections: int = 1024,
                 tcp_nodelay: bool = True) -> None:
        if max_threads < 1 or max_connections < 1:
            raise ValueError("max_threads and max_connections must be at least 1")
        #: False only to measure what Nagle's algorithm costs (``benchmarks.bench_endpoint``).
        self.tcp_nodelay = tcp_nodelay
        self.header_timeout, self.body_timeout = header_timeout, body_timeout
        self.send_timeout, self.keep_alive_timeout = send_timeout, keep_alive_timeout
        self.max_threads, self.max_connections = max_threads, max_connections


class Reader:
    """A socket's incoming bytes, buffered; every wait bounded by ``deadline``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        #: ``time.monotonic()`` past which a read raises TimeoutError; None: no limit.
        self.deadline: float | None = None
        self.eof = False

    def has_header_block(self) -> bool:
        return b"\r\n\r\n" in self.buffer or b"\n\n" in self.buffer

    def _fill(self) -> bool:
        if self.eof:
            return False
        timeout = None
        if self.deadline is not None:
            timeout = self.deadline - time.monotonic()
            if timeout <= 0:
                raise TimeoutError("the client sent its request too slowly")
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def readline(self, limit: int = -1) -> bytes:
        start = 0
        while True:
            i = self.buffer.find(b"\n", start)
            if i >= 0 and (limit < 0 or i < limit):
                cut = i + 1
                break
            if 0 <= limit <= len(self.buffer):
                cut = limit
                break
            start = len(self.buffer)
            if not self._fill():
                cut = len(self.buffer)
                break
        out = bytes(self.buffer[:cut])
        del self.buffer[:cut]
        return out

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self.buffer) < size) and self._fill():
            pass
        cut = len(self.buffer) if size < 0 else min(size, len(self.buffer))
        out = bytes(self.buffer[:cut])
        del self.buffer[:cut]
        return out

    def close(self) -> None:
        pass  # the socket is the dispatcher's to close


class _Conn:
    __slots__ = ("sock", "address", "reader", "handler", "since", "first_byte")

    def __init__(self, sock: socket.socket, address: Any) -> None:
        self.sock, self.address = sock, address
        self.reader = Reader(sock)
        self.handler: Any = None
        self.since = time.monotonic()  # idle since (or connected at)
        self.first_byte: float | None = None


class Dispatcher:
    """Runs in the serving thread (``run()``) until ``stop()``; see the module docstring."""

    def __init__(self, listener: socket.socket, make_handler: Callable[[socket.socket, Any,
                 Reader], Any], timeouts: Timeouts) -> None:
        self._listener = listener
        self._make_handler = make_handler
        self.timeouts = timeouts
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._idle: dict[socket.socket, _Conn] = {}   # waiting for (the rest of) a request
        self._active: set[_Conn] = set()              # with a worker
        self._back: list[_Conn] = []                  # given back by workers, to re-register
        self._ready: queue.SimpleQueue[_Conn | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._waiting_workers = 0
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._busy_cond = threading.Condition(self._lock)

    # ----------------------------------------------------------------- the dispatcher --

    def run(self) -> None:
        self._listener.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        last_sweep = time.monotonic()
        try:
            while not self._stopping.is_set():
                for key, _ in self._selector.select(_SWEEP):
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj is self._wake_r:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                    else:
                        self._readable(key.data)
                self._take_back()
                now = time.monotonic()
                if now - last_sweep >= _SWEEP:
                    self._sweep(now)
                    last_sweep = now
        finally:
            with contextlib.suppress(Exception):
                self._selector.unregister(self._listener)

    def _accept(self) -> None:
        for _ in range(64):  # a burst of connections, without starving the others
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                log.debug("asl HTTP endpoint: accept failed", exc_info=True)
                return
            conn = _Conn(sock, address)
            sock.setblocking(False)
            if self.timeouts.tcp_nodelay and sock.family in (socket.AF_INET, socket.AF_INET6):
                # An answer is written as headers then body: with Nagle's algorithm the body
                # waits for the client's delayed ACK of the headers (40 ms a request).
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._park(conn)
            self._limit_connections()

    def _park(self, conn: _Conn) -> None:
        conn.since = time.monotonic()
        with self._lock:
            self._idle[conn.sock] = conn
        try:
            self._selector.register(conn.sock, selectors.EVENT_READ, conn)
        except (ValueError, OSError):  # closed meanwhile
            self._close(conn)

    def _readable(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        if conn.first_byte is None:
            conn.first_byte = time.monotonic()
        conn.reader.buffer += data
        if conn.reader.has_header_block() or len(conn.reader.buffer) > _MAX_HEADER_BLOCK:
            self._dispatch(conn)

    def _unpark(self, conn: _Conn) -> None:
        """No longer waiting in the selector (lock not held)."""
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(conn.sock)
        with self._lock:
            self._idle.pop(conn.sock, None)

    def _dispatch(self, conn: _Conn) -> None:
        self._unpark(conn)
        with self._lock:
            self._active.add(conn)
            start = self._waiting_workers == 0 and len(self._workers) < self.timeouts.max_threads
            if start:
                worker = threading.Thread(target=self._work, daemon=True,
                                          name=f"asl-http-{len(self._workers)}")
                self._workers.append(worker)
            else:
                self._waiting_workers -= 1 if self._waiting_workers else 0
        self._ready.put(conn)
        if start:
            worker.start()

    def _take_back(self) -> None:
        with self._lock:
            back, self._back = self._back, []
        for conn in back:
            if conn.reader.has_header_block():
                self._dispatch(conn)  # a pipelined request already buffered
            else:
                self._park(conn)

    def _sweep(self, now: float) -> None:
        t = self.timeouts
        with self._lock:
            idle = list(self._idle.values())
        for conn in idle:
            if conn.first_byte is not None and conn.reader.buffer:
                if now - conn.first_byte > t.header_timeout:
                    self._close(conn)  # trickled its headers for too long
            elif now - conn.since > t.keep_alive_timeout:
                self._close(conn)

    def _limit_connections(self) -> None:
        with self._lock:
            over = len(self._idle) + len(self._active) - self.timeouts.max_connections
            if over <= 0:
                return
            oldest = sorted(self._idle.values(), key=lambda c: c.since)[:over]
        for conn in oldest:
            self._close(conn)

    def _close(self, conn: _Conn) -> None:
        self._unpark(conn)
        with contextlib.suppress(OSError):
            conn.sock.close()

    # ---------------------------------------------------------------------- workers --

    def _work(self) -> None:
        while True:
            conn = self._ready.get()
            if conn is None:
                return
            keep = False
            try:
                keep = self._serve_one(conn)
            except Exception:
                log.debug("asl HTTP endpoint: connection error", exc_info=True)
            with self._lock:
                self._active.discard(conn)
                self._busy_cond.notify_all()
                if keep and not self._stopping.is_set():
                    self._back.append(conn)
                self._waiting_workers += 1
            if keep and not self._stopping.is_set():
                with contextlib.suppress(OSError):
                    self._wake_w.send(b"x")
            else:
                with contextlib.suppress(OSError):
                    conn.sock.close()

    def _serve_one(self, conn: _Conn) -> bool:
        """Answer one request on ``conn``; True to keep the connection for another."""
        t = self.timeouts
        conn.sock.setblocking(True)
        if conn.handler is None:
            conn.handler = self._make_handler(conn.sock, conn.address, conn.reader)
        conn.reader.deadline = time.monotonic() + t.header_timeout  # the rest of the headers
        handler = conn.handler
        handler.close_connection = True
        handler.handle_one_request()
        conn.first_byte = None
        conn.reader.deadline = None
        if handler.close_connection:
            return False
        conn.sock.setblocking(False)
        return True

    # ----------------------------------------------------------------- stop and close --

    def stop(self) -> None:
        """Stop accepting and dispatching (``run()`` returns)."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def end_connections(self, grace: float) -> None:
        """After ``stop()``: let answers in progress finish for ``grace`` seconds, then end
        every connection and the workers."""
        deadline = time.monotonic() + grace
        with self._lock:
            while self._active and time.monotonic() < deadline:
                self._busy_cond.wait(deadline - time.monotonic())
            idle = list(self._idle.values()) + list(self._back)
            active = list(self._active)
            self._idle.clear()
            self._back.clear()
        for conn in idle:
            with contextlib.suppress(OSError):
                conn.sock.close()
        for conn in active:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        for _ in self._workers:
            self._ready.put(None)
        for worker in self._workers:
            worker.join(grace)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def thread_count(self) -> int:
        """Worker threads started so far (for tests: bounded by ``max_threads``)."""
        return len(self._workers)

    def connection_count(self) -> int:
        with self._lock:
            return len(self._idle) + len(self._active) + len(self._back)


def still_connected(sock: socket.socket) -> bool:
    """False once the peer has closed its end (bytes of a next, pipelined request waiting in
    the socket still mean it is there)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return True
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except (OSError, ValueError):
        return False
