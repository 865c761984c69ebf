"""What recording a history costs: 100k independent empty jobs on 2 threads, recording on vs
off (SPEC section 6: at most 10% slower), and the history's size on disk per million jobs.

"on" starts ``record_history`` before scheduling and times until ``wait_all`` returns (the
engine's throughput, with the writer thread draining and writing meanwhile); the last flush
(``close()``) is timed separately, as the "with close" figure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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

    def off(jobs: list[LoadJob]) -> None:
        with AsyncLoader([Pool("p", 2)]) as loader:
            loader.schedule(jobs)
            loader.wait_all()

    def on(jobs: list[LoadJob]) -> None:
        path = tempfile.mkdtemp(dir=work)
        with AsyncLoader([Pool("p", 2)]) as loader:
            rec = record_history(loader, os.path.join(path, "h"), flush_interval=1.0)
            loader.schedule(jobs)
            loader.wait_all()
            start = time.perf_counter()
            rec.close()
            closes.append(time.perf_counter() - start)
        sizes.append(_du(path))
        shutil.rmtree(path)

    try:
        ours, peer = interleaved_medians(
            [(on, lambda: [LoadJob(_noop) for _ in range(n)]),
             (off, lambda: [LoadJob(_noop) for _ in range(n)])], repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    close = sorted(closes)[len(closes) // 2]
    per_million = sorted(sizes)[len(sizes) // 2] * 1_000_000 / n
    return [
        Figure(f"{n} jobs, 2 threads, recording a history", ours, "s",
               "the same, not recording", peer, "<= 1.1x slower", ours <= 1.1 * peer),
        Figure(f"{n} jobs recorded, with close()", ours + close, "s",
               "the same, not recording", peer, "", None),
        Figure("history size per million jobs", per_million / (1 << 20), "MiB",
               "", None, "", None),
    ]
