"""Latches, and how threads take the loader lock.

A *latch* here is a ``threading.Lock`` created held and released exactly once, when what it
stands for has happened (a job finished; the loader may have become idle).  Blocking on a
latch, not on the loader lock or a Condition over it, is what lets every wait run outside the
loader lock, so that Ctrl-C can never leave that lock in a wrong state.
"""

from __future__ import annotations

import threading
import time

#: How many times a worker yields the GIL and retries before it sleeps on the lock.  Each
#: yield lasts until the holder gives the GIL up (at most the switch interval, 5 ms by
#: default), so a holder that runs Python is waited for without spinning; the bound stops a
#: worker spinning on a holder that sleeps with the lock held (a thread start, a log handler's
#: I/O) for longer than a few microseconds.
YIELDS_BEFORE_SLEEP = 32


def acquire_yielding(lock: threading.Lock) -> None:
    """Take ``lock``, yielding the GIL between tries before sleeping on it.

    Under the GIL a worker that sleeps on the OS lock is woken by every release and grabs the
    lock before it has the GIL (a lock convoy); see Locking in ``loader.py``.
    """
    if lock.acquire(False):
        return
    for _ in range(YIELDS_BEFORE_SLEEP):
        time.sleep(0)  # releases the GIL: the holder runs on to its release
        if lock.acquire(False):
            return
    lock.acquire()


_ACQUIRE = type(threading.Lock()).acquire  # a C function: called from C in the map below


def acquire_despite_interrupts(lock: threading.Lock) -> BaseException | None:
    """Take ``lock`` even if Ctrl-C arrives meanwhile; return that interrupt for the caller
    to raise once its clean-up under the lock is done.

    Undoing a wait's counts must not be skipped: a waiter count or a suspended worker left
    behind would be wrong for ever.
    """
    interrupt = None
    held: list[bool] = []
    while True:
        try:
            # Python runs signal handlers between bytecodes, so Ctrl-C can be raised just
            # after a plain ``lock.acquire()`` has returned, with the lock held: retrying
            # would then wait for ever on our own lock.  ``list.extend(map(...))`` calls
            # acquire and records its result in C, with no bytecode in between.
            held.extend(map(_ACQUIRE, (lock,)))
            return interrupt
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
            interrupt = exc
            if held:
                return interrupt


def new_latch() -> threading.Lock:
    """A latch: held from birth, released once when the event it stands for happens."""
    latch = threading.Lock()
    latch.acquire()
    return latch


def release_all_locked(latches: list[threading.Lock]) -> None:
    """Release and forget every latch of ``latches``; the loader lock is held."""
    for latch in latches:
        latch.release()
    latches.clear()


def block_locked(lock: threading.Lock, latches: list[threading.Lock],
                 timeout: float | None) -> None:
    """Wait until ``release_all_locked(latches)`` (or the timeout); called and returns with
    ``lock`` held, like ``Condition.wait``, but blocks on a latch of its own outside the lock.

    A Condition over the loader lock re-takes that lock in a ``finally`` after its wait: a
    second Ctrl-C landing there leaves the caller's ``with`` releasing a lock it does not hold
    (maybe a worker's).  Here the lock is re-taken whatever arrives, and the interrupt is
    raised only once it is held again.
    """
    latch = new_latch()
    latches.append(latch)  # released, once, by release_all_locked under the lock
    lock.release()
    try:
        latch.acquire(timeout=-1 if timeout is None else max(timeout, 0))
    finally:
        interrupt = acquire_despite_interrupts(lock)
        if latch in latches:  # timed out or interrupted: not notified
            latches.remove(latch)
    if interrupt is not None:
        raise interrupt
