"""The sessions requests share: one per (dialect, time zone), opened on demand, capped.

``ThreadingHTTPServer`` gives each connection a thread. All of them share **one session per
(dialect, time zone)** (the server's default, opened at start, plus one per other
``session_timezone``/``dialect`` asked for, up to ``MAX_SESSIONS``, least recently used closed
first). A ``Session`` is thread-safe: its lock covers only the DuckDB part of a statement (take
the snapshot, run the query, collect the Arrow result); translation before and rendering after
run outside it, in parallel with other requests as far as the GIL allows. Every statement takes
its own consistent snapshot, however many times it scans the table, and runs in the sandboxed,
read-only ``Session`` (``sqlbridge.sandbox``): no files, no ATTACH, no extensions, no settings;
any statement's failure leaves its session usable.
One session per thread would instead cost a DuckDB connection and catalog setup (~40 ms, a few
MB) per *connection*, since the server makes a thread per connection, and would buy little: the
lock is held for milliseconds, and rendering, the larger part of a big answer, is GIL-bound
Python either way.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlbridge.errors import BadArguments

if TYPE_CHECKING:
    from sqlbridge.session import Session

__all__ = ["Sessions", "MAX_SESSIONS"]

#: Sessions kept open at once (one per dialect and time zone asked for).
MAX_SESSIONS = 8


class Sessions:
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
