"""What the lifecycle journal costs: 100k independent empty jobs on 2 threads with no journal,
against the same with a journal open and drained by a background thread every second.

Two rows: the run (schedule() to the last finish, the drainer running), and the drain of all
of a run's events into one table (each job's start and finish: 200k rows at full size), both
against the run with no journal, measured in the same process, interleaved.
"""

from __future__ import annotations

import statistics
import threading
import time

from loader import AsyncLoader, LoadJob, Pool

from .common import Figure, interleaved_medians

DRAIN_EVERY = 1.0


def _noop(*args):
    return None


def _plain(jobs: list[LoadJob]) -> None:
    with AsyncLoader([Pool("p", 2)]) as loader:
        loader.schedule(jobs)
        loader.wait_all()


def _journaled(drains: list[float]):
    """The run with a journal; the time of the final drain goes to ``drains`` (untimed)."""

    def run(jobs: list[LoadJob]) -> None:
        with AsyncLoader([Pool("p", 2)]) as loader:
            journal = loader.open_journal(capacity=4 * len(jobs))
            rows = [0]
            stop = threading.Event()

            def drain_every_second() -> None:
                while not stop.wait(DRAIN_EVERY):
                    rows[0] += journal.drain().table.num_rows

            drainer = threading.Thread(target=drain_every_second, name="bench-drainer")
            drainer.start()
            try:
                loader.schedule(jobs)
                loader.wait_all()
            finally:
                stop.set()
                drainer.join()
            # After the timed span would be better, but interleaved_medians times the whole
            # call: measure the final drain here and subtract it below.
            started = time.perf_counter()
            rows[0] += journal.drain().table.num_rows
            drains.append(time.perf_counter() - started)
            journal.close()
            if rows[0] != 2 * len(jobs) or journal.dropped:
                raise AssertionError(f"the journal lost events: {rows[0]} rows, "
                                     f"{journal.dropped} dropped")
    return run


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    n = max(10, int(100_000 * scale))

    def jobs() -> list[LoadJob]:
        return [LoadJob(_noop) for _ in range(n)]

    drains: list[float] = []
    journaled, plain = interleaved_medians([(_journaled(drains), jobs), (_plain, jobs)],
                                           repeat)
    drain = statistics.median(drains)
    return [
        Figure(f"{n} independent jobs, 2 threads, a journal drained every {DRAIN_EVERY:g} s",
               journaled - drain, "s", "the same, no journal open", plain, "", None),
        Figure(f"  drain of that run's {2 * n} events into one table", drain, "s",
               "the run with no journal open", plain, "", None),
    ]
