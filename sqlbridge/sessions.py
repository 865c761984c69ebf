"""``SessionCache``: open sessions kept for reuse, one per (job source, dialect, time zone).

A session is a DuckDB database with the catalog set up (~30-40 ms and a few MB to build), so
the interfaces that run many statements keep theirs: the HTTP endpoint (one cache for its
loader; the server's default session pinned) and the notebook (one cache for every loader a
notebook names). The time zone is DuckDB's global setting, locked after setup, so another zone
needs another session; past ``max_sessions`` the least recently used is closed. A session in
use is never closed under its user: eviction marks it, and its last user closes it.

A key holds the source's ``id()`` and the entry the source itself, so a source that is gone
and whose ``id()`` was reused never gets the old session.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlbridge.errors import SessionClosed

if TYPE_CHECKING:
    from sqlbridge.limits import Limits
    from sqlbridge.session import Session
    from sqlbridge.source import JobSource

__all__ = ["SessionCache", "MAX_SESSIONS"]

#: Sessions kept open at once.
MAX_SESSIONS = 8

_Key = tuple[int, str, "str | None"]


class SessionCache:
    """Sessions by (source, dialect, time zone), least recently used closed past the cap."""

    def __init__(self, max_sessions: int = MAX_SESSIONS, *, limits: Limits | None = None,
                 max_lanes: int | None = None, exposed: bool = False) -> None:
        self.max_sessions = max_sessions
        self._exposed = exposed
        self._limits = limits
        self._max_lanes = max_lanes
        self._lock = threading.Lock()
        self._open: OrderedDict[_Key, Session] = OrderedDict()
        self._users: dict[int, int] = {}
        self._retired: set[int] = set()
        self._pinned: set[_Key] = set()
        self._closed = False

    def sessions(self) -> list[Session]:
        """The open sessions, least recently used first."""
        with self._lock:
            return list(self._open.values())

    def pin(self, source: JobSource, dialect: str, time_zone: str | None) -> Session:
        """Open (or find) that session and never evict it (the endpoint's default)."""
        with self.use(source, dialect, time_zone) as db:
            with self._lock:
                self._pinned.add(self._key(source, dialect, time_zone))
            return db

    def get(self, source: JobSource, dialect: str, time_zone: str | None) -> Session:
        """That session, opened if need be (for a single-threaded caller: it is not counted as
        in use, so it may be closed by the next ``get`` that evicts it)."""
        with self.use(source, dialect, time_zone) as db:
            return db

    @contextlib.contextmanager
    def use(self, source: JobSource, dialect: str, time_zone: str | None) -> Iterator[Session]:
        """That session, held open while the block runs. An unknown zone raises
        ``UnknownTimeZone``; a closed cache ``SessionClosed``."""
        key = self._key(source, dialect, time_zone)
        with self._lock:
            if self._closed:
                raise SessionClosed("The sessions are closed (the server is shutting down)")
            db = self._open.get(key)
            if db is not None and db.loader is not source:
                self._drop(key)  # the source it was for is gone and its id() reused
                db = None
            if db is not None:
                self._open.move_to_end(key)
                self._users[id(db)] = self._users.get(id(db), 0) + 1
        if db is None:
            db = self._open_new(key, source, dialect, time_zone)
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

    @staticmethod
    def _key(source: JobSource, dialect: str, time_zone: str | None) -> _Key:
        return (id(source), dialect, time_zone)

    def _open_new(self, key: _Key, source: JobSource, dialect: str,
                  time_zone: str | None) -> Session:
        from sqlbridge.session import Session

        options = {} if self._max_lanes is None else {"max_lanes": self._max_lanes}
        # Outside the lock: opening takes ~40 ms, and other sessions keep serving meanwhile.
        fresh = Session(source, dialect=dialect, time_zone=time_zone, limits=self._limits,
                        exposed=self._exposed, **options)
        with self._lock:
            if self._closed:
                fresh.close()
                raise SessionClosed("The sessions are closed (the server is shutting down)")
            db = self._open.get(key)
            if db is None:
                db = self._open[key] = fresh
            self._users[id(db)] = self._users.get(id(db), 0) + 1
            for old_key in list(self._open):
                if len(self._open) <= self.max_sessions:
                    break
                if old_key not in self._pinned and old_key != key:
                    self._drop(old_key)
        if db is not fresh:
            fresh.close()
        return db

    def _drop(self, key: _Key) -> None:
        """Forget ``key``'s session, closing it now or when its last user is done (lock held)."""
        old = self._open.pop(key)
        self._pinned.discard(key)
        if id(old) in self._users:
            self._retired.add(id(old))
        else:
            old.close()

    def close(self) -> None:
        """Close every session (a statement still running is interrupted)."""
        with self._lock:
            self._closed = True
            sessions = list(self._open.values())
            self._open.clear()
            self._pinned.clear()
        for db in sessions:
            db.close()
