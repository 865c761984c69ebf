"""100k independent empty jobs on 2 threads, schedule to last finish, vs ThreadPoolExecutor(2)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

from loader import AsyncLoader, LoadJob, Pool

from .common import Figure, interleaved_medians


def _noop(*args):
    return None


def run(scale: float = 1.0, repeat: int = 5) -> list[Figure]:
    n = max(10, int(100_000 * scale))

    def executor() -> None:
        with ThreadPoolExecutor(2) as pool:
            wait([pool.submit(_noop) for _ in range(n)])

    def asl(jobs: list[LoadJob]) -> None:
        with AsyncLoader([Pool("p", 2)]) as loader:
            loader.schedule(jobs)
            loader.wait_all()

    ours, peer = interleaved_medians(
        [(asl, lambda: [LoadJob(_noop) for _ in range(n)]), (executor, None)], repeat)
    return [Figure(f"{n} independent jobs, 2 threads", ours, "s",
                   "ThreadPoolExecutor(2)", peer, ">= 3x", peer / ours >= 3)]
