"""The limits a statement runs under, as ClickHouse's settings name them, and the watchdog that
interrupts a statement past its time or whose client has left.

* ``max_execution_time`` (seconds, fractions allowed; 0 = no limit): past it, the DuckDB
  connection running the statement is interrupted (``DuckDBPyConnection.interrupt()``) and the
  statement fails with TIMEOUT_EXCEEDED (159), worded as ClickHouse 26 words it.
* ``max_result_rows`` / ``max_result_bytes`` (0 = no limit), with ``result_overflow_mode``
  ``throw`` (TOO_MANY_ROWS_OR_BYTES, 396) or ``break`` (the rows read so far, cut after the
  batch that crossed the limit, as ClickHouse cuts after a block). The result is read from
  DuckDB batch by batch and counted as it comes (bytes are Arrow's in-memory size), so a huge
  result is refused before it is all in memory.

They come from a ``SETTINGS`` clause, from the caller (``Session.execute(settings=...)``, the
endpoint's URL parameters) or from the caller's defaults (``sqlbridge.serve`` sets a time limit
and a result cap, see ``sqlbridge.endpoint``); the statement's own clause wins, as in ClickHouse.

The watchdog is one daemon thread for the whole process (``asl-watchdog``), started on first
use: it sleeps until the nearest deadline, or polls ``alive()`` callbacks every
``POLL_INTERVAL`` seconds while any is registered (the endpoint's check that the client's socket
is still open). Interrupting is the watchdog's only action, repeated at every poll until the
statement is unwatched (an interrupt between two of its DuckDB calls would be lost); the
statement's own thread turns DuckDB's ``InterruptException`` into the right error.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from sqlbridge.errors import (
    CannotParseInputAssertionFailed,
    TimeoutExceeded,
    TooManyRowsOrBytes,
    UnknownOverflowMode,
)

__all__ = ["Limits", "LIMIT_SETTINGS", "Watchdog", "watchdog", "POLL_INTERVAL",
           "timeout_exceeded", "result_exceeded"]

#: The settings this module honours (the rest of a SETTINGS clause is ``translate``'s).
LIMIT_SETTINGS = frozenset({"max_execution_time", "max_result_rows", "max_result_bytes",
                            "result_overflow_mode"})
#: Seconds between two checks that the clients of running statements are still there.
POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class Limits:
    """What one statement may take; 0 means no limit (ClickHouse's defaults are all 0)."""

    max_execution_time: float = 0.0
    max_result_rows: int = 0
    max_result_bytes: int = 0
    result_overflow_mode: str = "throw"

    def exceeded(self, rows: int, nbytes: int) -> bool:
        """Whether a result of ``rows`` rows and ``nbytes`` bytes is past a result cap."""
        return bool((self.max_result_rows and rows > self.max_result_rows)
                    or (self.max_result_bytes and nbytes > self.max_result_bytes))

    def with_settings(self, settings: Mapping[str, object]) -> Limits:
        """These limits with ``settings`` (names of ``LIMIT_SETTINGS``; others are ignored)
        applied; a value that does not parse is ClickHouse's error for it."""
        changes: dict[str, object] = {}
        for name, value in settings.items():
            key = name.lower()
            if key == "max_execution_time":
                changes[key] = max(0.0, _number(value, float))
            elif key in ("max_result_rows", "max_result_bytes"):
                changes[key] = max(0, _number(value, int))
            elif key == "result_overflow_mode":
                mode = str(value).strip("'\"").lower()
                if mode not in ("throw", "break"):
                    raise UnknownOverflowMode(f"Unexpected value of OverflowMode: '{value}'. "
                                              "Must be one of ['break', 'throw']")
                changes[key] = mode
        return replace(self, **changes) if changes else self  # type: ignore[arg-type]


def _number(value: object, kind: type) -> float | int:
    text = str(value).strip().strip("'\"")
    try:
        number = float(text)
        if kind is int:
            if number != int(number):
                raise ValueError
            return int(number)
        return number
    except ValueError:
        raise CannotParseInputAssertionFailed(f"Cannot parse input: expected 'eof' before: "
                                              f"'{text}'") from None


def timeout_exceeded(elapsed: float, limit: float) -> TimeoutExceeded:
    return TimeoutExceeded(f"Timeout exceeded: elapsed {elapsed * 1000:.3f} ms, maximum: "
                           f"{limit * 1000:.3f} ms (the max_execution_time setting; raise it, "
                           "or 0 for none)")


def result_exceeded(limits: Limits, rows: int, nbytes: int) -> TooManyRowsOrBytes:
    if limits.max_result_rows and rows > limits.max_result_rows:
        what = (f"max rows: {_quantity(limits.max_result_rows)}, current rows: "
                f"{_quantity(rows)}")
    else:
        what = (f"max bytes: {_size(limits.max_result_bytes)}, current bytes: "
                f"{_size(nbytes)}")
    return TooManyRowsOrBytes(f"Limit for result exceeded, {what} (max_result_rows and "
                              "max_result_bytes; add a LIMIT, or raise them)")


def _quantity(n: float) -> str:
    """ClickHouse's formatReadableQuantity: 10.00, 1.50 thousand, 2.00 million ..."""
    return _readable(n, 1000, ("", " thousand", " million", " billion", " trillion"))


def _size(n: float) -> str:
    """ClickHouse's formatReadableSizeWithBinarySuffix: 1000.00 B, 819.54 KiB ..."""
    return _readable(n, 1024, (" B", " KiB", " MiB", " GiB", " TiB"))


def _readable(n: float, step: int, units: tuple[str, ...]) -> str:
    for unit in units[:-1]:
        if abs(n) < step:
            return f"{n:.2f}{unit}"
        n /= step
    return f"{n:.2f}{units[-1]}"


class _Watch:
    __slots__ = ("deadline", "interrupt", "alive", "fired")

    def __init__(self, deadline: float | None, interrupt: Callable[[str], None],
                 alive: Callable[[], bool] | None) -> None:
        self.deadline, self.interrupt, self.alive = deadline, interrupt, alive
        self.fired: str | None = None


class Watchdog:
    """Interrupts watched statements at their deadline, or when ``alive()`` turns false."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._polled: set[_Watch] = set()
        #: Fired and not yet unwatched: interrupted again at every poll, because an interrupt
        #: that lands between two DuckDB calls of the statement (its sandbox check, then the
        #: query) is lost.
        self._firing: set[_Watch] = set()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float | None, interrupt: Callable[[str], None],
              alive: Callable[[], bool] | None = None) -> _Watch:
        """Call ``interrupt("timeout")`` at ``deadline`` (``time.monotonic()``), or
        ``interrupt("client")`` once ``alive()`` is false; at most once. ``unwatch`` when done."""
        w = _Watch(deadline, interrupt, alive)
        with self._cond:
            if deadline is not None:
                heapq.heappush(self._heap, (deadline, next(self._ids), w))
            if alive is not None:
                self._polled.add(w)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="asl-watchdog",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        return w

    def unwatch(self, w: _Watch) -> str | None:
        """Stop watching; returns why it fired (``"timeout"``, ``"client"``) or None."""
        with self._cond:
            self._polled.discard(w)
            self._firing.discard(w)
            w.deadline = None  # its heap entry is skipped when it comes up
            fired, w.fired = w.fired, w.fired or "done"
        return fired

    def _run(self) -> None:
        while True:
            due: list[tuple[_Watch, str]] = []
            with self._cond:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].deadline is None
                                      or self._heap[0][0] <= now):
                    _, _, w = heapq.heappop(self._heap)
                    if w.deadline is not None and w.fired is None:
                        w.fired = "timeout"
                        self._firing.add(w)
                        due.append((w, "timeout"))
                polled = list(self._polled)
                again = [(w, w.fired or "") for w in self._firing if (w, w.fired) not in due]
                wait = self._heap[0][0] - now if self._heap else None
                if polled or self._firing:
                    wait = POLL_INTERVAL if wait is None else min(wait, POLL_INTERVAL)
            for w in polled:
                if w.fired is None and not _safe(w.alive):
                    with self._cond:
                        if w.fired is not None:
                            continue
                        w.fired = "client"
                        self._polled.discard(w)
                        self._firing.add(w)
                    due.append((w, "client"))
            for w, why in due + again:
                try:
                    w.interrupt(why)
                except Exception:  # a connection closed meanwhile: nothing left to stop
                    pass
            with self._cond:
                if not self._heap and not self._polled and not self._firing:
                    self._cond.wait()
                elif wait is not None and wait > 0 and not due:
                    self._cond.wait(wait)


def _safe(alive: Callable[[], bool] | None) -> bool:
    try:
        return alive() if alive is not None else True
    except Exception:
        return False


_WATCHDOG = Watchdog()


def watchdog() -> Watchdog:
    """The process's watchdog."""
    return _WATCHDOG
