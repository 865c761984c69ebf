"""What the lifecycle journal costs: 100k independent empty jobs on 2 threads with no journal,
against the same with a journal open (drained after the run), and with a journal open and
drained by a background thread every second.

Rows: the run (schedule() to the last finish) for each journal setting, and the drain of all
of a run's events into one table (a start and a finish per job: 200k rows at full size), all
against the run with no journal, measured in the same process, interleaved.  Recording is a
tuple appended under the loader lock per event; a drainer thread is Python work that competes
with the workers for the GIL while it converts a batch.
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


def _plain(runs: list[float]):
    def run(jobs: list[LoadJob]) -> None:
        with AsyncLoader([Pool("p", 2)]) as loader:
            started = time.perf_counter()
            loader.schedule(jobs)
            loader.wait_all()
            runs.append(time.perf_counter() - started)
    return run


def _journaled(drainer: bool, runs: list[float], drains: list[float]):
    """A run with a journal; the run's own time goes to ``runs``, the final drain's to
    ``drains`` (the loader's start-up and shut-down are in neither)."""

    def run(jobs: list[LoadJob]) -> None:
        with AsyncLoader([Pool("p", 2)]) as loader:
            journal = loader.open_journal(capacity=4 * len(jobs))
            rows = [0]
            stop = threading.Event()

            def drain_every_second() -> None:
                while not stop.wait(DRAIN_EVERY):
                    rows[0] += journal.drain().table.num_rows

            thread = threading.Thread(target=drain_every_second, name="bench-drainer")
            if drainer:
                thread.start()
            started = time.perf_counter()
            try:
                loader.schedule(jobs)
                loader.wait_all()
            finally:
                runs.append(time.perf_counter() - started)
                stop.set()
                if drainer:
                    thread.join()
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

    recorded, recorded_drains, drained, drained_drains, plain_runs = [], [], [], [], []
    interleaved_medians([  # each contender records the same span: schedule() to the end
        (_journaled(False, recorded, recorded_drains), jobs),
        (_journaled(True, drained, drained_drains), jobs),
        (_plain(plain_runs), jobs),
    ], repeat)
    plain = statistics.median(plain_runs)
    peer = "the same, no journal open"
    return [
        Figure(f"{n} independent jobs, 2 threads, a journal open", statistics.median(recorded),
               "s", peer, plain, "", None),
        Figure(f"  the same, drained every {DRAIN_EVERY:g} s by a thread",
               statistics.median(drained), "s", peer, plain, "", None),
        Figure(f"  drain of a run's {2 * n} events into one table",
               statistics.median(recorded_drains), "s", "the run, no journal open", plain, "",
               None),
    ]
