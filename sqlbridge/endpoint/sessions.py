"""The sessions requests share: one per (dialect, time zone), opened on demand, capped.

A ``sqlbridge.sessions.SessionCache`` for the served loader: the server's default session
(its dialect and zone) is opened at start and pinned; one more per other
``session_timezone``/``dialect`` asked for, up to ``MAX_SESSIONS``, least recently used closed
first. Requests do not queue behind one another in a session: each statement runs on a lane of
its own (``sqlbridge.session``, *Threads*), so a slow statement holds up only its own client;
how many run at once is bounded by the endpoint (``max_concurrent_queries``). Every statement
takes its own consistent snapshot, however many times it scans the table, and runs in the
sandboxed, read-only ``Session`` (``sqlbridge.sandbox``): no files, no ATTACH, no extensions,
no settings, and (``exposed``) none of DuckDB's metadata; any statement's failure leaves its
session usable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlbridge.sessions import MAX_SESSIONS, SessionCache

if TYPE_CHECKING:
    from sqlbridge.limits import Limits
    from sqlbridge.session import Session
    from sqlbridge.source import JobSource

__all__ = ["Sessions", "MAX_SESSIONS"]


class Sessions:
    """The endpoint's sessions over one loader; ``use(dialect, time_zone)`` for a request."""

    def __init__(self, loader: JobSource, dialect: str, time_zone: str | None, *,
                 limits: Limits | None = None, max_lanes: int | None = None) -> None:
        from sqlbridge.timezone import local_time_zone

        self._loader = loader
        self.cache = SessionCache(MAX_SESSIONS, limits=limits, max_lanes=max_lanes,
                                  exposed=True)
        zone = time_zone or local_time_zone()
        self.cache.pin(loader, dialect, zone)
        #: (dialect, time zone) of the server's default session.
        self.default_key = (dialect, zone)

    def use(self, dialect: str | None, time_zone: str | None) -> contextlib.AbstractContextManager[
            Session]:
        """The session for a request's ``dialect`` / ``session_timezone`` (None: the server's)."""
        return self.cache.use(self._loader, dialect or self.default_key[0],
                              time_zone or self.default_key[1])

    def open_keys(self) -> list[tuple[str, str]]:
        """(dialect, time zone) of every open session, least recently used first."""
        return [(db.dialect, db.time_zone) for db in self.cache.sessions()]

    def sessions(self) -> Iterator[Session]:
        yield from self.cache.sessions()

    def close(self) -> None:
        self.cache.close()  # statements still running are interrupted
