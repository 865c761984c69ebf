"""What recording a history costs: 100k independent empty jobs on 2 threads, recording on vs
off (SPEC section 6: at most 10% slower), and the history's size on disk per million jobs.

"on" starts ``record_history`` before scheduling and times until ``wait_all`` returns (the
engine's throughput, with the writer thread draining and writing meanwhile); the last flush
(``close()``) is timed separately, as the "with close" figure.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import threading
import time

from loader import AsyncLoader, LoadJob, Pool

from .common import Figure, interleaved_medians


def _noop(*args):
    return None


def _du(path: str) -> int:
    total = 0
    for root, _dirs, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, n)) for n in names)
    return total


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    from sqlbridge.history import record_history

    n = max(10, int(100_000 * scale))
    work = tempfile.mkdtemp(prefix="asl-bench-history-")
    closes: list[float] = []
    sizes: list[int] = []
    # Process CPU seconds from schedule() to wait_all(): on a shared 2-core machine the wall
    # time swings with the neighbours' load, the CPU spent on the work much less.
    cpu: dict[str, list[float]] = {"on": [], "off": [], "journal": []}
    # Wall seconds of the same span: the set-up, close() and the clean-up of the history are
    # outside it (close() has its own figure).
    wall: dict[str, list[float]] = {"on": [], "off": [], "journal": []}

    def measured(loader: AsyncLoader, jobs: list[LoadJob], key: str) -> None:
        """The timed span, schedule() to wait_all(), into ``cpu[key]`` and ``wall[key]``."""
        started = time.perf_counter()
        start = time.process_time()
        loader.schedule(jobs)
        loader.wait_all()
        cpu[key].append(time.process_time() - start)
        wall[key].append(time.perf_counter() - started)

    def off(jobs: list[LoadJob]) -> None:
        with AsyncLoader([Pool("p", 2)]) as loader:
            measured(loader, jobs, "off")

    def on(jobs: list[LoadJob]) -> None:
        path = tempfile.mkdtemp(dir=work)
        with AsyncLoader([Pool("p", 2)]) as loader:
            rec = record_history(loader, os.path.join(path, "h"), flush_interval=1.0)
            measured(loader, jobs, "on")
            start = time.perf_counter()
            rec.close()
            closes.append(time.perf_counter() - start)
        sizes.append(_du(path))
        shutil.rmtree(path)

    def drained(jobs: list[LoadJob]) -> None:
        # The journal alone, drained as often as the recorder does, the batches thrown away:
        # what the engine's side of recording costs, so the writer's share is the rest.
        with AsyncLoader([Pool("p", 2)]) as loader:
            journal = loader.open_journal()
            stop = threading.Event()

            def drain() -> None:
                while not stop.wait(1.0):
                    journal.drain()

            thread = threading.Thread(target=drain)
            thread.start()
            measured(loader, jobs, "journal")
            stop.set()
            thread.join()
            journal.close()

    def make() -> list[LoadJob]:
        return [LoadJob(_noop) for _ in range(n)]

    try:
        interleaved_medians(
            [(on, make), (off, make), (drained, make)], repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ours, peer, journal_only = (statistics.median(wall[k]) for k in ("on", "off", "journal"))
    close = sorted(closes)[len(closes) // 2]
    per_million = sorted(sizes)[len(sizes) // 2] * 1_000_000 / n
    return [
        Figure(f"{n} jobs, 2 threads, recording a history", ours, "s",
               "the same, not recording", peer, "<= 1.1x slower", ours <= 1.1 * peer),
        Figure(f"{n} jobs, 2 threads, recording a history", ours, "s",
               "the journal alone, drained each second", journal_only, "", None),
        Figure(f"{n} jobs, 2 threads, recording: process CPU", statistics.median(cpu["on"]),
               "s", "the same, not recording", statistics.median(cpu["off"]), "", None),
        Figure(f"{n} jobs recorded, with close()", ours + close, "s",
               "the same, not recording", peer, "", None),
        Figure("history size per million jobs", per_million / (1 << 20), "MiB",
               "", None, "", None),
    ]
